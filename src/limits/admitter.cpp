#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <mutex>

#include "scripts.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/limits/admission.hpp"
#include "switchyard/limits/local_limiter.hpp"
#include "switchyard/limits/rules.hpp"
#include "switchyard/store/redis_client.hpp"

namespace switchyard::limits {

namespace asio = boost::asio;
using std::chrono::system_clock;

namespace {

/// How long an admission waits for another one's spend load before loading itself.
constexpr std::chrono::seconds kLoadWait{5};
/// A spend counter outlives its period by this much, so that settlements just past the end still land.
constexpr std::chrono::hours kSpendGrace{24};
/// Admissions retried after loading spend, in case a counter vanishes again meanwhile.
constexpr int kLoadAttempts = 3;

std::string number(const std::optional<std::int64_t>& value) { return value ? std::to_string(*value) : "-1"; }

std::int64_t seconds_since_epoch(system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

std::string scope_prefix(const LimitsConfig& config, const AdmissionRequest& request, const Scope& scope) {
  // Every key of one admission carries the tenant's hash tag: Redis Cluster then keeps them in one slot.
  // Built by hand: keys are made on every admission and settlement, and fmt cost several times as much.
  std::string prefix;
  prefix.reserve(config.key_prefix.size() + request.tenant.id.size() + scope.id.size() + 32);
  prefix += config.key_prefix;
  prefix += '{';
  prefix += request.tenant.id;
  prefix += "}:";
  prefix += scope.kind == ScopeKind::key ? 'k' : 't';
  prefix += ':';
  prefix += scope.id;
  prefix += ':';
  return prefix;
}

std::vector<std::string> script_keys(const LimitsConfig& config, const AdmissionRequest& request,
                                     system_clock::time_point now) {
  std::vector<std::string> keys;
  keys.reserve(2 * scripts::kKeysPerScope);
  for (const Scope* scope : {&request.key, &request.tenant}) {
    auto prefix = scope_prefix(config, request, *scope);
    for (const char* name : {"log", "lease", "sums"}) keys.push_back(prefix + name);
    keys.push_back(std::move(prefix) +
                   "spend:" + std::to_string(seconds_since_epoch(period_start(scope->period, now))));
  }
  return keys;
}

void append_limits(std::vector<std::string>& args, const AdmissionRequest& request) {
  for (const Scope* scope : {&request.key, &request.tenant}) {
    args.push_back(number(scope->limits.rpm));
    args.push_back(number(scope->limits.tpm));
    args.push_back(number(scope->limits.parallel));
    args.push_back(number(scope->limits.budget_micros));
  }
}

std::int64_t integer_at(const redis::Reply& reply, std::size_t index) {
  if (reply.type != redis::Reply::Type::array || index >= reply.elements.size() ||
      reply.elements[index].type != redis::Reply::Type::integer) {
    throw std::runtime_error("limits: unexpected reply from the admission script");
  }
  return reply.elements[index].integer;
}

/// Redis answered, but with an error (out of memory, a script killed): it cannot keep the limits now.
void check_reply(const redis::Reply& reply) {
  if (reply.type == redis::Reply::Type::error)
    throw redis::Unavailable("Redis refused a script: " + reply.text);
}

ScopeUsage usage_from(const redis::Reply& reply, std::size_t first, const Limits& limits) {
  ScopeUsage usage;
  std::chrono::milliseconds reset(integer_at(reply, first + 2));
  if (limits.rpm) usage.requests = WindowUsage{*limits.rpm, integer_at(reply, first), reset};
  if (limits.tpm) usage.tokens = WindowUsage{*limits.tpm, integer_at(reply, first + 1), reset};
  return usage;
}

void refuse(Admission& admission, const Refusal& refusal) {
  if (auto retry_after = retry_after_header(refusal)) admission.headers.push_back(std::move(*retry_after));
  admission.refusal = refusal_error(refusal);
  for (const auto& [name, value] : admission.headers) admission.refusal->with_header(name, value);
}

}  // namespace

class Admitter::Impl {
 public:
  Impl(redis::Client& redis, LimitsConfig config) : redis_(redis), config_(std::move(config)) {}

  asio::awaitable<Admission> admit(const AdmissionRequest& request) {
    Admission admission;
    admission.request = request;
    admission.request.token_reservation = std::max<std::int64_t>(0, request.token_reservation);
    admission.request.cost_reservation = std::max<Micros>(0, request.cost_reservation);
    if (!is_limited(request.key.limits) && !is_limited(request.tenant.limits)) co_return admission;
    admission.id = crypto::unique_id_token(16);

    std::string outage;
    try {
      co_await admit_shared(admission);
      if (degraded_.exchange(false)) spdlog::info("limits: Redis is back, limits are global again");
      co_return admission;
    } catch (const redis::Unavailable& e) {
      outage = e.what();
    }
    if (!config_.fail_open) {
      throw ApiError::unavailable("Rate limits cannot be checked right now; please retry shortly.", outage);
    }
    if (!degraded_.exchange(true)) {
      spdlog::warn("limits: Redis unreachable, failing open with per-process limits: {}", outage);
    }
    admit_local(admission);
    co_return admission;
  }

  asio::awaitable<void> settle(const Admission& admission, std::int64_t actual_tokens, Micros actual_cost) {
    if (!admission.admitted()) co_return;
    if (admission.mode == AdmissionMode::local) {
      local_.release(admission.request.key, admission.request.tenant);
      co_return;
    }
    if (admission.mode != AdmissionMode::shared) co_return;
    const auto& request = admission.request;
    std::vector<std::string> args{admission.id,
                                  std::to_string(admission.admitted_at_ms),
                                  std::to_string(request.token_reservation),
                                  std::to_string(request.cost_reservation),
                                  std::to_string(std::max<std::int64_t>(0, actual_tokens)),
                                  std::to_string(std::max<Micros>(0, actual_cost))};
    append_limits(args, admission.request);
    auto keys = script_keys(config_, admission.request, system_clock::now());
    check_reply(co_await redis_.eval(scripts::settle(), std::move(keys), std::move(args)));
  }

  asio::awaitable<bool> renew(const Admission& admission) {
    if (!admission.admitted() || admission.mode != AdmissionMode::shared) co_return true;
    std::vector<std::string> args{admission.id, std::to_string(config_.lease_ttl.count()),
                                  std::to_string(admission.request.cost_reservation)};
    append_limits(args, admission.request);
    auto keys = script_keys(config_, admission.request, system_clock::now());
    auto reply = co_await redis_.eval(scripts::renew(), std::move(keys), std::move(args));
    check_reply(reply);
    bool held = reply.type == redis::Reply::Type::integer && reply.integer == 1;
    co_return held;
  }

 private:
  asio::awaitable<void> admit_shared(Admission& admission) {
    const auto& request = admission.request;
    for (int attempt = 1;; ++attempt) {
      auto now = system_clock::now();
      std::vector<std::string> args{admission.id, std::to_string(config_.lease_ttl.count()),
                                    std::to_string(request.token_reservation),
                                    std::to_string(request.cost_reservation)};
      append_limits(args, request);
      auto keys = script_keys(config_, request, now);
      auto reply = co_await redis_.eval(scripts::admit(), keys, std::move(args));
      check_reply(reply);
      auto verdict = integer_at(reply, 0);
      if (verdict == 1) {
        if (attempt == kLoadAttempts) throw redis::Unavailable("limits: spend counters keep vanishing");
        auto missing = integer_at(reply, 1);
        if (missing & 1) co_await load_spend(request.key, keys[scripts::kKeysPerScope - 1], now);
        if (missing & 2) co_await load_spend(request.tenant, keys[2 * scripts::kKeysPerScope - 1], now);
        continue;
      }
      admission.mode = AdmissionMode::shared;
      admission.admitted_at_ms = integer_at(reply, 4);
      auto key_usage = usage_from(reply, 5, request.key.limits);
      auto tenant_usage = usage_from(reply, 8, request.tenant.limits);
      admission.headers = rate_limit_headers(key_usage, tenant_usage);
      if (verdict != 0) {
        static constexpr LimitKind kinds[] = {LimitKind::budget, LimitKind::parallel, LimitKind::rpm,
                                              LimitKind::tpm};
        if (verdict < 2 || verdict > 5) throw std::runtime_error("limits: unknown verdict from Redis");
        refuse(admission,
               Refusal{kinds[verdict - 2], integer_at(reply, 1) == 1 ? ScopeKind::key : ScopeKind::tenant,
                       integer_at(reply, 2), std::chrono::milliseconds(integer_at(reply, 3))});
      }
      co_return;
    }
  }

  void admit_local(Admission& admission) {
    const auto& request = admission.request;
    auto outcome = local_.admit(request.key, request.tenant, LocalLimiter::Clock::now());
    admission.mode = AdmissionMode::local;
    admission.headers = rate_limit_headers(outcome.key, outcome.tenant);
    if (outcome.refusal) refuse(admission, *outcome.refusal);
  }

  /// Rebuilds one missing spend counter from the loader. Concurrent admissions that miss the same counter
  /// wait for the first one's load instead of each querying Postgres.
  asio::awaitable<void> load_spend(const Scope& scope, const std::string& key, system_clock::time_point now) {
    auto executor = co_await asio::this_coro::executor;
    std::shared_ptr<asio::steady_timer> wait;
    {
      std::lock_guard lock(loads_mutex_);
      auto [load, first] = loads_.try_emplace(key);
      if (!first) {
        wait = std::make_shared<asio::steady_timer>(executor, kLoadWait);
        load->second.push_back(wait);
      }
    }
    if (wait) {
      co_await wait->async_wait(asio::as_tuple(asio::use_awaitable));
      co_return;
    }

    std::string failure;
    try {
      co_await store_spend(scope, key, now);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    std::vector<std::shared_ptr<asio::steady_timer>> waiters;
    {
      std::lock_guard lock(loads_mutex_);
      waiters = std::move(loads_[key]);
      loads_.erase(key);
    }
    for (auto& waiter : waiters) {
      asio::post(waiter->get_executor(), [waiter] { waiter->cancel(); });
    }
    if (!failure.empty()) throw redis::Unavailable("limits: spend could not be rebuilt: " + failure);
  }

  asio::awaitable<void> store_spend(const Scope& scope, const std::string& key,
                                    system_clock::time_point now) {
    if (!config_.spend_loader) throw std::runtime_error("no spend loader is configured");
    auto start = period_start(scope.period, now);
    auto spent = co_await config_.spend_loader(scope, start);
    std::vector<std::string> set{"SET", key, std::to_string(spent), "NX"};
    if (auto end = period_end(scope.period, start)) {
      set.push_back("EXAT");
      set.push_back(std::to_string(seconds_since_epoch(*end + kSpendGrace)));
    }
    check_reply(co_await redis_.command(std::move(set)));
  }

  redis::Client& redis_;
  LimitsConfig config_;
  LocalLimiter local_;
  std::atomic<bool> degraded_{false};
  std::mutex loads_mutex_;
  std::map<std::string, std::vector<std::shared_ptr<asio::steady_timer>>> loads_;
};

Admitter::Admitter(redis::Client& redis, LimitsConfig config)
    : impl_(std::make_unique<Impl>(redis, std::move(config))) {}

Admitter::~Admitter() = default;

asio::awaitable<Admission> Admitter::admit(const AdmissionRequest& request) { return impl_->admit(request); }

asio::awaitable<void> Admitter::settle(const Admission& admission, std::int64_t actual_tokens,
                                       Micros actual_cost) {
  return impl_->settle(admission, actual_tokens, actual_cost);
}

asio::awaitable<bool> Admitter::renew(const Admission& admission) { return impl_->renew(admission); }

}  // namespace switchyard::limits
