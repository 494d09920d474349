#pragma once

#include "switchyard/http/router.hpp"

namespace switchyard::identity {
class Authenticator;
}
namespace switchyard::postgres {
class Pool;
}

namespace switchyard::reports {

/// `GET /user/usage` and `/user/usage/compare` over the caller's tenants (an API key's: its own tenant
/// only), `GET /admin/usage` and `/admin/usage/compare` over every tenant for platform administrators.
/// Query parameters as parse_usage_query() reads them; shapes as UsageReports describes them
/// (docs/openapi.yaml). `pool` and `authenticator` must outlive the router.
void add_usage_routes(http::Router& router, postgres::Pool& pool, identity::Authenticator& authenticator);

}  // namespace switchyard::reports
