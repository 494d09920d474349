#include "switchyard/store/postgres_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/io_thread.hpp"
#include "support/test_env.hpp"
#include "switchyard/core/error.hpp"

namespace switchyard::postgres {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::eventually;
using testing::IoThread;
using testing::ScratchDatabase;

DatabaseConfig config_for(const ScratchDatabase& db) {
  DatabaseConfig config;
  config.url = db.url();
  config.pool_size = 2;
  config.max_waiting = 8;
  config.acquire_timeout = 2s;
  config.statement_timeout = 5s;
  config.connect_timeout = 2s;
  return config;
}

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

/// The ApiError a future ends with; fails the test when it ends otherwise.
template <class T>
ApiError api_error_of(std::future<T>& future) {
  try {
    future.get();
  } catch (const ApiError& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected ApiError, got: " << e.what();
    return ApiError::internal(e.what());
  }
  ADD_FAILURE() << "expected ApiError, the call succeeded";
  return ApiError::internal("no error");
}

/// Expects `future` to end in a 503 ApiError whose detail says `phrase`.
template <class T>
void expect_503_saying(std::future<T>& future, const std::string& phrase) {
  auto error = api_error_of(future);
  EXPECT_EQ(error.status(), 503) << phrase;
  EXPECT_NE(error.detail().find(phrase), std::string::npos) << error.detail();
}

auto sleep_for_seconds(double seconds) {
  return [seconds](pqxx::work& tx) { tx.exec("SELECT pg_sleep(" + std::to_string(seconds) + ")"); };
}

TEST(PostgresPool, TransactReturnsWhatWorkReturns) {
  ScratchDatabase db;
  Pool pool(config_for(db));
  IoThread io;
  auto answer = io.run(pool.transact([](pqxx::work& tx) { return tx.exec1("SELECT 41 + 1")[0].as<int>(); }));
  EXPECT_EQ(answer, 42);
  auto text = io.run(
      pool.transact([](pqxx::work& tx) { return tx.exec1("SELECT 'switchyard'")[0].as<std::string>(); }));
  EXPECT_EQ(text, "switchyard");
}

TEST(PostgresPool, CallerResumesOnItsOwnExecutor) {
  ScratchDatabase db;
  Pool pool(config_for(db));
  IoThread io;
  std::thread::id worker;
  auto resumed_on = io.run([&]() -> asio::awaitable<std::thread::id> {
    co_await pool.transact([&](pqxx::work& tx) {
      worker = std::this_thread::get_id();
      tx.exec("SELECT 1");
    });
    co_return std::this_thread::get_id();
  }());
  EXPECT_EQ(resumed_on, io.thread_id());
  EXPECT_NE(worker, io.thread_id());
}

TEST(PostgresPool, CommitsOnReturnAndRollsBackOnException) {
  ScratchDatabase db;
  Pool pool(config_for(db));
  IoThread io;
  io.run(pool.transact([](pqxx::work& tx) { tx.exec("CREATE TABLE notes (body text NOT NULL)"); }));

  auto failing = io.spawn(pool.transact([](pqxx::work& tx) {
    tx.exec("INSERT INTO notes VALUES ('lost')");
    throw std::runtime_error("work failed");
  }));
  EXPECT_THROW(failing.get(), std::runtime_error);
  io.run(pool.transact([](pqxx::work& tx) { tx.exec("INSERT INTO notes VALUES ('kept')"); }));

  auto rows = io.run(pool.transact([](pqxx::work& tx) {
    return tx.exec1("SELECT string_agg(body, ',') FROM notes")[0].as<std::string>();
  }));
  EXPECT_EQ(rows, "kept");
}

TEST(PostgresPool, SqlErrorsReachTheCallerUnchanged) {
  ScratchDatabase db;
  Pool pool(config_for(db));
  IoThread io;
  io.run(pool.transact([](pqxx::work& tx) { tx.exec("CREATE TABLE names (name text PRIMARY KEY)"); }));
  auto insert = [](pqxx::work& tx) { tx.exec("INSERT INTO names VALUES ('a')"); };
  io.run(pool.transact(insert));
  auto duplicate = io.spawn(pool.transact(insert));
  EXPECT_THROW(duplicate.get(), pqxx::unique_violation);
  // The connection that saw the error is still good.
  EXPECT_EQ(io.run(pool.transact(
                [](pqxx::work& tx) { return tx.exec1("SELECT count(*) FROM names")[0].as<int>(); })),
            1);
}

TEST(PostgresPool, StatementTimeoutCancelsALongQuery) {
  ScratchDatabase db;
  auto config = config_for(db);
  config.statement_timeout = 200ms;
  Pool pool(config);
  IoThread io;
  auto start = Clock::now();
  auto slow = io.spawn(pool.transact(sleep_for_seconds(10)));
  expect_503_saying(slow, "statement timeout");
  EXPECT_LT(since(start), 3s);
  EXPECT_EQ(io.run(pool.transact([](pqxx::work& tx) { return tx.exec1("SELECT 1")[0].as<int>(); })), 1);
}

TEST(PostgresPool, PerCallStatementTimeoutOverridesTheConfiguredOne) {
  ScratchDatabase db;
  Pool pool(config_for(db));  // 5 s
  IoThread io;
  auto start = Clock::now();
  auto slow = io.spawn(pool.transact(sleep_for_seconds(10), CallOptions{.statement_timeout = 200ms}));
  EXPECT_EQ(api_error_of(slow).status(), 503);
  EXPECT_LT(since(start), 3s);
  // SET LOCAL ended with that transaction: the next call has the configured timeout again.
  auto timeout = io.run(
      pool.transact([](pqxx::work& tx) { return tx.exec1("SHOW statement_timeout")[0].as<std::string>(); }));
  EXPECT_EQ(timeout, "5s");
}

TEST(PostgresPool, ExhaustionFailsFastAndWaitersGiveUpInTime) {
  ScratchDatabase db;
  auto config = config_for(db);
  config.pool_size = 1;
  config.max_waiting = 1;
  config.acquire_timeout = 2s;
  Pool pool(config);
  IoThread io;

  auto holder = io.spawn(pool.transact(sleep_for_seconds(3.5)));
  ASSERT_TRUE(eventually([&] { return pool.stats().busy == 1; }));

  auto waiter_start = Clock::now();
  auto waiter = io.spawn(pool.transact(sleep_for_seconds(0)));
  ASSERT_TRUE(eventually([&] { return pool.stats().waiting == 1; }));

  // "At once" is measured against acquire_timeout: well under it.
  auto third = io.spawn(pool.transact(sleep_for_seconds(0)));
  ASSERT_EQ(third.wait_for(1s), std::future_status::ready) << "the third caller must fail at once";
  expect_503_saying(third, "max_waiting 1");

  ASSERT_EQ(waiter.wait_for(4s), std::future_status::ready)
      << "the waiter must give up after acquire_timeout";
  expect_503_saying(waiter, "no connection free within 2000 ms");
  EXPECT_GE(since(waiter_start), 1900ms);
  EXPECT_LT(since(waiter_start), 3500ms);
  EXPECT_EQ(pool.stats().waiting, 0);

  EXPECT_EQ(holder.wait_for(10s), std::future_status::ready);
  EXPECT_NO_THROW(holder.get());
}

TEST(PostgresPool, AnIdleConnectionServesEvenWithNoRoomToWait) {
  ScratchDatabase db;
  auto config = config_for(db);
  config.pool_size = 1;
  config.max_waiting = 0;
  Pool pool(config);
  IoThread io;
  EXPECT_NO_THROW(io.run(pool.transact(sleep_for_seconds(0))));

  auto holder = io.spawn(pool.transact(sleep_for_seconds(1)));
  ASSERT_TRUE(eventually([&] { return pool.stats().busy == 1; }));
  auto refused = io.spawn(pool.transact(sleep_for_seconds(0)));
  EXPECT_EQ(api_error_of(refused).status(), 503);
  EXPECT_NO_THROW(holder.get());
}

TEST(PostgresPool, PingAnswersAndDoesNotQueueBehindSlowWork) {
  ScratchDatabase db;
  auto config = config_for(db);
  config.pool_size = 1;
  Pool pool(config);
  IoThread io;
  EXPECT_NO_THROW(io.run(pool.ping(1s)));

  auto slow = io.spawn(pool.transact(sleep_for_seconds(2)));
  ASSERT_TRUE(eventually([&] { return pool.stats().busy == 1; }));
  auto start = Clock::now();
  EXPECT_NO_THROW(io.run(pool.ping(1s)));
  EXPECT_LT(since(start), 1s);
  slow.get();
}

TEST(PostgresPool, ReopensAConnectionTheServerClosed) {
  ScratchDatabase db;
  auto config = config_for(db);
  config.pool_size = 1;
  Pool pool(config);
  IoThread io;
  auto backend = [](pqxx::work& tx) { return tx.exec1("SELECT pg_backend_pid()")[0].as<int>(); };
  auto first = io.run(pool.transact(backend));

  pqxx::connection admin(db.url());
  pqxx::nontransaction(admin).exec("SELECT pg_terminate_backend(" + std::to_string(first) + ")");
  ASSERT_TRUE(eventually([&] {
    pqxx::nontransaction tx(admin);
    return tx.exec1("SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(first))[0]
               .as<int>() == 0;
  }));

  auto second = io.run(pool.transact(backend));
  EXPECT_NE(second, first);
}

TEST(PostgresPool, StatsCountOpenConnections) {
  ScratchDatabase db;
  Pool pool(config_for(db));
  IoThread io;
  EXPECT_EQ(pool.stats().open, 0);
  io.run(pool.transact(sleep_for_seconds(0)));
  io.run(pool.ping(1s));
  auto stats = pool.stats();
  EXPECT_GE(stats.open, 2);
  EXPECT_EQ(stats.busy, 0);
  EXPECT_EQ(stats.waiting, 0);
}

TEST(PostgresPool, UnreachableServerFailsFastWith503) {
  DatabaseConfig config;
  config.url = "postgresql://switchyard@127.0.0.1:" + std::to_string(testing::free_port()) + "/none";
  config.pool_size = 1;
  config.connect_timeout = 2s;
  Pool pool(config);
  IoThread io;
  auto start = Clock::now();
  auto call = io.spawn(pool.transact(sleep_for_seconds(0)));
  expect_503_saying(call, "connection failed");
  auto ping = io.spawn(pool.ping(1s));
  EXPECT_EQ(api_error_of(ping).status(), 503);
  EXPECT_LT(since(start), 3s);
}

TEST(PostgresPool, CallsAfterShutdownFailAtOnce) {
  ScratchDatabase db;
  Pool pool(config_for(db));
  IoThread io;
  io.run(pool.transact(sleep_for_seconds(0)));
  pool.shutdown();
  auto call = io.spawn(pool.transact(sleep_for_seconds(0)));
  EXPECT_EQ(api_error_of(call).status(), 503);
  EXPECT_EQ(pool.stats().open, 0);
}

TEST(PostgresPool, ShutdownFailsWaitersAndLetsRunningWorkFinish) {
  ScratchDatabase db;
  auto config = config_for(db);
  config.pool_size = 1;
  config.acquire_timeout = 10s;
  Pool pool(config);
  IoThread io;
  std::atomic<bool> finished{false};
  auto running = io.spawn(pool.transact([&](pqxx::work& tx) {
    tx.exec("SELECT pg_sleep(0.5)");
    finished = true;
  }));
  ASSERT_TRUE(eventually([&] { return pool.stats().busy == 1; }));
  auto waiting = io.spawn(pool.transact(sleep_for_seconds(0)));
  ASSERT_TRUE(eventually([&] { return pool.stats().waiting == 1; }));
  pool.shutdown();
  EXPECT_TRUE(finished);
  EXPECT_NO_THROW(running.get());
  EXPECT_NE(api_error_of(waiting).detail().find("shut down"), std::string::npos);
}

}  // namespace
}  // namespace switchyard::postgres
