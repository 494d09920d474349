#include "switchyard/jwt_orgs/authenticator.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <unordered_map>
#include <vector>

#include "switchyard/auth/provider_keys.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/ids.hpp"
#include "switchyard/jwt_orgs/store.hpp"
#include "switchyard/jwt_orgs/token.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::jwt_orgs {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using PrincipalPtr = std::shared_ptr<const auth::Principal>;

constexpr std::size_t kMaxUserIdBytes = 256;
/// A waiter gives up on a load this slow and asks Postgres itself.
constexpr std::chrono::seconds kLoadWait{10};
/// The pause before a stale entry whose reload failed is reloaded again.
constexpr std::chrono::seconds kRetryInterval{1};

/// The tenant's limits and grants, and whether the user may still act in it (enabled, still a member).
constexpr const char* kLoadUser = R"(
  SELECT t.name, t.kind, t.budget_micros, t.rpm, t.tpm, t.parallel, t.budget_period, t.all_models,
         COALESCE((SELECT json_agg(mo.alias) FROM tenant_models tm JOIN models mo ON mo.id = tm.model_id
                   WHERE tm.tenant_id = t.id), '[]')::text,
         (NOT u.disabled AND EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = t.id AND m.user_id = u.id
                                         AND m.role <> 'viewer'))
  FROM tenants t, users u
  WHERE t.id = $1::uuid AND u.id = $2::uuid)";

template <class T>
std::optional<T> optional_field(const pqxx::field& field) {
  return field.is_null() ? std::nullopt : std::optional<T>(field.as<T>());
}

/// What a user's principal is cached as: null when the user may no longer act (disabled, not a member).
PrincipalPtr load_principal(pqxx::work& tx, const crypto::MasterKey& master_key, const std::string& tenant_id,
                            const std::string& external_id) {
  auto user_id = ensure_user(tx, tenant_id, external_id);
  auto rows = tx.exec_params(kLoadUser, tenant_id, user_id);
  if (rows.empty() || !rows[0][9].as<bool>()) return nullptr;
  const auto& row = rows[0];
  auth::Principal p;
  p.key_name = "jwt";
  p.tenant_id = tenant_id;
  p.tenant_name = row[0].as<std::string>();
  p.tenant_kind =
      row[1].as<std::string>() == "personal" ? auth::TenantKind::personal : auth::TenantKind::shared;
  p.user_id = user_id;
  p.scopes = {.read = true, .write = true};
  p.tenant_limits = {optional_field<Micros>(row[2]), optional_field<std::int64_t>(row[3]),
                     optional_field<std::int64_t>(row[4]), optional_field<std::int64_t>(row[5])};
  p.budget_period = budget_period_named(row[6].as<std::string>());
  p.all_models = row[7].as<bool>();
  p.granted_aliases = nlohmann::json::parse(row[8].as<std::string>()).get<std::vector<std::string>>();
  std::sort(p.granted_aliases.begin(), p.granted_aliases.end());
  p.own_provider_keys = auth::load_own_provider_keys(tx, master_key, tenant_id, p.user_id);
  return std::make_shared<const auth::Principal>(std::move(p));
}

/// Values by key, each loaded from Postgres once however many requests miss it together.
template <class Value>
struct Cache {
  struct Entry {
    Value value;
    Clock::time_point fresh_until;
  };
  std::unordered_map<std::string, Entry> entries;
  /// Keys being loaded, with the timers of the requests waiting for them.
  std::unordered_map<std::string, std::vector<std::shared_ptr<asio::steady_timer>>> loading;

  void mark_stale() {
    for (auto& [key, entry] : entries) entry.fresh_until = Clock::time_point::min();
  }

  /// Whether one more "no such tenant or user" may be remembered. Tokens naming made-up tenants cost nothing
  /// to forge, so such entries are capped: past the cap the expired ones go, and if none has, the answer is
  /// not kept.
  bool room_for_unknown(Clock::time_point now) {
    constexpr std::size_t kMaxEntries = 100'000;
    if (entries.size() < kMaxEntries) return true;
    std::erase_if(entries,
                  [now](const auto& entry) { return !entry.second.value && entry.second.fresh_until < now; });
    return entries.size() < kMaxEntries;
  }
};

/// Wakes a timer on its own executor: the waker may be another thread.
void wake(const std::vector<std::shared_ptr<asio::steady_timer>>& timers) {
  for (const auto& timer : timers) asio::post(timer->get_executor(), [timer] { timer->cancel(); });
}

using TenantKey = std::shared_ptr<const TokenKey>;  ///< null: the tenant accepts no JWTs

std::string user_cache_key(const std::string& tenant_id, const std::string& external_id) {
  return tenant_id + '\n' + external_id;
}

}  // namespace

std::string external_user_id(std::optional<std::string_view> header) {
  std::string_view value = header.value_or("");
  auto first = value.find_first_not_of(" \t");
  value = first == std::string_view::npos ? std::string_view() : value.substr(first);
  value = value.substr(0, value.find_last_not_of(" \t") + 1);
  if (value.empty()) {
    throw ApiError(422, "invalid_request_error", "missing_user_id",
                   "The X-User-ID header is required with an organisation's token: it names the user.",
                   std::string(kUserIdHeader));
  }
  bool control = std::any_of(value.begin(), value.end(),
                             [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  if (value.size() > kMaxUserIdBytes || control) {
    throw ApiError(422, "invalid_request_error", "invalid_user_id",
                   "The X-User-ID header must be at most 256 bytes without control characters.",
                   std::string(kUserIdHeader));
  }
  return std::string(value);
}

ApiError token_not_accepted(std::string detail) {
  return ApiError(401, "invalid_request_error", "invalid_api_key",
                  "The bearer token is not accepted: it is malformed, expired, or not signed with its "
                  "organisation's key.",
                  {}, std::move(detail));
}

struct Authenticator::State {
  State(postgres::Pool& p, const crypto::MasterKey& k, AuthenticatorOptions o)
      : pool(p), master_key(k), options(o) {}

  postgres::Pool& pool;
  const crypto::MasterKey& master_key;
  const AuthenticatorOptions options;

  mutable std::mutex mutex;
  Cache<TenantKey> tenants;   ///< by tenant id
  Cache<PrincipalPtr> users;  ///< by user_cache_key(); null: the user may not act
  /// Bumped by every change: a load that began before one may have read what it changed, so its result
  /// serves its own request but is not kept.
  std::uint64_t generation = 0;
  std::uint64_t loads = 0;

  /// Loads `key` for the flight this caller leads, keeps the value unless a change came meanwhile, and
  /// wakes the waiters: on every exit, a frame destroyed mid-load included.
  template <class Value, class Load>
  static asio::awaitable<Value> lead(std::shared_ptr<State> self, Cache<Value> State::*which, std::string key,
                                     std::uint64_t started, std::chrono::milliseconds lifetime_if_null,
                                     Load load) {
    auto& cache = (*self).*which;
    std::optional<Value> loaded;
    auto settle = [&] {
      std::vector<std::shared_ptr<asio::steady_timer>> waiters;
      {
        std::lock_guard lock(self->mutex);
        if (loaded && started == self->generation && (*loaded || cache.room_for_unknown(Clock::now()))) {
          cache.entries[key] = {*loaded, Clock::now() + (*loaded ? self->options.ttl : lifetime_if_null)};
        }
        if (auto it = cache.loading.find(key); it != cache.loading.end()) {
          waiters = std::move(it->second);
          cache.loading.erase(it);
        }
      }
      wake(waiters);
    };
    std::shared_ptr<void> on_exit(nullptr, [&](void*) { settle(); });
    loaded = co_await self->pool.transact(load);
    co_return *loaded;
  }

  /// The cached value of `key`, else one load shared by all who ask at once. A stale value is served at
  /// once and reloaded behind the request, so that while Postgres cannot be asked what was seen keeps
  /// working.
  template <class Value, class Load>
  static asio::awaitable<Value> get(std::shared_ptr<State> self, Cache<Value> State::*which, std::string key,
                                    std::chrono::milliseconds lifetime_if_null, Load load) {
    auto& cache = (*self).*which;
    auto executor = co_await asio::this_coro::executor;
    for (int attempt = 0;; ++attempt) {
      std::shared_ptr<asio::steady_timer> wait;
      std::optional<Value> stale;
      bool leader = false;
      std::uint64_t started = 0;
      {
        std::lock_guard lock(self->mutex);
        auto now = Clock::now();
        auto entry = cache.entries.find(key);
        if (entry != cache.entries.end()) {
          if (now < entry->second.fresh_until) co_return entry->second.value;
          stale = entry->second.value;
        }
        auto [flight, first] = cache.loading.try_emplace(key);
        if (first) {
          leader = true;
          started = self->generation;
          ++self->loads;
          // A failed reload is not tried again by every request that follows.
          if (stale) entry->second.fresh_until = now + kRetryInterval;
        } else if (stale) {
          co_return *stale;
        } else if (attempt < 2) {
          wait = std::make_shared<asio::steady_timer>(executor, kLoadWait);
          flight->second.push_back(wait);
        }
      }
      if (wait) {
        co_await wait->async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      if (!leader) co_return co_await self->pool.transact(load);  // the leader is too slow: ask alone
      if (stale) {
        asio::co_spawn(executor, lead(self, which, key, started, lifetime_if_null, std::move(load)),
                       [](const std::exception_ptr& error, const Value&) {
                         if (error) spdlog::debug("jwt: a cached entry could not be reloaded yet");
                       });
        co_return *stale;
      }
      co_return co_await lead(self, which, std::move(key), started, lifetime_if_null, std::move(load));
    }
  }

  static asio::awaitable<PrincipalPtr> authenticate(std::shared_ptr<State> self, std::string token,
                                                    std::optional<std::string> user_header) {
    std::string tenant_id;
    try {
      tenant_id = claimed_tenant(token);
    } catch (const TokenRefused& refused) {
      throw token_not_accepted(std::string("jwt: ") + refused.what());
    }
    if (!is_uuid(tenant_id)) throw token_not_accepted("jwt: org_id is not a tenant id");
    auto& master_key = self->master_key;
    // Named before the co_await: GCC 12 destroys some temporaries of a co_await expression twice.
    auto load_key = [&master_key, tenant_id](pqxx::work& tx) -> TenantKey {
      auto loaded = load_tenant_key(tx, master_key, tenant_id);
      return loaded ? std::make_shared<const TokenKey>(std::move(*loaded)) : nullptr;
    };
    auto key =
        co_await get(self, &State::tenants, tenant_id, self->options.negative_ttl, std::move(load_key));
    if (!key) throw token_not_accepted("jwt: tenant " + tenant_id + " is unknown or accepts no JWTs");
    try {
      verify_token(token, *key, {.now = std::chrono::system_clock::now(), .leeway = self->options.leeway});
    } catch (const TokenRefused& refused) {
      throw token_not_accepted("jwt: tenant " + tenant_id + ": " + refused.what());
    }
    std::optional<std::string_view> header;
    if (user_header) header = *user_header;
    auto external_id = external_user_id(header);
    auto load_user = [&master_key, tenant_id, external_id](pqxx::work& tx) {
      return load_principal(tx, master_key, tenant_id, external_id);
    };
    auto cache_key = user_cache_key(tenant_id, external_id);
    auto principal = co_await get(self, &State::users, std::move(cache_key), self->options.negative_ttl,
                                  std::move(load_user));
    if (!principal)
      throw token_not_accepted("jwt: user " + external_id + " is disabled or no longer a member");
    co_return principal;
  }
};

Authenticator::Authenticator(postgres::Pool& pool, const crypto::MasterKey& master_key,
                             AuthenticatorOptions options)
    : state_(std::make_shared<State>(pool, master_key, options)) {}

Authenticator::~Authenticator() = default;

asio::awaitable<PrincipalPtr> Authenticator::authenticate(std::string_view token,
                                                          std::optional<std::string_view> user_header) {
  std::optional<std::string> header;
  if (user_header) header.emplace(*user_header);
  return State::authenticate(state_, std::string(token), std::move(header));
}

void Authenticator::apply(const auth::Change& change) {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  ++s.generation;
  switch (change.kind) {
    case auth::Change::Kind::tenant:
      // Its key, limits, grants, own provider keys or memberships changed.
      s.tenants.entries.erase(change.subject);
      std::erase_if(s.users.entries,
                    [&](const auto& entry) { return entry.first.starts_with(change.subject + '\n'); });
      break;
    case auth::Change::Kind::user:
      std::erase_if(s.users.entries, [&](const auto& entry) {
        return entry.second.value && entry.second.value->user_id == change.subject;
      });
      break;
    case auth::Change::Kind::catalog:
      s.users.mark_stale();  // granted aliases may be renamed
      break;
    case auth::Change::Kind::api_key:
      break;
  }
}

void Authenticator::resync() {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  ++s.generation;
  s.tenants.mark_stale();
  s.users.mark_stale();
}

AuthenticatorStats Authenticator::stats() const {
  std::lock_guard lock(state_->mutex);
  return {state_->loads, state_->tenants.entries.size(), state_->users.entries.size()};
}

}  // namespace switchyard::jwt_orgs
