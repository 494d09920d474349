#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>

#include "support/io_thread.hpp"
#include "support/test_env.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/store/postgres_pool.hpp"

// libpqxx 6.4 asks for the client encoding before it takes ownership of a query's result, so a connection
// lost mid-query leaks that PGresult (about 2 KB per lost connection). Its frames carry no symbols, hence
// the module.
// NOLINTNEXTLINE(bugprone-reserved-identifier,readability-identifier-naming): the name LSan looks up.
extern "C" const char* __lsan_default_suppressions() { return "leak:libpq.so\n"; }

namespace switchyard::postgres {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::eventually;
using testing::IoThread;
using testing::ManagedService;

int select_one(pqxx::work& tx) { return tx.exec1("SELECT 1")[0].as<int>(); }

/// Whether `future` fails with a 503 within `limit`.
template <class T>
bool fails_with_503_within(std::future<T>& future, std::chrono::milliseconds limit) {
  if (future.wait_for(limit) != std::future_status::ready) return false;
  try {
    future.get();
  } catch (const ApiError& e) {
    return e.status() == 503;
  }
  return false;
}

TEST(PostgresPoolDisruptive, FailsFastWhileTheServerIsDownAndRecoversByItself) {
  ManagedService server(ManagedService::Kind::postgres);
  DatabaseConfig config;
  config.url = server.url();
  config.pool_size = 2;
  config.acquire_timeout = 1s;
  config.statement_timeout = 2s;
  config.connect_timeout = 2s;
  Pool pool(config);
  IoThread io;

  // Open both pooled connections and the ping connection, so that the restart breaks live ones.
  auto first = io.spawn(pool.transact([](pqxx::work& tx) { tx.exec("SELECT pg_sleep(0.2)"); }));
  auto second = io.spawn(pool.transact([](pqxx::work& tx) { tx.exec("SELECT pg_sleep(0.2)"); }));
  first.get();
  second.get();
  io.run(pool.ping(1s));
  EXPECT_EQ(pool.stats().open, 3);

  auto in_flight = io.spawn(pool.transact([](pqxx::work& tx) { tx.exec("SELECT pg_sleep(30)"); }));
  ASSERT_TRUE(eventually([&] { return pool.stats().busy == 1; }));

  server.stop();

  EXPECT_TRUE(fails_with_503_within(in_flight, 5s)) << "a query cut off by the server's shutdown";
  auto ping = io.spawn(pool.ping(1s));
  EXPECT_TRUE(fails_with_503_within(ping, 2s));
  for (int i = 0; i < 3; ++i) {  // the other pooled connection, then fresh connects
    auto start = Clock::now();
    auto call = io.spawn(pool.transact(select_one));
    EXPECT_TRUE(fails_with_503_within(call, 4s)) << "call " << i;
    EXPECT_LT(Clock::now() - start, 4s);
  }
  EXPECT_EQ(pool.stats().busy, 0);

  server.start();

  EXPECT_TRUE(eventually(
      [&] {
        try {
          return io.run(pool.transact(select_one)) == 1;
        } catch (const ApiError&) {
          return false;
        }
      },
      20s));
  EXPECT_NO_THROW(io.run(pool.ping(1s)));
}

}  // namespace
}  // namespace switchyard::postgres
