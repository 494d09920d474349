#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "binary_support.hpp"
#include "support/test_env.hpp"

namespace switchyard::testing {
namespace {

using namespace std::chrono_literals;

std::string ready_message(ServeProcess& serve) {
  auto ready = serve.get("/ready");
  if (!ready || ready->status == 200) return "";
  return nlohmann::json::parse(ready->body)["error"]["message"];
}

// The contract: /ready turns 503, naming the dependency, within 3 s of it going away, and back to 200 when
// it returns, with no restart of the gateway.
TEST(ReadyFollowsDependencies, PostgresStoppedAndStarted) {
  ManagedService postgres(ManagedService::Kind::postgres);
  ServeProcess serve(postgres.url(), test_redis_url());
  ASSERT_TRUE(serve.wait_for("/ready", 200, 20s)) << serve.process().output();

  postgres.stop();
  ASSERT_TRUE(serve.wait_for("/ready", 503, 3s)) << serve.process().output();
  EXPECT_NE(ready_message(serve).find("postgres"), std::string::npos);
  EXPECT_EQ(serve.get("/health")->status, 200);

  postgres.start();
  EXPECT_TRUE(serve.wait_for("/ready", 200, 10s)) << serve.process().output();
}

TEST(ReadyFollowsDependencies, RedisKilledAndRestarted) {
  ScratchDatabase database;
  ManagedService redis(ManagedService::Kind::redis);
  ServeProcess serve(database.url(), redis.url());
  ASSERT_TRUE(serve.wait_for("/ready", 200, 20s)) << serve.process().output();

  redis.stop();
  ASSERT_TRUE(serve.wait_for("/ready", 503, 3s)) << serve.process().output();
  EXPECT_NE(ready_message(serve).find("redis"), std::string::npos);

  redis.start();
  EXPECT_TRUE(serve.wait_for("/ready", 200, 10s)) << serve.process().output();
}

}  // namespace
}  // namespace switchyard::testing
