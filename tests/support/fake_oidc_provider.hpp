#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "switchyard/oidc/jwk.hpp"

namespace switchyard::testing {

/// A key pair generated with OpenSSL at construction, to sign test ID tokens with libjwt.
class TestSigningKey {
 public:
  TestSigningKey(oidc::KeyType type, std::string kid);

  const std::string& kid() const { return kid_; }
  oidc::KeyType type() const { return type_; }
  /// The public half as a JWK, with kid, use and alg.
  nlohmann::json public_jwk() const;
  const std::string& public_pem() const { return public_pem_; }

  /// A compact JWS of `claims` with this key's algorithm (RS256 or ES256); the header names the kid unless
  /// `with_kid` is false.
  std::string sign(const nlohmann::json& claims, bool with_kid = true) const;

 private:
  oidc::KeyType type_;
  std::string kid_;
  std::string private_pem_;
  std::string public_pem_;
  nlohmann::json jwk_;
};

/// A token whose header says `alg` and whose signature is made by libjwt with `secret` as the HMAC key
/// (HS256), or no signature at all (`none`).
std::string hmac_or_unsigned_token(const nlohmann::json& claims, const std::string& alg,
                                   const std::string& secret, const std::string& kid);

/// Who the fake identity provider signs in, without asking.
struct FakeOidcUser {
  std::string subject = "fake-user-1";
  std::string email = "ada@example.com";
  std::string name = "Ada Lovelace";
  nlohmann::json roles = nlohmann::json::array({"gateway-users"});
  bool email_verified = true;
};

/// How the next ID tokens are spoiled.
enum class TokenFlaw {
  none,
  wrong_audience,
  expired,
  foreign_key,  ///< signed by a key the JWKS does not have, under a published kid
  wrong_issuer,
  wrong_nonce,
  alg_none,
};

/// A fake OpenID Connect provider: a real HTTP/1.1 server on 127.0.0.1 (port 0) in a thread of its own,
/// serving discovery, the JWKS (one RSA and one EC P-256 key), an authorize endpoint that approves the
/// configured user at once and redirects back with a code, and a token endpoint that checks the code
/// (once only), redirect_uri, the client's credentials and the PKCE verifier before it signs an ID token.
/// Every method is thread-safe.
class FakeOidcProvider {
 public:
  FakeOidcProvider(std::string client_id, std::string client_secret);
  ~FakeOidcProvider();
  FakeOidcProvider(const FakeOidcProvider&) = delete;
  FakeOidcProvider& operator=(const FakeOidcProvider&) = delete;

  /// http://127.0.0.1:PORT, the issuer identifier and the base of every endpoint.
  std::string issuer() const;
  std::uint16_t port() const;

  void set_user(FakeOidcUser user);
  /// The claim the roles go in (default "groups").
  void set_role_claim(std::string claim);
  /// Which of its keys signs: RSA (RS256, the default) or EC P-256 (ES256).
  void set_signing_key(oidc::KeyType type);
  void set_flaw(TokenFlaw flaw);
  /// token_endpoint_auth_methods_supported in discovery; the token endpoint accepts only these.
  void set_auth_methods(std::vector<std::string> methods);
  /// Replaces both keys with new ones under new kids.
  void rotate_keys();

  int discovery_fetches() const;
  int jwks_fetches() const;
  int token_requests() const;
  /// Why the token endpoint refused requests, in order.
  std::vector<std::string> token_refusals() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace switchyard::testing
