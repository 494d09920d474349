#include "switchyard/seed/seed.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/error_message.hpp"

namespace switchyard::seed {
namespace {

using ::testing::HasSubstr;

SeedPlan parse(const std::string& yaml) { return parse_seed(YAML::Load(yaml)); }

/// The SeedError message parsing `yaml` gives, or "" when it parses.
std::string refusal(const std::string& yaml) {
  return testing::error_message<SeedError>([&] { parse(yaml); });
}

/// The budget a one-tenant file declares.
std::optional<Micros> budget(const std::string& amount) {
  return parse("tenants: [{name: t, budget_usd: " + amount + "}]").tenants.at(0).limits.budget_micros;
}

constexpr const char* kContractExample = R"(
providers:
  - name: upstream-openai
    type: openai
    base_url: http://127.0.0.1:9100/v1
    api_key: sk-upstream-test
    timeout_s: 120
models:
  - alias: gpt-4o-mini
    provider: upstream-openai
    upstream_model: gpt-4o-mini
    capabilities: [chat, embeddings]
    enabled: true
    input_usd_per_mtok: 0.15
    output_usd_per_mtok: 0.60
tenants:
  - name: acme
    budget_usd: 100
    rpm: 600
    tpm: 100000
    parallel: 10
    models: [gpt-4o-mini]
users:
  - email: admin@example.com
    password: change-me-now
    admin: true
    memberships: [{tenant: acme, role: owner}]
api_keys:
  - name: ci
    tenant: acme
    user: admin@example.com
    secret: sk-sy-test-0123456789abcdef
    budget_usd: 10
    rpm: 60
    tpm: 20000
    parallel: 2
categories: {text_gen: gpt-4o-mini, embedding: gpt-4o-mini}
)";

TEST(ParseSeed, ReadsTheContractExample) {
  auto plan = parse(kContractExample);

  ASSERT_EQ(plan.providers.size(), 1u);
  const auto& p = plan.providers[0];
  EXPECT_EQ(p.entry, R"(providers[0] (name "upstream-openai"))");
  EXPECT_EQ(p.type, "openai");
  EXPECT_EQ(p.base_url, "http://127.0.0.1:9100/v1");
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(nlohmann::json::parse(p.settings_json), nlohmann::json({{"timeout_s", 120}}));
  ASSERT_TRUE(p.credentials_json.has_value());
  EXPECT_EQ(nlohmann::json::parse(*p.credentials_json), nlohmann::json({{"api_key", "sk-upstream-test"}}));

  ASSERT_EQ(plan.models.size(), 1u);
  const auto& m = plan.models[0];
  EXPECT_EQ(m.provider, "upstream-openai");
  EXPECT_EQ(m.capabilities, (std::vector<std::string>{"chat", "embeddings"}));
  EXPECT_EQ(m.input_micros_per_mtok, 150'000);
  EXPECT_EQ(m.output_micros_per_mtok, 600'000);
  EXPECT_FALSE(m.cached_input_micros_per_mtok.has_value());

  ASSERT_EQ(plan.tenants.size(), 1u);
  const auto& t = plan.tenants[0];
  EXPECT_EQ(t.limits.budget_micros, 100'000'000);
  EXPECT_EQ(t.limits.rpm, 600);
  EXPECT_EQ(t.limits.tpm, 100'000);
  EXPECT_EQ(t.limits.parallel, 10);
  EXPECT_EQ(t.budget_period, "monthly");
  EXPECT_EQ(t.models, (std::vector<std::string>{"gpt-4o-mini"}));

  ASSERT_EQ(plan.users.size(), 1u);
  const auto& u = plan.users[0];
  EXPECT_EQ(u.password, "change-me-now");
  EXPECT_TRUE(u.admin);
  ASSERT_EQ(u.memberships.size(), 1u);
  EXPECT_EQ(u.memberships[0].tenant, "acme");
  EXPECT_EQ(u.memberships[0].role, "owner");

  ASSERT_EQ(plan.api_keys.size(), 1u);
  const auto& k = plan.api_keys[0];
  EXPECT_EQ(k.user, "admin@example.com");
  EXPECT_EQ(k.secret, "sk-sy-test-0123456789abcdef");
  EXPECT_EQ(k.limits.budget_micros, 10'000'000);
  EXPECT_EQ(k.limits.tpm, 20'000);

  ASSERT_EQ(plan.categories.size(), 2u);
  EXPECT_EQ(plan.categories[0].category, "text_gen");
  EXPECT_EQ(plan.categories[0].alias, "gpt-4o-mini");
  EXPECT_EQ(plan.categories[1].entry, "categories.embedding");
}

TEST(ParseSeed, EmptyDocumentsAndListsAreEmptyPlans) {
  auto empty = parse("");
  EXPECT_TRUE(empty.providers.empty() && empty.models.empty() && empty.tenants.empty() &&
              empty.users.empty() && empty.api_keys.empty() && empty.categories.empty());
  EXPECT_TRUE(parse("providers: []\nmodels:\ncategories: {}").providers.empty());
}

TEST(ParseSeed, OmittedFieldsTakeTheirDefaults) {
  auto plan = parse(R"(
providers: [{name: p, type: mock}]
models: [{alias: m, provider: p}]
tenants: [{name: t}]
users: [{email: a@b.c}]
api_keys: [{name: k, tenant: t, secret: sk-sy-12345678}]
)");
  EXPECT_EQ(plan.providers[0].base_url, "");
  EXPECT_EQ(plan.providers[0].settings_json, "{}");
  EXPECT_FALSE(plan.providers[0].credentials_json.has_value());
  EXPECT_EQ(plan.models[0].upstream_model, "m");
  EXPECT_EQ(plan.models[0].capabilities, std::vector<std::string>{"chat"});
  EXPECT_TRUE(plan.models[0].enabled);
  EXPECT_EQ(plan.models[0].input_micros_per_mtok, 0);
  const auto& limits = plan.tenants[0].limits;
  EXPECT_FALSE(limits.budget_micros || limits.rpm || limits.tpm || limits.parallel);
  EXPECT_FALSE(plan.tenants[0].models.has_value());
  EXPECT_FALSE(plan.users[0].password.has_value());
  EXPECT_FALSE(plan.users[0].display_name.has_value());
  EXPECT_FALSE(plan.users[0].admin);
  EXPECT_FALSE(plan.api_keys[0].user.has_value());
  EXPECT_EQ(parse("tenants: [{name: t, budget_usd: ~}]").tenants[0].limits.budget_micros, std::nullopt);
}

TEST(ParseSeed, MoneyIsExactMicroDollars) {
  EXPECT_EQ(budget("0.000001"), 1);
  EXPECT_EQ(budget("0.3"), 300'000);
  EXPECT_EQ(budget("0.1"), 100'000);
  EXPECT_EQ(budget("1.1"), 1'100'000);
  EXPECT_EQ(budget("100"), 100'000'000);
  EXPECT_EQ(budget("0"), 0);
  EXPECT_EQ(budget(".5"), 500'000);
  EXPECT_EQ(budget("5."), 5'000'000);
  EXPECT_EQ(budget("0.0000010"), 1);
  EXPECT_EQ(budget("123456789.123456"), 123'456'789'123'456);
  EXPECT_EQ(budget("9223372036853.999999"), 9'223'372'036'853'999'999);
  EXPECT_EQ(budget("\"2.5\""), 2'500'000);
  auto prices =
      parse(
          "models: [{alias: m, provider: p, input_usd_per_mtok: 0.075, output_usd_per_mtok: 0.000001, "
          "cached_input_usd_per_mtok: 0.0375}]")
          .models.at(0);
  EXPECT_EQ(prices.input_micros_per_mtok, 75'000);
  EXPECT_EQ(prices.output_micros_per_mtok, 1);
  EXPECT_EQ(prices.cached_input_micros_per_mtok, 37'500);
}

TEST(ParseSeed, MoneyThatIsNotAnExactAmountIsRefused) {
  for (const char* amount :
       {"0.0000001", "-1", "1e3", "1e-6", "abc", ".", "1.2.3", "'1,5'", "+1", "0x10", "9223372036854",
        "99999999999999999999", "true", "[1]", "{a: 1}", "inf", "1 000"}) {
    auto message = refusal(std::string("tenants: [{name: t, budget_usd: ") + amount + "}]");
    EXPECT_THAT(message, HasSubstr(R"(tenants[0] (name "t"): budget_usd must be)")) << amount;
  }
  EXPECT_THAT(refusal("models: [{alias: m, provider: p, input_usd_per_mtok: 0.1234567}]"),
              HasSubstr(R"(models[0] (alias "m"): input_usd_per_mtok must be a non-negative amount)"));
}

TEST(ParseSeed, CountsMustBeWholeNumbersInRange) {
  for (const char* rpm : {"-1", "1.5", "ten", "2147483648", "1e3", "''"}) {
    EXPECT_THAT(refusal(std::string("tenants: [{name: t, rpm: ") + rpm + "}]"),
                HasSubstr(R"(tenants[0] (name "t"): rpm must be a whole number from 0 to 2147483647)"))
        << rpm;
  }
  EXPECT_EQ(parse("tenants: [{name: t, tpm: 9000000000, parallel: 0}]").tenants[0].limits.tpm, 9'000'000'000);
  EXPECT_THAT(refusal("api_keys: [{name: k, tenant: t, secret: sk-sy-12345678, parallel: 3000000000}]"),
              HasSubstr("parallel must be a whole number"));
}

TEST(ParseSeed, UnknownKeysAreRefusedNamingEntryAndKey) {
  EXPECT_EQ(refusal("tenants: [{name: acme, rmp: 10}]"), R"(tenants[0] (name "acme"): unknown key "rmp")");
  EXPECT_EQ(refusal("models: [{alias: a, provider: p, price: 1}]"),
            R"(models[0] (alias "a"): unknown key "price")");
  EXPECT_EQ(refusal("users: [{email: a@b.c, role: admin}]"),
            R"(users[0] (email "a@b.c"): unknown key "role")");
  EXPECT_EQ(refusal("api_keys: [{name: k, tenant: t, secret: sk-sy-12345678, scope: read}]"),
            R"(api_keys[0] (name "k"): unknown key "scope")");
  EXPECT_EQ(refusal("users: [{email: a@b.c, memberships: [{tenant: t, role: user, extra: 1}]}]"),
            R"(users[0] (email "a@b.c").memberships[0]: unknown key "extra")");
  EXPECT_THAT(refusal("provider: []"), HasSubstr(R"(unknown top-level key "provider")"));
}

TEST(ParseSeed, MissingNamesAndWrongShapesAreRefused) {
  EXPECT_EQ(refusal("models: [{provider: p}]"), "models[0]: needs alias");
  EXPECT_EQ(refusal("providers: [{name: p}]"), R"(providers[0] (name "p"): needs type)");
  EXPECT_EQ(refusal("models: [{alias: a}]"), R"(models[0] (alias "a"): needs provider)");
  EXPECT_EQ(refusal("api_keys: [{name: k, tenant: t}]"), R"(api_keys[0] (name "k"): needs secret)");
  EXPECT_EQ(refusal("tenants: [{name: ''}]"), "tenants[0]: needs name");
  EXPECT_EQ(refusal("tenants: [acme]"), "tenants[0]: must be a mapping");
  EXPECT_EQ(refusal("tenants: {name: acme}"), "tenants must be a list");
  EXPECT_EQ(refusal("tenants: [{name: [a]}]"), "tenants[0]: name must be text");
  EXPECT_THAT(refusal("- a"), HasSubstr("a seed file must be a mapping"));
  EXPECT_EQ(refusal("tenants: [{name: t, models: gpt}]"), R"(tenants[0] (name "t"): models must be a list)");
  EXPECT_EQ(refusal("tenants: [{name: t, models: [a, a]}]"), R"(tenants[0] (name "t"): models repeats "a")");
}

TEST(ParseSeed, VocabulariesAreChecked) {
  EXPECT_THAT(refusal("providers: [{name: p, type: openia}]"),
              HasSubstr(R"(providers[0] (name "p"): type must be one of openai, )"));
  EXPECT_THAT(refusal("models: [{alias: a, provider: p, capabilities: [chat, vision]}]"),
              HasSubstr(R"(models[0] (alias "a"): unknown capability "vision")"));
  EXPECT_EQ(refusal("models: [{alias: a, provider: p, capabilities: []}]"),
            R"(models[0] (alias "a"): capabilities must not be empty)");
  EXPECT_THAT(refusal("users: [{email: a@b.c, memberships: [{tenant: t, role: boss}]}]"),
              HasSubstr(R"(users[0] (email "a@b.c").memberships[0]: role must be one of owner, admin)"));
  EXPECT_THAT(refusal("tenants: [{name: t, budget_period: yearly}]"),
              HasSubstr("budget_period must be one of"));
  EXPECT_THAT(refusal("categories: {chat: m}"), HasSubstr("categories.chat: unknown category"));
  EXPECT_EQ(refusal("categories: {image: [m]}"), "categories.image: must be a model alias");
  EXPECT_EQ(refusal("categories: [m]"), "categories must be a mapping of category to model alias");
}

TEST(ParseSeed, FieldValuesAreChecked) {
  EXPECT_EQ(refusal("models: [{alias: a, provider: p, enabled: yes}]"),
            R"(models[0] (alias "a"): enabled must be true or false)");
  EXPECT_EQ(refusal("providers: [{name: p, type: openai, base_url: ftp://x}]"),
            R"(providers[0] (name "p"): base_url must start with http:// or https://)");
  EXPECT_EQ(refusal("providers: [{name: p, type: openai, timeout_s: 0}]"),
            R"(providers[0] (name "p"): timeout_s must be a positive number of seconds)");
  EXPECT_EQ(refusal("providers: [{name: p, type: openai, verify_tls: no}]"),
            R"(providers[0] (name "p"): verify_tls must be true or false)");
  EXPECT_EQ(refusal("users: [{email: admin}]"), R"(users[0] (email "admin"): email is not an email address)");
  EXPECT_EQ(refusal("users: [{email: 'a b@c.d'}]"),
            R"(users[0] (email "a b@c.d"): email is not an email address)");
  EXPECT_EQ(refusal("users: [{email: a@b.c, password: ''}]"),
            R"(users[0] (email "a@b.c"): password must not be empty)");
  EXPECT_EQ(
      refusal("users: [{email: a@b.c, memberships: [{tenant: t, role: user}, {tenant: t, role: admin}]}]"),
      R"(users[0] (email "a@b.c").memberships[1]: repeats tenant "t")");
  EXPECT_THAT(refusal("api_keys: [{name: k, tenant: t, secret: short}]"),
              HasSubstr(R"(api_keys[0] (name "k"): secret must be at least 8 characters)"));
  EXPECT_THAT(refusal("api_keys: [{name: k, tenant: t, secret: 'has a space'}]"),
              HasSubstr("without spaces"));
  EXPECT_EQ(
      refusal("tenants: [{name: 'personal:x'}]"),
      R"(tenants[0] (name "personal:x"): names starting with "personal:" are kept for personal tenants)");
  EXPECT_EQ(refusal("tenants: [{name: \"a\\0b\"}]"), "tenants[0]: name must not contain a NUL character");
}

TEST(ParseSeed, RepeatedKeysAndDuplicateEntriesAreRefused) {
  EXPECT_EQ(refusal("tenants: [{name: a, rpm: 1, rpm: 2}]"), R"(tenants[0]: repeats the key "rpm")");
  EXPECT_EQ(refusal("providers: [{name: p, type: mock}, {name: p, type: openai}]"),
            R"(providers[1] (name "p"): has the same name as providers[0] (name "p"))");
  EXPECT_EQ(refusal("models: [{alias: m, provider: p}, {alias: m, provider: q}]"),
            R"(models[1] (alias "m"): has the same alias as models[0] (alias "m"))");
  EXPECT_EQ(refusal("tenants: [{name: t}, {name: t}]"),
            R"(tenants[1] (name "t"): has the same name as tenants[0] (name "t"))");
  EXPECT_EQ(refusal("users: [{email: A@b.c}, {email: a@B.c}]"),
            R"(users[1] (email "a@B.c"): has the same email as users[0] (email "A@b.c"))");
  EXPECT_EQ(refusal("api_keys: [{name: k, tenant: t, secret: sk-sy-11111111}, "
                    "{name: k, tenant: t, secret: sk-sy-22222222}]"),
            R"(api_keys[1] (name "k"): has the same name and tenant as api_keys[0] (name "k"))");
  EXPECT_EQ(refusal("api_keys: [{name: k, tenant: t, secret: sk-sy-11111111}, "
                    "{name: j, tenant: t, secret: sk-sy-11111111}]"),
            R"(api_keys[1] (name "j"): has the same secret as api_keys[0] (name "k"))");
  EXPECT_EQ(refusal("tenants: []\ntenants: []"), "tenants is given twice");
  // The same key name in two tenants is two keys.
  EXPECT_EQ(parse("api_keys: [{name: k, tenant: a, secret: sk-sy-11111111}, {name: k, tenant: b, "
                  "secret: sk-sy-22222222}]")
                .api_keys.size(),
            2u);
}

TEST(ParseSeed, KeyCapsMayNotExceedTheirTenantsInTheFile) {
  const std::string tenant = "tenants: [{name: acme, budget_usd: 10, rpm: 60, tpm: 1000, parallel: 2}]\n";
  auto key = [&](const std::string& caps) {
    return refusal(tenant + "api_keys: [{name: k, tenant: acme, secret: sk-sy-12345678, " + caps + "}]");
  };
  EXPECT_EQ(key("budget_usd: 10.000001"),
            R"(api_keys[0] (name "k"): budget_usd 10.000001 is above tenant "acme"'s 10)");
  EXPECT_EQ(key("rpm: 61"), R"(api_keys[0] (name "k"): rpm 61 is above tenant "acme"'s 60)");
  EXPECT_EQ(key("tpm: 1001"), R"(api_keys[0] (name "k"): tpm 1001 is above tenant "acme"'s 1000)");
  EXPECT_EQ(key("parallel: 3"), R"(api_keys[0] (name "k"): parallel 3 is above tenant "acme"'s 2)");
  EXPECT_EQ(key("budget_usd: 10, rpm: 60, tpm: 1000, parallel: 2"), "");
  // An unlimited tenant, or one the file does not declare, bounds nothing here.
  EXPECT_EQ(
      refusal("tenants: [{name: acme}]\napi_keys: [{name: k, tenant: acme, secret: sk-sy-12345678, rpm: 9}]"),
      "");
  EXPECT_EQ(refusal("api_keys: [{name: k, tenant: other, secret: sk-sy-12345678, rpm: 9}]"), "");
}

TEST(ParseSeed, ProviderFieldsAreSortedIntoSettingsAndCredentials) {
  auto plan = parse(R"(
providers:
  - name: bedrock
    type: bedrock
    region: us-east-1
    access_key_id: AKIDEXAMPLE
    secret_access_key: wJalrXUtnFEMI
    session_token: 00123
    timeout_s: 1.5
    verify_tls: false
  - name: vertex
    type: vertex
    project: my-project
    location: global
    service_account: {type: service_account, private_key: "-----BEGIN", client_email: a@b.c}
  - name: backend
    type: token_exchange
    base_url: https://backend.example/v1
    token_url: https://auth.example/token
    auth_code: abc
    max_tokens: 100
    tokens_per_second: 50
    api_version: 2024-02-01
    retries: "3"
    headers: {X-Team: ml}
)");
  using nlohmann::json;
  EXPECT_EQ(json::parse(plan.providers[0].settings_json),
            json({{"region", "us-east-1"}, {"timeout_s", 1.5}, {"verify_tls", false}}));
  EXPECT_EQ(json::parse(*plan.providers[0].credentials_json), json({{"access_key_id", "AKIDEXAMPLE"},
                                                                    {"secret_access_key", "wJalrXUtnFEMI"},
                                                                    {"session_token", "00123"}}));
  EXPECT_EQ(json::parse(plan.providers[1].settings_json),
            json({{"project", "my-project"}, {"location", "global"}}));
  EXPECT_EQ(
      json::parse(*plan.providers[1].credentials_json),
      json({{"service_account",
             {{"type", "service_account"}, {"private_key", "-----BEGIN"}, {"client_email", "a@b.c"}}}}));
  EXPECT_EQ(json::parse(plan.providers[2].settings_json), json({{"max_tokens", 100},
                                                                {"tokens_per_second", 50},
                                                                {"api_version", "2024-02-01"},
                                                                {"retries", "3"},
                                                                {"headers", {{"X-Team", "ml"}}}}));
  EXPECT_EQ(json::parse(*plan.providers[2].credentials_json),
            json({{"token_url", "https://auth.example/token"}, {"auth_code", "abc"}}));
}

TEST(ParseSeed, CredentialFieldsFollowTheirNames) {
  EXPECT_TRUE(is_credential_field("openai", "api_key"));
  EXPECT_TRUE(is_credential_field("azure", "API_KEY"));
  EXPECT_TRUE(is_credential_field("openai", "client_secret"));
  EXPECT_TRUE(is_credential_field("openai", "admin-password"));
  EXPECT_TRUE(is_credential_field("vertex", "service_account"));
  EXPECT_TRUE(is_credential_field("openai", "credentials"));
  EXPECT_FALSE(is_credential_field("openai", "service_account"));
  EXPECT_FALSE(is_credential_field("openai", "keyboard"));
  EXPECT_FALSE(is_credential_field("openai", "max_tokens"));
  EXPECT_FALSE(is_credential_field("azure", "deployment"));
}

TEST(ParseSeedFile, ReadsAFileAndNamesItInErrors) {
  auto path = std::filesystem::temp_directory_path() / "switchyard-seed-parse-test.yaml";
  {
    std::ofstream out(path);
    out << kContractExample;
  }
  EXPECT_EQ(parse_seed_file(path.string()).api_keys.size(), 1u);
  {
    std::ofstream out(path);
    out << "tenants: [{name: a\n";
  }
  try {
    parse_seed_file(path.string());
    ADD_FAILURE() << "a syntax error was accepted";
  } catch (const SeedError& e) {
    EXPECT_THAT(e.what(), HasSubstr(path.string() + ": "));
  }
  std::filesystem::remove(path);
  EXPECT_THROW(parse_seed_file(path.string()), SeedError);
}

TEST(ParseSeedFile, TheDemoSeedParses) {
  auto plan = parse_seed_file(SWITCHYARD_SOURCE_DIR "/config/demo.seed.yaml");
  EXPECT_FALSE(plan.providers.empty());
  EXPECT_FALSE(plan.api_keys.empty());
}

}  // namespace
}  // namespace switchyard::seed
