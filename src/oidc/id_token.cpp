#include "switchyard/oidc/id_token.hpp"

#include <jwt.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "switchyard/core/crypto.hpp"

namespace switchyard::oidc {
namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};

/// The three parts of a compact JWS, header and payload decoded and parsed.
struct Parts {
  json header;
  json payload;
};

json decode_part(std::string_view encoded, const char* what) {
  auto bytes = crypto::base64url_decode(encoded);
  if (!bytes) throw TokenRefused(Refusal::malformed, std::string("token ") + what + " is not base64url");
  auto parsed = json::parse(*bytes, nullptr, false);
  if (!parsed.is_object())
    throw TokenRefused(Refusal::malformed, std::string("token ") + what + " is not a JSON object");
  return parsed;
}

Parts split(std::string_view token) {
  auto first = token.find('.');
  auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    throw TokenRefused(Refusal::malformed, "token is not three dot-separated parts");
  }
  return {decode_part(token.substr(0, first), "header"),
          decode_part(token.substr(first + 1, second - first - 1), "payload")};
}

const VerificationKey& choose_key(const json& header, const std::vector<VerificationKey>& keys) {
  auto kid = header.find("kid");
  if (kid != header.end()) {
    if (!kid->is_string()) throw TokenRefused(Refusal::malformed, "token kid is not a string");
    for (const auto& key : keys) {
      if (key.kid == kid->get_ref<const std::string&>()) return key;
    }
    throw TokenRefused(Refusal::unknown_key, "no issuer key has kid " + kid->dump());
  }
  if (keys.size() == 1) return keys.front();
  throw TokenRefused(Refusal::unknown_key,
                     "token names no kid and the issuer has " + std::to_string(keys.size()) + " keys");
}

void verify_signature(std::string_view token, const json& header, const std::vector<VerificationKey>& keys) {
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) throw TokenRefused(Refusal::malformed, "token has no alg");
  const auto& name = alg->get_ref<const std::string&>();
  // Refused before any key is touched: with `none` or HS256 a public key would be no check at all, or an
  // HMAC secret anyone can read (algorithm confusion).
  if (name != "RS256" && name != "ES256") {
    throw TokenRefused(Refusal::unsupported_algorithm, "token alg \"" + name + "\" is not accepted");
  }
  if (header.contains("crit")) {
    throw TokenRefused(Refusal::unsupported_algorithm, "token has critical header extensions");
  }
  const auto& key = choose_key(header, keys);
  if (name != algorithm_for(key.type)) {
    throw TokenRefused(Refusal::algorithm_mismatch, "token alg " + name + " does not match key \"" + key.kid +
                                                        "\" (" + std::string(algorithm_for(key.type)) + ")");
  }
  std::string text(token);
  jwt_t* raw = nullptr;
  int status = jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key.pem.data()),
                          static_cast<int>(key.pem.size()));
  std::unique_ptr<jwt_t, JwtFree> decoded(raw);
  if (status != 0 || !decoded) {
    throw TokenRefused(Refusal::bad_signature,
                       "token signature does not verify with key \"" + key.kid + "\"");
  }
  if (jwt_alg_str(jwt_get_alg(decoded.get())) != name) {
    throw TokenRefused(Refusal::algorithm_mismatch, "libjwt verified a different alg than the header's");
  }
}

std::optional<double> numeric_claim(const json& payload, const char* name) {
  auto found = payload.find(name);
  if (found == payload.end()) return std::nullopt;
  if (!found->is_number() || !std::isfinite(found->get<double>())) {
    throw TokenRefused(Refusal::malformed, std::string("token claim ") + name + " is not a number");
  }
  return found->get<double>();
}

double seconds_since_epoch(Clock::time_point when) {
  return std::chrono::duration<double>(when.time_since_epoch()).count();
}

void check_audience(const json& payload, const std::string& client_id) {
  auto aud = payload.find("aud");
  std::size_t audiences = 0;
  bool ours = false;
  if (aud != payload.end() && aud->is_string()) {
    audiences = 1;
    ours = *aud == client_id;
  } else if (aud != payload.end() && aud->is_array()) {
    audiences = aud->size();
    for (const auto& one : *aud) ours = ours || (one.is_string() && one == client_id);
  }
  if (!ours) throw TokenRefused(Refusal::wrong_audience, "token aud does not name our client id");
  auto azp = payload.find("azp");
  if (azp != payload.end() ? *azp != client_id : audiences > 1) {
    throw TokenRefused(Refusal::wrong_authorized_party, azp == payload.end()
                                                            ? "token has several audiences and no azp"
                                                            : "token azp is not our client id");
  }
}

void check_times(const json& payload, const IdTokenCheck& check) {
  double now = seconds_since_epoch(check.now);
  auto leeway = static_cast<double>(check.leeway.count());
  auto exp = numeric_claim(payload, "exp");
  auto iat = numeric_claim(payload, "iat");
  if (!exp || !iat) throw TokenRefused(Refusal::malformed, "token lacks exp or iat");
  if (now >= *exp + leeway) throw TokenRefused(Refusal::expired, "token expired");
  if (*iat > now + leeway) throw TokenRefused(Refusal::issued_in_future, "token iat is in the future");
  if (auto nbf = numeric_claim(payload, "nbf"); nbf && *nbf > now + leeway) {
    throw TokenRefused(Refusal::not_yet_valid, "token nbf is in the future");
  }
}

}  // namespace

std::string_view refusal_name(Refusal refusal) {
  switch (refusal) {
    case Refusal::malformed:
      return "malformed";
    case Refusal::unsupported_algorithm:
      return "unsupported_algorithm";
    case Refusal::algorithm_mismatch:
      return "algorithm_mismatch";
    case Refusal::unknown_key:
      return "unknown_key";
    case Refusal::bad_signature:
      return "bad_signature";
    case Refusal::wrong_issuer:
      return "wrong_issuer";
    case Refusal::wrong_audience:
      return "wrong_audience";
    case Refusal::wrong_authorized_party:
      return "wrong_authorized_party";
    case Refusal::expired:
      return "expired";
    case Refusal::issued_in_future:
      return "issued_in_future";
    case Refusal::not_yet_valid:
      return "not_yet_valid";
    case Refusal::nonce_mismatch:
      return "nonce_mismatch";
  }
  return "unknown";
}

std::string token_key_id(std::string_view token) {
  auto header = split(token).header;
  auto kid = header.find("kid");
  return kid != header.end() && kid->is_string() ? kid->get<std::string>() : std::string();
}

IdToken verify_id_token(std::string_view token, const std::vector<VerificationKey>& keys,
                        const IdTokenCheck& check) {
  auto parts = split(token);
  verify_signature(token, parts.header, keys);
  const auto& payload = parts.payload;
  auto iss = payload.find("iss");
  if (iss == payload.end() || *iss != check.issuer) {
    throw TokenRefused(Refusal::wrong_issuer,
                       "token iss " + (iss == payload.end() ? std::string("missing") : iss->dump()) +
                           " is not " + check.issuer);
  }
  check_audience(payload, check.client_id);
  check_times(payload, check);
  auto nonce = payload.find("nonce");
  if (nonce == payload.end() || !nonce->is_string() || check.nonce.empty() ||
      !crypto::constant_time_equal(nonce->get_ref<const std::string&>(), check.nonce)) {
    throw TokenRefused(Refusal::nonce_mismatch, "token nonce is not the one sent");
  }
  auto sub = payload.find("sub");
  if (sub == payload.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty()) {
    throw TokenRefused(Refusal::malformed, "token has no sub");
  }
  return {sub->get<std::string>(), payload};
}

}  // namespace switchyard::oidc
