#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "support/test_env.hpp"
#include "switchyard/store/migrations.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::postgres {
namespace {

using testing::ScratchDatabase;

int count(const std::string& url, const std::string& query) {
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  return tx.exec1(query)[0].as<int>();
}

/// The MigrationError `migrate` throws; fails the test when it throws none.
std::string migrate_error(const std::string& url, const std::vector<Migration>& migrations) {
  try {
    migrate(url, migrations);
  } catch (const MigrationError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected MigrationError";
  return {};
}

TEST(PostgresMigrations, AppliesEverythingOnceThenNothing) {
  ScratchDatabase db;
  const auto& bundled = bundled_migrations();
  EXPECT_EQ(current_version(db.url()), 0);

  auto first = migrate(db.url());
  EXPECT_EQ(first.previous_version, 0);
  EXPECT_EQ(first.current_version, bundled.back().version);
  ASSERT_EQ(first.applied.size(), bundled.size());
  EXPECT_EQ(first.applied.front(), "0001_initial");

  auto second = migrate(db.url());
  EXPECT_TRUE(second.applied.empty());
  EXPECT_EQ(second.previous_version, bundled.back().version);
  EXPECT_EQ(current_version(db.url()), bundled.back().version);
  EXPECT_EQ(count(db.url(), "SELECT count(*) FROM schema_migrations"), static_cast<int>(bundled.size()));
}

TEST(PostgresMigrations, ConcurrentRunsApplyEachMigrationOnce) {
  ScratchDatabase db;
  // A slow first migration widens the window in which the two runs overlap.
  std::vector<Migration> migrations{{1, "slow", "SELECT pg_sleep(0.5); CREATE TABLE a (id int);"},
                                    {2, "second", "CREATE TABLE b (id int);"}};
  auto run = [&] { return migrate(db.url(), migrations); };
  auto one = std::async(std::launch::async, run);
  auto two = std::async(std::launch::async, run);
  auto first = one.get();
  auto second = two.get();
  EXPECT_EQ(first.applied.size() + second.applied.size(), 2u);
  EXPECT_EQ(first.current_version, 2);
  EXPECT_EQ(second.current_version, 2);
  EXPECT_EQ(count(db.url(), "SELECT count(*) FROM schema_migrations"), 2);
}

TEST(PostgresMigrations, ConcurrentRunsOfTheBundledSchemaBothSucceed) {
  ScratchDatabase db;
  auto run = [&] { return migrate(db.url()); };
  auto one = std::async(std::launch::async, run);
  auto two = std::async(std::launch::async, run);
  auto applied = one.get().applied.size() + two.get().applied.size();
  EXPECT_EQ(applied, bundled_migrations().size());
}

TEST(PostgresMigrations, RefusesAnAppliedMigrationWhoseTextChanged) {
  ScratchDatabase db;
  migrate(db.url());
  auto changed = bundled_migrations();
  changed.front().sql += "\nCREATE TABLE sneaky (id int);\n";
  auto message = migrate_error(db.url(), changed);
  EXPECT_NE(message.find("0001_initial"), std::string::npos) << message;
  EXPECT_NE(message.find("changed after it was applied"), std::string::npos) << message;
  EXPECT_EQ(count(db.url(), "SELECT count(*) FROM pg_tables WHERE tablename = 'sneaky'"), 0);
}

TEST(PostgresMigrations, LineEndingsAreNotAChange) {
  ScratchDatabase db;
  migrate(db.url(), {{1, "a", "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n"}});
  EXPECT_NO_THROW(migrate(db.url(), {{1, "a", "CREATE TABLE a (id int);\r\nCREATE TABLE b (id int);\r\n"}}));
}

TEST(PostgresMigrations, AFailingMigrationLeavesEarlierOnesApplied) {
  ScratchDatabase db;
  std::vector<Migration> migrations{{1, "good", "CREATE TABLE good (id int);"},
                                    {2, "bad", "CREATE TABLE half (id int); SELECT no_such_function();"}};
  auto message = migrate_error(db.url(), migrations);
  EXPECT_NE(message.find("0002_bad failed"), std::string::npos) << message;
  EXPECT_EQ(current_version(db.url()), 1);
  EXPECT_EQ(count(db.url(), "SELECT count(*) FROM pg_tables WHERE tablename IN ('good', 'half')"), 1);
}

TEST(PostgresMigrations, RefusesAMigrationOlderThanTheNewestApplied) {
  ScratchDatabase db;
  migrate(db.url(), {{1, "a", "SELECT 1;"}, {3, "c", "SELECT 1;"}});
  auto message =
      migrate_error(db.url(), {{1, "a", "SELECT 1;"}, {2, "b", "SELECT 1;"}, {3, "c", "SELECT 1;"}});
  EXPECT_NE(message.find("0002_b is not applied, but the newer 0003_c is"), std::string::npos) << message;
}

TEST(PostgresMigrations, UnreachableDatabaseIsABrokenConnection) {
  auto url = "postgresql://switchyard@127.0.0.1:" + std::to_string(testing::free_port()) + "/none";
  EXPECT_THROW(migrate(url), pqxx::broken_connection);
  EXPECT_THROW(current_version(url), pqxx::broken_connection);
}

TEST(PostgresMigrations, AcceptsAConnectionStringItAlreadyCompleted) {
  ScratchDatabase db;
  auto report = migrate(connection_string(db.url(), std::chrono::seconds{3}));
  EXPECT_EQ(report.current_version, bundled_migrations().back().version);
}

/// The first schema's constraints, as the seed and the portal will rely on them.
class InitialSchema : public ::testing::Test {
 protected:
  void SetUp() override { migrate(db_.url()); }

  /// Runs `sql` in a transaction of its own; returns the SQLSTATE it failed with, or "" on success.
  std::string run(const std::string& sql) {
    pqxx::connection connection(db_.url());
    try {
      pqxx::work tx(connection);
      tx.exec(sql);
      tx.commit();
      return "";
    } catch (const pqxx::sql_error& e) {
      return e.sqlstate();
    }
  }

  ScratchDatabase db_;
};

constexpr const char* kCheckViolation = "23514";
constexpr const char* kUniqueViolation = "23505";
constexpr const char* kForeignKeyViolation = "23503";

TEST_F(InitialSchema, TenantsHaveAKindAndUnlimitedByDefault) {
  EXPECT_EQ(run("INSERT INTO tenants (kind, name) VALUES ('shared', 'acme')"), "");
  EXPECT_EQ(run("INSERT INTO tenants (kind, name) VALUES ('team', 'other')"), kCheckViolation);
  EXPECT_EQ(run("INSERT INTO tenants (kind, name) VALUES ('shared', 'acme')"), kUniqueViolation);
  EXPECT_EQ(run("INSERT INTO tenants (kind, name, budget_micros) VALUES ('shared', 'neg', -1)"),
            kCheckViolation);
  EXPECT_EQ(count(db_.url(),
                  "SELECT count(*) FROM tenants WHERE budget_micros IS NULL AND rpm IS NULL AND all_models"),
            1);
}

TEST_F(InitialSchema, EmailsAreUniqueWhateverTheirCase) {
  EXPECT_EQ(run("INSERT INTO users (email) VALUES ('Admin@Example.com')"), "");
  EXPECT_EQ(run("INSERT INTO users (email) VALUES ('admin@example.COM')"), kUniqueViolation);
}

TEST_F(InitialSchema, ModelsAcceptOnlyKnownCapabilitiesAndProviderTypes) {
  EXPECT_EQ(run("INSERT INTO providers (name, type) VALUES ('p', 'openai')"), "");
  EXPECT_EQ(run("INSERT INTO providers (name, type) VALUES ('q', 'carrier_pigeon')"), kCheckViolation);
  EXPECT_EQ(run("INSERT INTO models (alias, provider_id, upstream_model, capabilities) "
                "SELECT 'm', id, 'gpt', ARRAY['chat', 'embeddings'] FROM providers WHERE name = 'p'"),
            "");
  EXPECT_EQ(run("INSERT INTO models (alias, provider_id, upstream_model, capabilities) "
                "SELECT 'n', id, 'gpt', ARRAY['telepathy'] FROM providers WHERE name = 'p'"),
            kCheckViolation);
  // A provider still serving a model cannot be deleted.
  EXPECT_EQ(run("DELETE FROM providers WHERE name = 'p'"), kForeignKeyViolation);
}

TEST_F(InitialSchema, ProviderKeysBelongToExactlyOneOwner) {
  ASSERT_EQ(run("INSERT INTO providers (name, type) VALUES ('p', 'openai');"
                "INSERT INTO tenants (kind, name) VALUES ('shared', 't');"
                "INSERT INTO users (email) VALUES ('u@example.com')"),
            "");
  const std::string both =
      "INSERT INTO provider_keys (provider_id, tenant_id, user_id, credentials, masked_suffix) "
      "SELECT p.id, t.id, u.id, '\\x00', '...0000' FROM providers p, tenants t, users u";
  const std::string neither =
      "INSERT INTO provider_keys (provider_id, credentials, masked_suffix) SELECT id, '\\x00', '...0000' "
      "FROM providers";
  const std::string user_only =
      "INSERT INTO provider_keys (provider_id, user_id, credentials, masked_suffix) "
      "SELECT p.id, u.id, '\\x00', '...0000' FROM providers p, users u";
  EXPECT_EQ(run(both), kCheckViolation);
  EXPECT_EQ(run(neither), kCheckViolation);
  EXPECT_EQ(run(user_only), "");
  EXPECT_EQ(run(user_only), kUniqueViolation);
}

TEST_F(InitialSchema, UsageRecordsReplayIdempotently) {
  const std::string insert =
      "INSERT INTO usage_records (id, request_id, tenant_id, model_alias, status, cost_micros) "
      "VALUES ('00000000-0000-0000-0000-000000000001', 'req_1', gen_random_uuid(), 'm', 'completed', 5) "
      "ON CONFLICT (id) DO NOTHING";
  EXPECT_EQ(run(insert), "");
  EXPECT_EQ(run(insert), "");
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM usage_records"), 1);
}

TEST_F(InitialSchema, DeletingATenantTakesItsKeysAndMembershipsButNotItsUsers) {
  ASSERT_EQ(run("INSERT INTO tenants (kind, name) VALUES ('personal', 'me');"
                "INSERT INTO users (email, personal_tenant_id) SELECT 'me@example.com', id FROM tenants;"
                "INSERT INTO memberships (tenant_id, user_id, role) SELECT t.id, u.id, 'owner' FROM tenants "
                "t, users u;"
                "INSERT INTO api_keys (tenant_id, user_id, name, key_hash, prefix) "
                "SELECT t.id, u.id, 'k', sha256('secret'), 'sk-sy-abcdef' FROM tenants t, users u"),
            "");
  EXPECT_EQ(run("DELETE FROM tenants"), "");
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM users WHERE personal_tenant_id IS NULL"), 1);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM api_keys"), 0);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM memberships"), 0);
}

}  // namespace
}  // namespace switchyard::postgres
