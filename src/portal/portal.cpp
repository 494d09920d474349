#include "switchyard/portal/portal.hpp"

#include "portal_state.hpp"

namespace switchyard::portal {

boost::asio::awaitable<TenantCall> authenticate_for_tenant(const Portal& portal,
                                                           http::RequestContext& context,
                                                           identity::Access access, identity::Role minimum) {
  auto caller = co_await portal.parts.authenticator.authenticate(context, access);
  auto membership =
      co_await identity::require_tenant(portal.parts.pool, caller, context.params.at("tenant_id"), minimum);
  co_return TenantCall{std::move(caller), std::move(membership)};
}

void add_portal_routes(http::Router& router, PortalParts parts, PortalSettings settings) {
  auto portal = std::make_shared<const Portal>(Portal{parts, std::move(settings)});
  add_sign_in_routes(router, portal);
  add_token_routes(router, portal);
  add_tenant_routes(router, portal);
  add_member_routes(router, portal);
  add_provider_key_routes(router, portal);
  add_admin_identity_routes(router, portal);
}

}  // namespace switchyard::portal
