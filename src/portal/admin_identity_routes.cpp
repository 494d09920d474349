#include <charconv>
#include <pqxx/pqxx>

#include "fields.hpp"
#include "invites.hpp"
#include "portal_state.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/identity/accounts.hpp"
#include "switchyard/identity/audit.hpp"
#include "switchyard/identity/caller.hpp"
#include "switchyard/store/postgres_pool.hpp"
#include "tenants_json.hpp"
#include "users_json.hpp"

namespace switchyard::portal {
namespace {

namespace asio = boost::asio;
using identity::Access;

constexpr int kMaxPage = 100;

/// A whole number query parameter within [min, max], `fallback` when absent; else 400 naming it.
std::int64_t query_number(const http::Request& request, const char* name, std::int64_t fallback,
                          std::int64_t min, std::int64_t max) {
  auto text = request.query_param(name);
  if (!text) return fallback;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || value < min || value > max) {
    throw ApiError::invalid_request(std::string("'") + name + "' must be a whole number from " +
                                        std::to_string(min) + " to " + std::to_string(max) + ".",
                                    name);
  }
  return value;
}

std::string budget_period_of(const nlohmann::json& body, const std::string& fallback) {
  auto period = optional_string(body, "budget_period").value_or(fallback);
  if (period != "daily" && period != "weekly" && period != "monthly" && period != "total") {
    throw ApiError::invalid_request("'budget_period' must be daily, weekly, monthly or total.",
                                    "budget_period");
  }
  return period;
}

std::string tenant_name_of(const nlohmann::json& body) {
  auto name = required_string(body, "name");
  if (name.size() > 100 || name.rfind(kPersonalTenantPrefix, 0) == 0) {
    throw ApiError::invalid_request("'name' must have 1 to 100 characters and not start with '" +
                                        std::string(kPersonalTenantPrefix) + "'.",
                                    "name");
  }
  return name;
}

ApiError name_taken() {
  return {409, "invalid_request_error", "tenant_exists", "A tenant with this name already exists.", "name"};
}

/// A new or renamed tenant must not take a name in use; checked before writing, so no SQL error aborts the
/// transaction.
void check_name_free(pqxx::work& tx, const std::string& name, const std::string& except_id) {
  if (!tx.exec_params("SELECT 1 FROM tenants WHERE name = $1 AND id::text <> $2", name, except_id).empty()) {
    throw name_taken();
  }
}

void add_user_routes(http::Router& router, const SharedPortal& portal) {
  router.add(
      "GET", "/admin/users", [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
        co_await portal->parts.authenticator.authenticate_admin(context, Access::read);
        auto limit = query_number(context.request, "limit", 50, 1, kMaxPage);
        auto offset = query_number(context.request, "offset", 0, 0, 1'000'000'000);
        auto search = context.request.query_param("q").value_or("");
        auto page = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
          auto ids = tx.exec_params(
              "SELECT id, count(*) OVER () FROM users WHERE $1 = '' OR email ILIKE '%' || $1 || '%' OR "
              "display_name ILIKE "
              "'%' || $1 || '%' ORDER BY lower(email) LIMIT $2 OFFSET $3::bigint",
              search, limit, offset);
          auto data = nlohmann::json::array();
          for (const auto& row : ids) data.push_back(*load_user_json(tx, row[0].as<std::string>()));
          return nlohmann::json{{"object", "list"},
                                {"data", std::move(data)},
                                {"total", ids.empty() ? 0 : ids[0][1].as<std::int64_t>()}};
        });
        co_return json_response(200, page);
      });

  router.add("GET", "/admin/users/{id}",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               co_await portal->parts.authenticator.authenticate_admin(context, Access::read);
               const auto& id = context.params.at("id");
               auto user = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
                 auto found = load_user_json(tx, id);
                 if (found) (*found)["tenants"] = load_memberships_json(tx, id);
                 return found;
               });
               if (!user) throw not_found("user");
               co_return json_response(200, *user);
             });

  router.add("POST", "/admin/users",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await portal->parts.authenticator.authenticate_admin(context, Access::write);
               auto body = object_body(context.request);
               identity::NewUser wanted;
               wanted.email = required_string(body, "email");
               wanted.password = optional_string(body, "password");
               wanted.display_name = optional_string(body, "display_name").value_or("");
               wanted.is_admin = optional_bool(body, "is_admin").value_or(false);
               const auto& request_id = context.log.request_id();
               auto user = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
                 auto id = identity::create_user(tx, wanted, portal->settings.tenancy);
                 auto created = *load_user_json(tx, id);
                 identity::record_audit(tx, caller, request_id,
                                        {"user.create", "user", id, std::nullopt, nullptr, created});
                 return created;
               });
               co_return json_response(201, user);
             });

  router.add("PATCH", "/admin/users/{id}",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await portal->parts.authenticator.authenticate_admin(context, Access::write);
               auto body = object_body(context.request);
               auto display_name = optional_string(body, "display_name");
               auto is_admin = optional_bool(body, "is_admin");
               auto disabled = optional_bool(body, "disabled");
               auto password = optional_string(body, "password");
               if (password) identity::check_password(*password);
               const auto& id = context.params.at("id");
               if (id == caller.user_id && (is_admin == false || disabled == true)) {
                 throw ApiError::invalid_request(
                     "You cannot take away your own administrator rights or disable yourself.");
               }
               const auto& request_id = context.log.request_id();
               auto user =
                   co_await portal->parts.pool.transact([&](pqxx::work& tx) -> std::optional<nlohmann::json> {
                     auto before = load_user_json(tx, id);
                     if (!before) return std::nullopt;
                     std::optional<std::string> hash;
                     if (password) hash = crypto::hash_password(*password);
                     tx.exec_params(
                         "UPDATE users SET display_name = COALESCE($2, display_name), is_admin = "
                         "COALESCE($3, is_admin), "
                         "disabled = COALESCE($4, disabled), password_hash = COALESCE($5, password_hash), "
                         "updated_at = now() "
                         "WHERE id = $1",
                         id, display_name, is_admin, disabled, hash);
                     // A disabled user or a new password ends every session.
                     if (disabled == true || password) {
                       tx.exec_params(
                           "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
                           id);
                     }
                     auto after = *load_user_json(tx, id);
                     identity::record_audit(tx, caller, request_id,
                                            {"user.update", "user", id, std::nullopt, *before, after});
                     return after;
                   });
               if (!user) throw not_found("user");
               co_return json_response(200, *user);
             });

  router.add("DELETE", "/admin/users/{id}",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await portal->parts.authenticator.authenticate_admin(context, Access::write);
               const auto& id = context.params.at("id");
               if (id == caller.user_id) throw ApiError::invalid_request("You cannot delete yourself.");
               const auto& request_id = context.log.request_id();
               bool deleted = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
                 auto before = load_user_json(tx, id);
                 if (!before) return false;
                 auto personal = (*before)["personal_tenant_id"];
                 tx.exec_params("DELETE FROM users WHERE id = $1", id);
                 if (personal.is_string())
                   tx.exec_params("DELETE FROM tenants WHERE id = $1", personal.get<std::string>());
                 identity::record_audit(tx, caller, request_id,
                                        {"user.delete", "user", id, std::nullopt, *before, nullptr});
                 return true;
               });
               if (!deleted) throw not_found("user");
               co_return no_content();
             });
}

void add_tenant_admin_routes(http::Router& router, const SharedPortal& portal) {
  router.add("GET", "/admin/tenants",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               co_await portal->parts.authenticator.authenticate_admin(context, Access::read);
               auto tenants = co_await portal->parts.pool.transact(
                   [&](pqxx::work& tx) { return load_tenants_json(tx, std::nullopt); });
               co_return json_response(200, tenants);
             });

  router.add(
      "POST", "/admin/tenants", [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
        auto caller = co_await portal->parts.authenticator.authenticate_admin(context, Access::write);
        auto body = object_body(context.request);
        auto name = tenant_name_of(body);
        auto limits = limits_patch(body).applied_to({});
        auto period = budget_period_of(body, "monthly");
        auto owner_email = optional_string(body, "owner_email");
        const auto& request_id = context.log.request_id();
        auto tenant = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
          check_name_free(tx, name, "");
          auto id =
              tx.exec_params1(
                    "INSERT INTO tenants (kind, name, budget_micros, rpm, tpm, parallel, budget_period) "
                    "VALUES ('shared', $1, $2, $3, $4, $5, $6) RETURNING id",
                    name, limits.budget_micros, limits.rpm, limits.tpm, limits.parallel, period)[0]
                  .as<std::string>();
          if (owner_email) {
            auto owner = tx.exec_params("SELECT id FROM users WHERE lower(email) = lower($1)", *owner_email);
            if (owner.empty())
              throw ApiError::invalid_request("No user has the email in 'owner_email'.", "owner_email");
            tx.exec_params(
                "INSERT INTO memberships (tenant_id, user_id, role, invited_by) VALUES ($1, $2, 'owner', $3)",
                id, owner[0][0].as<std::string>(), caller.user_id);
          }
          auto created = *load_tenant_json(tx, id, std::nullopt);
          identity::record_audit(tx, caller, request_id,
                                 {"tenant.create", "tenant", id, id, nullptr, created});
          return created;
        });
        co_return json_response(201, tenant);
      });

  router.add(
      "PATCH", "/admin/tenants/{id}",
      [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
        auto caller = co_await portal->parts.authenticator.authenticate_admin(context, Access::write);
        auto body = object_body(context.request);
        auto patch = limits_patch(body);
        std::optional<std::string> name;
        if (body.contains("name")) name = tenant_name_of(body);
        std::optional<std::string> period;
        if (body.contains("budget_period")) period = budget_period_of(body, "");
        const auto& id = context.params.at("id");
        const auto& request_id = context.log.request_id();
        auto tenant = co_await portal->parts.pool.transact([&](pqxx::work& tx)
                                                               -> std::optional<nlohmann::json> {
          auto rows = tx.exec_params(
              "SELECT budget_micros, rpm, tpm, parallel, kind FROM tenants WHERE id::text = $1 FOR UPDATE",
              id);
          if (rows.empty()) return std::nullopt;
          if (name && rows[0][4].as<std::string>() == "personal") {
            throw ApiError::invalid_request("A personal tenant keeps its name.", "name");
          }
          if (name) check_name_free(tx, *name, id);
          auto before = *load_tenant_json(tx, id, std::nullopt);
          auto limits = patch.applied_to(limits_at(rows[0], 0));
          tx.exec_params(
              "UPDATE tenants SET name = COALESCE($2, name), budget_micros = $3, rpm = $4, tpm = $5, "
              "parallel = $6, "
              "budget_period = COALESCE($7, budget_period), updated_at = now() WHERE id = $1",
              id, name, limits.budget_micros, limits.rpm, limits.tpm, limits.parallel, period);
          auto after = *load_tenant_json(tx, id, std::nullopt);
          identity::record_audit(tx, caller, request_id, {"tenant.update", "tenant", id, id, before, after});
          return after;
        });
        if (!tenant) throw not_found("tenant");
        co_return json_response(200, *tenant);
      });

  router.add(
      "DELETE", "/admin/tenants/{id}",
      [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
        auto caller = co_await portal->parts.authenticator.authenticate_admin(context, Access::write);
        const auto& id = context.params.at("id");
        const auto& request_id = context.log.request_id();
        bool deleted = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
          auto before = load_tenant_json(tx, id, std::nullopt);
          if (!before) return false;
          if ((*before)["kind"] == "personal") {
            throw ApiError::invalid_request("A personal tenant goes with its user: delete the user instead.");
          }
          tx.exec_params("DELETE FROM tenants WHERE id = $1", id);
          identity::record_audit(tx, caller, request_id,
                                 {"tenant.delete", "tenant", id, id, *before, nullptr});
          return true;
        });
        if (!deleted) throw not_found("tenant");
        co_return no_content();
      });
}

void add_invite_routes(http::Router& router, const SharedPortal& portal) {
  // Invitations to register, for POST /v1/users/register while auth.invite_required is on.
  router.add(
      "POST", "/admin/invites", [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
        auto caller = co_await portal->parts.authenticator.authenticate_admin(context, Access::write);
        auto body = object_body(context.request);
        auto email = optional_string(body, "email");
        auto tenant_id = optional_string(body, "tenant_id");
        auto role = identity::parse_role(optional_string(body, "role").value_or("user"));
        if (!role) throw ApiError::invalid_request("'role' must be owner, admin, user or viewer.", "role");
        auto days_field = body.value("expires_days", nlohmann::json(7));
        if (!days_field.is_number_integer() || days_field.get<std::int64_t>() < 1 ||
            days_field.get<std::int64_t>() > 365) {
          throw ApiError::invalid_request("'expires_days' must be from 1 to 365.", "expires_days");
        }
        int days = days_field.get<int>();
        const auto& request_id = context.log.request_id();
        auto invite = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
          if (tenant_id &&
              tx.exec_params("SELECT 1 FROM tenants WHERE id::text = $1 AND kind = 'shared'", *tenant_id)
                  .empty()) {
            throw ApiError::invalid_request("'tenant_id' names no shared tenant.", "tenant_id");
          }
          auto token = create_invite(tx, email, tenant_id, *role, caller.user_id, days);
          nlohmann::json out{{"object", "invite"},
                             {"email", email ? nlohmann::json(*email) : nlohmann::json(nullptr)},
                             {"tenant_id", tenant_id ? nlohmann::json(*tenant_id) : nlohmann::json(nullptr)},
                             {"role", identity::role_name(*role)},
                             {"expires_days", days}};
          identity::record_audit(tx, caller, request_id,
                                 {"invite.create", "invite", "", tenant_id, nullptr, out});
          out["invite_token"] = token;
          return out;
        });
        co_return json_response(201, invite);
      });
}

}  // namespace

void add_admin_identity_routes(http::Router& router, const SharedPortal& portal) {
  add_user_routes(router, portal);
  add_tenant_admin_routes(router, portal);
  add_invite_routes(router, portal);
}

}  // namespace switchyard::portal
