#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "switchyard/auth/changes.hpp"
#include "switchyard/auth/principal.hpp"

namespace switchyard::crypto {
class MasterKey;
}
namespace switchyard::postgres {
class Pool;
}

namespace switchyard::auth {

struct KeyCacheOptions {
  /// A backstop behind the change notifications: a key cached this long is reloaded in the background
  /// on its next use, and served as it was meanwhile (or for as long as Postgres is down).
  std::chrono::milliseconds ttl{60'000};
  /// How long an unknown, revoked or expired key is answered 401 without asking Postgres again.
  std::chrono::milliseconds negative_ttl{5'000};
  /// At most this many such keys are remembered, the oldest dropped first.
  std::size_t negative_capacity = 10'000;
  /// The pause before a key whose background reload failed is tried again.
  std::chrono::milliseconds retry_interval{1'000};
};

/// Counters for /metrics and tests.
struct KeyCacheStats {
  std::uint64_t hits = 0;    ///< answered from memory, valid or not
  std::uint64_t misses = 0;  ///< had to wait for Postgres
  std::uint64_t loads = 0;   ///< queries sent to Postgres
  std::size_t keys = 0;      ///< valid keys cached
  std::size_t negative_keys = 0;
};

/// API key → Principal, from memory on the hot path. Keys are looked up by their keyed hash
/// (MasterKey::api_key_hash); a key not in memory is loaded from Postgres once, however many requests
/// present it at the same moment. A key seen before keeps working while Postgres is down, past its TTL.
/// Freshness comes from apply() and resync(), which a ChangeListener calls.
///
/// Thread-safe: one cache serves every event loop. The pool and the master key must outlive the cache
/// and every io_context that runs its calls (background reloads included).
class KeyCache {
 public:
  KeyCache(postgres::Pool& pool, const crypto::MasterKey& master_key, KeyCacheOptions options = {});
  ~KeyCache();
  KeyCache(const KeyCache&) = delete;
  KeyCache& operator=(const KeyCache&) = delete;

  /// The principal of a presented key. Throws incorrect_api_key() (401) for an unknown, revoked or
  /// expired key, or one whose owner is disabled, no longer a member of its tenant or only a viewer there,
  /// and ApiError::unavailable (503) when the key is not in memory and Postgres cannot be asked. The key is
  /// hashed before this returns, so `presented_key` need not outlive the call. Not cancellable once it
  /// waits for Postgres (the pool's calls are not).
  boost::asio::awaitable<std::shared_ptr<const Principal>> authenticate(std::string_view presented_key);

  /// Forgets what a change in Postgres made stale: a key, or every key of a tenant or user. A catalogue
  /// change marks the keys of tenants with grants for reload (their granted aliases may be renamed).
  void apply(const Change& change);
  /// Marks every key for reload and forgets the invalid ones: changes may have been missed.
  void resync();

  KeyCacheStats stats() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace switchyard::auth
