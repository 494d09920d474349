#include "switchyard/portal/portal.hpp"

#include "portal_state.hpp"
#include "switchyard/core/crypto.hpp"

namespace switchyard::portal {

void add_portal_routes(http::Router& router, PortalParts parts, PortalSettings settings) {
  auto portal = std::make_shared<const Portal>(
      Portal{parts, std::move(settings), crypto::hash_password(crypto::random_token())});
  add_sign_in_routes(router, portal);
  add_token_routes(router, portal);
  add_tenant_routes(router, portal);
  add_member_routes(router, portal);
  add_provider_key_routes(router, portal);
  add_admin_identity_routes(router, portal);
}

}  // namespace switchyard::portal
