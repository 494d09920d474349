#include "switchyard/identity/sessions.hpp"

#include "switchyard/core/crypto.hpp"
#include "switchyard/identity/caller.hpp"

namespace switchyard::identity {
namespace {

/// Distinguishes session tokens from API keys (`sk-…`) at a glance, in logs and in secret scanners.
constexpr std::string_view kSessionTokenPrefix = "sys_";

std::string cookie(std::string_view name, std::string_view value, std::int64_t max_age, bool http_only,
                   bool secure) {
  std::string text = std::string(name) + "=" + std::string(value) +
                     "; Path=/; Max-Age=" + std::to_string(max_age) + "; SameSite=Lax";
  if (http_only) text += "; HttpOnly";
  if (secure) text += "; Secure";
  return text;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string session_token_hash(const crypto::MasterKey& master_key, std::string_view token) {
  return master_key.api_key_hash(token);
}

bool is_session_token(std::string_view token) {
  return token.substr(0, kSessionTokenPrefix.size()) == kSessionTokenPrefix;
}

NewSession open_session(pqxx::work& tx, const crypto::MasterKey& master_key, const std::string& user_id,
                        SignInMethod method, const SessionOrigin& origin, std::chrono::seconds ttl) {
  NewSession session;
  session.token = std::string(kSessionTokenPrefix) + crypto::random_token();
  session.csrf_token = crypto::random_token(24);
  session.expires_at = std::chrono::system_clock::now() + ttl;
  auto hash = crypto::hex(session_token_hash(master_key, session.token));
  auto user_agent = origin.user_agent.substr(0, 512);
  session.id =
      tx.exec_params1(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, method, remote_address, user_agent, "
            "expires_at) VALUES (decode($1, 'hex'), $2, $3, $4, $5, $6, now() + make_interval(secs => $7)) "
            "RETURNING id",
            hash, user_id, session.csrf_token, method == SignInMethod::password ? "password" : "oidc",
            origin.remote_address, user_agent, static_cast<std::int64_t>(ttl.count()))[0]
          .as<std::string>();
  tx.exec_params("UPDATE users SET last_login_at = now() WHERE id = $1", user_id);
  return session;
}

void set_session_cookies(http::Headers& headers, const NewSession& session, bool secure) {
  auto max_age =
      std::chrono::duration_cast<std::chrono::seconds>(session.expires_at - std::chrono::system_clock::now())
          .count();
  headers.add("Set-Cookie", cookie(kSessionCookie, session.token, max_age, true, secure));
  headers.add("Set-Cookie", cookie(kCsrfCookie, session.csrf_token, max_age, false, secure));
}

void clear_session_cookies(http::Headers& headers, bool secure) {
  headers.add("Set-Cookie", cookie(kSessionCookie, "", 0, true, secure));
  headers.add("Set-Cookie", cookie(kCsrfCookie, "", 0, false, secure));
}

bool wants_secure_cookies(const http::Request& request, std::string_view public_url) {
  if (public_url.substr(0, 8) == "https://") return true;
  auto forwarded = request.headers.find("X-Forwarded-Proto");
  return forwarded && http::iequals(trim(*forwarded), "https");
}

std::optional<std::string> cookie_value(const http::Request& request, std::string_view name) {
  for (const auto& [field, value] : request.headers) {
    if (!http::iequals(field, "Cookie")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      auto end = rest.find(';');
      auto pair = trim(rest.substr(0, end));
      rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
      auto equals = pair.find('=');
      if (equals != std::string_view::npos && trim(pair.substr(0, equals)) == name) {
        return std::string(trim(pair.substr(equals + 1)));
      }
    }
  }
  return std::nullopt;
}

}  // namespace switchyard::identity
