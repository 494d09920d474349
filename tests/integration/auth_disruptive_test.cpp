#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "integration/auth_fixture.hpp"
#include "support/test_env.hpp"
#include "switchyard/auth/catalog.hpp"
#include "switchyard/auth/changes.hpp"
#include "switchyard/auth/key_cache.hpp"
#include "switchyard/store/postgres_pool.hpp"

// libpqxx 6.4 leaks a PGresult when a connection is lost mid-query (see postgres_pool_disruptive_test).
// NOLINTNEXTLINE(bugprone-reserved-identifier,readability-identifier-naming): the name LSan looks up.
extern "C" const char* __lsan_default_suppressions() { return "leak:libpq.so\n"; }

namespace switchyard::auth {
namespace {

using namespace std::chrono_literals;
using namespace fixture;
using Clock = std::chrono::steady_clock;
using switchyard::testing::eventually;
using switchyard::testing::IoThread;
using switchyard::testing::ManagedService;

TEST(AuthDisruptive, CachedKeysOutlivePostgresAndRevocationsResumeWhenItReturns) {
  ManagedService server(ManagedService::Kind::postgres);
  migrate_and_seed(server.url());

  DatabaseConfig config;
  config.url = server.url();
  config.pool_size = 2;
  config.connect_timeout = 1s;
  config.acquire_timeout = 1s;
  config.statement_timeout = 2s;
  postgres::Pool pool(config);
  KeyCacheOptions key_options;
  key_options.ttl = 200ms;
  key_options.retry_interval = 200ms;
  KeyCache keys(pool, master_key(), key_options);
  CatalogOptions catalog_options;
  catalog_options.ttl = 200ms;
  catalog_options.retry_interval = 200ms;
  Catalog catalog(pool, master_key(), catalog_options);
  ChangeListenerOptions listener_options;
  listener_options.connect_timeout = 1s;
  listener_options.max_backoff = 500ms;
  ChangeListener listener(server.url(),
                          {[&](const Change& change) {
                             keys.apply(change);
                             catalog.apply(change);
                           },
                           [&] {
                             keys.resync();
                             catalog.resync();
                           }},
                          listener_options);
  IoThread io;

  auto resolve_chat = [&]() -> boost::asio::awaitable<void> {
    auto principal = co_await keys.authenticate(kOpenKey);
    co_await catalog.resolve(*principal, "chat-model", "chat");
  };
  ASSERT_TRUE(eventually([&] { return listener.connected(); }));
  ASSERT_EQ(status_of(io, resolve_chat()), 0);

  server.stop();
  std::this_thread::sleep_for(500ms);  // past both TTLs

  for (int i = 0; i < 5; ++i) {
    auto start = Clock::now();
    EXPECT_EQ(status_of(io, resolve_chat()), 0) << "a key seen before keeps working, call " << i;
    EXPECT_LT(Clock::now() - start, 200ms) << "and never waits for the lost database";
    std::this_thread::sleep_for(250ms);  // let background reloads try and fail
  }
  EXPECT_EQ(status_of(io, keys.authenticate(kAcmeKey)), 503) << "a key never seen cannot be checked";
  EXPECT_FALSE(listener.connected());

  server.start();
  ASSERT_TRUE(eventually([&] { return listener.connected(); }, 20s));
  EXPECT_EQ(status_of(io, keys.authenticate(kAcmeKey)), 0);

  execute(server.url(), "UPDATE api_keys SET revoked_at = now() WHERE name = 'shared'");
  EXPECT_TRUE(eventually([&] { return status_of(io, keys.authenticate(kOpenKey)) == 401; }, 1s));
}

}  // namespace
}  // namespace switchyard::auth
