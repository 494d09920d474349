#pragma once

#include "switchyard/http/router.hpp"

namespace switchyard::auth {
class KeyCache;
}
namespace switchyard::crypto {
class MasterKey;
}
namespace switchyard::identity {
class Authenticator;
}
namespace switchyard::postgres {
class Pool;
}

/// The platform administrators' catalogue and audit API (`/admin/...`), and the catalogue as users see
/// it (`GET /v1/providers`, `GET /user/models`, `GET /user/tenants/{id}/audit`).
namespace switchyard::admin {

/// What the routes run on; every part must outlive the router's use.
struct AdminParts {
  postgres::Pool& pool;
  identity::Authenticator& authenticator;
  auth::KeyCache& keys;  ///< GET /v1/providers also takes a tenant's API key, as GET /v1/models does
  const crypto::MasterKey& master_key;  ///< encrypts provider credentials
};

/// `/admin/providers[/{id}]`, `/admin/models[/{id}]`, `/admin/tenants/{id}/models`, `/admin/audit`,
/// `/user/tenants/{id}/audit`, `GET /v1/providers` and `GET /user/models`. Every change is written with
/// its audit entry in one transaction; changes to providers and models reach every process's catalogue
/// through the database's change notifications.
void add_admin_routes(http::Router& router, AdminParts parts);

}  // namespace switchyard::admin
