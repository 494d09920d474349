#include "switchyard/identity/login_throttle.hpp"

#include <gtest/gtest.h>

#include <random>

#include "support/io_thread.hpp"
#include "support/test_env.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/store/redis_client.hpp"

namespace switchyard::identity {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

RedisConfig redis_config(const std::string& url) {
  RedisConfig config;
  config.url = url;
  config.endpoint = parse_redis_url(url);
  config.command_timeout = 300ms;
  config.connect_timeout = 300ms;
  config.reconnect_max_backoff = 200ms;
  return config;
}

/// Accounts and addresses no earlier run used: counts live in the shared Redis for 15 minutes.
std::string unique(const std::string& label) {
  static std::mt19937_64 random{std::random_device{}()};
  return label + "-" + std::to_string(random());
}

AuthSettings limits(int per_account, int per_address) {
  AuthSettings settings;
  settings.login_failures_per_account = per_account;
  settings.login_failures_per_ip = per_address;
  return settings;
}

class LoginThrottleTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (redis_) redis_->stop();
  }

  /// A started client; `wait` until it is connected (commands sent before fail at once as unreachable).
  redis::Client& connect(const std::string& url, bool wait = true) {
    redis_.emplace(io_.executor(), redis_config(url));
    redis_->start();
    if (wait) {
      EXPECT_TRUE(testing::eventually([this] { return redis_->connected(); }));
    }
    return *redis_;
  }

  testing::IoThread io_;
  std::optional<redis::Client> redis_;
};

TEST_F(LoginThrottleTest, AnAccountIsRefusedAfterItsFailuresUntilASuccessClearsThem) {
  LoginThrottle throttle(connect(testing::test_redis_url()), limits(3, 1000));
  auto email = unique("someone") + "@example.com";
  auto address = unique("10.0.0");
  io_.run(throttle.check(email, address));
  for (int failure = 0; failure < 3; ++failure) io_.run(throttle.failed(email, address));
  try {
    io_.run(throttle.check(email, address));
    FAIL() << "expected 429";
  } catch (const ApiError& error) {
    EXPECT_EQ(error.status(), 429);
    EXPECT_EQ(error.type(), "rate_limit_error");
    ASSERT_FALSE(error.headers().empty());
    EXPECT_EQ(error.headers()[0].first, "Retry-After");
    EXPECT_GT(std::stoi(error.headers()[0].second), 0);
  }
  EXPECT_NO_THROW(io_.run(throttle.check("other-" + email, address))) << "other accounts are not locked out";
  io_.run(throttle.succeeded(email));
  EXPECT_NO_THROW(io_.run(throttle.check(email, address)));
}

TEST_F(LoginThrottleTest, AnAddressIsRefusedAfterItsFailuresWhateverTheAccount) {
  LoginThrottle throttle(connect(testing::test_redis_url()), limits(1000, 2));
  auto address = unique("10.0.1");
  io_.run(throttle.failed(unique("a") + "@example.com", address));
  io_.run(throttle.failed(unique("b") + "@example.com", address));
  EXPECT_THROW(io_.run(throttle.check(unique("c") + "@example.com", address)), ApiError);
  EXPECT_NO_THROW(io_.run(throttle.check(unique("c") + "@example.com", unique("10.0.2"))));
}

TEST_F(LoginThrottleTest, WithRedisUnreachableLoginsAreNotThrottledNorDelayedForLong) {
  auto nothing_listens = "redis://127.0.0.1:" + std::to_string(testing::free_port());
  LoginThrottle throttle(connect(nothing_listens, false), limits(1, 1));
  auto started = std::chrono::steady_clock::now();
  EXPECT_NO_THROW(io_.run(throttle.failed("x@example.com", "10.0.3.1")));
  EXPECT_NO_THROW(io_.run(throttle.check("x@example.com", "10.0.3.1")));
  EXPECT_NO_THROW(io_.run(throttle.succeeded("x@example.com")));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s) << "each call waits at most its command deadline";
}

}  // namespace
}  // namespace switchyard::identity
