#include "switchyard/auth/key_cache.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <unordered_map>

#include "api_key_error.hpp"
#include "flight.hpp"
#include "negative_cache.hpp"
#include "switchyard/auth/provider_keys.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::auth {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using PrincipalPtr = std::shared_ptr<const Principal>;

/// A key is valid while it is not revoked and, when it has an owner, the owner is enabled and still a
/// member of the key's tenant; a viewer's keys only read. Expiry is left to the caller, which checks it on
/// every use.
constexpr const char* kLoadKey = R"(
  SELECT k.id, k.name, t.id, t.name, t.kind, k.user_id, to_json(k.scopes)::text,
         k.budget_micros, k.rpm, k.tpm, k.parallel,
         t.budget_micros, t.rpm, t.tpm, t.parallel, t.budget_period, t.all_models,
         (extract(epoch FROM k.expires_at) * 1000000)::bigint,
         COALESCE((SELECT json_agg(mo.alias) FROM tenant_models tm JOIN models mo ON mo.id = tm.model_id
                   WHERE tm.tenant_id = t.id), '[]')::text,
         (SELECT m.role FROM memberships m WHERE m.tenant_id = k.tenant_id AND m.user_id = k.user_id)
  FROM api_keys k
  JOIN tenants t ON t.id = k.tenant_id
  LEFT JOIN users u ON u.id = k.user_id
  WHERE k.key_hash = decode($1, 'hex')
    AND k.revoked_at IS NULL
    AND (k.user_id IS NULL
         OR (NOT u.disabled
             AND EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = k.tenant_id AND m.user_id = k.user_id))))";

template <class T>
std::optional<T> nullable(const pqxx::field& field) {
  return field.is_null() ? std::nullopt : std::optional<T>(field.as<T>());
}

Limits limits_at(const pqxx::row& row, int first) {
  return {nullable<Micros>(row[first]), nullable<std::int64_t>(row[first + 1]),
          nullable<std::int64_t>(row[first + 2]), nullable<std::int64_t>(row[first + 3])};
}

std::optional<Principal> load_principal(pqxx::work& tx, const crypto::MasterKey& master_key,
                                        const std::string& hash_hex) {
  auto result = tx.exec_params(kLoadKey, hash_hex);
  if (result.empty()) return std::nullopt;
  const auto& row = result[0];
  Principal p;
  p.key_id = row[0].as<std::string>();
  p.key_name = row[1].as<std::string>();
  p.tenant_id = row[2].as<std::string>();
  p.tenant_name = row[3].as<std::string>();
  p.tenant_kind = row[4].as<std::string>() == "personal" ? TenantKind::personal : TenantKind::shared;
  p.user_id = nullable<std::string>(row[5]);
  for (const auto& scope : nlohmann::json::parse(row[6].as<std::string>())) {
    if (scope == "read") p.scopes.read = true;
    if (scope == "write") p.scopes.write = true;
  }
  p.key_limits = limits_at(row, 7);
  p.tenant_limits = limits_at(row, 11);
  p.budget_period = budget_period_named(row[15].as<std::string>());
  p.all_models = row[16].as<bool>();
  if (auto micros = nullable<std::int64_t>(row[17])) {
    p.expires_at = std::chrono::system_clock::time_point(std::chrono::microseconds(*micros));
  }
  p.granted_aliases = nlohmann::json::parse(row[18].as<std::string>()).get<std::vector<std::string>>();
  std::sort(p.granted_aliases.begin(), p.granted_aliases.end());
  p.own_provider_keys = load_own_provider_keys(tx, master_key, p.tenant_id, p.user_id);
  // A member demoted to viewer keeps reading with their keys but spends no more.
  if (!row[19].is_null() && row[19].as<std::string>() == "viewer") p.scopes.write = false;
  return p;
}

}  // namespace

struct KeyCache::State {
  State(postgres::Pool& p, const crypto::MasterKey& k, KeyCacheOptions o)
      : pool(p), master_key(k), options(o), negative(o.negative_capacity) {}

  struct Entry {
    PrincipalPtr principal;
    Clock::time_point fresh_until;
    Clock::time_point retry_at;  ///< no background reload before this
  };
  using KeyFlight = detail::Flight<PrincipalPtr>;

  postgres::Pool& pool;
  const crypto::MasterKey& master_key;
  const KeyCacheOptions options;

  mutable std::mutex mutex;
  std::unordered_map<std::string, Entry> keys;  ///< by raw key hash
  detail::NegativeCache negative;
  std::unordered_map<std::string, std::shared_ptr<KeyFlight>> flights;
  /// Bumped by every change notification: a load that began before one may have read what it changed,
  /// so its result is handed to its waiters but not kept.
  std::uint64_t generation = 0;
  KeyCacheStats counters;

  /// Stores a load's outcome and ends its flight.
  void finish(const std::string& hash, const std::shared_ptr<KeyFlight>& flight, std::uint64_t started,
              std::exception_ptr error, const PrincipalPtr& principal) {
    {
      std::lock_guard lock(mutex);
      if (auto it = flights.find(hash); it != flights.end() && it->second == flight) flights.erase(it);
      if (!error && started == generation) {
        auto now = Clock::now();
        if (principal) {
          keys[hash] = Entry{principal, now + options.ttl, now};
          negative.erase(hash);
        } else {
          keys.erase(hash);
          negative.insert(hash, now + options.negative_ttl);
        }
      }
    }
    flight->complete(error, principal);
  }

  /// The key's principal from Postgres (nullptr: not a valid key), joining a load already under way.
  static asio::awaitable<PrincipalPtr> fetch(std::shared_ptr<State> self, std::string hash) {
    std::shared_ptr<KeyFlight> flight;
    bool leader = false;
    std::uint64_t started = 0;
    {
      std::lock_guard lock(self->mutex);
      auto& slot = self->flights[hash];
      if (!slot) {
        slot = std::make_shared<KeyFlight>();
        leader = true;
        started = self->generation;
        ++self->counters.loads;
      }
      flight = slot;
    }
    if (!leader) co_return co_await flight->wait();

    detail::UnlessDismissed abandoned([&] {
      self->finish(hash, flight, started,
                   std::make_exception_ptr(ApiError::unavailable("The key could not be checked; try again.",
                                                                 "auth: key load abandoned")),
                   nullptr);
    });
    PrincipalPtr principal;
    try {
      auto hash_hex = crypto::hex(hash);
      auto loaded = co_await self->pool.transact(
          [&](pqxx::work& tx) { return load_principal(tx, self->master_key, hash_hex); });
      if (loaded && !loaded->expired(std::chrono::system_clock::now())) {
        principal = std::make_shared<const Principal>(std::move(*loaded));
      }
    } catch (...) {
      abandoned.dismiss();
      self->finish(hash, flight, started, std::current_exception(), nullptr);
      throw;
    }
    abandoned.dismiss();
    self->finish(hash, flight, started, nullptr, principal);
    co_return principal;
  }

  static asio::awaitable<PrincipalPtr> lookup(std::shared_ptr<State> self, std::string hash,
                                              std::string shown_key) {
    auto now = Clock::now();
    PrincipalPtr cached;
    bool reload = false;
    {
      std::lock_guard lock(self->mutex);
      if (auto it = self->keys.find(hash); it != self->keys.end()) {
        ++self->counters.hits;
        auto& entry = it->second;
        cached = entry.principal;
        if (now >= entry.fresh_until && now >= entry.retry_at && !self->flights.contains(hash)) {
          entry.retry_at = now + self->options.retry_interval;
          reload = true;
        }
      } else if (self->negative.contains(hash, now)) {
        ++self->counters.hits;
        throw detail::incorrect_api_key_shown(shown_key);
      } else {
        ++self->counters.misses;
      }
    }
    if (cached) {
      // Stale, not gone: serve what we have (Postgres may be down) and reload behind the request.
      if (reload) {
        asio::co_spawn(co_await asio::this_coro::executor, fetch(self, hash),
                       [](const std::exception_ptr& error, const PrincipalPtr&) {
                         if (error) spdlog::debug("auth: a cached key could not be reloaded yet");
                       });
      }
      if (cached->expired(std::chrono::system_clock::now())) throw detail::incorrect_api_key_shown(shown_key);
      co_return cached;
    }
    auto principal = co_await fetch(self, std::move(hash));
    if (!principal || principal->expired(std::chrono::system_clock::now())) {
      throw detail::incorrect_api_key_shown(shown_key);
    }
    co_return principal;
  }
};

KeyCache::KeyCache(postgres::Pool& pool, const crypto::MasterKey& master_key, KeyCacheOptions options)
    : state_(std::make_shared<State>(pool, master_key, options)) {}

KeyCache::~KeyCache() = default;

asio::awaitable<std::shared_ptr<const Principal>> KeyCache::authenticate(std::string_view presented_key) {
  // Not a coroutine itself: the key is hashed now, so the caller's buffer may go, and the secret itself
  // never sits in a coroutine frame.
  return State::lookup(state_, state_->master_key.api_key_hash(presented_key),
                       detail::shown_key(presented_key));
}

void KeyCache::apply(const Change& change) {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  ++s.generation;
  switch (change.kind) {
    case Change::Kind::api_key:
      s.keys.erase(change.subject);
      s.negative.erase(change.subject);
      break;
    case Change::Kind::tenant:
      std::erase_if(s.keys,
                    [&](const auto& entry) { return entry.second.principal->tenant_id == change.subject; });
      s.negative.clear();  // a membership may have come back
      break;
    case Change::Kind::user:
      std::erase_if(s.keys,
                    [&](const auto& entry) { return entry.second.principal->user_id == change.subject; });
      s.negative.clear();
      break;
    case Change::Kind::catalog:
      for (auto& [hash, entry] : s.keys) {
        if (!entry.principal->all_models) entry.fresh_until = entry.retry_at = Clock::time_point::min();
      }
      break;
  }
}

void KeyCache::resync() {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  ++s.generation;
  for (auto& [hash, entry] : s.keys) entry.fresh_until = entry.retry_at = Clock::time_point::min();
  s.negative.clear();
}

KeyCacheStats KeyCache::stats() const {
  std::lock_guard lock(state_->mutex);
  auto stats = state_->counters;
  stats.keys = state_->keys.size();
  stats.negative_keys = state_->negative.size();
  return stats;
}

}  // namespace switchyard::auth
