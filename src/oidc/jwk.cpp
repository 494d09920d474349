#include "switchyard/oidc/jwk.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "switchyard/core/crypto.hpp"

namespace switchyard::oidc {
namespace {

using nlohmann::json;

constexpr int kMinRsaBits = 2048;
constexpr std::size_t kP256CoordinateSize = 32;

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ParamBuilder = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

std::string member(const json& jwk, const char* name) {
  auto found = jwk.find(name);
  if (found == jwk.end() || !found->is_string()) {
    throw std::invalid_argument(std::string("JWK has no string member \"") + name + "\"");
  }
  return found->get<std::string>();
}

std::string decoded_member(const json& jwk, const char* name) {
  auto bytes = crypto::base64url_decode(member(jwk, name));
  if (!bytes || bytes->empty()) {
    throw std::invalid_argument(std::string("JWK member \"") + name + "\" is not base64url");
  }
  return *bytes;
}

Bignum bignum(const std::string& big_endian) {
  Bignum number(BN_bin2bn(reinterpret_cast<const unsigned char*>(big_endian.data()),
                          static_cast<int>(big_endian.size()), nullptr));
  if (!number) throw std::runtime_error("BN_bin2bn failed");
  return number;
}

/// Builds the public key from `params` and checks it as OpenSSL would before using it.
Pkey key_from_params(const char* type, const ParamBuilder& builder) {
  Params params(OSSL_PARAM_BLD_to_param(builder.get()));
  if (!params) throw std::runtime_error("OSSL_PARAM_BLD_to_param failed");
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1)
    throw std::runtime_error("EVP_PKEY_fromdata_init failed");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || raw == nullptr) {
    throw std::invalid_argument(std::string("JWK is not a valid ") + type + " public key");
  }
  Pkey key(raw);
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    throw std::invalid_argument(std::string("JWK is not a valid ") + type + " public key");
  }
  return key;
}

Pkey rsa_key(const json& jwk) {
  auto n = bignum(decoded_member(jwk, "n"));
  auto e = bignum(decoded_member(jwk, "e"));
  if (BN_num_bits(n.get()) < kMinRsaBits) {
    throw std::invalid_argument("RSA JWK is shorter than " + std::to_string(kMinRsaBits) + " bits");
  }
  ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    throw std::runtime_error("OSSL_PARAM_BLD for RSA failed");
  }
  return key_from_params("RSA", builder);
}

Pkey ec_p256_key(const json& jwk) {
  if (member(jwk, "crv") != "P-256") throw std::invalid_argument("EC JWK is not on curve P-256");
  auto x = decoded_member(jwk, "x");
  auto y = decoded_member(jwk, "y");
  if (x.size() != kP256CoordinateSize || y.size() != kP256CoordinateSize) {
    throw std::invalid_argument("EC JWK coordinates are not 32 bytes each");
  }
  // SEC 1 uncompressed point: 0x04 || X || Y.
  std::string point = "\x04" + x + y;
  ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) !=
          1) {
    throw std::runtime_error("OSSL_PARAM_BLD for EC failed");
  }
  return key_from_params("EC", builder);
}

std::string pem_of(const Pkey& key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) throw std::runtime_error("PEM_write failed");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(size)};
}

VerificationKey key_from_json(const json& jwk) {
  if (!jwk.is_object()) throw std::invalid_argument("JWK is not a JSON object");
  VerificationKey key;
  if (auto kid = jwk.find("kid"); kid != jwk.end()) {
    if (!kid->is_string()) throw std::invalid_argument("JWK kid is not a string");
    key.kid = kid->get<std::string>();
  }
  if (auto use = jwk.find("use"); use != jwk.end() && *use != "sig") {
    throw std::invalid_argument("JWK is not a signing key (use " + use->dump() + ")");
  }
  auto kty = member(jwk, "kty");
  Pkey pkey;
  if (kty == "RSA") {
    key.type = KeyType::rsa;
    pkey = rsa_key(jwk);
  } else if (kty == "EC") {
    key.type = KeyType::ec_p256;
    pkey = ec_p256_key(jwk);
  } else {
    throw std::invalid_argument("JWK key type \"" + kty + "\" is not supported");
  }
  if (auto alg = jwk.find("alg"); alg != jwk.end() && *alg != algorithm_for(key.type)) {
    throw std::invalid_argument("JWK alg " + alg->dump() + " is not " + std::string(algorithm_for(key.type)));
  }
  key.pem = pem_of(pkey);
  return key;
}

}  // namespace

std::string_view algorithm_for(KeyType type) { return type == KeyType::rsa ? "RS256" : "ES256"; }

VerificationKey key_from_jwk(std::string_view jwk_json) {
  auto parsed = json::parse(jwk_json, nullptr, false);
  if (parsed.is_discarded()) throw std::invalid_argument("JWK is not JSON");
  return key_from_json(parsed);
}

std::vector<VerificationKey> keys_from_jwks(std::string_view document) {
  auto parsed = json::parse(document, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("keys") || !parsed["keys"].is_array()) {
    throw std::invalid_argument("JWKS is not a JSON object with a \"keys\" array");
  }
  std::vector<VerificationKey> keys;
  for (const auto& jwk : parsed["keys"]) {
    try {
      keys.push_back(key_from_json(jwk));
    } catch (const std::invalid_argument&) {
      // A key we cannot use (an encryption key, another curve): the others still sign tokens.
    }
  }
  return keys;
}

}  // namespace switchyard::oidc
