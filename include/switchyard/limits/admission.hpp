#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/core/error.hpp"
#include "switchyard/core/tenancy.hpp"

namespace switchyard::redis {
class Client;
}

/// Admission of a request against the rate limits and budgets of its API key and tenant (docs/limits.md).
namespace switchyard::limits {

enum class ScopeKind { key, tenant };

/// One holder of limits: an API key or a tenant.
struct Scope {
  ScopeKind kind = ScopeKind::key;
  std::string id;
  Limits limits;
  BudgetPeriod period = BudgetPeriod::monthly;
};

/// What one request asks for. The reservations are upper estimates: prompt estimate plus `max_tokens` (or a
/// configured default), and the cost of that many tokens at the model's prices.
struct AdmissionRequest {
  std::string request_id;  ///< for log lines only; admissions carry ids of their own
  Scope key;
  Scope tenant;
  std::int64_t token_reservation = 0;
  Micros cost_reservation = 0;
};

/// Reads a scope's spend in the period that starts at `period_start` from the durable usage records, when
/// Redis has lost its counter (a restart, or the period's first request).
using SpendLoader =
    std::function<boost::asio::awaitable<Micros>(const Scope&, std::chrono::system_clock::time_point)>;

struct LimitsConfig {
  /// Prepended to every Redis key, so that several deployments (or tests) can share one Redis.
  std::string key_prefix = "sy:lim:";
  /// How long a parallel slot and its budget reservation live without renew(): long enough for any
  /// non-streaming request, short enough that a crashed process frees its slots soon.
  std::chrono::milliseconds lease_ttl{120'000};
  /// With Redis unreachable: admit under a per-process limiter (true) or refuse with 503 (false).
  bool fail_open = true;
  SpendLoader spend_loader;
};

using Header = std::pair<std::string, std::string>;

/// How an admission was decided, which says what settle() and renew() must undo.
enum class AdmissionMode {
  unlimited,  ///< neither scope has a limit: nothing was taken
  shared,     ///< taken in Redis
  local,      ///< taken in this process' fail-open limiter while Redis was unreachable
};

/// The outcome of admit(): admitted, or refused with the error to answer. Both carry the rate-limit headers
/// (and Retry-After when refused) to add to the response.
struct Admission {
  bool admitted() const { return !refusal.has_value(); }

  /// 429 rate_limit_exceeded or 402 budget_exceeded, to throw as it is: it carries `headers` too.
  std::optional<ApiError> refusal;
  std::vector<Header> headers;  ///< for every response to the request, admitted or not

  AdmissionMode mode = AdmissionMode::unlimited;
  std::string id;                   ///< unique per admission: leases and reservations are held under it
  std::int64_t admitted_at_ms = 0;  ///< Redis' clock at admission (shared mode), where its window entry lies
  AdmissionRequest request;
};

/// Admits requests against limits kept in Redis, global across processes: one script, one round trip.
///
/// Thread-safety: every member may be called from any thread at once. The client must outlive this.
/// Cancellation: a cancelled admit() may still have taken its slots in Redis; they are freed when the
/// lease expires.
class Admitter {
 public:
  Admitter(redis::Client& redis, LimitsConfig config);
  ~Admitter();
  Admitter(const Admitter&) = delete;
  Admitter& operator=(const Admitter&) = delete;

  /// Checks and takes RPM, TPM, a parallel slot and the budget reservation of key and tenant together, or
  /// nothing. Throws ApiError 503 when Redis is unreachable and the configuration fails closed.
  boost::asio::awaitable<Admission> admit(const AdmissionRequest& request);

  /// Ends an admitted request: frees its slot, corrects its token count to `actual_tokens`, and turns its
  /// cost reservation into `actual_cost` of spend. Does nothing for a refused admission. Throws
  /// redis::Unavailable when Redis is unreachable; the lease then frees the slot by itself.
  boost::asio::awaitable<void> settle(const Admission& admission, std::int64_t actual_tokens,
                                      Micros actual_cost);

  /// Extends the lease of a long request (a stream) by another `lease_ttl`; call it well within the TTL.
  /// False when the lease had already expired, so that its slot may have gone to another request.
  boost::asio::awaitable<bool> renew(const Admission& admission);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::limits
