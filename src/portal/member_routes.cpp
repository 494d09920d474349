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

namespace switchyard::portal {
namespace {

namespace asio = boost::asio;
using identity::Access;
using identity::Role;

constexpr int kInviteDays = 7;

std::string member_query(const std::string& where) {
  return "SELECT m.user_id, u.email, u.display_name, m.role, m.invited_by, i.email, " +
         rfc3339_sql("m.created_at") +
         " FROM memberships m JOIN users u ON u.id = m.user_id LEFT JOIN users i ON i.id = m.invited_by "
         "WHERE m.tenant_id = $1 " +
         where + " ORDER BY u.email";
}

nlohmann::json member_json(const pqxx::row& row, const std::string& caller_id) {
  nlohmann::json invited_by = nullptr;
  if (!row[4].is_null())
    invited_by = {{"user_id", row[4].as<std::string>()}, {"email", text_or_null(row[5])}};
  auto user_id = row[0].as<std::string>();
  return {{"user_id", user_id},
          {"email", row[1].as<std::string>()},
          {"display_name", row[2].as<std::string>()},
          {"role", row[3].as<std::string>()},
          {"invited_by", std::move(invited_by)},
          {"created_at", row[6].as<std::string>()},
          {"is_self", user_id == caller_id}};
}

Role role_of(const nlohmann::json& body) {
  auto text = required_string(body, "role");
  auto role = identity::parse_role(text);
  if (!role) throw ApiError::invalid_request("'role' must be owner, admin, user or viewer.", "role");
  return *role;
}

void refuse_personal(const identity::TenantMembership& membership) {
  if (membership.kind == auth::TenantKind::personal) {
    throw ApiError(403, "permission_error", "personal_tenant",
                   "A personal tenant belongs to its user alone.");
  }
}

ApiError role_refused() {
  return {403, "permission_error", "permission_denied",
          "Your role does not allow this: admins manage non-owner roles, and only owners grant or remove the "
          "owner "
          "role."};
}

ApiError last_owner() {
  return {409, "invalid_request_error", "last_owner",
          "A tenant needs an owner: make someone else owner first."};
}

std::optional<Role> current_role(pqxx::work& tx, const std::string& tenant_id, const std::string& user_id) {
  auto rows =
      tx.exec_params("SELECT role FROM memberships WHERE tenant_id = $1 AND user_id::text = $2 FOR UPDATE",
                     tenant_id, user_id);
  if (rows.empty()) return std::nullopt;
  return identity::parse_role(rows[0][0].as<std::string>());
}

bool is_last_owner(pqxx::work& tx, const std::string& tenant_id, const std::string& user_id) {
  return tx.exec_params1(
               "SELECT count(*) FROM memberships WHERE tenant_id = $1 AND role = 'owner' AND user_id::text "
               "<> $2",
               tenant_id, user_id)[0]
             .as<std::int64_t>() == 0;
}

nlohmann::json load_member(pqxx::work& tx, const std::string& tenant_id, const std::string& user_id,
                           const std::string& caller_id) {
  return member_json(tx.exec_params1(member_query("AND m.user_id::text = $2"), tenant_id, user_id),
                     caller_id);
}

}  // namespace

/// A new invitation token for /v1/users/register; only its hash is kept.
std::string create_invite(pqxx::work& tx, const std::optional<std::string>& email,
                          const std::optional<std::string>& tenant_id, Role role,
                          const std::string& created_by, int days,
                          const std::optional<std::string>& account) {
  auto token = "inv_" + crypto::random_token();
  tx.exec_params(
      "INSERT INTO invites (token_hash, email, tenant_id, role, created_by, expires_at, user_id) "
      "VALUES (decode($1, 'hex'), $2, $3, $4, $5, now() + make_interval(days => $6), $7)",
      crypto::hex(crypto::sha256(token)), email, tenant_id, std::string(identity::role_name(role)),
      created_by, days, account);
  return token;
}

void add_member_routes(http::Router& router, const SharedPortal& portal) {
  router.add("GET", "/user/tenants/{tenant_id}/members",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto call = co_await authenticate_for_tenant(*portal, context, Access::read, Role::viewer);
               const auto& caller = call.caller;
               const auto& membership = call.membership;
               auto rows = co_await portal->parts.pool.transact(
                   [&](pqxx::work& tx) { return tx.exec_params(member_query(""), membership.tenant_id); });
               auto data = nlohmann::json::array();
               for (const auto& row : rows) data.push_back(member_json(row, caller.user_id));
               co_return json_response(200, {{"object", "list"}, {"data", std::move(data)}});
             });

  // An invitation creates the membership at once (and the user, when new); a new user without an initial
  // password gets an invite token with which to choose one at POST /v1/users/register.
  router.add("POST", "/user/tenants/{tenant_id}/members",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto call = co_await authenticate_for_tenant(*portal, context, Access::write, Role::admin);
               const auto& caller = call.caller;
               const auto& membership = call.membership;
               refuse_personal(membership);
               auto body = object_body(context.request);
               auto email = required_string(body, "email");
               auto role = role_of(body);
               auto password = optional_string(body, "password");
               auto display_name = optional_string(body, "display_name").value_or("");
               if (!identity::may_change_role(membership.role, std::nullopt, role)) throw role_refused();
               const auto& request_id = context.log.request_id();
               auto member = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
                 auto existing = tx.exec_params("SELECT id FROM users WHERE lower(email) = lower($1)", email);
                 std::string user_id;
                 // Only a user this invitation creates may get a token to choose a password: an existing
                 // account signs in as it always did (password, SSO), never through an invite.
                 bool needs_password = false;
                 if (existing.empty()) {
                   identity::NewUser user;
                   user.email = email;
                   user.password = password;
                   user.display_name = display_name;
                   user_id = identity::create_user(tx, user, portal->settings.tenancy);
                   needs_password = !password;
                 } else {
                   user_id = existing[0][0].as<std::string>();
                 }
                 auto inserted = tx.exec_params(
                     "INSERT INTO memberships (tenant_id, user_id, role, invited_by) VALUES ($1, $2, $3, $4) "
                     "ON CONFLICT (tenant_id, user_id) DO NOTHING RETURNING user_id",
                     membership.tenant_id, user_id, std::string(identity::role_name(role)), caller.user_id);
                 if (inserted.empty()) {
                   throw ApiError(409, "invalid_request_error", "member_exists",
                                  "This user is already a member.", "email");
                 }
                 auto out = load_member(tx, membership.tenant_id, user_id, caller.user_id);
                 identity::record_audit(
                     tx, caller, request_id,
                     {"membership.create", "membership", user_id, membership.tenant_id, nullptr, out});
                 if (needs_password) {
                   out["invite_token"] =
                       create_invite(tx, email, std::nullopt, role, caller.user_id, kInviteDays, user_id);
                 }
                 return out;
               });
               co_return json_response(201, member);
             });

  router.add("PATCH", "/user/tenants/{tenant_id}/members/{user_id}",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto call = co_await authenticate_for_tenant(*portal, context, Access::write, Role::admin);
               const auto& caller = call.caller;
               const auto& membership = call.membership;
               refuse_personal(membership);
               auto body = object_body(context.request);
               auto role = role_of(body);
               const auto& user_id = context.params.at("user_id");
               const auto& request_id = context.log.request_id();
               auto member = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
                 auto from = current_role(tx, membership.tenant_id, user_id);
                 if (!from) throw not_found("member");
                 if (!identity::may_change_role(membership.role, from, role)) throw role_refused();
                 if (*from == Role::owner && role != Role::owner &&
                     is_last_owner(tx, membership.tenant_id, user_id)) {
                   throw last_owner();
                 }
                 auto before = load_member(tx, membership.tenant_id, user_id, caller.user_id);
                 tx.exec_params("UPDATE memberships SET role = $3 WHERE tenant_id = $1 AND user_id = $2",
                                membership.tenant_id, user_id, std::string(identity::role_name(role)));
                 auto after = load_member(tx, membership.tenant_id, user_id, caller.user_id);
                 identity::record_audit(
                     tx, caller, request_id,
                     {"membership.update", "membership", user_id, membership.tenant_id, before, after});
                 return after;
               });
               co_return json_response(200, member);
             });

  // Removing a member, or leaving: anyone may leave, but the last owner.
  router.add("DELETE", "/user/tenants/{tenant_id}/members/{user_id}",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await portal->parts.authenticator.authenticate(context, Access::write);
               const auto& user_id = context.params.at("user_id");
               bool leaving = user_id == caller.user_id;
               auto membership = co_await identity::require_tenant(portal->parts.pool, caller,
                                                                   context.params.at("tenant_id"),
                                                                   leaving ? Role::viewer : Role::admin);
               refuse_personal(membership);
               const auto& request_id = context.log.request_id();
               co_await portal->parts.pool.transact([&](pqxx::work& tx) {
                 auto from = current_role(tx, membership.tenant_id, user_id);
                 if (!from) throw not_found("member");
                 if (!leaving && !identity::may_change_role(membership.role, from, std::nullopt))
                   throw role_refused();
                 if (*from == Role::owner && is_last_owner(tx, membership.tenant_id, user_id))
                   throw last_owner();
                 auto before = load_member(tx, membership.tenant_id, user_id, caller.user_id);
                 tx.exec_params("DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2",
                                membership.tenant_id, user_id);
                 identity::record_audit(
                     tx, caller, request_id,
                     {"membership.delete", "membership", user_id, membership.tenant_id, before, nullptr});
               });
               co_return no_content();
             });
}

}  // namespace switchyard::portal
