#include "switchyard/oidc/jwk.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "support/fake_oidc_provider.hpp"
#include "switchyard/core/crypto.hpp"

namespace switchyard::oidc {
namespace {

using nlohmann::json;
using testing::TestSigningKey;

TEST(Jwk, RsaAndEcP256KeysBecomeTheirPublicPem) {
  for (auto [type, algorithm] : {std::pair{KeyType::rsa, "RS256"}, std::pair{KeyType::ec_p256, "ES256"}}) {
    TestSigningKey signer(type, "k1");
    auto key = key_from_jwk(signer.public_jwk().dump());
    EXPECT_EQ(key.kid, "k1");
    EXPECT_EQ(key.type, type);
    EXPECT_EQ(key.pem, signer.public_pem());
    EXPECT_EQ(algorithm_for(key.type), algorithm);
  }
}

TEST(Jwk, RefusesWeakOrBrokenKeys) {
  TestSigningKey rsa(KeyType::rsa, "r1");
  auto short_modulus = rsa.public_jwk();
  short_modulus["n"] = crypto::base64url_encode(std::string(128, '\xc5'));  // 1024 bits
  EXPECT_THROW(key_from_jwk(short_modulus.dump()), std::invalid_argument);

  TestSigningKey ec(KeyType::ec_p256, "e1");
  auto off_curve = ec.public_jwk();
  off_curve["y"] = crypto::base64url_encode(std::string(32, '\x01'));
  EXPECT_THROW(key_from_jwk(off_curve.dump()), std::invalid_argument);
  auto other_curve = ec.public_jwk();
  other_curve["crv"] = "P-384";
  EXPECT_THROW(key_from_jwk(other_curve.dump()), std::invalid_argument);
  auto short_coordinate = ec.public_jwk();
  short_coordinate["x"] = crypto::base64url_encode(std::string(31, '\x01'));
  EXPECT_THROW(key_from_jwk(short_coordinate.dump()), std::invalid_argument);

  EXPECT_THROW(key_from_jwk(R"({"kty":"oct","k":"c2VjcmV0"})"), std::invalid_argument);
  EXPECT_THROW(key_from_jwk(R"({"kty":"RSA","e":"AQAB"})"), std::invalid_argument);
  EXPECT_THROW(key_from_jwk(R"({"kty":"RSA","n":"!!","e":"AQAB"})"), std::invalid_argument);
  EXPECT_THROW(key_from_jwk("[1]"), std::invalid_argument);
  EXPECT_THROW(key_from_jwk("not json"), std::invalid_argument);
}

TEST(Jwk, KeyIsPinnedToOneAlgorithm) {
  TestSigningKey rsa(KeyType::rsa, "r1");
  auto other_alg = rsa.public_jwk();
  other_alg["alg"] = "RS512";
  EXPECT_THROW(key_from_jwk(other_alg.dump()), std::invalid_argument);
  auto encryption = rsa.public_jwk();
  encryption["use"] = "enc";
  EXPECT_THROW(key_from_jwk(encryption.dump()), std::invalid_argument);
  auto no_alg = rsa.public_jwk();
  no_alg.erase("alg");
  no_alg.erase("use");
  EXPECT_EQ(key_from_jwk(no_alg.dump()).type, KeyType::rsa);
}

TEST(Jwk, SetKeepsTheUsableKeysOnly) {
  TestSigningKey rsa(KeyType::rsa, "r1");
  TestSigningKey ec(KeyType::ec_p256, "e1");
  auto encryption = rsa.public_jwk();
  encryption["use"] = "enc";
  encryption["kid"] = "enc1";
  json set = {{"keys",
               {{{"kty", "oct"}, {"kid", "h"}, {"k", "c2VjcmV0"}},
                rsa.public_jwk(),
                encryption,
                ec.public_jwk(),
                {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}}}}};
  auto keys = keys_from_jwks(set.dump());
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].kid, "r1");
  EXPECT_EQ(keys[1].kid, "e1");
  EXPECT_TRUE(keys_from_jwks(R"({"keys": []})").empty());
  EXPECT_THROW(keys_from_jwks(R"({"keys": {}})"), std::invalid_argument);
  EXPECT_THROW(keys_from_jwks("<html>"), std::invalid_argument);
}

}  // namespace
}  // namespace switchyard::oidc
