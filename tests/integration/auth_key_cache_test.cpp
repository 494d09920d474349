#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <vector>

#include "integration/auth_fixture.hpp"
#include "support/test_env.hpp"
#include "switchyard/auth/changes.hpp"
#include "switchyard/auth/key_cache.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::auth {
namespace {

using namespace std::chrono_literals;
using switchyard::testing::eventually;
using switchyard::testing::IoThread;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace fixture;

/// One "process": a pool, a key cache and its change listener.
struct Process {
  explicit Process(const std::string& url, KeyCacheOptions options = {})
      : pool([&] {
          DatabaseConfig config;
          config.url = url;
          config.pool_size = 2;
          return config;
        }()),
        keys(pool, master_key(), options),
        listener(url, {[this](const Change& change) { keys.apply(change); },
                       [this] {
                         keys.resync();
                         ++resyncs;
                       }}) {
    // The listener resyncs once it listens; a load overlapping that is not kept, so wait for it first.
    EXPECT_TRUE(switchyard::testing::eventually([this] { return resyncs.load() > 0; }));
  }

  std::shared_ptr<const Principal> authenticate(const std::string& key) {
    return io.run(keys.authenticate(key));
  }
  int status(const std::string& key) { return status_of(io, keys.authenticate(key)); }

  postgres::Pool pool;
  KeyCache keys;
  std::atomic<int> resyncs{0};
  ChangeListener listener;
  IoThread io;  ///< last: drained before the cache and pool go
};

class KeyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { migrate_and_seed(db_.url()); }

  switchyard::testing::ScratchDatabase db_;
};

TEST_F(KeyCacheTest, AValidKeyGivesItsPrincipal) {
  Process process(db_.url());
  auto p = process.authenticate(kAcmeKey);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->key_name, "ci");
  EXPECT_EQ(p->tenant_name, "acme");
  EXPECT_EQ(p->tenant_kind, TenantKind::shared);
  EXPECT_FALSE(p->user_id);
  EXPECT_TRUE(p->scopes.read);
  EXPECT_TRUE(p->scopes.write);
  EXPECT_EQ(p->key_limits.budget_micros, 10'000'000);
  EXPECT_EQ(p->key_limits.rpm, 60);
  EXPECT_EQ(p->key_limits.tpm, 20'000);
  EXPECT_EQ(p->key_limits.parallel, 2);
  EXPECT_EQ(p->tenant_limits.budget_micros, 100'000'000);
  EXPECT_EQ(p->tenant_limits.rpm, 600);
  EXPECT_EQ(p->tenant_limits.tpm, 100'000);
  EXPECT_EQ(p->tenant_limits.parallel, 10);
  EXPECT_EQ(p->budget_period, BudgetPeriod::monthly);
  EXPECT_FALSE(p->expires_at);
  EXPECT_FALSE(p->all_models);
  EXPECT_THAT(p->granted_aliases, ::testing::ElementsAre("chat-model"));

  auto open = process.authenticate(kOpenKey);
  EXPECT_TRUE(open->all_models);
  EXPECT_FALSE(open->key_limits.rpm);
  EXPECT_EQ(process.authenticate(kAcmeKey), p) << "the second call is served from memory";
  EXPECT_EQ(process.keys.stats().loads, 2u);
}

TEST_F(KeyCacheTest, UnknownRevokedAndExpiredKeysAre401) {
  execute(db_.url(), "UPDATE api_keys SET revoked_at = now() WHERE name = 'ci'");
  execute(db_.url(), "UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE name = 'shared'");
  Process process(db_.url());
  for (std::string key :
       {std::string("sk-sy-unknown-0123456789abcdefghij"), std::string(kAcmeKey), std::string(kOpenKey)}) {
    try {
      process.authenticate(key);
      ADD_FAILURE() << key << " was accepted";
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 401);
      EXPECT_EQ(e.type(), "invalid_request_error");
      EXPECT_EQ(e.code(), "invalid_api_key");
      EXPECT_THAT(e.what(), HasSubstr("Incorrect API key provided"));
      EXPECT_THAT(e.what(), Not(HasSubstr(key)));
    }
  }
  auto loads = process.keys.stats().loads;
  EXPECT_EQ(process.status(kAcmeKey), 401);
  EXPECT_EQ(process.keys.stats().loads, loads) << "a refused key is remembered for a while";
}

TEST_F(KeyCacheTest, AKeyThatExpiresWhileCachedStopsWorking) {
  execute(db_.url(), "UPDATE api_keys SET expires_at = now() + interval '1 second' WHERE name = 'ci'");
  Process process(db_.url());
  EXPECT_TRUE(process.authenticate(kAcmeKey)->expires_at);
  EXPECT_TRUE(eventually([&] { return process.status(kAcmeKey) == 401; }, 3s));
}

TEST_F(KeyCacheTest, ConcurrentMissesOfOneKeyShareOneQuery) {
  Process process(db_.url());
  IoThread other;  // a second event loop: waiters on another thread share the load too
  std::vector<std::future<std::shared_ptr<const Principal>>> calls;
  for (int i = 0; i < 100; ++i) {
    calls.push_back(i % 2 ? process.io.spawn(process.keys.authenticate(kAcmeKey))
                          : other.spawn(process.keys.authenticate(kAcmeKey)));
  }
  std::shared_ptr<const Principal> first;
  for (auto& call : calls) {
    auto principal = call.get();
    ASSERT_TRUE(principal);
    if (!first) first = principal;
    EXPECT_EQ(principal, first);
  }
  auto stats = process.keys.stats();
  EXPECT_EQ(stats.loads, 1u);
  EXPECT_EQ(stats.hits + stats.misses, 100u);
}

TEST_F(KeyCacheTest, AFloodOfRandomKeysDoesNotGrowTheCache) {
  KeyCacheOptions options;
  options.negative_capacity = 50;
  Process process(db_.url(), options);
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(process.status("sk-sy-random-" + std::to_string(i) + "-0123456789abcdef"), 401);
  }
  auto stats = process.keys.stats();
  EXPECT_EQ(stats.negative_keys, 50u);
  EXPECT_EQ(stats.keys, 0u);
}

TEST_F(KeyCacheTest, RevocationReachesAnotherProcessWithinASecond) {
  Process first(db_.url());
  Process second(db_.url());
  ASSERT_TRUE(eventually([&] { return first.listener.connected() && second.listener.connected(); }));
  ASSERT_TRUE(first.authenticate(kAcmeKey));
  ASSERT_TRUE(second.authenticate(kAcmeKey));

  execute(db_.url(), "UPDATE api_keys SET revoked_at = now() WHERE name = 'ci'");
  EXPECT_TRUE(eventually([&] { return second.status(kAcmeKey) == 401; }, 1s));
  EXPECT_TRUE(eventually([&] { return first.status(kAcmeKey) == 401; }, 1s));
  EXPECT_EQ(second.status(kOpenKey), 0) << "other keys are untouched";
}

TEST_F(KeyCacheTest, LimitChangesReachAnotherProcessWithinASecond) {
  Process process(db_.url());
  ASSERT_TRUE(eventually([&] { return process.listener.connected(); }));
  ASSERT_EQ(process.authenticate(kAcmeKey)->key_limits.rpm, 60);

  execute(db_.url(), "UPDATE api_keys SET rpm = 5 WHERE name = 'ci'");
  EXPECT_TRUE(eventually([&] { return process.authenticate(kAcmeKey)->key_limits.rpm == 5; }, 1s));
  execute(db_.url(), "UPDATE tenants SET tpm = 7, budget_period = 'daily' WHERE name = 'acme'");
  EXPECT_TRUE(eventually(
      [&] {
        auto p = process.authenticate(kAcmeKey);
        return p->tenant_limits.tpm == 7 && p->budget_period == BudgetPeriod::daily;
      },
      1s));
}

TEST_F(KeyCacheTest, AKeyCreatedAfterARefusalWorksAtOnce) {
  Process process(db_.url());
  ASSERT_TRUE(eventually([&] { return process.listener.connected(); }));
  std::string secret = "sk-sy-test-later-0123456789abcdef";
  ASSERT_EQ(process.status(secret), 401);
  auto hash = crypto::hex(master_key().api_key_hash(secret));
  execute(db_.url(), "INSERT INTO api_keys (tenant_id, name, key_hash, prefix) SELECT id, 'later', decode('" +
                         hash + "', 'hex'), 'sk-sy-test-l' FROM tenants WHERE name = 'open'");
  EXPECT_TRUE(eventually([&] { return process.status(secret) == 0; }, 1s));
}

}  // namespace
}  // namespace switchyard::auth
