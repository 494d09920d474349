#include "switchyard/oidc/id_token.hpp"

#include <gtest/gtest.h>

#include "support/fake_oidc_provider.hpp"
#include "switchyard/core/crypto.hpp"

namespace switchyard::oidc {
namespace {

using nlohmann::json;
using testing::TestSigningKey;

constexpr std::int64_t kNow = 1'700'000'000;
constexpr const char* kIssuer = "https://idp.example.com/realms/acme";
constexpr const char* kClient = "switchyard";
constexpr const char* kNonce = "n-0S6_WzA2Mj";

// Generated once for the whole suite: RSA key generation takes a while.
const TestSigningKey& rsa() {
  static const TestSigningKey key(KeyType::rsa, "rsa-1");
  return key;
}
const TestSigningKey& ec() {
  static const TestSigningKey key(KeyType::ec_p256, "ec-1");
  return key;
}
/// Another RSA key under the published RSA key's kid.
const TestSigningKey& stranger() {
  static const TestSigningKey key(KeyType::rsa, "rsa-1");
  return key;
}

class IdTokenTest : public ::testing::Test {
 protected:
  static std::vector<VerificationKey> keys() {
    return {key_from_jwk(rsa().public_jwk().dump()), key_from_jwk(ec().public_jwk().dump())};
  }

  static json claims() {
    return {{"iss", kIssuer}, {"sub", "248289761001"}, {"aud", kClient},        {"exp", kNow + 300},
            {"iat", kNow},    {"nonce", kNonce},       {"email", "a@b.example"}};
  }

  static IdTokenCheck check() {
    return {kIssuer, kClient, kNonce, std::chrono::system_clock::time_point(std::chrono::seconds(kNow))};
  }

  /// The refusal verify_id_token gives `token`, or nullopt when it accepts it.
  static std::optional<Refusal> refusal_of(const std::string& token,
                                           const std::vector<VerificationKey>& with = keys()) {
    try {
      verify_id_token(token, with, check());
      return std::nullopt;
    } catch (const TokenRefused& refused) {
      EXPECT_NE(std::string(refused.what()), "");
      return refused.refusal();
    }
  }

  static json modified(const json& changes) {
    auto c = claims();
    for (const auto& [name, value] : changes.items()) {
      if (value.is_null()) {
        c.erase(name);
      } else {
        c[name] = value;
      }
    }
    return c;
  }
};

TEST_F(IdTokenTest, AcceptsRs256) {
  auto token = verify_id_token(rsa().sign(claims()), keys(), check());
  EXPECT_EQ(token.subject, "248289761001");
  EXPECT_EQ(token.claims["email"], "a@b.example");
}

TEST_F(IdTokenTest, AcceptsEs256) {
  auto token = verify_id_token(ec().sign(claims()), keys(), check());
  EXPECT_EQ(token.subject, "248289761001");
}

TEST_F(IdTokenTest, WithoutKidTheOnlyKeyIsUsed) {
  std::vector<VerificationKey> only{key_from_jwk(ec().public_jwk().dump())};
  EXPECT_EQ(refusal_of(ec().sign(claims(), false), only), std::nullopt);
  EXPECT_EQ(refusal_of(ec().sign(claims(), false)), Refusal::unknown_key);
}

TEST_F(IdTokenTest, RefusesAnUnknownKid) {
  TestSigningKey other(KeyType::rsa, "rsa-2");
  EXPECT_EQ(refusal_of(other.sign(claims())), Refusal::unknown_key);
  EXPECT_EQ(token_key_id(other.sign(claims())), "rsa-2");
  EXPECT_EQ(token_key_id(other.sign(claims(), false)), "");
}

TEST_F(IdTokenTest, RefusesABadSignature) {
  EXPECT_EQ(refusal_of(stranger().sign(claims())), Refusal::bad_signature);
  // A payload changed after signing.
  auto token = rsa().sign(claims());
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  auto forged = crypto::base64url_encode(modified({{"sub", "admin"}}).dump());
  EXPECT_EQ(refusal_of(token.substr(0, first + 1) + forged + token.substr(second)), Refusal::bad_signature);
  EXPECT_EQ(refusal_of(token.substr(0, second + 1)), Refusal::bad_signature);
}

TEST_F(IdTokenTest, RefusesAlgNone) {
  EXPECT_EQ(refusal_of(testing::hmac_or_unsigned_token(claims(), "none", "", "rsa-1")),
            Refusal::unsupported_algorithm);
}

TEST_F(IdTokenTest, RefusesHmacSignedWithThePublicKey) {
  // The classic confusion: the public PEM used as an HMAC secret verifies if the header's alg is trusted.
  for (const char* alg : {"HS256", "HS384", "HS512"}) {
    EXPECT_EQ(refusal_of(testing::hmac_or_unsigned_token(claims(), alg, rsa().public_pem(), "rsa-1")),
              Refusal::unsupported_algorithm)
        << alg;
  }
}

TEST_F(IdTokenTest, RefusesAnAlgThatDisagreesWithTheKey) {
  // Signed by the EC key but naming the RSA key's kid, and the other way round.
  TestSigningKey ec_as_rsa(KeyType::ec_p256, "rsa-1");
  TestSigningKey rsa_as_ec(KeyType::rsa, "ec-1");
  EXPECT_EQ(refusal_of(ec_as_rsa.sign(claims())), Refusal::algorithm_mismatch);
  EXPECT_EQ(refusal_of(rsa_as_ec.sign(claims())), Refusal::algorithm_mismatch);
  auto header = crypto::base64url_encode(R"({"alg":"RS384","kid":"rsa-1"})");
  auto token = rsa().sign(claims());
  EXPECT_EQ(refusal_of(header + token.substr(token.find('.'))), Refusal::unsupported_algorithm);
  auto critical = crypto::base64url_encode(R"({"alg":"RS256","kid":"rsa-1","crit":["exp"]})");
  EXPECT_EQ(refusal_of(critical + token.substr(token.find('.'))), Refusal::unsupported_algorithm);
}

TEST_F(IdTokenTest, RefusesMalformedTokens) {
  EXPECT_EQ(refusal_of(""), Refusal::malformed);
  EXPECT_EQ(refusal_of("a.b"), Refusal::malformed);
  EXPECT_EQ(refusal_of("a.b.c.d"), Refusal::malformed);
  EXPECT_EQ(refusal_of("!!!.e30.sig"), Refusal::malformed);
  EXPECT_EQ(refusal_of(crypto::base64url_encode("[1]") + ".e30.sig"), Refusal::malformed);
  EXPECT_EQ(refusal_of(crypto::base64url_encode(R"({"kid":"rsa-1"})") + ".e30.sig"), Refusal::malformed);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"sub", nullptr}}))), Refusal::malformed);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"sub", ""}}))), Refusal::malformed);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"exp", nullptr}}))), Refusal::malformed);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"iat", nullptr}}))), Refusal::malformed);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"exp", "tomorrow"}}))), Refusal::malformed);
  EXPECT_THROW(token_key_id("garbage"), TokenRefused);
}

TEST_F(IdTokenTest, RefusesAnotherIssuer) {
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"iss", "https://evil.example.com"}}))), Refusal::wrong_issuer);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"iss", std::string(kIssuer) + "/"}}))), Refusal::wrong_issuer);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"iss", nullptr}}))), Refusal::wrong_issuer);
}

TEST_F(IdTokenTest, RefusesAnotherAudience) {
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"aud", "someone-else"}}))), Refusal::wrong_audience);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"aud", {"x", "y"}}}))), Refusal::wrong_audience);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"aud", nullptr}}))), Refusal::wrong_audience);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"aud", {kClient}}}))), std::nullopt);
}

TEST_F(IdTokenTest, SeveralAudiencesNeedAzpNamingUs) {
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"aud", {kClient, "api"}}}))), Refusal::wrong_authorized_party);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"aud", {kClient, "api"}}, {"azp", "api"}}))),
            Refusal::wrong_authorized_party);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"aud", {kClient, "api"}}, {"azp", kClient}}))), std::nullopt);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"azp", "other"}}))), Refusal::wrong_authorized_party);
}

TEST_F(IdTokenTest, RefusesAnExpiredTokenBeyondTheLeeway) {
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"iat", kNow - 600}, {"exp", kNow - 61}}))), Refusal::expired);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"iat", kNow - 600}, {"exp", kNow - 59}}))), std::nullopt);
}

TEST_F(IdTokenTest, RefusesTokensFromTheFuture) {
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"iat", kNow + 61}}))), Refusal::issued_in_future);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"iat", kNow + 59}}))), std::nullopt);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"nbf", kNow + 61}}))), Refusal::not_yet_valid);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"nbf", kNow + 30}}))), std::nullopt);
}

TEST_F(IdTokenTest, RefusesAnotherNonce) {
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"nonce", "replayed"}}))), Refusal::nonce_mismatch);
  EXPECT_EQ(refusal_of(rsa().sign(modified({{"nonce", nullptr}}))), Refusal::nonce_mismatch);
  auto empty_nonce = check();
  empty_nonce.nonce.clear();
  EXPECT_THROW(verify_id_token(rsa().sign(modified({{"nonce", ""}})), keys(), empty_nonce), TokenRefused);
}

TEST(IdTokenRefusal, EveryReasonHasAName) {
  for (auto refusal : {Refusal::malformed, Refusal::unsupported_algorithm, Refusal::algorithm_mismatch,
                       Refusal::unknown_key, Refusal::bad_signature, Refusal::wrong_issuer,
                       Refusal::wrong_audience, Refusal::wrong_authorized_party, Refusal::expired,
                       Refusal::issued_in_future, Refusal::not_yet_valid, Refusal::nonce_mismatch}) {
    EXPECT_NE(refusal_name(refusal), "unknown");
  }
  EXPECT_EQ(refusal_name(Refusal::bad_signature), "bad_signature");
}

}  // namespace
}  // namespace switchyard::oidc
