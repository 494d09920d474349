#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "switchyard/auth/changes.hpp"
#include "switchyard/auth/principal.hpp"
#include "switchyard/core/error.hpp"

namespace switchyard::crypto {
class MasterKey;
}
namespace switchyard::postgres {
class Pool;
}

namespace switchyard::jwt_orgs {

/// The header that names the user inside a JWT organisation (spec 002).
inline constexpr std::string_view kUserIdHeader = "X-User-ID";

/// The user X-User-ID names: its value without surrounding blanks. Throws 422 invalid_request_error (param
/// `X-User-ID`): code `missing_user_id` when the header is missing or blank, `invalid_user_id` when it is
/// over 256 bytes or holds control characters. Pure.
std::string external_user_id(std::optional<std::string_view> header);

/// 401 invalid_api_key for a token that is not accepted, whatever the reason (the log gets the reason).
ApiError token_not_accepted(std::string detail);

struct AuthenticatorOptions {
  /// A backstop behind the change notifications: entries this old are reloaded on their next use (and
  /// served as they were while Postgres cannot be asked).
  std::chrono::milliseconds ttl{60'000};
  /// How long a tenant without JWT settings is answered 401 without asking Postgres again.
  std::chrono::milliseconds negative_ttl{5'000};
  /// How far `exp`, `nbf` and `iat` may be off.
  std::chrono::seconds leeway{60};
};

struct AuthenticatorStats {
  std::uint64_t loads = 0;  ///< queries sent to Postgres
  std::size_t tenants = 0;  ///< tenants whose settings are cached (with or without a key)
  std::size_t users = 0;    ///< users whose principal is cached
};

/// Bearer JWTs of JWT organisations → Principal. The token names its tenant (`org_id`, or `tenant_id`);
/// it is verified with that tenant's key, pinned to its algorithm; `X-User-ID` names the user, made on
/// first sight. The principal carries the tenant's limits, grants and own provider keys (the user's win),
/// the user's id, no key id and no key limits, scopes read and write. Tenants' keys and users' principals
/// are cached in memory: the hot path does not ask Postgres, and concurrent misses share one load.
/// Freshness comes from apply() and resync(), which a ChangeListener calls.
///
/// Thread-safe. The pool and the master key must outlive it and every io_context running its calls.
class Authenticator {
 public:
  Authenticator(postgres::Pool& pool, const crypto::MasterKey& master_key, AuthenticatorOptions options = {});
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  /// The principal of `token` and the `user_header` (X-User-ID) beside it. Throws token_not_accepted()
  /// (401) for an unknown tenant, a tenant without JWT settings, a bad signature, another alg, an expired
  /// token, or a disabled user or one no longer a member; external_user_id()'s 422; ApiError::unavailable
  /// when something not in memory cannot be loaded. Both arguments are copied before the first suspension.
  boost::asio::awaitable<std::shared_ptr<const auth::Principal>> authenticate(
      std::string_view token, std::optional<std::string_view> user_header);

  /// Forgets what a change made stale: a tenant's key and users, a user, or (catalogue) grants.
  void apply(const auth::Change& change);
  /// Marks everything for reload: changes may have been missed.
  void resync();

  AuthenticatorStats stats() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace switchyard::jwt_orgs
