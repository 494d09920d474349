#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "switchyard/auth/principal.hpp"
#include "switchyard/http/router.hpp"
#include "switchyard/identity/roles.hpp"

namespace switchyard::auth {
class KeyCache;
}
namespace switchyard::crypto {
class MasterKey;
}
namespace switchyard::postgres {
class Pool;
}

/// Who calls the portal and user APIs (`/auth/...`, `/user/...`, `/admin/...`, `/v1/users/...`), and
/// which tenants they may see.
namespace switchyard::identity {

/// How a caller proved who they are.
enum class Credential {
  session_cookie,  ///< the portal's cookie: state-changing calls must carry the CSRF token too
  session_token,   ///< a login token from POST /v1/users/login, as a bearer
  api_key,         ///< an API key (or user token) owned by a user, as a bearer: reads only
};

/// What a route does: reading is any GET; anything else writes.
enum class Access { read, write };

struct Caller {
  std::string user_id;
  std::string email;
  std::string display_name;
  bool is_admin = false;  ///< a platform administrator
  std::string personal_tenant_id;
  Credential credential = Credential::session_cookie;
  std::string session_id;                      ///< for session credentials
  std::shared_ptr<const auth::Principal> key;  ///< for api_key credentials
};

/// A tenant as one caller sees it.
struct TenantMembership {
  std::string tenant_id;
  std::string tenant_name;
  auth::TenantKind kind = auth::TenantKind::shared;
  /// The caller's role; a platform administrator who is not a member acts as owner.
  Role role = Role::viewer;
  bool member = true;  ///< false for an administrator who is not a member
};

/// The names of the portal's cookies.
inline constexpr const char* kSessionCookie = "sy_session";
inline constexpr const char* kCsrfCookie = "sy_csrf";
/// The header a cookie-authenticated state-changing call repeats the CSRF token in.
inline constexpr const char* kCsrfHeader = "X-CSRF-Token";

/// Finds the caller of a portal or user API request. Thread-safe; the parts must outlive it.
class Authenticator {
 public:
  Authenticator(postgres::Pool& pool, auth::KeyCache& keys, const crypto::MasterKey& master_key);

  /// The caller, from the session cookie or an `Authorization: Bearer` login token or user-owned API key.
  /// Throws 401 invalid_api_key without a valid one (an expired, revoked or unknown session or key, or a
  /// disabled user), 403 permission_error for a write with the cookie but without the matching CSRF
  /// header, or with an API key (keys read these APIs; changing the account needs a session). Sets
  /// context.tenant for the access log.
  boost::asio::awaitable<Caller> authenticate(http::RequestContext& context, Access access);

  /// Like authenticate(), and 403 permission_error unless the caller is a platform administrator signed in
  /// (an administrator's API key is refused).
  boost::asio::awaitable<Caller> authenticate_admin(http::RequestContext& context, Access access);

 private:
  postgres::Pool& pool_;
  auth::KeyCache& keys_;
  const crypto::MasterKey& master_key_;
};

/// The caller's access to one tenant. Throws 404 (worded as for an unknown tenant) when the caller is
/// neither a member nor an administrator, and 403 permission_error when their role is below `minimum`.
/// A caller using an API key reaches only that key's tenant.
boost::asio::awaitable<TenantMembership> require_tenant(postgres::Pool& pool, const Caller& caller,
                                                        const std::string& tenant_id, Role minimum);

/// Every tenant the caller belongs to (an API-key caller: the key's tenant only), personal first.
boost::asio::awaitable<std::vector<TenantMembership>> tenants_of(postgres::Pool& pool, const Caller& caller);

}  // namespace switchyard::identity
