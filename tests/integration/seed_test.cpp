#include "switchyard/seed/seed.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "support/error_message.hpp"
#include "support/test_env.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/store/migrations.hpp"

namespace switchyard::seed {
namespace {

using ::testing::HasSubstr;

/// The tables a seed writes.
constexpr const char* kTables[] = {"providers",   "models",        "tenants",  "users",
                                   "memberships", "tenant_models", "api_keys", "category_defaults"};

constexpr const char* kSeed = R"(
providers:
  - name: upstream-openai
    type: openai
    base_url: http://127.0.0.1:9100/v1
    api_key: sk-upstream-test
    timeout_s: 120
  - name: demo
    type: mock
models:
  - alias: gpt-4o-mini
    provider: upstream-openai
    capabilities: [chat, embeddings]
    input_usd_per_mtok: 0.15
    output_usd_per_mtok: 0.60
  - alias: mock-chat
    provider: demo
tenants:
  - name: acme
    budget_usd: 100
    rpm: 600
    tpm: 100000
    parallel: 10
    models: [gpt-4o-mini]
  - name: open
users:
  - email: Admin@Example.com
    password: change-me-now
    admin: true
    memberships: [{tenant: acme, role: owner}]
  - email: dev@example.com
    memberships: [{tenant: acme, role: user}, {tenant: open, role: viewer}]
api_keys:
  - name: ci
    tenant: acme
    user: admin@example.com
    secret: sk-sy-test-0123456789abcdef
    budget_usd: 0.000001
    rpm: 60
    tpm: 20000
    parallel: 2
  - name: shared
    tenant: open
    secret: sk-sy-test-shared-0123456789
categories: {text_gen: mock-chat, embedding: gpt-4o-mini}
)";

class SeedTest : public ::testing::Test {
 protected:
  void SetUp() override { postgres::migrate(db_.url()); }

  SeedResult seed(const std::string& yaml) {
    pqxx::connection connection{db_.url()};
    return apply_seed(connection, parse_seed(YAML::Load(yaml)), master_key_);
  }

  /// The SeedError message seeding `yaml` gives, or "" when it succeeds.
  std::string refusal(const std::string& yaml) {
    return testing::error_message<SeedError>([&] { seed(yaml); });
  }

  /// An md5 of each seeded table's rows in a fixed order: any change to any column changes it.
  std::map<std::string, std::string> snapshot() {
    pqxx::connection connection{db_.url()};
    pqxx::read_transaction tx{connection};
    std::map<std::string, std::string> out;
    for (const char* table : kTables) {
      out[table] =
          tx.exec1(
                "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
                "FROM " +
                std::string(table) + " t")[0]
              .as<std::string>();
    }
    return out;
  }

  pqxx::row query1(const std::string& sql) {
    pqxx::connection connection{db_.url()};
    pqxx::read_transaction tx{connection};
    return tx.exec1(sql);
  }

  testing::ScratchDatabase db_;
  crypto::MasterKey master_key_{std::string(crypto::MasterKey::kSize, 'm')};
};

void expect_counts(const KindCounts& counts, int inserted, int updated, int unchanged, const char* kind) {
  EXPECT_EQ(counts.inserted, inserted) << kind;
  EXPECT_EQ(counts.updated, updated) << kind;
  EXPECT_EQ(counts.unchanged, unchanged) << kind;
}

/// Rows a run inserted or updated, of every kind.
int changes(const SeedResult& r) {
  int n = 0;
  for (const auto* kind :
       {&r.providers, &r.models, &r.tenants, &r.users, &r.memberships, &r.api_keys, &r.categories}) {
    n += kind->inserted + kind->updated;
  }
  return n;
}

TEST_F(SeedTest, SeedingTwiceChangesNothingTheSecondTime) {
  auto first = seed(kSeed);
  expect_counts(first.providers, 2, 0, 0, "providers");
  expect_counts(first.models, 2, 0, 0, "models");
  expect_counts(first.tenants, 4, 0, 0, "tenants");  // two declared, two personal
  expect_counts(first.users, 2, 0, 0, "users");
  expect_counts(first.memberships, 5, 0, 0, "memberships");  // three declared, two personal owners
  expect_counts(first.api_keys, 2, 0, 0, "api_keys");
  expect_counts(first.categories, 2, 0, 0, "categories");
  auto before = snapshot();

  auto second = seed(kSeed);
  expect_counts(second.providers, 0, 0, 2, "providers");
  expect_counts(second.models, 0, 0, 2, "models");
  expect_counts(second.tenants, 0, 0, 2, "tenants");
  expect_counts(second.users, 0, 0, 2, "users");
  expect_counts(second.memberships, 0, 0, 5, "memberships");
  expect_counts(second.api_keys, 0, 0, 2, "api_keys");
  expect_counts(second.categories, 0, 0, 2, "categories");
  EXPECT_EQ(snapshot(), before);
  EXPECT_THAT(to_string(second), HasSubstr("providers: 0 inserted, 0 updated, 2 unchanged\n"));
}

TEST_F(SeedTest, TheDemoSeedLoadsOnceAndThenChangesNothing) {
  auto plan = parse_seed_file(SWITCHYARD_SOURCE_DIR "/config/demo.seed.yaml");
  pqxx::connection connection{db_.url()};
  apply_seed(connection, plan, master_key_);
  auto before = snapshot();
  auto again = apply_seed(connection, plan, master_key_);
  EXPECT_EQ(changes(again), 0) << to_string(again);
  EXPECT_EQ(snapshot(), before);
}

TEST_F(SeedTest, StoresWhatTheFileDeclares) {
  seed(kSeed);
  auto model = query1(
      "SELECT p.name, m.upstream_model, m.capabilities::text, m.input_micros_per_mtok, "
      "m.output_micros_per_mtok "
      "FROM models m JOIN providers p ON p.id = m.provider_id WHERE m.alias = 'gpt-4o-mini'");
  EXPECT_EQ(model[0].as<std::string>(), "upstream-openai");
  EXPECT_EQ(model[1].as<std::string>(), "gpt-4o-mini");
  EXPECT_EQ(model[2].as<std::string>(), "{chat,embeddings}");
  EXPECT_EQ(model[3].as<std::int64_t>(), 150'000);
  EXPECT_EQ(model[4].as<std::int64_t>(), 600'000);

  auto acme = query1(
      "SELECT kind, budget_micros, rpm, tpm, parallel, all_models, "
      "(SELECT array_agg(m.alias)::text FROM tenant_models g JOIN models m ON m.id = g.model_id "
      "WHERE g.tenant_id = t.id) FROM tenants t WHERE name = 'acme'");
  EXPECT_EQ(acme[0].as<std::string>(), "shared");
  EXPECT_EQ(acme[1].as<std::int64_t>(), 100'000'000);
  EXPECT_EQ(acme[2].as<int>(), 600);
  EXPECT_FALSE(acme[5].as<bool>());
  EXPECT_EQ(acme[6].as<std::string>(), "{gpt-4o-mini}");
  EXPECT_TRUE(query1("SELECT all_models FROM tenants WHERE name = 'open'")[0].as<bool>());

  auto admin = query1(
      "SELECT u.email, u.is_admin, u.password_hash, t.kind, t.name = 'personal:' || u.id, "
      "t.budget_micros IS NULL AND t.rpm IS NULL AND t.all_models, m.role "
      "FROM users u JOIN tenants t ON t.id = u.personal_tenant_id "
      "JOIN memberships m ON m.tenant_id = t.id AND m.user_id = u.id WHERE lower(u.email) = "
      "'admin@example.com'");
  EXPECT_EQ(admin[0].as<std::string>(), "Admin@Example.com");
  EXPECT_TRUE(admin[1].as<bool>());
  EXPECT_TRUE(crypto::verify_password("change-me-now", admin[2].as<std::string>()));
  EXPECT_EQ(admin[3].as<std::string>(), "personal");
  EXPECT_TRUE(admin[4].as<bool>());
  EXPECT_TRUE(admin[5].as<bool>());
  EXPECT_EQ(admin[6].as<std::string>(), "owner");
  auto dev = query1("SELECT password_hash IS NULL, is_admin FROM users WHERE email = 'dev@example.com'");
  EXPECT_TRUE(dev[0].as<bool>());
  EXPECT_FALSE(dev[1].as<bool>());

  auto categories = query1(
      "SELECT string_agg(c.category || '=' || m.alias, ',' ORDER BY c.category) "
      "FROM category_defaults c JOIN models m ON m.id = c.model_id");
  EXPECT_EQ(categories[0].as<std::string>(), "embedding=gpt-4o-mini,text_gen=mock-chat");
}

TEST_F(SeedTest, ProviderCredentialsAreEncryptedForTheirRow) {
  seed(kSeed);
  auto row = query1("SELECT credentials, settings::text FROM providers WHERE name = 'upstream-openai'");
  auto sealed = pqxx::binarystring(row[0]).str();
  EXPECT_EQ(sealed.find("sk-upstream-test"), std::string::npos);
  auto plain = master_key_.decrypt(sealed, "provider:upstream-openai");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(nlohmann::json::parse(*plain), nlohmann::json({{"api_key", "sk-upstream-test"}}));
  EXPECT_FALSE(master_key_.decrypt(sealed, "provider:demo").has_value());
  EXPECT_EQ(nlohmann::json::parse(row[1].as<std::string>()), nlohmann::json({{"timeout_s", 120}}));
  EXPECT_TRUE(query1("SELECT credentials IS NULL FROM providers WHERE name = 'demo'")[0].as<bool>());
}

TEST_F(SeedTest, ApiKeysAreStoredAsTheirKeyedHash) {
  seed(kSeed);
  auto row = query1(
      "SELECT k.key_hash, k.prefix, k.budget_micros, k.rpm, k.tpm, k.parallel, u.email "
      "FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.name = 'ci'");
  EXPECT_EQ(pqxx::binarystring(row[0]).str(), master_key_.api_key_hash("sk-sy-test-0123456789abcdef"));
  EXPECT_EQ(row[1].as<std::string>(), "sk-sy-test-0");
  EXPECT_EQ(row[2].as<std::int64_t>(), 1);
  EXPECT_EQ(row[3].as<int>(), 60);
  EXPECT_EQ(row[4].as<std::int64_t>(), 20'000);
  EXPECT_EQ(row[5].as<int>(), 2);
  EXPECT_EQ(row[6].as<std::string>(), "Admin@Example.com");
  EXPECT_TRUE(query1("SELECT user_id IS NULL FROM api_keys WHERE name = 'shared'")[0].as<bool>());
}

TEST_F(SeedTest, ChangesAreAppliedAndOnlyThoseRowsTouched) {
  seed(kSeed);
  auto old = query1("SELECT credentials, updated_at::text FROM providers WHERE name = 'upstream-openai'");
  auto old_hash =
      query1("SELECT password_hash FROM users WHERE email = 'Admin@Example.com'")[0].as<std::string>();

  std::string changed = kSeed;
  changed.replace(changed.find("rpm: 600"), 8, "rpm: 700");
  changed.replace(changed.find("models: [gpt-4o-mini]"), 21, "models: [gpt-4o-mini, mock-chat]");
  changed.replace(changed.find("sk-upstream-test"), 16, "sk-upstream-next");
  auto result = seed(changed);
  expect_counts(result.providers, 0, 1, 1, "providers");
  expect_counts(result.tenants, 0, 1, 1, "tenants");
  expect_counts(result.users, 0, 0, 2, "users");
  EXPECT_EQ(query1("SELECT count(*) FROM tenant_models")[0].as<int>(), 2);

  auto now = query1("SELECT credentials, updated_at::text FROM providers WHERE name = 'upstream-openai'");
  EXPECT_NE(pqxx::binarystring(now[0]).str(), pqxx::binarystring(old[0]).str());
  EXPECT_NE(now[1].as<std::string>(), old[1].as<std::string>());
  EXPECT_EQ(master_key_.decrypt(pqxx::binarystring(now[0]).str(), "provider:upstream-openai"),
            R"({"api_key":"sk-upstream-next"})");
  EXPECT_EQ(query1("SELECT password_hash FROM users WHERE email = 'Admin@Example.com'")[0].as<std::string>(),
            old_hash);

  // A file that gives no credential keeps the stored one; removing a tenant's list grants every model.
  changed.replace(changed.find("    api_key: sk-upstream-next\n"), 30, "");
  changed.replace(changed.find("    models: [gpt-4o-mini, mock-chat]\n"), 37, "");
  result = seed(changed);
  expect_counts(result.providers, 0, 0, 2, "providers");
  expect_counts(result.tenants, 0, 1, 1, "tenants");
  EXPECT_EQ(
      pqxx::binarystring(query1("SELECT credentials FROM providers WHERE name = 'upstream-openai'")[0]).str(),
      pqxx::binarystring(now[0]).str());
  EXPECT_EQ(query1("SELECT count(*) FROM tenant_models")[0].as<int>(), 0);
  EXPECT_TRUE(query1("SELECT all_models FROM tenants WHERE name = 'acme'")[0].as<bool>());
}

TEST_F(SeedTest, UnknownReferencesAreRefusedAndNothingIsWritten) {
  seed(kSeed);
  auto before = snapshot();
  const std::string extra = "  - alias: new-model\n    provider: demo\n";
  auto with_models = [&](const std::string& models) {
    std::string yaml = kSeed;
    return yaml.replace(yaml.find("tenants:"), 0, models);
  };

  EXPECT_EQ(refusal(with_models(extra + "  - alias: gpt-x\n    provider: nope\n")),
            R"(models[3] (alias "gpt-x"): unknown provider "nope")");
  EXPECT_EQ(refusal("tenants: [{name: t2, models: [gpt-4o-mini, missing]}]"),
            R"(tenants[0] (name "t2"): unknown model "missing")");
  EXPECT_EQ(refusal("users: [{email: new@example.com, memberships: [{tenant: nowhere, role: user}]}]"),
            R"(users[0] (email "new@example.com"): unknown tenant "nowhere")");
  EXPECT_EQ(refusal("api_keys: [{name: k, tenant: nowhere, secret: sk-sy-12345678}]"),
            R"(api_keys[0] (name "k"): unknown tenant "nowhere")");
  EXPECT_EQ(refusal("api_keys: [{name: k, tenant: acme, user: ghost@example.com, secret: sk-sy-12345678}]"),
            R"(api_keys[0] (name "k"): unknown user "ghost@example.com")");
  EXPECT_EQ(refusal("categories: {image: missing}"), R"(categories.image: unknown model "missing")");
  EXPECT_EQ(snapshot(), before);
}

TEST_F(SeedTest, ReferencesResolveAgainstTheDatabase) {
  seed(kSeed);
  auto result = seed(R"(
models: [{alias: second, provider: demo}]
tenants: [{name: beta, models: [gpt-4o-mini, second]}]
users:
  - email: ADMIN@example.com
    password: change-me-now
    admin: true
    memberships: [{tenant: beta, role: admin}]
api_keys: [{name: beta-key, tenant: acme, user: dev@example.com, secret: sk-sy-beta-12345678, rpm: 600}]
categories: {text2text: second}
)");
  expect_counts(result.models, 1, 0, 0, "models");
  expect_counts(result.tenants, 1, 0, 0, "tenants");
  // The email differs in case only: the same user, whose stored spelling follows the file.
  expect_counts(result.users, 0, 1, 0, "users");
  expect_counts(result.api_keys, 1, 0, 0, "api_keys");
  EXPECT_EQ(query1("SELECT count(*) FROM users")[0].as<int>(), 2);
}

TEST_F(SeedTest, RulesThatNeedTheDatabaseAreEnforced) {
  seed(kSeed);
  auto before = snapshot();
  EXPECT_EQ(refusal("api_keys: [{name: k, tenant: acme, secret: sk-sy-12345678, rpm: 601}]"),
            R"(api_keys[0] (name "k"): rpm 601 is above tenant "acme"'s 600)");
  EXPECT_EQ(refusal("api_keys: [{name: k, tenant: open, user: admin@example.com, secret: sk-sy-12345678}]"),
            R"(api_keys[0] (name "k"): user "admin@example.com" is not a member of tenant "open")");
  EXPECT_EQ(refusal("api_keys: [{name: other, tenant: acme, secret: sk-sy-test-0123456789abcdef}]"),
            R"(api_keys[0] (name "other"): its secret is already another key's)");
  EXPECT_EQ(refusal("categories: {embedding: mock-chat}"),
            R"(categories.embedding: model "mock-chat" lacks the capability embeddings)");
  // What the run wrote before the refusal is rolled back with the rest.
  EXPECT_THAT(refusal("users: [{email: x@example.com, memberships: [{tenant: acme, role: user}]}]\n"
                      "api_keys: [{name: k, tenant: acme, secret: sk-sy-12345678, budget_usd: 100.000001}]"),
              HasSubstr("budget_usd 100.000001 is above"));
  EXPECT_EQ(snapshot(), before);
}

}  // namespace
}  // namespace switchyard::seed
