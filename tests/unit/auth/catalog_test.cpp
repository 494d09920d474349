#include "switchyard/auth/catalog.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace switchyard::auth {
namespace {

using ::testing::ElementsAre;

std::shared_ptr<const ModelInfo> model(const std::string& alias, std::vector<std::string> capabilities,
                                       bool enabled = true, bool provider_enabled = true) {
  auto provider = std::make_shared<ProviderInfo>();
  provider->name = "p-" + alias;
  provider->enabled = provider_enabled;
  auto m = std::make_shared<ModelInfo>();
  m->alias = alias;
  m->provider = provider;
  m->capabilities = std::move(capabilities);
  m->enabled = enabled;
  return m;
}

CatalogSnapshot snapshot() {
  CatalogSnapshot s;
  for (auto m : {model("chat-a", {"chat", "completions"}), model("embed-a", {"embeddings"}),
                 model("off", {"chat"}, false), model("orphan", {"chat"}, true, false)}) {
    s.models.emplace(m->alias, m);
  }
  return s;
}

Principal tenant(bool all_models, std::vector<std::string> grants = {}) {
  Principal p;
  p.all_models = all_models;
  p.granted_aliases = std::move(grants);
  return p;
}

ApiError error_of(const Principal& p, std::string_view alias, std::string_view capability) {
  try {
    resolve_model(snapshot(), p, alias, capability);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << alias << " resolved";
  return ApiError::internal("none");
}

TEST(ResolveModel, FindsAGrantedModelWithTheCapability) {
  auto s = snapshot();
  EXPECT_EQ(resolve_model(s, tenant(true), "chat-a", "chat")->alias, "chat-a");
  EXPECT_EQ(resolve_model(s, tenant(false, {"chat-a"}), "chat-a", "completions")->alias, "chat-a");
  EXPECT_EQ(resolve_model(s, tenant(true), "embed-a", "")->alias, "embed-a") << "no capability asked";
}

TEST(ResolveModel, UnknownDisabledAndUngrantedLookAlike) {
  auto unknown = error_of(tenant(true), "nope", "chat");
  auto disabled = error_of(tenant(true), "off", "chat");
  auto provider_off = error_of(tenant(true), "orphan", "chat");
  auto ungranted = error_of(tenant(false, {"embed-a"}), "chat-a", "chat");
  for (const auto* e : {&unknown, &disabled, &provider_off, &ungranted}) {
    EXPECT_EQ(e->status(), 404);
    EXPECT_EQ(e->type(), "invalid_request_error");
    EXPECT_EQ(e->code(), "model_not_found");
  }
  EXPECT_EQ(std::string(ungranted.what()), model_not_found("chat-a").what());
  EXPECT_EQ(std::string(disabled.what()), model_not_found("off").what());
}

TEST(ResolveModel, GrantsAreCheckedBeforeCapabilities) {
  // An ungranted alias must not reveal what it can do.
  EXPECT_EQ(error_of(tenant(false, {"chat-a"}), "embed-a", "chat").status(), 404);
}

TEST(ResolveModel, MissingCapabilityIs400NamingModel) {
  auto e = error_of(tenant(true), "embed-a", "chat");
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(e.type(), "invalid_request_error");
  EXPECT_EQ(e.param(), "model");
}

TEST(ResolveModel, LongAliasesAreCutInTheMessage) {
  auto e = error_of(tenant(true), std::string(10'000, 'x'), "chat");
  EXPECT_LT(std::string(e.what()).size(), 400u);
}

TEST(VisibleModels, OnlyUsableAndGranted) {
  auto s = snapshot();
  auto aliases = [](const std::vector<std::shared_ptr<const ModelInfo>>& models) {
    std::vector<std::string> out;
    for (const auto& m : models) out.push_back(m->alias);
    return out;
  };
  EXPECT_THAT(aliases(visible_models(s, tenant(true))), ElementsAre("chat-a", "embed-a"));
  EXPECT_THAT(aliases(visible_models(s, tenant(false, {"embed-a", "off"}))), ElementsAre("embed-a"));
}

}  // namespace
}  // namespace switchyard::auth
