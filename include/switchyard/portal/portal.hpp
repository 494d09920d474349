#pragma once

#include <string>

#include "switchyard/core/config.hpp"
#include "switchyard/http/router.hpp"

namespace switchyard::crypto {
class MasterKey;
}
namespace switchyard::postgres {
class Pool;
}
namespace switchyard::identity {
class Authenticator;
class LoginThrottle;
}  // namespace switchyard::identity

/// The identity and tenancy APIs behind the portal and spec 004's user routes: sign-in, sessions,
/// registration, profile, user tokens, provider keys, tenants, memberships, invites, API keys, and the
/// administrators' users and tenants.
namespace switchyard::portal {

/// What the routes run on; every part must outlive the router's use.
struct PortalParts {
  postgres::Pool& pool;
  identity::Authenticator& authenticator;
  identity::LoginThrottle& throttle;
  const crypto::MasterKey& master_key;
};

struct PortalSettings {
  AuthSettings auth;
  TenancySettings tenancy;
  std::string public_url;  ///< decides Secure cookies
};

/// `/auth/login|logout|session`, `/v1/users/...`, `/user/tenants/...`, `/admin/users|tenants|invites`.
void add_portal_routes(http::Router& router, PortalParts parts, PortalSettings settings);

}  // namespace switchyard::portal
