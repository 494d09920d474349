#include "switchyard/admin/catalogue.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "switchyard/core/error.hpp"

namespace switchyard::admin {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

/// The param of the 400 that `action` throws; "(none)" when it throws nothing.
template <class Action>
std::string refused_param(Action&& action) {
  try {
    action();
  } catch (const ApiError& error) {
    EXPECT_EQ(error.status(), 400) << error.what();
    EXPECT_EQ(error.type(), "invalid_request_error");
    return error.param();
  }
  return "(none)";
}

std::string provider_refusal(const json& body, Mode mode = Mode::create) {
  return refused_param([&] { parse_provider_input(body, mode); });
}

std::string model_refusal(const json& body, Mode mode = Mode::create) {
  return refused_param([&] { parse_model_input(body, mode); });
}

http::Request get(std::string target) {
  http::Request request;
  request.method = "GET";
  request.target = std::move(target);
  return request;
}

std::string audit_refusal(const std::string& query) {
  return refused_param([&] { parse_audit_query(get("/admin/audit?" + query)); });
}

TEST(ParseObject, RefusesWhatIsNotAJsonObject) {
  EXPECT_EQ(refused_param([] { parse_object("{not json"); }), "");
  EXPECT_EQ(refused_param([] { parse_object("[1, 2]"); }), "");
  EXPECT_EQ(parse_object(R"({"a": 1})")["a"], 1);
}

TEST(ProviderInput, ReadsEveryField) {
  auto in = parse_provider_input(json::parse(R"({
    "name": "openai-main", "type": "openai", "base_url": "https://api.openai.com/v1",
    "settings": {"timeout_s": 30, "verify_tls": false, "organization": "org-1"},
    "credentials": {"api_key": "sk-live-0123456789"}, "enabled": false})"),
                                 Mode::create);
  EXPECT_EQ(in.name, "openai-main");
  EXPECT_EQ(in.type, "openai");
  EXPECT_EQ(in.base_url, "https://api.openai.com/v1");
  EXPECT_EQ(*in.settings, json({{"timeout_s", 30}, {"verify_tls", false}, {"organization", "org-1"}}));
  EXPECT_EQ(in.enabled, false);
  EXPECT_EQ(in.credentials_patch, json({{"api_key", "sk-live-0123456789"}}));
  EXPECT_TRUE(in.changes_credentials());
}

TEST(ProviderInput, TakesATopLevelApiKeyAsACredential) {
  auto in = parse_provider_input({{"name", "p"}, {"type", "mock"}, {"api_key", "sk-top-level-secret"}},
                                 Mode::create);
  EXPECT_EQ(in.credentials_patch, json({{"api_key", "sk-top-level-secret"}}));
}

TEST(ProviderInput, CreateNeedsNameAndAKnownType) {
  EXPECT_EQ(provider_refusal({{"type", "openai"}}), "name");
  EXPECT_EQ(provider_refusal({{"name", "p"}}), "type");
  EXPECT_EQ(provider_refusal({{"name", "p"}, {"type", "openai-ish"}}), "type");
  EXPECT_EQ(provider_refusal({{"name", "with space"}, {"type", "openai"}}), "name");
  EXPECT_EQ(provider_refusal({{"name", "a/b"}, {"type", "openai"}}), "name");
  EXPECT_EQ(provider_refusal({{"name", 5}, {"type", "openai"}}), "name");
  EXPECT_EQ(provider_refusal({{"name", "p"}, {"type", "openai"}, {"enabled", "yes"}}), "enabled");
  EXPECT_EQ(provider_refusal({{"name", "p"}, {"type", "openai"}, {"colour", "red"}}), "colour");
}

TEST(ProviderInput, UpdateNeedsNothingButRefusesNullNames) {
  auto in = parse_provider_input({{"enabled", false}}, Mode::update);
  EXPECT_FALSE(in.name);
  EXPECT_EQ(in.enabled, false);
  EXPECT_FALSE(in.changes_credentials());
  EXPECT_EQ(provider_refusal({{"name", nullptr}}, Mode::update), "name");
}

TEST(ProviderInput, ReadOnlyFieldsOfAnAnswerAreIgnored) {
  auto in = parse_provider_input({{"id", "x"}, {"has_credentials", true}, {"models", 3}, {"enabled", true}},
                                 Mode::update);
  EXPECT_EQ(in.enabled, true);
}

TEST(ProviderInput, BaseUrlIsHttpWithoutCredentials) {
  auto base = json{{"name", "p"}, {"type", "openai"}};
  auto with = [&](const char* url) {
    auto body = base;
    body["base_url"] = url;
    return provider_refusal(body);
  };
  EXPECT_EQ(with("ftp://example.com"), "base_url");
  EXPECT_EQ(with("https://user:secret@example.com/v1"), "base_url");
  EXPECT_EQ(with("https://"), "base_url");
  EXPECT_EQ(with("https://example.com/v1 x"), "base_url");
  EXPECT_EQ(with("https://example.com/v1?user=a@b"), "(none)");
  EXPECT_EQ(with("http://127.0.0.1:9100/v1"), "(none)");
  EXPECT_EQ(parse_provider_input({{"base_url", nullptr}}, Mode::update).base_url, "");
}

TEST(ProviderInput, CredentialsAreAnObjectOfSecrets) {
  auto base = json{{"name", "p"}, {"type", "openai"}};
  auto with = [&](json credentials, Mode mode = Mode::create) {
    auto body = base;
    body["credentials"] = std::move(credentials);
    return provider_refusal(body, mode);
  };
  EXPECT_EQ(with("sk-plain"), "credentials");
  EXPECT_EQ(with({{"api_key", 42}}), "credentials.api_key");
  EXPECT_EQ(with({{"api_key", ""}}), "credentials.api_key");
  EXPECT_EQ(with({{"service_account", {{"client_email", "a@b"}}}}), "(none)");
  EXPECT_EQ(provider_refusal({{"api_key", 1}}, Mode::update), "api_key");
}

TEST(ProviderInput, NullCredentialsClearAndNullFieldsRemoveOnUpdate) {
  auto cleared = parse_provider_input({{"credentials", nullptr}}, Mode::update);
  EXPECT_TRUE(cleared.clear_credentials);
  EXPECT_TRUE(cleared.changes_credentials());

  auto removed = parse_provider_input({{"credentials", {{"organization_key", nullptr}}}}, Mode::update);
  EXPECT_FALSE(removed.clear_credentials);
  EXPECT_EQ(removed.credentials_patch, json({{"organization_key", nullptr}}));
}

TEST(ProviderSettings, WellKnownSettingsAreTyped) {
  EXPECT_EQ(refused_param([] {
              check_provider_settings("openai", {{"timeout_s", "30"}});
            }),
            "settings.timeout_s");
  EXPECT_EQ(refused_param([] {
              check_provider_settings("openai", {{"timeout_s", 0}});
            }),
            "settings.timeout_s");
  EXPECT_EQ(refused_param([] {
              check_provider_settings("openai", {{"verify_tls", "no"}});
            }),
            "settings.verify_tls");
  EXPECT_EQ(refused_param([] {
              check_provider_settings("azure", {{"api_version", 2024}});
            }),
            "settings.api_version");
  EXPECT_EQ(refused_param([] { check_provider_settings("bedrock", {{"region", ""}}); }), "settings.region");
  EXPECT_EQ(
      refused_param([] {
        check_provider_settings("azure", {{"timeout_s", 2.5}, {"verify_tls", true}, {"api_version", "v1"}});
      }),
      "(none)");
}

TEST(ProviderSettings, SecretsAreRefusedOutsideCredentials) {
  EXPECT_EQ(refused_param([] {
              check_provider_settings("openai", {{"api_key", "sk-oops"}});
            }),
            "settings.api_key");
  EXPECT_EQ(refused_param([] {
              check_provider_settings("vertex", {{"service_account", "{}"}});
            }),
            "settings.service_account");
  EXPECT_EQ(provider_refusal({{"name", "p"}, {"type", "openai"}, {"settings", {{"client_secret", "x"}}}}),
            "settings.client_secret");
  EXPECT_EQ(model_refusal({{"alias", "m"}, {"provider", "p"}, {"settings", {{"access_token", "x"}}}}),
            "settings.access_token");
}

TEST(CredentialsHint, MasksTheApiKeyElseTheFirstTextField) {
  EXPECT_EQ(credentials_hint({{"organization", "org-0123456789"}, {"api_key", "sk-0123456789abcd"}}),
            "...abcd");
  EXPECT_EQ(credentials_hint({{"access_key_id", "AKIA0123456789XYZW"}}), "...XYZW");
  EXPECT_EQ(credentials_hint({{"api_key", "short"}}), "...");
  EXPECT_EQ(credentials_hint({{"service_account", {{"private_key", "x"}}}}), std::nullopt);
  EXPECT_EQ(credentials_hint(json::object()), std::nullopt);
}

TEST(CredentialsContext, IsTheOneTheSeedAndCatalogueUse) {
  EXPECT_EQ(credentials_context("upstream-openai"), "provider:upstream-openai");
}

TEST(ModelInput, ReadsEveryFieldAndPricesInBothForms) {
  auto in = parse_model_input(json::parse(R"({
    "alias": "gpt-4o-mini", "provider": "openai-main", "upstream_model": "gpt-4o-mini-2024-07-18",
    "capabilities": ["chat", "embeddings", "chat"], "enabled": false,
    "input_usd_per_mtok": 0.15, "output_micros_per_mtok": 600000, "cached_input_usd_per_mtok": "0.075",
    "settings": {"max_output_tokens": 16384}})"),
                              Mode::create);
  EXPECT_EQ(in.alias, "gpt-4o-mini");
  EXPECT_EQ(in.provider, "openai-main");
  EXPECT_EQ(in.upstream_model, "gpt-4o-mini-2024-07-18");
  EXPECT_EQ(in.capabilities, (std::vector<std::string>{"chat", "embeddings"}));
  EXPECT_EQ(in.enabled, false);
  EXPECT_EQ(in.input_micros_per_mtok, 150000);
  EXPECT_EQ(in.output_micros_per_mtok, 600000);
  ASSERT_TRUE(in.cached_input_micros_per_mtok);
  EXPECT_EQ(*in.cached_input_micros_per_mtok, 75000);
  EXPECT_EQ((*in.settings)["max_output_tokens"], 16384);
}

TEST(ModelInput, DecimalPricesAreExact) {
  auto in = parse_model_input(
      {{"alias", "m"}, {"provider", "p"}, {"input_usd_per_mtok", 0.1}, {"output_usd_per_mtok", 2}},
      Mode::create);
  EXPECT_EQ(in.input_micros_per_mtok, 100000);
  EXPECT_EQ(in.output_micros_per_mtok, 2000000);
}

TEST(ModelInput, RefusesBadFieldsNamingThem) {
  json base = {{"alias", "m"}, {"provider", "p"}};
  auto with = [&](const char* key, json value, Mode mode = Mode::create) {
    auto body = base;
    body[key] = std::move(value);
    return model_refusal(body, mode);
  };
  EXPECT_EQ(model_refusal({{"provider", "p"}}), "alias");
  EXPECT_EQ(model_refusal({{"alias", "m"}}), "provider");
  EXPECT_EQ(with("capabilities", json::array()), "capabilities");
  EXPECT_EQ(with("capabilities", {"chat", "telepathy"}), "capabilities");
  EXPECT_EQ(with("upstream_model", ""), "upstream_model");
  EXPECT_EQ(with("input_usd_per_mtok", -1), "input_usd_per_mtok");
  EXPECT_EQ(with("input_usd_per_mtok", "cheap"), "input_usd_per_mtok");
  EXPECT_EQ(with("output_usd_per_mtok", "0.0000001"), "output_usd_per_mtok");
  EXPECT_EQ(with("output_usd_per_mtok", 2e9), "output_usd_per_mtok");
  EXPECT_EQ(with("output_micros_per_mtok", 1.5), "output_micros_per_mtok");
  EXPECT_EQ(with("settings", "fast"), "settings");
  EXPECT_EQ(with("input_usd_per_mtok", nullptr, Mode::update), "input_usd_per_mtok");
  auto both = base;
  both["input_usd_per_mtok"] = 1;
  both["input_micros_per_mtok"] = 1000000;
  EXPECT_EQ(model_refusal(both), "input_usd_per_mtok");
}

TEST(ModelInput, NullCachedPriceMeansAsInputOnUpdate) {
  auto in = parse_model_input({{"cached_input_usd_per_mtok", nullptr}}, Mode::update);
  ASSERT_TRUE(in.cached_input_micros_per_mtok);
  EXPECT_FALSE(*in.cached_input_micros_per_mtok);
  EXPECT_FALSE(parse_model_input(json::object(), Mode::update).cached_input_micros_per_mtok);
}

TEST(Grants, AllModelsIsRequiredAndAliasesAreDistinct) {
  auto grants = parse_grants({{"all_models", false}, {"models", {"b", "a", "b"}}});
  EXPECT_FALSE(grants.all_models);
  EXPECT_EQ(grants.models, (std::vector<std::string>{"b", "a"}));
  EXPECT_TRUE(parse_grants({{"all_models", true}}).all_models);
  EXPECT_EQ(refused_param([] { parse_grants({{"models", {"a"}}}); }), "all_models");
  EXPECT_EQ(refused_param([] { parse_grants({{"all_models", false}, {"models", "a"}}); }), "models");
  EXPECT_EQ(refused_param([] { parse_grants({{"all_models", false}, {"models", {""}}}); }), "models");
}

TEST(AuditQuery, DefaultsAndFilters) {
  auto query = parse_audit_query(get("/admin/audit"));
  EXPECT_EQ(query.limit, 20);
  EXPECT_FALSE(query.before);

  query =
      parse_audit_query(get("/admin/audit?limit=100&before=42&action=provider.update&tenant_id="
                            "0b6f5a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b"));
  EXPECT_EQ(query.limit, 100);
  EXPECT_EQ(query.before, 42);
  EXPECT_EQ(query.action, "provider.update");
  EXPECT_EQ(query.tenant_id, "0b6f5a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b");
}

TEST(AuditQuery, RefusesBadParamsNamingThem) {
  EXPECT_EQ(audit_refusal("limit=0"), "limit");
  EXPECT_EQ(audit_refusal("limit=101"), "limit");
  EXPECT_EQ(audit_refusal("limit=ten"), "limit");
  EXPECT_EQ(audit_refusal("before=-3"), "before");
  EXPECT_EQ(audit_refusal("before=1x"), "before");
  EXPECT_EQ(audit_refusal("tenant_id=acme"), "tenant_id");
  EXPECT_EQ(audit_refusal("actor_user_id=1"), "actor_user_id");
  EXPECT_EQ(audit_refusal("action="), "action");
}

TEST(Refusals, SayWhatIsExpected) {
  try {
    parse_provider_input({{"name", "p"}, {"type", "nope"}}, Mode::create);
    FAIL() << "accepted an unknown type";
  } catch (const ApiError& error) {
    EXPECT_THAT(error.what(), HasSubstr("openai_compatible"));
  }
}

}  // namespace
}  // namespace switchyard::admin
