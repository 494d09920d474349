#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/config.hpp"
#include "switchyard/oidc/id_token.hpp"
#include "switchyard/oidc/jwk.hpp"

namespace switchyard::http {
class UpstreamClient;
}

namespace switchyard::oidc {

/// The parts of the issuer's discovery document (OpenID Connect Discovery 1.0) we use.
struct Discovery {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  std::vector<std::string> token_endpoint_auth_methods;  ///< empty: the default, client_secret_basic
};

/// Parses a discovery document; its `issuer` must equal `expected_issuer` (OpenID Connect Discovery §4.3).
/// Throws std::invalid_argument saying what is missing or wrong.
Discovery parse_discovery(std::string_view document, std::string_view expected_issuer);

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
enum class ClientAuth { secret_basic, secret_post };

/// client_secret_basic unless the issuer lists client_secret_post and not client_secret_basic.
ClientAuth client_auth_for(const Discovery& discovery);

/// The form body of the token request (authorization_code grant with the PKCE verifier); with
/// secret_post it carries the client's id and secret.
std::string token_request_body(std::string_view code, std::string_view redirect_uri,
                               std::string_view verifier, const OidcSettings& settings, ClientAuth auth);
/// The Authorization header value of client_secret_basic: id and secret form-encoded, then base64.
std::string basic_client_credentials(const OidcSettings& settings);

/// The `id_token` of a token endpoint's JSON answer. Throws std::invalid_argument naming what is wrong,
/// including an OAuth error answer (`error`, `error_description`).
std::string id_token_of(std::string_view token_response);

/// The issuer could not be reached, or answered something we cannot use: sign-in cannot go on.
class IssuerUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Deadlines of the calls to the issuer, and how often an unknown `kid` may refetch the JWKS.
struct IssuerTiming {
  std::chrono::milliseconds connect{3000};
  std::chrono::milliseconds total{10000};
  std::chrono::milliseconds jwks_refetch_interval{60000};
};

/// The issuer's endpoints and keys, fetched with the upstream client and cached: discovery for an hour,
/// the JWKS until a token names a key it lacks, which refetches it at most once a minute
/// (jwks_refetch_interval).
/// Thread-safe: one instance serves every event loop. The upstream client must outlive it.
class Issuer {
 public:
  Issuer(http::UpstreamClient& upstream, OidcSettings settings, IssuerTiming timing = {});

  const OidcSettings& settings() const { return settings_; }

  /// The discovery document, fetched on first use. Throws IssuerUnavailable.
  boost::asio::awaitable<Discovery> discovery();

  /// Exchanges an authorization code for the ID token (not yet verified). Throws IssuerUnavailable,
  /// or TokenRefused (malformed) when the issuer refuses the code.
  boost::asio::awaitable<std::string> exchange_code(std::string code, std::string redirect_uri,
                                                    std::string verifier);

  /// verify_id_token with the issuer's keys; a `kid` missing from the cached JWKS refetches it first
  /// (at most once a minute). Throws TokenRefused or IssuerUnavailable.
  boost::asio::awaitable<IdToken> verify(std::string id_token, std::string nonce);

 private:
  struct Keys {
    std::vector<VerificationKey> keys;
    std::chrono::steady_clock::time_point fetched_at;
  };

  boost::asio::awaitable<std::string> fetch(std::string url, std::string method, std::string body,
                                            std::vector<std::pair<std::string, std::string>> headers,
                                            bool oauth_errors);
  boost::asio::awaitable<std::vector<VerificationKey>> keys(bool refresh);

  http::UpstreamClient& upstream_;
  const OidcSettings settings_;
  const IssuerTiming timing_;

  std::mutex mutex_;  // guards the caches; never held across a co_await
  std::optional<Discovery> discovery_;
  std::chrono::steady_clock::time_point discovered_at_;
  std::optional<Keys> keys_;
};

}  // namespace switchyard::oidc
