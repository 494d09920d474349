#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "switchyard/limits/admission.hpp"
#include "switchyard/limits/rules.hpp"

namespace switchyard::limits {

/// The fail-open stand-in for Redis: RPM (a sliding window) and parallel slots, counted in this process
/// only, so that an outage loosens the limits (to at most one full share per process) without lifting
/// them. TPM and budgets are not enforced: spend lives in Redis and Postgres.
///
/// Thread-safety: every member may be called from any thread at once.
class LocalLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Outcome {
    std::optional<Refusal> refusal;
    ScopeUsage key;
    ScopeUsage tenant;
  };

  /// Takes a request and a slot from both scopes, or nothing.
  Outcome admit(const Scope& key, const Scope& tenant, Clock::time_point now);
  /// Frees the slots that admit() took.
  void release(const Scope& key, const Scope& tenant);

  /// How many scopes hold state, to show that idle ones are dropped.
  std::size_t tracked_scopes() const;

 private:
  struct Window {
    std::deque<Clock::time_point> admitted;
    std::int64_t in_flight = 0;
  };

  Window& window_of(const Scope& scope);
  void drop_if_idle(const Scope& scope);

  mutable std::mutex mutex_;
  std::map<std::string, Window> windows_;
};

}  // namespace switchyard::limits
