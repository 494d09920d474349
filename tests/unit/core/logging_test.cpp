#include "switchyard/core/logging.hpp"

#include <gtest/gtest.h>

namespace switchyard {
namespace {

TEST(Logging, SecretHeadersAreRecognised) {
  for (const char* name :
       {"Authorization", "x-api-key", "API-Key", "Cookie", "Set-Cookie", "X-OpenAI-Key", "X-Auth-Token"}) {
    EXPECT_TRUE(is_secret_header(name)) << name;
  }
  for (const char* name : {"Content-Type", "X-Request-Id", "User-Agent"})
    EXPECT_FALSE(is_secret_header(name)) << name;
}

TEST(Logging, JsonBodiesLoseTheirSecretsAtAnyDepth) {
  auto logged = loggable_body(
      R"({"model":"m","api_key":"sk-live-1","nested":{"password":"hunter2","items":[{"client_secret":"abc"}]},"max_tokens":5})",
      "application/json");
  EXPECT_EQ(logged.find("sk-live-1"), std::string::npos);
  EXPECT_EQ(logged.find("hunter2"), std::string::npos);
  EXPECT_EQ(logged.find("abc"), std::string::npos);
  EXPECT_NE(logged.find("\"model\":\"m\""), std::string::npos);
  EXPECT_NE(logged.find("\"max_tokens\":5"), std::string::npos);
}

TEST(Logging, OtherBodiesAreLoggedBySizeOnly) {
  EXPECT_EQ(loggable_body("secret=1", "application/x-www-form-urlencoded"),
            "(8 bytes of application/x-www-form-urlencoded)");
  EXPECT_EQ(loggable_body("{broken", "application/json"), "(7 bytes of malformed JSON)");
  EXPECT_EQ(loggable_body("", "application/json"), "(empty)");
}

TEST(Logging, LongBodiesAreCut) {
  std::string big = R"({"text":")" + std::string(10000, 'x') + R"("})";
  auto logged = loggable_body(big, "application/json", 100);
  EXPECT_LT(logged.size(), 200u);
}

}  // namespace
}  // namespace switchyard
