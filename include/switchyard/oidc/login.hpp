#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "switchyard/core/config.hpp"

namespace switchyard::crypto {
class MasterKey;
}

namespace switchyard::oidc {

/// A PKCE code verifier (RFC 7636): 43 characters of base64url from 256 random bits.
std::string new_pkce_verifier();
/// 43–128 characters of the unreserved set `A-Z a-z 0-9 - . _ ~`.
bool is_valid_pkce_verifier(std::string_view verifier);
/// The S256 challenge: base64url(sha256(verifier)), unpadded.
std::string pkce_challenge(std::string_view verifier);

/// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string percent_encode(std::string_view text);

/// The parts of an authorization request (authorization code flow with PKCE S256).
struct AuthorizationRequest {
  std::string authorization_endpoint;
  std::string client_id;
  std::string redirect_uri;
  std::string scopes;
  std::string state;
  std::string nonce;
  std::string code_challenge;
};

/// The issuer's authorization URL for `request`, every value percent-encoded; keeps a query the endpoint
/// already has.
std::string authorization_url(const AuthorizationRequest& request);

/// `return_to` when it is a same-site path (`/…` but not `//…` nor `/\…`, no control characters), else `/`.
std::string safe_return_path(const std::optional<std::string>& return_to);

/// The callback the issuer sends the browser back to: oidc.redirect_uri, else the public URL (or
/// `http://<listen>`) with `/auth/oidc/callback`.
std::string redirect_uri_for(const OidcSettings& oidc, const ServerConfig& server,
                             const ListenAddress& listen);

/// A sign-in between the redirect to the issuer and the callback. It travels sealed in the `sy_oidc`
/// cookie, so any replica can finish it.
struct PendingLogin {
  std::string state;
  std::string nonce;
  std::string verifier;
  std::string return_to;
  std::chrono::system_clock::time_point created_at;
};

inline constexpr const char* kPendingLoginCookie = "sy_oidc";
inline constexpr std::chrono::seconds kPendingLoginLifetime{600};

/// A fresh sign-in: random state and nonce, a PKCE verifier, the (checked) return path, created now.
PendingLogin new_pending_login(const std::optional<std::string>& return_to,
                               std::chrono::system_clock::time_point now);

/// The cookie value: the pending sign-in encrypted and authenticated under the master key (context
/// "oidc-login"), as base64url.
std::string seal_pending_login(const PendingLogin& login, const crypto::MasterKey& master_key);

/// The pending sign-in in a cookie value; nullopt when it was altered, sealed under another key, is not
/// one, or is older than kPendingLoginLifetime (or from the future) at `now`.
std::optional<PendingLogin> open_pending_login(std::string_view cookie, const crypto::MasterKey& master_key,
                                               std::chrono::system_clock::time_point now);

/// The Set-Cookie value carrying a sealed sign-in: HttpOnly, SameSite=Lax, Path=/auth/oidc, Max-Age=600,
/// and Secure when `secure`.
std::string pending_login_cookie(std::string_view sealed, bool secure);
/// The Set-Cookie value that clears it.
std::string clear_pending_login_cookie(bool secure);

}  // namespace switchyard::oidc
