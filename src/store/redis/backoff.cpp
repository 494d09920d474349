#include "backoff.hpp"

#include <algorithm>

namespace switchyard::redis {

std::chrono::milliseconds reconnect_delay(unsigned failures, std::chrono::milliseconds cap, double jitter) {
  constexpr std::chrono::milliseconds kFirst{100};
  // 100 ms << 20 is over a day, beyond any sensible cap, and shifting further could overflow.
  constexpr unsigned kMaxDoublings = 20;
  unsigned doublings = std::min(failures > 0 ? failures - 1 : 0u, kMaxDoublings);
  auto delay = std::min(cap, kFirst * (std::int64_t{1} << doublings));
  delay = std::max(delay, std::chrono::milliseconds::zero());
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(delay.count()) * std::clamp(jitter, 0.0, 1.0)));
}

}  // namespace switchyard::redis
