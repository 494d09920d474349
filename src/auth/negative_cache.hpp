#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>

namespace switchyard::auth::detail {

/// Key hashes that Postgres recently said are not valid keys, so that a client retrying a bad key does
/// not cost a query each time. Holds at most `capacity` hashes, dropping the oldest first, so that a
/// flood of random keys cannot grow memory without bound. Not thread-safe: the KeyCache's lock guards it.
class NegativeCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit NegativeCache(std::size_t capacity) : capacity_(capacity) {}

  /// Remembers `hash` until `expires`, as the newest entry.
  void insert(const std::string& hash, Clock::time_point expires);
  /// Whether `hash` is remembered and not yet expired at `now`; an expired entry is dropped.
  bool contains(const std::string& hash, Clock::time_point now);
  void erase(const std::string& hash);
  void clear();
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Clock::time_point expires;
    std::list<std::string>::iterator position;
  };

  std::size_t capacity_;
  std::list<std::string> order_;  ///< oldest first
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace switchyard::auth::detail
