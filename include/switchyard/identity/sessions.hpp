#pragma once

#include <chrono>
#include <optional>
#include <pqxx/transaction>
#include <string>
#include <string_view>

#include "switchyard/http/message.hpp"

namespace switchyard::crypto {
class MasterKey;
}

namespace switchyard::identity {

enum class SignInMethod { password, oidc };

/// A new session: the token (the cookie's value, or the bearer of a login token) and its CSRF token.
struct NewSession {
  std::string id;
  std::string token;
  std::string csrf_token;
  std::chrono::system_clock::time_point expires_at;
};

/// Where a session comes from, for the sessions list and the audit trail.
struct SessionOrigin {
  std::string remote_address;
  std::string user_agent;
};

/// Opens a session for `user_id` lasting `ttl`, and stamps the user's last_login_at.
NewSession open_session(pqxx::work& tx, const crypto::MasterKey& master_key, const std::string& user_id,
                        SignInMethod method, const SessionOrigin& origin, std::chrono::seconds ttl);

/// The session token's keyed hash, as stored.
std::string session_token_hash(const crypto::MasterKey& master_key, std::string_view token);
/// Whether a bearer token is a session token (rather than an API key).
bool is_session_token(std::string_view token);

/// Adds the Set-Cookie headers of a new session: the HttpOnly session cookie and the CSRF cookie that the
/// portal's script reads, both SameSite=Lax, Secure when `secure`.
void set_session_cookies(http::Headers& headers, const NewSession& session, bool secure);
/// Adds Set-Cookie headers that clear both cookies.
void clear_session_cookies(http::Headers& headers, bool secure);

/// Whether cookies must be Secure for this request: the public URL is https, or a proxy in front says the
/// request came over https (X-Forwarded-Proto).
bool wants_secure_cookies(const http::Request& request, std::string_view public_url);

/// The value of cookie `name` in the request's Cookie headers.
std::optional<std::string> cookie_value(const http::Request& request, std::string_view name);

}  // namespace switchyard::identity
