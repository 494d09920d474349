#pragma once

#include <memory>

#include "switchyard/identity/caller.hpp"
#include "switchyard/portal/portal.hpp"

namespace switchyard::portal {

/// What every route of the module shares.
struct Portal {
  PortalParts parts;
  PortalSettings settings;
};

using SharedPortal = std::shared_ptr<const Portal>;

/// A caller and their access to the tenant the route's `{tenant_id}` names.
struct TenantCall {
  identity::Caller caller;
  identity::TenantMembership membership;
};

/// authenticate() then require_tenant() on the path's tenant: 401, 404 or 403 as those say.
boost::asio::awaitable<TenantCall> authenticate_for_tenant(const Portal& portal,
                                                           http::RequestContext& context,
                                                           identity::Access access, identity::Role minimum);

void add_sign_in_routes(http::Router& router, const SharedPortal& portal);
void add_token_routes(http::Router& router, const SharedPortal& portal);
void add_tenant_routes(http::Router& router, const SharedPortal& portal);
void add_member_routes(http::Router& router, const SharedPortal& portal);
void add_provider_key_routes(http::Router& router, const SharedPortal& portal);
void add_admin_identity_routes(http::Router& router, const SharedPortal& portal);

}  // namespace switchyard::portal
