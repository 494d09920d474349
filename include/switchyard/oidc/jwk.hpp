#pragma once

#include <string>
#include <string_view>
#include <vector>

/// OpenID Connect sign-in: the issuer's keys, ID tokens, PKCE and the pending sign-in, the issuer's
/// endpoints, and the `/auth/oidc/...` routes.
namespace switchyard::oidc {

/// The kinds of signing key we accept, each pinned to one algorithm: RSA to RS256, EC P-256 to ES256.
enum class KeyType { rsa, ec_p256 };

/// One of the issuer's signing keys, as PEM (SubjectPublicKeyInfo) for libjwt.
struct VerificationKey {
  std::string kid;  ///< may be empty when the issuer names no key ids
  KeyType type = KeyType::rsa;
  std::string pem;
};

/// The only `alg` a token signed by a key of this type may name: "RS256" or "ES256".
std::string_view algorithm_for(KeyType type);

/// The key of one JWK (RFC 7517) object's JSON text: RSA (`n`, `e`, at least 2048 bits) or EC P-256 (`x`,
/// `y`, a point on the curve). Throws std::invalid_argument saying what is wrong or unsupported.
VerificationKey key_from_jwk(std::string_view jwk_json);

/// The signing keys of a JWK Set document (`{"keys": [...]}`). Keys we cannot use (symmetric keys, other
/// curves, `use` other than `sig`, an `alg` other than the type's pinned one) are skipped, so one odd key
/// does not break sign-in. Throws std::invalid_argument when the document is not a JWK Set.
std::vector<VerificationKey> keys_from_jwks(std::string_view document);

}  // namespace switchyard::oidc
