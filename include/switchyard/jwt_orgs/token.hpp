#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

/// JWT organisations (spec 002): bearer tokens a tenant signs with its own key. The checks here are pure;
/// signatures are libjwt's, pinned to the algorithm the tenant configured.
namespace switchyard::jwt_orgs {

enum class Algorithm { hs256, rs256 };

std::string_view algorithm_name(Algorithm algorithm);
/// "HS256" → hs256, "RS256" → rs256; nullopt for anything else (`none` included).
std::optional<Algorithm> parse_algorithm(std::string_view name);

/// What verifies (or signs) a tenant's tokens: the HS256 secret's bytes, or a PEM key for RS256 (the public
/// key to verify, the private key to sign). Never log `material`.
struct TokenKey {
  Algorithm algorithm = Algorithm::hs256;
  std::string material;
};

/// Why a token was refused: for the log only (clients get one 401 whatever the reason).
class TokenRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Whether a presented bearer has the shape of a compact JWS (three base64url parts, the first a JSON
/// object) rather than of an API key (`sk-…`, `sys_…`). Pure.
bool looks_like_jwt(std::string_view bearer);

/// The tenant a token names (claim `org_id`, else `tenant_id`), read before any check and used only to pick
/// the key that then verifies it. Throws TokenRefused when the token is malformed or names none.
std::string claimed_tenant(std::string_view token);

struct TokenCheck {
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  std::chrono::seconds leeway{60};
};

/// The verified claims of `token`: its header's alg must be `key.algorithm` (anything else, `none`
/// included, is refused before the key is used), its signature must verify with `key`, `exp` is required
/// and `nbf`/`iat` are honoured, each with `check.leeway`. Throws TokenRefused. Pure.
nlohmann::json verify_token(std::string_view token, const TokenKey& key, const TokenCheck& check = {});

/// A token of `claims` signed with `key` (the HS256 secret or an RS256 private key in PEM). Throws
/// std::runtime_error when libjwt cannot sign with it (e.g. a public key given for RS256).
std::string mint_token(const nlohmann::json& claims, const TokenKey& key);

}  // namespace switchyard::jwt_orgs
