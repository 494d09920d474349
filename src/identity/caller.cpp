#include "switchyard/identity/caller.hpp"

#include <pqxx/pqxx>

#include "switchyard/auth/api_key.hpp"
#include "switchyard/auth/key_cache.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/identity/sessions.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::identity {
namespace {

namespace asio = boost::asio;

ApiError signed_out() {
  return {401, "invalid_request_error", "invalid_api_key",
          "You are not signed in, or your session has ended. Sign in again (POST /v1/users/login or the "
          "portal)."};
}

ApiError forbidden(std::string message) {
  return {403, "permission_error", "permission_denied", std::move(message)};
}

ApiError tenant_not_found() { return {404, "invalid_request_error", "tenant_not_found", "No such tenant."}; }

constexpr const char* kUserColumns =
    "u.id, u.email, u.display_name, u.is_admin, COALESCE(u.personal_tenant_id::text, '')";

void fill_user(Caller& caller, const pqxx::row& row, int first) {
  caller.user_id = row[first].as<std::string>();
  caller.email = row[first + 1].as<std::string>();
  caller.display_name = row[first + 2].as<std::string>();
  caller.is_admin = row[first + 3].as<bool>();
  caller.personal_tenant_id = row[first + 4].as<std::string>();
}

/// The session a token names, with its user and CSRF token; nullopt when expired, revoked or unknown.
std::optional<std::pair<Caller, std::string>> load_session(pqxx::work& tx, const std::string& hash_hex) {
  auto rows = tx.exec_params(std::string("SELECT s.id, s.csrf_token, ") + kUserColumns +
                                 " FROM sessions s JOIN users u ON u.id = s.user_id "
                                 "WHERE s.token_hash = decode($1, 'hex') AND s.revoked_at IS NULL "
                                 "AND s.expires_at > now() AND NOT u.disabled",
                             hash_hex);
  if (rows.empty()) return std::nullopt;
  Caller caller;
  caller.session_id = rows[0][0].as<std::string>();
  fill_user(caller, rows[0], 2);
  return std::make_pair(std::move(caller), rows[0][1].as<std::string>());
}

std::optional<Caller> load_user(pqxx::work& tx, const std::string& user_id) {
  auto rows = tx.exec_params(
      std::string("SELECT ") + kUserColumns + " FROM users u WHERE u.id = $1 AND NOT u.disabled", user_id);
  if (rows.empty()) return std::nullopt;
  Caller caller;
  fill_user(caller, rows[0], 0);
  return caller;
}

std::optional<std::string_view> bearer(const http::Request& request) {
  auto authorization = request.headers.find("Authorization");
  if (!authorization && !request.headers.contains("x-api-key")) return std::nullopt;
  return auth::presented_api_key(authorization, request.headers.find("x-api-key"));
}

TenantMembership membership_from(const pqxx::row& row) {
  TenantMembership membership;
  membership.tenant_id = row[0].as<std::string>();
  membership.tenant_name = row[1].as<std::string>();
  membership.kind =
      row[2].as<std::string>() == "personal" ? auth::TenantKind::personal : auth::TenantKind::shared;
  auto role = row[3].is_null() ? std::nullopt : parse_role(row[3].as<std::string>());
  membership.member = role.has_value();
  membership.role = role.value_or(Role::owner);
  return membership;
}

}  // namespace

Authenticator::Authenticator(postgres::Pool& pool, auth::KeyCache& keys, const crypto::MasterKey& master_key)
    : pool_(pool), keys_(keys), master_key_(master_key) {}

asio::awaitable<Caller> Authenticator::authenticate(http::RequestContext& context, Access access) {
  const auto& request = context.request;
  std::optional<std::string> session_token;
  Credential credential = Credential::session_cookie;
  if (auto token = bearer(request)) {
    if (!is_session_token(*token)) {
      auto principal = co_await keys_.authenticate(*token);
      if (!principal->user_id)
        throw forbidden("This API key belongs to a tenant, not to a user: sign in instead.");
      // A key spends and reads; changing the account (keys, passwords, members) needs the user signed in,
      // so that a leaked or capped key cannot mint itself a stronger one.
      if (access == Access::write) {
        throw forbidden("An API key cannot call " + std::string(request.method) + " " +
                        std::string(request.path()) +
                        ": sign in (POST /v1/users/login) to change the account.");
      }
      auto user_id = *principal->user_id;
      auto caller = co_await pool_.transact([&](pqxx::work& tx) { return load_user(tx, user_id); });
      if (!caller) throw signed_out();
      caller->credential = Credential::api_key;
      caller->key = std::move(principal);
      context.tenant = caller->email;
      co_return std::move(*caller);
    }
    session_token = std::string(*token);
    credential = Credential::session_token;
  } else {
    session_token = cookie_value(request, kSessionCookie);
  }
  if (!session_token || session_token->empty()) throw signed_out();
  auto hash_hex = crypto::hex(session_token_hash(master_key_, *session_token));
  auto found = co_await pool_.transact([&](pqxx::work& tx) { return load_session(tx, hash_hex); });
  if (!found) throw signed_out();
  auto& [caller, csrf_token] = *found;
  caller.credential = credential;
  // A browser attaches the cookie to any request, a forged one included; only the portal's own script can
  // read the CSRF cookie and repeat it in a header.
  if (credential == Credential::session_cookie && access == Access::write) {
    auto presented = request.headers.find(kCsrfHeader);
    if (!presented || !crypto::constant_time_equal(*presented, csrf_token)) {
      throw forbidden("This request lacks the X-CSRF-Token header of your session.");
    }
  }
  context.tenant = caller.email;
  co_return std::move(caller);
}

asio::awaitable<Caller> Authenticator::authenticate_admin(http::RequestContext& context, Access access) {
  auto caller = co_await authenticate(context, access);
  if (!caller.is_admin) throw forbidden("Only platform administrators may do this.");
  if (caller.credential == Credential::api_key) {
    throw forbidden("Administration needs a signed-in administrator, not an API key.");
  }
  co_return caller;
}

asio::awaitable<TenantMembership> require_tenant(postgres::Pool& pool, const Caller& caller,
                                                 const std::string& tenant_id, Role minimum) {
  if (caller.key && caller.key->tenant_id != tenant_id) throw tenant_not_found();
  auto rows = co_await pool.transact([&](pqxx::work& tx) {
    return tx.exec_params(
        "SELECT t.id, t.name, t.kind, m.role FROM tenants t "
        "LEFT JOIN memberships m ON m.tenant_id = t.id AND m.user_id = $2 "
        "WHERE t.id::text = $1 AND (m.user_id IS NOT NULL OR $3)",
        tenant_id, caller.user_id, caller.is_admin);
  });
  if (rows.empty()) throw tenant_not_found();
  auto membership = membership_from(rows[0]);
  if (caller.is_admin) membership.role = Role::owner;
  if (membership.role < minimum) {
    throw forbidden("Your role in this tenant (" + std::string(role_name(membership.role)) +
                    ") does not allow this; it needs " + std::string(role_name(minimum)) + " or higher.");
  }
  co_return membership;
}

asio::awaitable<std::vector<TenantMembership>> tenants_of(postgres::Pool& pool, const Caller& caller) {
  std::optional<std::string> only_tenant;
  if (caller.key) only_tenant = caller.key->tenant_id;
  auto rows = co_await pool.transact([&](pqxx::work& tx) {
    return tx.exec_params(
        "SELECT t.id, t.name, t.kind, m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id "
        "WHERE m.user_id = $1 AND ($2::uuid IS NULL OR t.id = $2::uuid) "
        "ORDER BY t.kind = 'personal' DESC, t.name",
        caller.user_id, only_tenant);
  });
  std::vector<TenantMembership> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(membership_from(row));
  co_return out;
}

}  // namespace switchyard::identity
