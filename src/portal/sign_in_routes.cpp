#include <pqxx/pqxx>

#include "fields.hpp"
#include "portal_state.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/identity/accounts.hpp"
#include "switchyard/identity/caller.hpp"
#include "switchyard/identity/login_throttle.hpp"
#include "switchyard/identity/sessions.hpp"
#include "switchyard/store/postgres_pool.hpp"
#include "users_json.hpp"

namespace switchyard::portal {
namespace {

namespace asio = boost::asio;
using identity::Access;

ApiError wrong_credentials() {
  return {401, "invalid_request_error", "invalid_credentials", "The email or password is incorrect."};
}

struct Credentials {
  std::string email;
  std::string password;
};

Credentials credentials_of(const http::Request& request) {
  auto body = object_body(request);
  return {required_string(body, "email"), required_string(body, "password")};
}

identity::SessionOrigin origin_of(const http::Request& request) {
  return {request.remote_address, std::string(request.headers.find("User-Agent").value_or(""))};
}

struct SignedIn {
  identity::NewSession session;
  nlohmann::json user;
};

/// An Argon2id hash of nothing anyone knows, made on first use (it costs as much as a login).
const std::string& decoy_password_hash() {
  static const std::string decoy = crypto::hash_password(crypto::random_token());
  return decoy;
}

/// Checks the password and opens a session. An unknown or disabled account costs one Argon2 check against
/// a decoy hash, like a wrong password, and gets the same answer: neither wording nor time tells them apart.

asio::awaitable<SignedIn> sign_in(const Portal& portal, const http::Request& request) {
  auto credentials = credentials_of(request);
  const auto& address = request.remote_address;
  co_await portal.parts.throttle.check(credentials.email, address);
  // Argon2id takes tens of milliseconds: it runs on the pool's thread, never on the event loop.
  auto user_id = co_await portal.parts.pool.transact([&](pqxx::work& tx) -> std::optional<std::string> {
    auto account = tx.exec_params(
        "SELECT id, password_hash, disabled FROM users WHERE lower(email) = lower($1) AND password_hash IS "
        "NOT NULL",
        credentials.email);
    bool known = !account.empty();
    auto hash = known ? account[0][1].as<std::string>() : decoy_password_hash();
    bool matches = crypto::verify_password(credentials.password, hash);
    if (!known || !matches || account[0][2].as<bool>()) return std::nullopt;
    auto id = account[0][0].as<std::string>();
    // Hashes made with older parameters are redone, so that every account costs a check the same time.
    if (!crypto::password_hash_is_current(hash)) {
      tx.exec_params("UPDATE users SET password_hash = $2 WHERE id = $1", id,
                     crypto::hash_password(credentials.password));
    }
    return std::optional<std::string>(id);
  });
  if (!user_id) {
    co_await portal.parts.throttle.failed(credentials.email, address);
    throw wrong_credentials();
  }
  co_await portal.parts.throttle.succeeded(credentials.email);
  auto origin = origin_of(request);
  co_return co_await portal.parts.pool.transact([&](pqxx::work& tx) {
    auto session =
        identity::open_session(tx, portal.parts.master_key, *user_id, identity::SignInMethod::password,
                               origin, portal.settings.auth.session_ttl);
    auto user = *load_user_json(tx, *user_id);
    user["tenants"] = load_memberships_json(tx, *user_id);
    return SignedIn{std::move(session), std::move(user)};
  });
}

/// A cross-site form can post text/plain but never application/json without the browser asking first:
/// requiring JSON where a session cookie is set keeps other sites from signing a visitor in to an account of
/// theirs (login CSRF).
void require_json(const http::Request& request) {
  auto content_type = request.headers.find("Content-Type").value_or("");
  if (content_type.find("application/json") == std::string_view::npos) {
    throw ApiError(415, "invalid_request_error", "unsupported_media_type",
                   "Send the credentials as JSON (Content-Type: application/json).");
  }
}

/// Unix seconds, as OpenAI's objects give times.
std::int64_t expiry_of(const identity::NewSession& session) {
  return std::chrono::duration_cast<std::chrono::seconds>(session.expires_at.time_since_epoch()).count();
}

asio::awaitable<void> revoke_session(const Portal& portal, const std::string& session_id) {
  co_await portal.parts.pool.transact([&](pqxx::work& tx) {
    tx.exec_params("UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", session_id);
  });
}

}  // namespace

void add_sign_in_routes(http::Router& router, const SharedPortal& portal) {
  // The portal's own sign-in: the session travels in an HttpOnly cookie, the CSRF token in the answer
  // and in a cookie the portal's script can read.
  router.add("POST", "/auth/login",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               require_json(context.request);
               auto signed_in = co_await sign_in(*portal, context.request);
               auto response = json_response(200, {{"user", signed_in.user},
                                                   {"csrf_token", signed_in.session.csrf_token},
                                                   {"expires_at", expiry_of(signed_in.session)}});
               identity::set_session_cookies(
                   response.headers, signed_in.session,
                   identity::wants_secure_cookies(context.request, portal->settings.public_url));
               response.headers.add("Cache-Control", "no-store");
               co_return response;
             });

  auto logout = [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
    auto caller = co_await portal->parts.authenticator.authenticate(context, Access::write);
    if (caller.credential == identity::Credential::api_key) {
      throw ApiError::invalid_request(
          "An API key is not a session: revoke it instead (DELETE /v1/users/tokens/{id}).");
    }
    co_await revoke_session(*portal, caller.session_id);
    auto response = no_content();
    identity::clear_session_cookies(
        response.headers, identity::wants_secure_cookies(context.request, portal->settings.public_url));
    co_return response;
  };
  router.add("POST", "/auth/logout", logout);
  router.add("POST", "/v1/users/logout", logout);

  // What the portal needs on load: who is signed in, their tenants, and the CSRF token for later writes.
  router.add(
      "GET", "/auth/session", [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
        auto caller = co_await portal->parts.authenticator.authenticate(context, Access::read);
        auto session_id = caller.session_id;
        auto answer = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
          auto user = *load_user_json(tx, caller.user_id);
          user["tenants"] = load_memberships_json(tx, caller.user_id);
          nlohmann::json body{{"user", std::move(user)}};
          if (!session_id.empty()) {
            auto row = tx.exec_params1(
                "SELECT csrf_token, extract(epoch FROM expires_at)::bigint FROM sessions WHERE id = $1",
                session_id);
            body["csrf_token"] = row[0].as<std::string>();
            body["expires_at"] = row[1].as<std::int64_t>();
          }
          return body;
        });
        auto response = json_response(200, answer);
        response.headers.add("Cache-Control", "no-store");
        co_return response;
      });

  // Spec 004: the session token is the bearer of /v1/users/... and /user/... calls.
  router.add("POST", "/v1/users/login",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto signed_in = co_await sign_in(*portal, context.request);
               auto response = json_response(200, {{"token", signed_in.session.token},
                                                   {"token_type", "bearer"},
                                                   {"expires_at", expiry_of(signed_in.session)},
                                                   {"user", signed_in.user}});
               response.headers.add("Cache-Control", "no-store");
               co_return response;
             });

  router.add(
      "POST", "/v1/users/register",
      [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
        auto body = object_body(context.request);
        auto email = required_string(body, "email");
        auto password = required_string(body, "password");
        auto display_name = optional_string(body, "display_name").value_or("");
        auto invite_token = optional_string(body, "invite_token");
        if (portal->settings.auth.invite_required && (!invite_token || invite_token->empty())) {
          throw ApiError::invalid_request("Registration needs an invitation: 'invite_token' is required.",
                                          "invite_token");
        }
        auto origin = origin_of(context.request);
        auto signed_in = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
          std::optional<pqxx::row> invite;
          if (invite_token && !invite_token->empty()) {
            auto hash = crypto::hex(crypto::sha256(*invite_token));
            auto rows = tx.exec_params(
                "SELECT id, email, tenant_id, role, created_by, user_id FROM invites WHERE token_hash = "
                "decode($1, "
                "'hex') "
                "AND used_at IS NULL AND expires_at > now() FOR UPDATE",
                hash);
            if (rows.empty()) {
              throw ApiError(400, "invalid_request_error", "invalid_invite",
                             "This invitation is unknown, used or expired.", "invite_token");
            }
            invite = rows[0];
            if (!(*invite)[1].is_null() && !http::iequals((*invite)[1].as<std::string>(), email)) {
              throw ApiError(400, "invalid_request_error", "invalid_invite",
                             "This invitation is for another email address.", "invite_token");
            }
          }
          // A member invited without a password chooses it here, with the invitation that created the account
          // (and only that one: no invite may set the password of an account that signs in otherwise).
          auto existing = tx.exec_params(
              "SELECT id, password_hash IS NULL FROM users WHERE lower(email) = lower($1)", email);
          std::string user_id;
          bool finishes_account = !existing.empty() && invite && !(*invite)[5].is_null() &&
                                  (*invite)[5].as<std::string>() == existing[0][0].as<std::string>() &&
                                  existing[0][1].as<bool>();
          if (finishes_account) {
            identity::check_password(password);
            user_id = existing[0][0].as<std::string>();
            tx.exec_params("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1", user_id,
                           crypto::hash_password(password));
          } else {
            identity::NewUser user;
            user.email = email;
            user.password = password;
            user.display_name = display_name;
            user_id = identity::create_user(tx, user, portal->settings.tenancy);
          }
          if (invite) {
            if (!(*invite)[2].is_null()) {
              tx.exec_params(
                  "INSERT INTO memberships (tenant_id, user_id, role, invited_by) VALUES ($1, $2, $3, $4) "
                  "ON CONFLICT (tenant_id, user_id) DO NOTHING",
                  (*invite)[2].as<std::string>(), user_id, (*invite)[3].as<std::string>(),
                  (*invite)[4].is_null() ? std::optional<std::string>() : (*invite)[4].as<std::string>());
            }
            tx.exec_params("UPDATE invites SET used_at = now(), used_by = $2 WHERE id = $1",
                           (*invite)[0].as<std::string>(), user_id);
          }
          auto session =
              identity::open_session(tx, portal->parts.master_key, user_id, identity::SignInMethod::password,
                                     origin, portal->settings.auth.session_ttl);
          auto user = *load_user_json(tx, user_id);
          user["tenants"] = load_memberships_json(tx, user_id);
          return SignedIn{std::move(session), std::move(user)};
        });
        co_return json_response(201, {{"user", signed_in.user},
                                      {"token", signed_in.session.token},
                                      {"token_type", "bearer"},
                                      {"expires_at", expiry_of(signed_in.session)}});
      });

  router.add("GET", "/v1/users/me",
             [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await portal->parts.authenticator.authenticate(context, Access::read);
               auto user = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
                 auto found = *load_user_json(tx, caller.user_id);
                 found["tenants"] = load_memberships_json(tx, caller.user_id);
                 return found;
               });
               co_return json_response(200, user);
             });

  router.add(
      "PATCH", "/v1/users/me", [portal](http::RequestContext& context) -> asio::awaitable<http::Response> {
        auto caller = co_await portal->parts.authenticator.authenticate(context, Access::write);
        auto body = object_body(context.request);
        auto display_name = optional_string(body, "display_name");
        if (display_name && display_name->size() > 200) {
          throw ApiError::invalid_request("'display_name' may have at most 200 characters.", "display_name");
        }
        auto new_password = optional_string(body, "password");
        auto current_password = optional_string(body, "current_password");
        auto user = co_await portal->parts.pool.transact([&](pqxx::work& tx) {
          if (display_name) {
            tx.exec_params("UPDATE users SET display_name = $2, updated_at = now() WHERE id = $1",
                           caller.user_id, *display_name);
          }
          if (new_password) {
            auto stored = tx.exec_params1("SELECT password_hash FROM users WHERE id = $1", caller.user_id)[0];
            if (!stored.is_null() &&
                (!current_password ||
                 !crypto::verify_password(*current_password, stored.as<std::string>()))) {
              throw ApiError(400, "invalid_request_error", "invalid_credentials",
                             "'current_password' is required and must be right to set a new password.",
                             "current_password");
            }
            identity::check_password(*new_password);
            tx.exec_params("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
                           caller.user_id, crypto::hash_password(*new_password));
            // Every other session ends with the old password.
            tx.exec_params(
                "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND "
                "id::text <> $2",
                caller.user_id, caller.session_id);
          }
          return *load_user_json(tx, caller.user_id);
        });
        co_return json_response(200, user);
      });
}

}  // namespace switchyard::portal
