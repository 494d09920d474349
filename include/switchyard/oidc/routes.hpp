#pragma once

#include <chrono>
#include <string>

#include "switchyard/core/config.hpp"
#include "switchyard/http/router.hpp"

namespace switchyard::crypto {
class MasterKey;
}
namespace switchyard::http {
class UpstreamClient;
}
namespace switchyard::postgres {
class Pool;
}

namespace switchyard::oidc {

/// What the sign-in routes need; every part must outlive the router.
struct OidcParts {
  postgres::Pool& pool;
  const crypto::MasterKey& master_key;
  http::UpstreamClient& upstream;
};

/// What the sign-in routes read from the configuration.
struct OidcOptions {
  OidcSettings oidc;
  std::string redirect_uri;  ///< redirect_uri_for(...)
  std::string public_url;    ///< server.public_url, for Secure cookies
  std::chrono::seconds session_ttl{12 * 3600};
  TenancySettings tenancy;  ///< what the personal tenant of a user's first sign-in gets
};

/// The options from the whole configuration. Throws ConfigError when OIDC is on without a client id.
OidcOptions oidc_options(const Config& config);

/// Adds `GET /auth/methods`, `GET /auth/oidc/login` and `GET /auth/oidc/callback` (the last two answer
/// 404 while OIDC is off).
void add_oidc_routes(http::Router& router, OidcParts parts, OidcOptions options);

}  // namespace switchyard::oidc
