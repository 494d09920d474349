#include "switchyard/jwt_orgs/token.hpp"

#include <jwt.h>

#include <cmath>
#include <cstdlib>
#include <memory>

#include "switchyard/core/crypto.hpp"

namespace switchyard::jwt_orgs {
namespace {

using nlohmann::json;

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtHandle = std::unique_ptr<jwt_t, JwtDeleter>;

bool is_base64url(std::string_view part) {
  for (char c : part) {
    bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

/// The compact JWS's header and payload, parsed; the signature is left to libjwt.
struct Compact {
  json header;
  json payload;
};

json json_part(std::string_view encoded, std::string_view what) {
  auto bytes = crypto::base64url_decode(encoded);
  auto parsed = bytes ? json::parse(*bytes, nullptr, false) : json();
  if (!parsed.is_object()) throw TokenRefused("the token's " + std::string(what) + " is not a JSON object");
  return parsed;
}

Compact parse_compact(std::string_view token) {
  auto first = token.find('.');
  auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    throw TokenRefused("the token is not three dot-separated parts");
  }
  return {json_part(token.substr(0, first), "header"),
          json_part(token.substr(first + 1, second - first - 1), "payload")};
}

/// A NumericDate claim as seconds; nullopt when absent.
std::optional<double> time_claim(const json& payload, const char* name) {
  auto found = payload.find(name);
  if (found == payload.end()) return std::nullopt;
  if (!found->is_number() || !std::isfinite(found->get<double>())) {
    throw TokenRefused(std::string("the token's ") + name + " is not a number");
  }
  return found->get<double>();
}

void check_times(const json& payload, const TokenCheck& check) {
  double now = std::chrono::duration<double>(check.now.time_since_epoch()).count();
  auto leeway = static_cast<double>(check.leeway.count());
  auto exp = time_claim(payload, "exp");
  if (!exp) throw TokenRefused("the token has no exp");
  if (now >= *exp + leeway) throw TokenRefused("the token expired");
  if (auto nbf = time_claim(payload, "nbf"); nbf && *nbf > now + leeway) {
    throw TokenRefused("the token is not valid yet (nbf)");
  }
  if (auto iat = time_claim(payload, "iat"); iat && *iat > now + leeway) {
    throw TokenRefused("the token was issued in the future (iat)");
  }
}

jwt_alg_t libjwt_algorithm(Algorithm algorithm) {
  return algorithm == Algorithm::hs256 ? JWT_ALG_HS256 : JWT_ALG_RS256;
}

const unsigned char* key_bytes(const TokenKey& key) {
  return reinterpret_cast<const unsigned char*>(key.material.data());
}

}  // namespace

std::string_view algorithm_name(Algorithm algorithm) {
  return algorithm == Algorithm::hs256 ? "HS256" : "RS256";
}

std::optional<Algorithm> parse_algorithm(std::string_view name) {
  if (name == "HS256") return Algorithm::hs256;
  if (name == "RS256") return Algorithm::rs256;
  return std::nullopt;
}

bool looks_like_jwt(std::string_view bearer) {
  // Every JSON object header encodes to "eyJ" ('{"'); an API key never starts so.
  if (bearer.substr(0, 3) != "eyJ") return false;
  auto first = bearer.find('.');
  if (first == std::string_view::npos) return false;
  auto second = bearer.find('.', first + 1);
  if (second == std::string_view::npos) return false;
  // The signature part may be empty (alg none): such a token must still be refused as a JWT.
  return is_base64url(bearer.substr(0, first)) &&
         is_base64url(bearer.substr(first + 1, second - first - 1)) &&
         is_base64url(bearer.substr(second + 1));
}

std::string claimed_tenant(std::string_view token) {
  auto payload = parse_compact(token).payload;
  for (const char* claim : {"org_id", "tenant_id"}) {
    auto found = payload.find(claim);
    if (found != payload.end() && found->is_string() && !found->get_ref<const std::string&>().empty()) {
      return found->get<std::string>();
    }
  }
  throw TokenRefused("the token names no org_id");
}

json verify_token(std::string_view token, const TokenKey& key, const TokenCheck& check) {
  auto parts = parse_compact(token);
  auto alg = parts.header.find("alg");
  if (alg == parts.header.end() || !alg->is_string()) throw TokenRefused("the token has no alg");
  // Pinned before the key is touched: `none` would be no check at all, and HS256 "verified" with an RS256
  // tenant's public key would be a signature anyone can make.
  if (*alg != algorithm_name(key.algorithm)) {
    throw TokenRefused("the token's alg " + alg->dump() + " is not the tenant's " +
                       std::string(algorithm_name(key.algorithm)));
  }
  if (parts.header.contains("crit")) throw TokenRefused("the token has critical header extensions");
  if (key.material.empty()) throw TokenRefused("the tenant has no key");
  std::string text(token);
  jwt_t* raw = nullptr;
  int status = jwt_decode(&raw, text.c_str(), key_bytes(key), static_cast<int>(key.material.size()));
  JwtHandle decoded(raw);
  if (status != 0 || !decoded) throw TokenRefused("the token's signature does not verify");
  if (jwt_get_alg(decoded.get()) != libjwt_algorithm(key.algorithm)) {
    throw TokenRefused("libjwt verified another alg than the tenant's");
  }
  check_times(parts.payload, check);
  return parts.payload;
}

std::string mint_token(const json& claims, const TokenKey& key) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("libjwt: cannot make a token");
  JwtHandle token(raw);
  auto text = claims.dump();
  if (jwt_add_grants_json(token.get(), text.c_str()) != 0) {
    throw std::runtime_error("libjwt: the claims were refused");
  }
  if (key.material.empty() || jwt_set_alg(token.get(), libjwt_algorithm(key.algorithm), key_bytes(key),
                                          static_cast<int>(key.material.size())) != 0) {
    throw std::runtime_error("libjwt: cannot sign with this key");
  }
  std::unique_ptr<char, decltype(&std::free)> encoded(jwt_encode_str(token.get()), &std::free);
  if (!encoded) throw std::runtime_error("libjwt: cannot sign with this key (is it a private key?)");
  return encoded.get();
}

}  // namespace switchyard::jwt_orgs
