#include "switchyard/oidc/issuer.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "switchyard/core/crypto.hpp"

namespace switchyard::oidc {
namespace {

using nlohmann::json;

json discovery_document() {
  return {{"issuer", "https://idp.example.com"},
          {"authorization_endpoint", "https://idp.example.com/authorize"},
          {"token_endpoint", "https://idp.example.com/token"},
          {"jwks_uri", "https://idp.example.com/jwks"},
          {"token_endpoint_auth_methods_supported", {"client_secret_basic", 3, "private_key_jwt"}}};
}

TEST(Discovery, ReadsTheEndpoints) {
  auto found = parse_discovery(discovery_document().dump(), "https://idp.example.com");
  EXPECT_EQ(found.issuer, "https://idp.example.com");
  EXPECT_EQ(found.authorization_endpoint, "https://idp.example.com/authorize");
  EXPECT_EQ(found.token_endpoint, "https://idp.example.com/token");
  EXPECT_EQ(found.jwks_uri, "https://idp.example.com/jwks");
  EXPECT_EQ(found.token_endpoint_auth_methods,
            (std::vector<std::string>{"client_secret_basic", "private_key_jwt"}));
}

TEST(Discovery, IssuerMustBeTheConfiguredOne) {
  EXPECT_THROW(parse_discovery(discovery_document().dump(), "https://other.example.com"),
               std::invalid_argument);
  EXPECT_THROW(parse_discovery(discovery_document().dump(), "https://idp.example.com/"),
               std::invalid_argument);
}

TEST(Discovery, RefusesIncompleteDocuments) {
  for (const char* field : {"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"}) {
    auto document = discovery_document();
    document.erase(field);
    EXPECT_THROW(parse_discovery(document.dump(), "https://idp.example.com"), std::invalid_argument) << field;
    document[field] = 42;
    EXPECT_THROW(parse_discovery(document.dump(), "https://idp.example.com"), std::invalid_argument) << field;
  }
  EXPECT_THROW(parse_discovery("<html>", "https://idp.example.com"), std::invalid_argument);
}

TEST(ClientAuthentication, BasicUnlessOnlyPostIsOffered) {
  Discovery discovery;
  EXPECT_EQ(client_auth_for(discovery), ClientAuth::secret_basic);
  discovery.token_endpoint_auth_methods = {"client_secret_post"};
  EXPECT_EQ(client_auth_for(discovery), ClientAuth::secret_post);
  discovery.token_endpoint_auth_methods = {"client_secret_post", "client_secret_basic"};
  EXPECT_EQ(client_auth_for(discovery), ClientAuth::secret_basic);
}

TEST(TokenRequest, CarriesTheCodeVerifierAndRedirect) {
  OidcSettings settings;
  settings.client_id = "gate way";
  settings.client_secret = "s:e&c";
  EXPECT_EQ(
      token_request_body("c/1", "https://gw/cb", "verif", settings, ClientAuth::secret_basic),
      "grant_type=authorization_code&code=c%2F1&redirect_uri=https%3A%2F%2Fgw%2Fcb&code_verifier=verif");
  EXPECT_EQ(token_request_body("c", "r", "v", settings, ClientAuth::secret_post),
            "grant_type=authorization_code&code=c&redirect_uri=r&code_verifier=v&client_id=gate%20way&"
            "client_secret=s%3Ae%26c");
  EXPECT_EQ(basic_client_credentials(settings), "Basic " + crypto::base64_encode("gate%20way:s%3Ae%26c"));
}

TEST(TokenResponse, YieldsTheIdToken) {
  EXPECT_EQ(id_token_of(R"({"access_token":"a","id_token":"h.p.s","token_type":"Bearer"})"), "h.p.s");
  EXPECT_THROW(id_token_of(R"({"access_token":"a"})"), std::invalid_argument);
  EXPECT_THROW(id_token_of(R"({"error":"invalid_grant","error_description":"used"})"), std::invalid_argument);
  EXPECT_THROW(id_token_of("Bad Gateway"), std::invalid_argument);
}

}  // namespace
}  // namespace switchyard::oidc
