#include "switchyard/auth/api_key.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace switchyard::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ApiError error_of(std::optional<std::string_view> authorization, std::optional<std::string_view> x_api_key) {
  try {
    presented_api_key(authorization, x_api_key);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return ApiError::internal("none");
}

TEST(PresentedApiKey, TakesTheBearerToken) {
  EXPECT_EQ(presented_api_key("Bearer sk-sy-abc", std::nullopt), "sk-sy-abc");
  EXPECT_EQ(presented_api_key("bearer   sk-sy-abc  ", std::nullopt), "sk-sy-abc");
  EXPECT_EQ(presented_api_key("BEARER\tsk-sy-abc", std::nullopt), "sk-sy-abc");
}

TEST(PresentedApiKey, TakesXApiKeyWhenThereIsNoBearerToken) {
  EXPECT_EQ(presented_api_key(std::nullopt, "sk-sy-anthropic"), "sk-sy-anthropic");
  EXPECT_EQ(presented_api_key("Basic dXNlcjpwdw==", " sk-sy-anthropic "), "sk-sy-anthropic");
  EXPECT_EQ(presented_api_key("Bearer ", "sk-sy-anthropic"), "sk-sy-anthropic");
}

TEST(PresentedApiKey, PrefersAuthorization) {
  EXPECT_EQ(presented_api_key("Bearer sk-sy-openai", "sk-sy-anthropic"), "sk-sy-openai");
}

void expect_missing_key_error(std::optional<std::string_view> authorization,
                              std::optional<std::string_view> x_api_key) {
  auto error = error_of(authorization, x_api_key);
  EXPECT_EQ(error.status(), 401);
  EXPECT_EQ(error.type(), "invalid_request_error");
  EXPECT_EQ(error.code(), "invalid_api_key");
  EXPECT_THAT(error.what(), HasSubstr("Authorization: Bearer"));
  EXPECT_THAT(error.what(), HasSubstr("x-api-key"));
}

TEST(PresentedApiKey, MissingKeyIs401SayingHowToPassOne) {
  expect_missing_key_error(std::nullopt, std::nullopt);
  expect_missing_key_error("Bearer", std::nullopt);
  expect_missing_key_error("Bearer   ", "  ");
  expect_missing_key_error("Basic abc", "");
}

TEST(IncorrectApiKey, ShowsOnlyThePrefix) {
  std::string key = "sk-sy-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghij";
  auto error = incorrect_api_key(key);
  EXPECT_EQ(error.status(), 401);
  EXPECT_EQ(error.code(), "invalid_api_key");
  EXPECT_THAT(error.what(), HasSubstr("Incorrect API key provided: sk-sy-ABCDEF****"));
  EXPECT_THAT(error.what(), Not(HasSubstr("GHIJ")));
}

TEST(IncorrectApiKey, NeverEchoesUnsafeCharacters) {
  auto error = incorrect_api_key("<script>\"alert\"</script>");
  EXPECT_THAT(error.what(), Not(HasSubstr("<")));
  EXPECT_THAT(error.what(), Not(HasSubstr("\"")));
}

}  // namespace
}  // namespace switchyard::auth
