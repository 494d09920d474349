#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/oidc/jwk.hpp"

namespace switchyard::oidc {

/// What an ID token must say to be accepted.
struct IdTokenCheck {
  std::string issuer;
  std::string client_id;
  std::string nonce;  ///< the one sent in the authorization request
  std::chrono::system_clock::time_point now;
  std::chrono::seconds leeway{60};  ///< clock skew allowed on exp, iat and nbf
};

/// Why an ID token was refused: for the log and the tests; the user sees one generic refusal.
enum class Refusal {
  malformed,              ///< not three base64url parts of JSON objects, or a required claim is missing
  unsupported_algorithm,  ///< `none`, HS*, anything but RS256 and ES256, or a `crit` header
  algorithm_mismatch,     ///< the `alg` header is not the one the chosen key is pinned to
  unknown_key,            ///< no key with the token's `kid` (or several keys and no `kid`)
  bad_signature,
  wrong_issuer,
  wrong_audience,
  wrong_authorized_party,  ///< `azp` is not our client id, or missing with several audiences
  expired,
  issued_in_future,
  not_yet_valid,
  nonce_mismatch,
};

std::string_view refusal_name(Refusal refusal);

/// An ID token that failed verification; what() says why in words for the log.
class TokenRefused : public std::runtime_error {
 public:
  TokenRefused(Refusal refusal, const std::string& reason) : std::runtime_error(reason), refusal_(refusal) {}
  Refusal refusal() const { return refusal_; }

 private:
  Refusal refusal_;
};

/// A verified ID token's claims.
struct IdToken {
  std::string subject;
  nlohmann::json claims;  ///< every claim of the payload, an object
};

/// The `kid` in the token's header, when it names one; throws TokenRefused (malformed) for a token whose
/// header cannot be read.
std::string token_key_id(std::string_view token);

/// Verifies the signature with the key chosen by `kid` (or the only key), with the algorithm pinned to
/// that key's type, then the issuer, audience (and `azp`), expiry, issue time, `nbf` and nonce. Throws
/// TokenRefused. Pure and thread-safe.
IdToken verify_id_token(std::string_view token, const std::vector<VerificationKey>& keys,
                        const IdTokenCheck& check);

}  // namespace switchyard::oidc
