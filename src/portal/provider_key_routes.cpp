#include <pqxx/pqxx>

#include "fields.hpp"
#include "portal_state.hpp"
#include "switchyard/auth/provider_keys.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/identity/audit.hpp"
#include "switchyard/identity/caller.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::portal {
namespace {

namespace asio = boost::asio;
using auth::ProviderKeyOwner;
using identity::Access;
using identity::Role;

constexpr std::size_t kMaxSecretLength = 4096;

/// One owner's keys: a user's (spec 004) or a tenant's.
struct Owner {
  ProviderKeyOwner kind;
  std::string id;
  const char* column() const { return kind == ProviderKeyOwner::user ? "user_id" : "tenant_id"; }
};

nlohmann::json list_keys(pqxx::work& tx, const Owner& owner) {
  auto rows = tx.exec_params(std::string("SELECT p.name, p.type, k.masked_suffix, ") +
                                 rfc3339_sql("k.created_at") + ", " + rfc3339_sql("k.updated_at") +
                                 " FROM provider_keys k JOIN providers p ON p.id = k.provider_id WHERE k." +
                                 owner.column() + " = $1 ORDER BY p.name",
                             owner.id);
  auto data = nlohmann::json::array();
  for (const auto& row : rows) {
    data.push_back({{"provider", row[0].as<std::string>()},
                    {"provider_type", row[1].as<std::string>()},
                    {"masked_key", row[2].as<std::string>()},
                    {"created_at", row[3].as<std::string>()},
                    {"updated_at", row[4].as<std::string>()}});
  }
  return {{"object", "list"}, {"data", std::move(data)}};
}

nlohmann::json store_key(pqxx::work& tx, const crypto::MasterKey& master_key, const identity::Caller& caller,
                         const std::string& request_id, const Owner& owner, const std::string& provider,
                         const std::string& secret) {
  auto found = tx.exec_params("SELECT id, type FROM providers WHERE name = $1", provider);
  if (found.empty()) {
    throw ApiError(404, "invalid_request_error", "provider_not_found",
                   "No provider is named '" + provider + "' (GET /v1/providers lists them).", "provider");
  }
  auto provider_id = found[0][0].as<std::string>();
  auto masked =
      auth::store_own_provider_key(tx, master_key, provider_id, owner.kind, owner.id, secret, caller.user_id);
  nlohmann::json after{{"provider", provider},
                       {"provider_type", found[0][1].as<std::string>()},
                       {"masked_key", masked},
                       {"owner", owner.kind == ProviderKeyOwner::user ? "user" : "tenant"}};
  std::optional<std::string> tenant;
  if (owner.kind == ProviderKeyOwner::tenant) tenant = owner.id;
  identity::record_audit(tx, caller, request_id,
                         {"provider_key.set", "provider_key", provider, tenant, nullptr, after});
  return after;
}

bool delete_key(pqxx::work& tx, const identity::Caller& caller, const std::string& request_id,
                const Owner& owner, const std::string& provider) {
  auto deleted = tx.exec_params(
      std::string("DELETE FROM provider_keys k USING providers p WHERE p.id = k.provider_id AND "
                  "p.name = $1 AND k.") +
          owner.column() + " = $2 RETURNING k.masked_suffix",
      provider, owner.id);
  if (deleted.empty()) return false;
  std::optional<std::string> tenant;
  if (owner.kind == ProviderKeyOwner::tenant) tenant = owner.id;
  nlohmann::json before{{"provider", provider}, {"masked_key", deleted[0][0].as<std::string>()}};
  identity::record_audit(tx, caller, request_id,
                         {"provider_key.delete", "provider_key", provider, tenant, before, nullptr});
  return true;
}

struct NewProviderKey {
  std::string provider;
  std::string secret;
};

NewProviderKey new_key_of(const http::Request& request) {
  auto body = object_body(request);
  NewProviderKey key{required_string(body, "provider"), required_string(body, "api_key")};
  if (key.secret.size() > kMaxSecretLength)
    throw ApiError::invalid_request("'api_key' is too long.", "api_key");
  return key;
}

using OwnerOf =
    std::function<asio::awaitable<Owner>(const Portal&, http::RequestContext&, const identity::Caller&)>;

/// The three routes for one kind of owner, under `base`.
void add_routes(http::Router& router, const SharedPortal& portal, const std::string& base, OwnerOf owner_of) {
  router.add("GET", base,
             [portal, owner_of](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await portal->parts.authenticator.authenticate(context, Access::read);
               auto owner = co_await owner_of(*portal, context, caller);
               auto keys =
                   co_await portal->parts.pool.transact([&](pqxx::work& tx) { return list_keys(tx, owner); });
               co_return json_response(200, keys);
             });
  router.add("POST", base,
             [portal, owner_of](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await portal->parts.authenticator.authenticate(context, Access::write);
               auto owner = co_await owner_of(*portal, context, caller);
               auto wanted = new_key_of(context.request);
               const auto& request_id = context.log.request_id();
               auto stored = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
                 return store_key(tx, portal->parts.master_key, caller, request_id, owner, wanted.provider,
                                  wanted.secret);
               });
               co_return json_response(201, stored);
             });
  router.add("DELETE", base + "/{provider}",
             [portal, owner_of](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await portal->parts.authenticator.authenticate(context, Access::write);
               auto owner = co_await owner_of(*portal, context, caller);
               const auto& provider = context.params.at("provider");
               const auto& request_id = context.log.request_id();
               bool deleted = co_await portal->parts.pool.transact(
                   [&](pqxx::work& tx) { return delete_key(tx, caller, request_id, owner, provider); });
               if (!deleted) throw not_found("provider key");
               co_return json_response(200, {{"provider", provider}, {"deleted", true}});
             });
}

}  // namespace

void add_provider_key_routes(http::Router& router, const SharedPortal& portal) {
  add_routes(
      router, portal, "/v1/users/provider-keys",
      [](const Portal&, http::RequestContext&, const identity::Caller& caller) -> asio::awaitable<Owner> {
        co_return Owner{ProviderKeyOwner::user, caller.user_id};
      });
  // A tenant's keys serve every member without one of their own; only its admins and owners manage them.
  add_routes(router, portal, "/user/tenants/{tenant_id}/provider-keys",
             [](const Portal& owner_portal, http::RequestContext& context,
                const identity::Caller& caller) -> asio::awaitable<Owner> {
               auto membership = co_await identity::require_tenant(
                   owner_portal.parts.pool, caller, context.params.at("tenant_id"), Role::admin);
               co_return Owner{ProviderKeyOwner::tenant, membership.tenant_id};
             });
}

}  // namespace switchyard::portal
