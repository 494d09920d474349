#include "switchyard/jwt_orgs/token.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "switchyard/core/crypto.hpp"
#include "switchyard/jwt_orgs/authenticator.hpp"
#include "switchyard/jwt_orgs/store.hpp"

namespace switchyard::jwt_orgs {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kTenant = "6f1c1f7e-9a7b-4d5e-8f00-0123456789ab";
const std::string kSecret = "an-organisation-secret-of-32-bytes!!";

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  auto size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

/// A fresh RSA key pair as PEM: private, public.
std::pair<std::string, std::string> rsa_pair() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}), &EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), &BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_PUBKEY(pub.get(), key.get());
  return {bio_text(priv.get()), bio_text(pub.get())};
}

const std::pair<std::string, std::string>& rsa() {
  static const auto pair = rsa_pair();
  return pair;
}

std::int64_t epoch(std::chrono::system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

json claims(std::chrono::seconds expires_in = 600s) {
  auto now = std::chrono::system_clock::now();
  return {{"org_id", kTenant}, {"org_name", "Acme"}, {"iat", epoch(now)}, {"exp", epoch(now + expires_in)}};
}

TokenKey hs256() { return {Algorithm::hs256, kSecret}; }
TokenKey rs256_public() { return {Algorithm::rs256, rsa().second}; }
TokenKey rs256_private() { return {Algorithm::rs256, rsa().first}; }

/// A token with any header, the signature part given as is.
std::string unsigned_token(const json& header, const json& payload, const std::string& signature = "") {
  return crypto::base64url_encode(header.dump()) + "." + crypto::base64url_encode(payload.dump()) + "." +
         signature;
}

TEST(JwtToken, Hs256SignedWithTheTenantsSecretIsAccepted) {
  auto token = mint_token(claims(), hs256());
  EXPECT_TRUE(looks_like_jwt(token));
  EXPECT_EQ(claimed_tenant(token), kTenant);
  auto verified = verify_token(token, hs256());
  EXPECT_EQ(verified["org_id"], kTenant);
  EXPECT_EQ(verified["org_name"], "Acme");
}

TEST(JwtToken, Rs256SignedWithThePrivateKeyIsAcceptedWithThePublicKey) {
  auto token = mint_token(claims(), rs256_private());
  EXPECT_EQ(verify_token(token, rs256_public())["org_id"], kTenant);
}

TEST(JwtToken, AlgNoneIsRefused) {
  auto token = unsigned_token({{"alg", "none"}, {"typ", "JWT"}}, claims());
  EXPECT_TRUE(looks_like_jwt(token));
  EXPECT_THROW(verify_token(token, hs256()), TokenRefused);
  EXPECT_THROW(verify_token(token, rs256_public()), TokenRefused);
  auto lowercase = unsigned_token({{"alg", "None"}}, claims());
  EXPECT_THROW(verify_token(lowercase, hs256()), TokenRefused);
}

TEST(JwtToken, AnAlgOtherThanTheTenantsIsRefused) {
  EXPECT_THROW(verify_token(mint_token(claims(), hs256()), rs256_public()), TokenRefused);
  EXPECT_THROW(verify_token(mint_token(claims(), rs256_private()), hs256()), TokenRefused);
  // Algorithm confusion: HS256 keyed with the tenant's public key, which anyone may read.
  auto confused = mint_token(claims(), {Algorithm::hs256, rsa().second});
  EXPECT_THROW(verify_token(confused, rs256_public()), TokenRefused);
  auto hs512 = unsigned_token({{"alg", "HS512"}}, claims(), "c2lnbmF0dXJl");
  EXPECT_THROW(verify_token(hs512, hs256()), TokenRefused);
}

TEST(JwtToken, AnotherKeyIsRefused) {
  auto token = mint_token(claims(), {Algorithm::hs256, "another-secret-of-thirty-two-bytes!!"});
  EXPECT_THROW(verify_token(token, hs256()), TokenRefused);
  auto other_pair = rsa_pair();
  auto rs = mint_token(claims(), {Algorithm::rs256, other_pair.first});
  EXPECT_THROW(verify_token(rs, rs256_public()), TokenRefused);
}

TEST(JwtToken, ATamperedPayloadIsRefused) {
  auto token = mint_token(claims(), hs256());
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  auto forged = claims();
  forged["org_id"] = "00000000-0000-0000-0000-000000000000";
  auto tampered = token.substr(0, first + 1) + crypto::base64url_encode(forged.dump()) + token.substr(second);
  EXPECT_THROW(verify_token(tampered, hs256()), TokenRefused);
}

TEST(JwtToken, ExpiryIsCheckedWithSixtySecondsOfLeeway) {
  EXPECT_THROW(verify_token(mint_token(claims(-61s), hs256()), hs256()), TokenRefused);
  EXPECT_NO_THROW(verify_token(mint_token(claims(-30s), hs256()), hs256()));
  auto token = mint_token(claims(600s), hs256());
  TokenCheck later{.now = std::chrono::system_clock::now() + 661s};
  EXPECT_THROW(verify_token(token, hs256(), later), TokenRefused);
}

TEST(JwtToken, ATokenWithoutExpIsRefused) {
  auto no_exp = claims();
  no_exp.erase("exp");
  EXPECT_THROW(verify_token(mint_token(no_exp, hs256()), hs256()), TokenRefused);
  auto text_exp = claims();
  text_exp["exp"] = "tomorrow";
  EXPECT_THROW(verify_token(mint_token(text_exp, hs256()), hs256()), TokenRefused);
}

TEST(JwtToken, NotBeforeAndIssuedAtInTheFutureAreRefused) {
  auto now = std::chrono::system_clock::now();
  auto early = claims();
  early["nbf"] = epoch(now + 300s);
  EXPECT_THROW(verify_token(mint_token(early, hs256()), hs256()), TokenRefused);
  auto future = claims();
  future["iat"] = epoch(now + 300s);
  EXPECT_THROW(verify_token(mint_token(future, hs256()), hs256()), TokenRefused);
  auto slightly = claims();
  slightly["nbf"] = epoch(now + 30s);
  EXPECT_NO_THROW(verify_token(mint_token(slightly, hs256()), hs256()));
}

TEST(JwtToken, TheTenantComesFromOrgIdElseTenantId) {
  json by_tenant_id = {{"tenant_id", kTenant}, {"exp", 1}};
  EXPECT_EQ(claimed_tenant(mint_token(by_tenant_id, hs256())), kTenant);
  json neither = {{"org_name", "Acme"}, {"exp", 1}};
  EXPECT_THROW(claimed_tenant(mint_token(neither, hs256())), TokenRefused);
  EXPECT_THROW(claimed_tenant("eyJ.not-json.x"), TokenRefused);
}

TEST(JwtToken, ApiKeysDoNotLookLikeJwts) {
  EXPECT_FALSE(looks_like_jwt("sk-sy-0123456789abcdef"));
  EXPECT_FALSE(looks_like_jwt("sys_abc.def.ghi"));
  EXPECT_FALSE(looks_like_jwt("eyJhbGciOiJIUzI1NiJ9.payload"));
  EXPECT_FALSE(looks_like_jwt("eyJhbGciOiJIUzI1NiJ9.pay load.sig"));
  EXPECT_TRUE(looks_like_jwt("eyJhbGciOiJIUzI1NiJ9.eyJ9.c2ln"));
}

TEST(JwtToken, MintingRs256WithAPublicKeyFails) {
  EXPECT_THROW(mint_token(claims(), rs256_public()), std::runtime_error);
  EXPECT_THROW(mint_token(claims(), {Algorithm::hs256, ""}), std::runtime_error);
}

TEST(JwtStore, PublicKeysAreCheckedAndUuidsRecognised) {
  EXPECT_NO_THROW(check_public_key(rsa().second));
  EXPECT_THROW(check_public_key(rsa().first), std::invalid_argument);
  EXPECT_THROW(check_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"),
               std::invalid_argument);
}

TEST(JwtUserHeader, MissingOrBlankIs422NamingTheHeader) {
  for (std::optional<std::string_view> header :
       {std::optional<std::string_view>(), std::optional<std::string_view>(""),
        std::optional<std::string_view>("  \t ")}) {
    try {
      external_user_id(header);
      FAIL() << "accepted a blank X-User-ID";
    } catch (const ApiError& error) {
      EXPECT_EQ(error.status(), 422);
      EXPECT_EQ(error.type(), "invalid_request_error");
      EXPECT_EQ(error.code(), "missing_user_id");
      EXPECT_EQ(error.param(), "X-User-ID");
    }
  }
}

TEST(JwtUserHeader, ValuesAreTrimmedAndBounded) {
  EXPECT_EQ(external_user_id(" user@example.com "), "user@example.com");
  EXPECT_EQ(external_user_id(std::string(256, 'u')), std::string(256, 'u'));
  try {
    external_user_id(std::string(257, 'u'));
    FAIL() << "accepted an X-User-ID over 256 bytes";
  } catch (const ApiError& error) {
    EXPECT_EQ(error.status(), 422);
    EXPECT_EQ(error.code(), "invalid_user_id");
  }
  EXPECT_THROW(external_user_id("a\x01z"), ApiError);
}

TEST(JwtUserHeader, RefusedTokensAre401InvalidApiKeyWithoutTheReason) {
  auto error = token_not_accepted("jwt: the token expired");
  EXPECT_EQ(error.status(), 401);
  EXPECT_EQ(error.code(), "invalid_api_key");
  EXPECT_EQ(std::string(error.what()).find("jwt:"), std::string::npos) << "the reason is for the log only";
  EXPECT_EQ(error.detail(), "jwt: the token expired");
}

}  // namespace
}  // namespace switchyard::jwt_orgs
