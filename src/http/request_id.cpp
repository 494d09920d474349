#include "switchyard/http/request_id.hpp"

#include <algorithm>
#include <random>

namespace switchyard::http {

bool is_sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
}

std::string new_request_id() {
  // Ids need to be unique, not secret: a per-thread generator seeded once from the OS is plenty.
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr std::string_view kAlphabet =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string id = "req_";
  id.reserve(28);
  for (int i = 0; i < 24; ++i) id += kAlphabet[generator() % kAlphabet.size()];
  return id;
}

}  // namespace switchyard::http
