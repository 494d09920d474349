#include "routes.hpp"
#include "switchyard/auth/api_key.hpp"
#include "switchyard/auth/key_cache.hpp"
#include "switchyard/identity/sessions.hpp"
#include "switchyard/store/sql_text.hpp"

namespace switchyard::admin {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

/// Any signed-in caller: an API key of any tenant (as for /v1/models), a login token or the portal's session.
asio::awaitable<void> authenticate_any(const AdminParts& parts, http::RequestContext& context) {
  auto authorization = context.request.headers.find("Authorization");
  auto x_api_key = context.request.headers.find("x-api-key");
  if (authorization || x_api_key) {
    auto key = auth::presented_api_key(authorization, x_api_key);
    if (!identity::is_session_token(key)) {
      auto principal = co_await parts.keys.authenticate(key);
      context.tenant = principal->tenant_name;
      co_return;
    }
  }
  co_await parts.authenticator.authenticate(context, identity::Access::read);
}

/// Names and types only: base URLs may carry account names, settings and credentials are admins' business.
json public_providers(pqxx::work& tx) {
  auto providers = json::array();
  for (const auto& row : tx.exec("SELECT name, type, enabled FROM providers ORDER BY name")) {
    providers.push_back({{"name", row[0].as<std::string>()},
                         {"type", row[1].as<std::string>()},
                         {"enabled", row[2].as<bool>()}});
  }
  return providers;
}

/// The enabled models (of enabled providers) that any of `tenant_ids` may use, each with those tenants.
json usable_models(pqxx::work& tx, const std::vector<std::string>& tenant_ids) {
  auto models = json::array();
  if (tenant_ids.empty()) return models;
  auto rows = tx.exec_params(
      "SELECT m.alias, p.name, m.enabled, to_json(m.capabilities)::text, "
      "to_json(array_agg(t.id::text ORDER BY array_position($1::uuid[], t.id)))::text "
      "FROM tenants t "
      "JOIN models m ON t.all_models OR EXISTS "
      "(SELECT 1 FROM tenant_models g WHERE g.tenant_id = t.id AND g.model_id = m.id) "
      "JOIN providers p ON p.id = m.provider_id "
      "WHERE t.id = ANY ($1::uuid[]) AND m.enabled AND p.enabled "
      "GROUP BY m.id, m.alias, p.name, m.enabled, m.capabilities ORDER BY m.alias",
      postgres::text_array(tenant_ids));
  for (const auto& row : rows) {
    models.push_back({{"alias", row[0].as<std::string>()},
                      {"provider", row[1].as<std::string>()},
                      {"enabled", row[2].as<bool>()},
                      {"capabilities", json::parse(row[3].as<std::string>())},
                      {"tenants", json::parse(row[4].as<std::string>())}});
  }
  return models;
}

}  // namespace

void add_catalogue_views(http::Router& router, const AdminParts& parts) {
  router.add("GET", "/v1/providers",
             [parts](http::RequestContext& context) -> asio::awaitable<http::Response> {
               co_await authenticate_any(parts, context);
               auto providers = co_await parts.pool.transact(public_providers);
               json body = {{"object", "list"}, {"data", providers}, {"providers", providers}};
               co_return http::Response::json(200, body.dump());
             });
  router.add("GET", "/user/models",
             [parts](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await parts.authenticator.authenticate(context, identity::Access::read);
               auto tenants = co_await identity::tenants_of(parts.pool, caller);
               std::vector<std::string> tenant_ids;
               for (const auto& tenant : tenants) tenant_ids.push_back(tenant.tenant_id);
               auto run = [&tenant_ids](pqxx::work& tx) { return usable_models(tx, tenant_ids); };
               auto models = co_await parts.pool.transact(run);
               json body = {{"models", std::move(models)}};
               co_return http::Response::json(200, body.dump());
             });
}

}  // namespace switchyard::admin
