#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "switchyard/core/error.hpp"
#include "switchyard/core/tenancy.hpp"
#include "switchyard/limits/admission.hpp"

/// The arithmetic of admission, apart from Redis: budget periods, OpenAI's rate-limit headers, refusals.
namespace switchyard::limits {

/// RPM and TPM count what was admitted in the last minute (a sliding window).
inline constexpr std::chrono::milliseconds kRateWindow{60'000};

/// The UTC instant where `period`'s current span began: midnight, Monday midnight, the 1st of the month;
/// the epoch for `total`.
std::chrono::system_clock::time_point period_start(BudgetPeriod period,
                                                   std::chrono::system_clock::time_point now);
/// Where the span that began at `start` ends; nullopt for `total`, which never does.
std::optional<std::chrono::system_clock::time_point> period_end(BudgetPeriod period,
                                                                std::chrono::system_clock::time_point start);

/// A duration as OpenAI's x-ratelimit-reset-* headers write it (Go's format): "0s", "20ms", "1s", "6m0s",
/// "1h2m3.5s". Negative durations read as "0s".
std::string reset_duration(std::chrono::milliseconds duration);

/// One rate window of one scope, as seen by an admission: `used` counts the admission itself when it was
/// admitted; `reset` is the time until the window is empty again.
struct WindowUsage {
  std::int64_t limit = 0;
  std::int64_t used = 0;
  std::chrono::milliseconds reset{0};

  std::int64_t remaining() const { return used >= limit ? 0 : limit - used; }
};

struct ScopeUsage {
  std::optional<WindowUsage> requests;  ///< present when the scope has an RPM limit
  std::optional<WindowUsage> tokens;    ///< present when the scope has a TPM limit
};

/// OpenAI's x-ratelimit-{limit,remaining,reset}-{requests,tokens}, each trio from the scope with the fewest
/// remaining (the smaller limit on a tie); a trio is left out when neither scope has that limit.
std::vector<Header> rate_limit_headers(const ScopeUsage& key, const ScopeUsage& tenant);

enum class LimitKind { budget, parallel, rpm, tpm };

/// Which limit of which scope refused, and when trying again may succeed.
struct Refusal {
  LimitKind limit = LimitKind::rpm;
  ScopeKind scope = ScopeKind::key;
  std::int64_t value = 0;  ///< the limit's setting
  std::chrono::milliseconds retry_after{0};
};

/// 429 rate_limit_error / rate_limit_exceeded naming the limit and the scope, or 402 insufficient_quota /
/// budget_exceeded.
ApiError refusal_error(const Refusal& refusal);

/// Retry-After in whole seconds, rounded up and at least 1; none for a budget refusal, which waits for the
/// period's end or a raised budget.
std::optional<Header> retry_after_header(const Refusal& refusal);

/// Whether a scope has any limit or budget at all.
bool is_limited(const Limits& limits);

}  // namespace switchyard::limits
