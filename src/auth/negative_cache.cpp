#include "negative_cache.hpp"

namespace switchyard::auth::detail {

void NegativeCache::insert(const std::string& hash, Clock::time_point expires) {
  if (capacity_ == 0) return;
  erase(hash);
  order_.push_back(hash);
  entries_.emplace(hash, Entry{expires, std::prev(order_.end())});
  while (entries_.size() > capacity_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

bool NegativeCache::contains(const std::string& hash, Clock::time_point now) {
  auto it = entries_.find(hash);
  if (it == entries_.end()) return false;
  if (now < it->second.expires) return true;
  order_.erase(it->second.position);
  entries_.erase(it);
  return false;
}

void NegativeCache::erase(const std::string& hash) {
  auto it = entries_.find(hash);
  if (it == entries_.end()) return;
  order_.erase(it->second.position);
  entries_.erase(it);
}

void NegativeCache::clear() {
  entries_.clear();
  order_.clear();
}

}  // namespace switchyard::auth::detail
