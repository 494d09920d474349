#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "support/test_env.hpp"
#include "switchyard/core/config.hpp"
#include "switchyard/store/redis_client.hpp"

namespace switchyard::redis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ManagedService;

/// An io_context run by a thread of its own, like one of the server's loops.
class Loop {
 public:
  Loop() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~Loop() {
    work_.reset();
    thread_.join();
  }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  asio::any_io_executor executor() { return io_.get_executor(); }

  template <class T>
  std::future<T> spawn(asio::awaitable<T> task) {
    return asio::co_spawn(io_, std::move(task), asio::use_future);
  }
  template <class T>
  T run(asio::awaitable<T> task) {
    return spawn(std::move(task)).get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto until = Clock::now() + limit;
  while (!condition()) {
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

RedisConfig config_for(const std::string& url) {
  RedisConfig config;
  config.url = url;
  config.endpoint = parse_redis_url(url);
  config.command_timeout = 10s;  // long, so that only the lost connection can fail a command quickly
  config.connect_timeout = 500ms;
  config.reconnect_max_backoff = 1s;
  return config;
}

TEST(RedisReconnect, SurvivesARedisRestart) {
  ManagedService redis(ManagedService::Kind::redis);
  Loop loop;
  Client client(loop.executor(), config_for(redis.url()));
  client.start();
  ASSERT_TRUE(eventually([&] { return client.connected(); }, 5s));
  EXPECT_EQ(loop.run(client.command({"SET", "sy-test:reconnect", "before"})).text, "OK");
  auto blocked = loop.spawn(client.command({"BLPOP", "sy-test:reconnect:list", "0"}));
  std::this_thread::sleep_for(100ms);

  redis.stop();
  auto stopped_at = Clock::now();
  EXPECT_THROW(blocked.get(), Unavailable) << "a command in flight outlived its connection";
  EXPECT_LT(Clock::now() - stopped_at, 1s);
  ASSERT_TRUE(eventually([&] { return !client.connected(); }, 2s));
  for (int i = 0; i < 5; ++i) {
    auto began = Clock::now();
    EXPECT_THROW(loop.run(client.command({"PING"})), Unavailable);
    EXPECT_LT(Clock::now() - began, 200ms) << "a command waited for a connection that is down";
    std::this_thread::sleep_for(300ms);  // let a few reconnect attempts fail meanwhile
  }

  redis.start();
  auto restarted_at = Clock::now();
  ASSERT_TRUE(eventually([&] { return client.connected(); }, 5s)) << "no reconnect within 5 s";
  EXPECT_LT(Clock::now() - restarted_at, 3s);  // at most one capped backoff (1 s) plus a connect
  EXPECT_EQ(client.reconnects(), 1u);
  EXPECT_EQ(loop.run(client.command({"SET", "sy-test:reconnect", "after"})).text, "OK");
  EXPECT_EQ(loop.run(client.command({"GET", "sy-test:reconnect"})).text, "after");
}

TEST(RedisReconnect, ConnectsOnceRedisComesUp) {
  ManagedService redis(ManagedService::Kind::redis);
  redis.stop();
  Loop loop;
  Client client(loop.executor(), config_for(redis.url()));
  client.start();
  std::this_thread::sleep_for(1500ms);  // several failed attempts, the backoff at its cap
  EXPECT_FALSE(client.connected());
  auto began = Clock::now();
  EXPECT_THROW(loop.run(client.command({"PING"})), Unavailable);
  EXPECT_LT(Clock::now() - began, 200ms);

  redis.start();
  ASSERT_TRUE(eventually([&] { return client.connected(); }, 5s)) << "no connection within 5 s";
  EXPECT_EQ(client.reconnects(), 0u) << "the first connection is no reconnect";
  EXPECT_EQ(loop.run(client.command({"PING"})).text, "PONG");
}

}  // namespace
}  // namespace switchyard::redis
