#include <pqxx/pqxx>

#include "fields.hpp"
#include "portal_state.hpp"
#include "switchyard/identity/caller.hpp"
#include "switchyard/store/postgres_pool.hpp"
#include "tenants_json.hpp"

namespace switchyard::portal {
namespace {

namespace asio = boost::asio;
using identity::Access;

}  // namespace

void add_tenant_routes(http::Router& router, const SharedPortal& portal) {
  // The tenants screen: one call gives every card, with budgets, spend and the key dialog's ceilings.
  router.add("GET", "/user/tenants",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await portal->parts.authenticator.authenticate(context, Access::read);
               auto memberships = co_await identity::tenants_of(portal->parts.pool, caller);
               auto tenants = co_await portal->parts.pool.transact(
                   [&](pqxx::work& tx) { return load_tenants_json(tx, caller.user_id); });
               // An API-key caller sees its key's tenant only, as tenants_of() says.
               auto visible = nlohmann::json::array();
               for (auto& tenant : tenants["data"]) {
                 for (const auto& membership : memberships) {
                   if (membership.tenant_id == tenant["id"]) visible.push_back(std::move(tenant));
                 }
               }
               tenants["data"] = std::move(visible);
               co_return json_response(200, tenants);
             });

  router.add("GET", "/user/tenants/{tenant_id}",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto call =
                   co_await authenticate_for_tenant(*portal, context, Access::read, identity::Role::viewer);
               const auto& caller = call.caller;
               const auto& membership = call.membership;
               auto tenant = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
                 return *load_tenant_json(tx, membership.tenant_id, caller.user_id);
               });
               tenant["role"] = identity::role_name(membership.role);
               co_return json_response(200, tenant);
             });
}

}  // namespace switchyard::portal
