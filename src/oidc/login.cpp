#include "switchyard/oidc/login.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "switchyard/core/crypto.hpp"

namespace switchyard::oidc {
namespace {

using nlohmann::json;

constexpr std::string_view kSealContext = "oidc-login";
constexpr std::size_t kMinVerifier = 43;
constexpr std::size_t kMaxVerifier = 128;
constexpr std::size_t kRandomBytes = 32;
constexpr std::string_view kCallbackPath = "/auth/oidc/callback";

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

std::string cookie_attributes(bool secure) {
  return std::string("; Path=/auth/oidc; HttpOnly; SameSite=Lax") + (secure ? "; Secure" : "");
}

}  // namespace

std::string new_pkce_verifier() { return crypto::random_token(kRandomBytes); }

bool is_valid_pkce_verifier(std::string_view verifier) {
  return verifier.size() >= kMinVerifier && verifier.size() <= kMaxVerifier &&
         std::all_of(verifier.begin(), verifier.end(), is_unreserved);
}

std::string pkce_challenge(std::string_view verifier) {
  return crypto::base64url_encode(crypto::sha256(verifier));
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (is_unreserved(c)) {
      out += c;
    } else {
      auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    }
  }
  return out;
}

std::string authorization_url(const AuthorizationRequest& request) {
  const std::pair<std::string_view, std::string_view> params[] = {
      {"response_type", "code"},
      {"client_id", request.client_id},
      {"redirect_uri", request.redirect_uri},
      {"scope", request.scopes},
      {"state", request.state},
      {"nonce", request.nonce},
      {"code_challenge", request.code_challenge},
      {"code_challenge_method", "S256"},
  };
  std::string url = request.authorization_endpoint;
  char separator = url.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [name, value] : params) {
    url += separator;
    url += name;
    url += '=';
    url += percent_encode(value);
    separator = '&';
  }
  return url;
}

std::string safe_return_path(const std::optional<std::string>& return_to) {
  if (!return_to || return_to->empty() || return_to->front() != '/') return "/";
  const auto& path = *return_to;
  // "//host" and "/\host" are read by browsers as another site.
  if (path.size() > 1 && (path[1] == '/' || path[1] == '\\')) return "/";
  bool plain = std::all_of(path.begin(), path.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte != 0x7f && c != '\\';
  });
  return plain ? path : "/";
}

std::string redirect_uri_for(const OidcSettings& oidc, const ServerConfig& server,
                             const ListenAddress& listen) {
  if (!oidc.redirect_uri.empty()) return oidc.redirect_uri;
  if (!server.public_url.empty()) return server.public_url + std::string(kCallbackPath);
  bool ipv6 = listen.host.find(':') != std::string::npos;
  std::string host = ipv6 ? "[" + listen.host + "]" : listen.host;
  return "http://" + host + ":" + std::to_string(listen.port) + std::string(kCallbackPath);
}

PendingLogin new_pending_login(const std::optional<std::string>& return_to,
                               std::chrono::system_clock::time_point now) {
  return {crypto::random_token(kRandomBytes), crypto::random_token(kRandomBytes), new_pkce_verifier(),
          safe_return_path(return_to), now};
}

std::string seal_pending_login(const PendingLogin& login, const crypto::MasterKey& master_key) {
  json fields = {
      {"s", login.state},
      {"n", login.nonce},
      {"v", login.verifier},
      {"r", login.return_to},
      {"t", std::chrono::duration_cast<std::chrono::seconds>(login.created_at.time_since_epoch()).count()}};
  return crypto::base64url_encode(master_key.encrypt(fields.dump(), kSealContext));
}

std::optional<PendingLogin> open_pending_login(std::string_view cookie, const crypto::MasterKey& master_key,
                                               std::chrono::system_clock::time_point now) {
  auto sealed = crypto::base64url_decode(cookie);
  if (!sealed) return std::nullopt;
  auto plain = master_key.decrypt(*sealed, kSealContext);
  if (!plain) return std::nullopt;
  auto fields = json::parse(*plain, nullptr, false);
  if (!fields.is_object()) return std::nullopt;
  for (const char* name : {"s", "n", "v", "r"}) {
    if (!fields.contains(name) || !fields[name].is_string()) return std::nullopt;
  }
  if (!fields.contains("t") || !fields["t"].is_number_integer()) return std::nullopt;
  PendingLogin login{
      fields["s"].get<std::string>(), fields["n"].get<std::string>(), fields["v"].get<std::string>(),
      fields["r"].get<std::string>(),
      std::chrono::system_clock::time_point(std::chrono::seconds(fields["t"].get<std::int64_t>()))};
  auto age = now - login.created_at;
  // A little slack backwards, for replicas whose clocks differ by a moment.
  if (age > kPendingLoginLifetime || age < -std::chrono::seconds(60)) return std::nullopt;
  return login;
}

std::string pending_login_cookie(std::string_view sealed, bool secure) {
  return std::string(kPendingLoginCookie) + "=" + std::string(sealed) +
         "; Max-Age=" + std::to_string(kPendingLoginLifetime.count()) + cookie_attributes(secure);
}

std::string clear_pending_login_cookie(bool secure) {
  return std::string(kPendingLoginCookie) + "=; Max-Age=0" + cookie_attributes(secure);
}

}  // namespace switchyard::oidc
