#include <pqxx/pqxx>

#include "fields.hpp"
#include "portal_state.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/identity/audit.hpp"
#include "switchyard/identity/caller.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::portal {
namespace {

namespace asio = boost::asio;
using identity::Access;
using identity::Role;

constexpr std::int64_t kMaxExpiryDays = 3650;

/// The hot path never writes to Postgres, so a key's last use is read from its newest usage row (an index
/// lookup on usage_records_key_time_idx); last_used_at covers keys whose usage rows were pruned.
constexpr const char* kLastUsed =
    "GREATEST(k.last_used_at, (SELECT max(u.created_at) FROM usage_records u WHERE u.api_key_id = k.id))";

std::string key_columns() {
  return "k.id, k.name, k.prefix, k.tenant_id, k.user_id, to_json(k.scopes)::text, k.budget_micros, k.rpm, "
         "k.tpm, "
         "k.parallel, " +
         rfc3339_sql("k.expires_at") + ", " + rfc3339_sql("k.revoked_at") + ", " +
         rfc3339_sql("k.created_at") + ", " + rfc3339_sql(kLastUsed) +
         ", (SELECT email FROM users WHERE id = k.user_id)";
}

nlohmann::json key_json(const pqxx::row& row) {
  nlohmann::json key{
      {"id", row[0].as<std::string>()},          {"object", "api_key"},
      {"name", row[1].as<std::string>()},        {"prefix", row[2].as<std::string>()},
      {"tenant_id", row[3].as<std::string>()},   {"user_id", text_or_null(row[4])},
      {"user_email", text_or_null(row[14])},     {"scopes", nlohmann::json::parse(row[5].as<std::string>())},
      {"expires_at", text_or_null(row[10])},     {"revoked_at", text_or_null(row[11])},
      {"created_at", row[12].as<std::string>()}, {"last_used_at", text_or_null(row[13])}};
  key.update(limits_json(limits_at(row, 6)));
  key["active"] = row[11].is_null();
  return key;
}

std::vector<std::string> scopes_of(const nlohmann::json& body) {
  auto found = body.find("scopes");
  if (found == body.end() || found->is_null()) return {"read", "write"};
  std::vector<std::string> scopes;
  if (found->is_array()) {
    for (const auto& scope : *found) {
      if (!scope.is_string() || (scope != "read" && scope != "write")) {
        scopes.clear();
        break;
      }
      if (std::find(scopes.begin(), scopes.end(), scope.get<std::string>()) == scopes.end()) {
        scopes.push_back(scope.get<std::string>());
      }
    }
  }
  if (scopes.empty()) {
    throw ApiError::invalid_request("'scopes' must be a non-empty list of \"read\" and \"write\".", "scopes");
  }
  return scopes;
}

std::optional<std::int64_t> expiry_days_of(const nlohmann::json& body) {
  auto found = body.find("expires_days");
  if (found == body.end() || found->is_null()) return std::nullopt;
  if (!found->is_number_integer() || found->get<std::int64_t>() < 1 ||
      found->get<std::int64_t>() > kMaxExpiryDays) {
    throw ApiError::invalid_request("'expires_days' must be a whole number of days from 1 to 3650, or null.",
                                    "expires_days");
  }
  return found->get<std::int64_t>();
}

std::string key_name_of(const nlohmann::json& body) {
  auto name = required_string(body, "name");
  if (name.size() > 200) throw ApiError::invalid_request("'name' may have at most 200 characters.", "name");
  return name;
}

Limits tenant_limits(pqxx::work& tx, const std::string& tenant_id) {
  return limits_at(
      tx.exec_params1("SELECT budget_micros, rpm, tpm, parallel FROM tenants WHERE id = $1", tenant_id), 0);
}

struct NewKey {
  std::string tenant_id;
  std::optional<std::string> user_id;
  std::string name;
  std::vector<std::string> scopes;
  Limits limits;
  std::optional<std::int64_t> expires_days;
};

/// Creates the key within the tenant's ceiling and records it; the answer carries the secret, once.
nlohmann::json create_key(pqxx::work& tx, const Portal& portal, const identity::Caller& caller,
                          const std::string& request_id, const NewKey& wanted) {
  check_within(wanted.limits, tenant_limits(tx, wanted.tenant_id), "tenant");
  auto secret = crypto::generate_api_key();
  auto hash = crypto::hex(portal.parts.master_key.api_key_hash(secret));
  const auto& caps = wanted.limits;
  auto id = tx.exec_params1(
                  "INSERT INTO api_keys (tenant_id, user_id, name, key_hash, prefix, scopes, budget_micros, "
                  "rpm, tpm, "
                  "parallel, expires_at, created_by) VALUES ($1, $2, $3, decode($4, 'hex'), $5, $6::text[], "
                  "$7, $8, $9, "
                  "$10, now() + make_interval(days => $11::int), $12) RETURNING id",
                  wanted.tenant_id, wanted.user_id, wanted.name, hash, crypto::api_key_prefix(secret),
                  postgres::text_array(wanted.scopes), caps.budget_micros, caps.rpm, caps.tpm, caps.parallel,
                  wanted.expires_days, caller.user_id)[0]
                .as<std::string>();
  auto key = key_json(tx.exec_params1("SELECT " + key_columns() + " FROM api_keys k WHERE k.id = $1", id));
  identity::record_audit(tx, caller, request_id,
                         {"api_key.create", "api_key", id, wanted.tenant_id, nullptr, key});
  key["key"] = secret;
  return key;
}

/// Revokes a key of the tenant that `may_touch` allows; nullopt when there is no such key.
std::optional<nlohmann::json> revoke_key(pqxx::work& tx, const identity::Caller& caller,
                                         const std::string& request_id, const std::string& tenant_id,
                                         const std::string& key_id,
                                         const std::optional<std::string>& only_user) {
  auto rows = tx.exec_params("SELECT " + key_columns() +
                                 " FROM api_keys k WHERE k.id::text = $1 AND k.tenant_id::text = $2 "
                                 "AND ($3::uuid IS NULL OR k.user_id = $3::uuid) FOR UPDATE",
                             key_id, tenant_id, only_user);
  if (rows.empty()) return std::nullopt;
  auto before = key_json(rows[0]);
  tx.exec_params("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1", key_id);
  auto after =
      key_json(tx.exec_params1("SELECT " + key_columns() + " FROM api_keys k WHERE k.id = $1", key_id));
  identity::record_audit(tx, caller, request_id,
                         {"api_key.revoke", "api_key", key_id, tenant_id, before, after});
  return after;
}

nlohmann::json list_of(const pqxx::result& rows) {
  auto data = nlohmann::json::array();
  for (const auto& row : rows) data.push_back(key_json(row));
  return {{"object", "list"}, {"data", std::move(data)}};
}

/// Members below admin see and manage only their own keys; admins and owners every key of the tenant.
std::optional<std::string> own_keys_only(const identity::Caller& caller,
                                         const identity::TenantMembership& membership) {
  if (identity::may_manage_members(membership.role)) return std::nullopt;
  return caller.user_id;
}

}  // namespace

void add_token_routes(http::Router& router, const SharedPortal& portal) {
  // Spec 004's user tokens: keys of the caller's personal tenant, owned by the caller.
  router.add("GET", "/v1/users/tokens",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await portal->parts.authenticator.authenticate(context, Access::read);
               auto rows = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
                 return tx.exec_params("SELECT " + key_columns() +
                                           " FROM api_keys k WHERE k.user_id = $1 AND k.tenant_id::text = $2 "
                                           "ORDER BY k.created_at DESC",
                                       caller.user_id, caller.personal_tenant_id);
               });
               co_return json_response(200, list_of(rows));
             });

  router.add("POST", "/v1/users/tokens",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await portal->parts.authenticator.authenticate(context, Access::write);
               auto body = object_body(context.request);
               if (caller.personal_tenant_id.empty()) {
                 throw ApiError::invalid_request("Your account has no personal tenant to hold tokens.");
               }
               NewKey wanted{
                   caller.personal_tenant_id,         caller.user_id,      key_name_of(body), scopes_of(body),
                   limits_patch(body).applied_to({}), expiry_days_of(body)};
               const auto& request_id = context.log.request_id();
               auto key = co_await portal->parts.pool.transact(
                   [&](pqxx::work& tx) { return create_key(tx, *portal, caller, request_id, wanted); });
               key["token"] = key["key"];
               co_return json_response(201, key);
             });

  router.add("DELETE", "/v1/users/tokens/{id}",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await portal->parts.authenticator.authenticate(context, Access::write);
               const auto& key_id = context.params.at("id");
               const auto& request_id = context.log.request_id();
               auto revoked = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
                 return revoke_key(tx, caller, request_id, caller.personal_tenant_id, key_id, caller.user_id);
               });
               if (!revoked) throw not_found("token");
               co_return json_response(
                   200, {{"id", key_id}, {"object", "api_key"}, {"revoked", true}, {"deleted", true}});
             });

  router.add("GET", "/user/tenants/{tenant_id}/keys",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto call = co_await authenticate_for_tenant(*portal, context, Access::read, Role::viewer);
               const auto& caller = call.caller;
               const auto& membership = call.membership;
               auto only_user = own_keys_only(caller, membership);
               auto rows = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
                 return tx.exec_params("SELECT " + key_columns() +
                                           " FROM api_keys k WHERE k.tenant_id = $1 AND ($2::uuid IS NULL OR "
                                           "k.user_id = $2::uuid) ORDER BY k.created_at DESC",
                                       membership.tenant_id, only_user);
               });
               co_return json_response(200, list_of(rows));
             });

  router.add("POST", "/user/tenants/{tenant_id}/keys",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto call = co_await authenticate_for_tenant(*portal, context, Access::write, Role::user);
               const auto& caller = call.caller;
               const auto& membership = call.membership;
               auto body = object_body(context.request);
               // An administrator who is not a member makes a tenant key: a user's key works only while
               // they belong to the tenant.
               std::optional<std::string> owner;
               if (membership.member) owner = caller.user_id;
               NewKey wanted{membership.tenant_id,
                             owner,
                             key_name_of(body),
                             scopes_of(body),
                             limits_patch(body).applied_to({}),
                             expiry_days_of(body)};
               const auto& request_id = context.log.request_id();
               auto key = co_await portal->parts.pool.transact(
                   [&](pqxx::work& tx) { return create_key(tx, *portal, caller, request_id, wanted); });
               co_return json_response(201, key);
             });

  router.add(
      "PATCH", "/user/tenants/{tenant_id}/keys/{key_id}",
      [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
        auto call = co_await authenticate_for_tenant(*portal, context, Access::write, Role::user);
        const auto& caller = call.caller;
        const auto& membership = call.membership;
        auto body = object_body(context.request);
        auto patch = limits_patch(body);
        auto name = optional_string(body, "name");
        if (name) name = key_name_of(body);
        auto only_user = own_keys_only(caller, membership);
        const auto& key_id = context.params.at("key_id");
        const auto& request_id = context.log.request_id();
        auto key = co_await portal->parts.pool.transact([&](pqxx::work& tx) -> std::optional<nlohmann::json> {
          auto rows = tx.exec_params("SELECT " + key_columns() +
                                         " FROM api_keys k WHERE k.id::text = $1 AND k.tenant_id = $2 AND "
                                         "($3::uuid IS NULL OR k.user_id = $3::uuid) FOR UPDATE",
                                     key_id, membership.tenant_id, only_user);
          if (rows.empty()) return std::nullopt;
          auto before = key_json(rows[0]);
          auto limits = patch.applied_to(limits_at(rows[0], 6));
          check_within(limits, tenant_limits(tx, membership.tenant_id), "tenant");
          tx.exec_params(
              "UPDATE api_keys SET name = COALESCE($2, name), budget_micros = $3, rpm = $4, tpm = $5, "
              "parallel = $6 WHERE id = $1",
              key_id, name, limits.budget_micros, limits.rpm, limits.tpm, limits.parallel);
          auto after = key_json(
              tx.exec_params1("SELECT " + key_columns() + " FROM api_keys k WHERE k.id = $1", key_id));
          identity::record_audit(tx, caller, request_id,
                                 {"api_key.update", "api_key", key_id, membership.tenant_id, before, after});
          return after;
        });
        if (!key) throw not_found("API key");
        co_return json_response(200, *key);
      });

  router.add("DELETE", "/user/tenants/{tenant_id}/keys/{key_id}",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto call = co_await authenticate_for_tenant(*portal, context, Access::write, Role::user);
               const auto& caller = call.caller;
               const auto& membership = call.membership;
               auto only_user = own_keys_only(caller, membership);
               const auto& key_id = context.params.at("key_id");
               const auto& request_id = context.log.request_id();
               auto revoked = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
                 return revoke_key(tx, caller, request_id, membership.tenant_id, key_id, only_user);
               });
               if (!revoked) throw not_found("API key");
               co_return json_response(200, *revoked);
             });
}

}  // namespace switchyard::portal
