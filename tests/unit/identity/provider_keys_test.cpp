#include "switchyard/auth/provider_keys.hpp"

#include <gtest/gtest.h>

#include "switchyard/auth/catalog.hpp"
#include "switchyard/auth/principal.hpp"
#include "switchyard/core/error.hpp"

namespace switchyard::auth {
namespace {

std::shared_ptr<const ModelInfo> model_of(const std::string& type, const std::string& platform_key) {
  auto provider = std::make_shared<ProviderInfo>();
  provider->id = "p1";
  provider->name = "upstream";
  provider->type = type;
  if (!platform_key.empty()) provider->credentials = {{"api_key", platform_key}};
  auto model = std::make_shared<ModelInfo>();
  model->alias = "gpt";
  model->provider = provider;
  return model;
}

TEST(OwnProviderKeys, TheCallersOwnKeyReplacesThePlatforms) {
  auto model = model_of("openai", "sk-platform");
  Principal principal;
  principal.own_provider_keys = {{"p1", "sk-mine"}};
  auto sent = with_own_credentials(model, principal);
  EXPECT_EQ(sent->provider->credentials["api_key"], "sk-mine");
  EXPECT_EQ(model->provider->credentials["api_key"], "sk-platform") << "the shared catalogue must not change";
}

TEST(OwnProviderKeys, WithoutOneThePlatformKeyServes) {
  auto model = model_of("openai", "sk-platform");
  Principal principal;
  principal.own_provider_keys = {{"another-provider", "sk-mine"}};
  EXPECT_EQ(with_own_credentials(model, principal), model);
}

TEST(OwnProviderKeys, NoKeyAnywhereIsForbiddenWhereTheProviderNeedsOne) {
  Principal principal;
  try {
    with_own_credentials(model_of("openai", ""), principal);
    FAIL() << "expected 403";
  } catch (const ApiError& error) {
    EXPECT_EQ(error.status(), 403);
    EXPECT_EQ(error.type(), "permission_error");
  }
  EXPECT_NO_THROW(with_own_credentials(model_of("openai_compatible", ""), principal));
  EXPECT_NO_THROW(with_own_credentials(model_of("mock", ""), principal));
}

TEST(OwnProviderKeys, MaskingShowsOnlyTheLastFourOfALongSecret) {
  EXPECT_EQ(masked_secret("sk-abcdefghijklmnop1234"), "...1234");
  EXPECT_EQ(masked_secret("short"), "...");
}

TEST(OwnProviderKeys, CiphertextIsBoundToItsOwner) {
  EXPECT_NE(provider_key_context("p", ProviderKeyOwner::user, "x"),
            provider_key_context("p", ProviderKeyOwner::tenant, "x"));
  EXPECT_NE(provider_key_context("p", ProviderKeyOwner::user, "x"),
            provider_key_context("q", ProviderKeyOwner::user, "x"));
}

}  // namespace
}  // namespace switchyard::auth
