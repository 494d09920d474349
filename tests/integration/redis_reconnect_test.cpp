#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/io_thread.hpp"
#include "support/test_env.hpp"
#include "switchyard/core/config.hpp"
#include "switchyard/store/redis_client.hpp"

namespace switchyard::redis {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ManagedService;

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
  testing::IoThread loop;
  Client client(loop.executor(), config_for(redis.url()));
  client.start();
  ASSERT_TRUE(testing::eventually([&] { return client.connected(); }, 5s));
  EXPECT_EQ(loop.run(client.command({"SET", "sy-test:reconnect", "before"})).text, "OK");
  auto blocked = loop.spawn(client.command({"BLPOP", "sy-test:reconnect:list", "0"}));
  std::this_thread::sleep_for(100ms);

  redis.stop();
  auto stopped_at = Clock::now();
  EXPECT_THROW(blocked.get(), Unavailable) << "a command in flight outlived its connection";
  EXPECT_LT(Clock::now() - stopped_at, 1s);
  ASSERT_TRUE(testing::eventually([&] { return !client.connected(); }, 2s));
  for (int i = 0; i < 5; ++i) {
    auto began = Clock::now();
    EXPECT_THROW(loop.run(client.command({"PING"})), Unavailable);
    EXPECT_LT(Clock::now() - began, 200ms) << "a command waited for a connection that is down";
    std::this_thread::sleep_for(300ms);  // let a few reconnect attempts fail meanwhile
  }

  redis.start();
  auto restarted_at = Clock::now();
  ASSERT_TRUE(testing::eventually([&] { return client.connected(); }, 5s)) << "no reconnect within 5 s";
  EXPECT_LT(Clock::now() - restarted_at, 3s);  // at most one capped backoff (1 s) plus a connect
  EXPECT_EQ(client.reconnects(), 1u);
  EXPECT_EQ(loop.run(client.command({"SET", "sy-test:reconnect", "after"})).text, "OK");
  EXPECT_EQ(loop.run(client.command({"GET", "sy-test:reconnect"})).text, "after");
}

TEST(RedisReconnect, ConnectsOnceRedisComesUp) {
  ManagedService redis(ManagedService::Kind::redis);
  redis.stop();
  testing::IoThread loop;
  Client client(loop.executor(), config_for(redis.url()));
  client.start();
  std::this_thread::sleep_for(1500ms);  // several failed attempts, the backoff at its cap
  EXPECT_FALSE(client.connected());
  auto began = Clock::now();
  EXPECT_THROW(loop.run(client.command({"PING"})), Unavailable);
  EXPECT_LT(Clock::now() - began, 200ms);

  redis.start();
  ASSERT_TRUE(testing::eventually([&] { return client.connected(); }, 5s)) << "no connection within 5 s";
  EXPECT_EQ(client.reconnects(), 0u) << "the first connection is no reconnect";
  EXPECT_EQ(loop.run(client.command({"PING"})).text, "PONG");
}

}  // namespace
}  // namespace switchyard::redis
