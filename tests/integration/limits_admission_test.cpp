#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <random>
#include <thread>

#include "support/test_env.hpp"
#include "switchyard/core/config.hpp"
#include "switchyard/limits/admission.hpp"
#include "switchyard/limits/rules.hpp"
#include "switchyard/store/redis_client.hpp"

namespace switchyard::limits {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using std::chrono::system_clock;

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

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

RedisConfig redis_config(const std::string& url) {
  RedisConfig config;
  config.url = url;
  config.endpoint = parse_redis_url(url);
  config.command_timeout = 2s;
  config.connect_timeout = 1s;
  config.reconnect_max_backoff = 500ms;
  return config;
}

std::string header(const Admission& admission, const std::string& name) {
  for (const auto& [key, value] : admission.headers) {
    if (key == name) return value;
  }
  return "(absent)";
}

class LimitsTest : public ::testing::Test {
 protected:
  LimitsTest() : redis_(loop_.executor(), redis_config(testing::test_redis_url())) {
    static std::mt19937_64 rng{std::random_device{}()};
    prefix_ = "sy-test:limits:" + std::to_string(rng()) + ":";
    redis_.start();
    auto until = std::chrono::steady_clock::now() + 5s;
    while (!redis_.connected() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    EXPECT_TRUE(redis_.connected()) << "no connection to Redis";
  }

  ~LimitsTest() override {
    loop_.run(delete_keys());
    redis_.stop();
  }

  LimitsConfig config() {
    LimitsConfig config;
    config.key_prefix = prefix_;
    config.spend_loader = [this](const Scope& scope,
                                 system_clock::time_point start) -> asio::awaitable<Micros> {
      ++loads_;
      loaded_start_ = start;
      loaded_kind_ = scope.kind;
      co_await sleep_for(50ms);
      co_return stored_spend_.load();
    };
    return config;
  }

  static AdmissionRequest request(Limits key, Limits tenant, std::int64_t tokens = 10, Micros cost = 0) {
    return {"req",
            {ScopeKind::key, "key-1", key, BudgetPeriod::monthly},
            {ScopeKind::tenant, "tenant-1", tenant, BudgetPeriod::monthly},
            tokens,
            cost};
  }

  std::string spend_key(ScopeKind kind) const {
    auto start = period_start(BudgetPeriod::monthly, system_clock::now());
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(start.time_since_epoch()).count();
    return prefix_ + "{tenant-1}:" + (kind == ScopeKind::key ? "k:key-1" : "t:tenant-1") +
           ":spend:" + std::to_string(seconds);
  }

  redis::Reply call(std::vector<std::string> args) { return loop_.run(redis_.command(std::move(args))); }

  std::int64_t integer(const std::string& key) {
    auto reply = call({"GET", key});
    return reply.type == redis::Reply::Type::string ? std::stoll(reply.text) : -1;
  }

  asio::awaitable<void> delete_keys() {
    std::string cursor = "0";
    do {
      std::vector<std::string> scan{"SCAN", cursor, "MATCH", prefix_ + "*", "COUNT", "1000"};
      auto reply = co_await redis_.command(std::move(scan));
      cursor = reply.elements.at(0).text;
      for (const auto& key : reply.elements.at(1).elements) {
        std::vector<std::string> del{"DEL", key.text};
        co_await redis_.command(std::move(del));
      }
    } while (cursor != "0");
  }

  Loop loop_;
  redis::Client redis_;
  std::string prefix_;
  std::atomic<int> loads_{0};
  std::atomic<Micros> stored_spend_{0};
  system_clock::time_point loaded_start_;
  ScopeKind loaded_kind_ = ScopeKind::key;
};

TEST_F(LimitsTest, ParallelSlotsHoldAcrossTwoThreads) {
  Admitter admitter(redis_, config());
  auto limited = request({.budget_micros = {}, .rpm = {}, .tpm = {}, .parallel = 3}, {});
  std::atomic<int> in_flight{0};
  std::atomic<int> most{0};
  std::atomic<int> refusals{0};
  auto worker = [&](int seed) -> asio::awaitable<void> {
    std::minstd_rand rng(static_cast<unsigned>(seed));
    for (;;) {
      auto admission = co_await admitter.admit(limited);
      if (!admission.admitted()) {
        EXPECT_EQ(admission.refusal->status(), 429);
        ++refusals;
        co_await sleep_for(std::chrono::milliseconds(5 + rng() % 10));
        continue;
      }
      auto now = ++in_flight;
      for (auto seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
      }
      co_await sleep_for(std::chrono::milliseconds(1 + rng() % 3));
      --in_flight;
      co_await admitter.settle(admission, 5, 0);
      co_return;
    }
  };
  Loop other;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 200; ++i) done.push_back((i % 2 ? other : loop_).spawn(worker(i)));
  for (auto& each : done) each.get();
  EXPECT_EQ(most.load(), 3);
  EXPECT_GT(refusals.load(), 0);
  EXPECT_EQ(call({"ZCARD", prefix_ + "{tenant-1}:k:key-1:lease"}).integer, 0);
}

TEST_F(LimitsTest, BurstOfHundredOnRpmSixtyAdmitsExactlySixty) {
  Admitter admitter(redis_, config());
  auto limited = request({}, {.budget_micros = {}, .rpm = 60, .tpm = {}, .parallel = {}});
  std::vector<std::future<Admission>> burst;
  for (int i = 0; i < 100; ++i) burst.push_back(loop_.spawn(admitter.admit(limited)));
  int admitted = 0;
  for (auto& each : burst) {
    auto admission = each.get();
    if (admission.admitted()) {
      ++admitted;
      continue;
    }
    EXPECT_EQ(admission.refusal->status(), 429);
    EXPECT_EQ(admission.refusal->code(), "rate_limit_exceeded");
    EXPECT_NE(std::string(admission.refusal->what()).find("tenant allows 60 requests per minute"),
              std::string::npos);
    EXPECT_EQ(header(admission, "x-ratelimit-remaining-requests"), "0");
    auto retry_after = std::stoi(header(admission, "retry-after"));
    EXPECT_GE(retry_after, 55);
    EXPECT_LE(retry_after, 60);
  }
  EXPECT_EQ(admitted, 60);
}

TEST_F(LimitsTest, ConcurrentRequestsNeverSpendPastTheBudget) {
  Admitter admitter(redis_, config());
  auto limited = request({.budget_micros = 1000, .rpm = {}, .tpm = {}, .parallel = {}}, {}, 10, 30);
  std::atomic<int> admitted{0};
  auto client = [&]() -> asio::awaitable<void> {
    for (;;) {
      auto admission = co_await admitter.admit(limited);
      if (!admission.admitted()) {
        EXPECT_EQ(admission.refusal->status(), 402);
        EXPECT_EQ(admission.refusal->code(), "budget_exceeded");
        co_return;
      }
      ++admitted;
      co_await sleep_for(1ms);
      co_await admitter.settle(admission, 10, 30);
    }
  };
  Loop other;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 50; ++i) done.push_back((i % 2 ? other : loop_).spawn(client()));
  for (auto& each : done) each.get();
  EXPECT_EQ(admitted.load(), 33);
  EXPECT_EQ(integer(spend_key(ScopeKind::key)), 990);
  EXPECT_EQ(loads_.load(), 1);
}

TEST_F(LimitsTest, SettlingBelowTheReservationReleasesTheRest) {
  Admitter admitter(redis_, config());
  auto limited = request({}, {.budget_micros = 1000, .rpm = {}, .tpm = {}, .parallel = {}}, 10, 30);
  std::vector<std::future<Admission>> first;
  for (int i = 0; i < 50; ++i) first.push_back(loop_.spawn(admitter.admit(limited)));
  std::vector<Admission> admitted;
  for (auto& each : first) {
    if (auto admission = each.get(); admission.admitted()) admitted.push_back(std::move(admission));
  }
  ASSERT_EQ(admitted.size(), 33u);
  for (const auto& admission : admitted) loop_.run(admitter.settle(admission, 10, 10));
  EXPECT_EQ(integer(spend_key(ScopeKind::tenant)), 330);
  EXPECT_EQ(call({"HGET", prefix_ + "{tenant-1}:t:tenant-1:sums", "h"}).text, "0");
  EXPECT_TRUE(loop_.run(admitter.admit(limited)).admitted());
}

TEST_F(LimitsTest, SettleCorrectsTheTokenReservation) {
  Admitter admitter(redis_, config());
  auto big = request({.budget_micros = {}, .rpm = {}, .tpm = 1000, .parallel = {}}, {}, 600);
  auto first = loop_.run(admitter.admit(big));
  ASSERT_TRUE(first.admitted());
  EXPECT_EQ(header(first, "x-ratelimit-remaining-tokens"), "400");
  auto refused = loop_.run(admitter.admit(big));
  ASSERT_FALSE(refused.admitted());
  EXPECT_NE(std::string(refused.refusal->what()).find("1000 tokens per minute"), std::string::npos);
  EXPECT_EQ(header(refused, "x-ratelimit-remaining-tokens"), "400");
  loop_.run(admitter.settle(first, 100, 0));
  auto second = loop_.run(admitter.admit(big));
  ASSERT_TRUE(second.admitted());
  EXPECT_EQ(header(second, "x-ratelimit-remaining-tokens"), "300");
}

TEST_F(LimitsTest, EveryKeyOfAScopeExpiresAndItsSumsMatchItsEntries) {
  Admitter admitter(redis_, config());
  stored_spend_ = 0;
  auto limited = request({.budget_micros = 1'000'000, .rpm = 1000, .tpm = 100000, .parallel = 10},
                         {.budget_micros = {}, .rpm = {}, .tpm = {}, .parallel = 10}, 50, 7);
  // Settled at once, so that the lease set empties and is created again (a deleted set loses its lifetime).
  for (int i = 0; i < 5; ++i) {
    auto admission = loop_.run(admitter.admit(limited));
    ASSERT_TRUE(admission.admitted());
    loop_.run(admitter.settle(admission, 20 + i, 3));
  }
  auto open = loop_.run(admitter.admit(limited));
  ASSERT_TRUE(open.admitted());

  auto scan = call({"KEYS", prefix_ + "*"});
  ASSERT_GE(scan.elements.size(), 5u);  // key: log, lease, sums, spend; tenant: lease, sums
  for (const auto& key : scan.elements) {
    EXPECT_GT(call({"PTTL", key.text}).integer, 60'000) << key.text << " would never expire";
  }
  auto key_scope = prefix_ + "{tenant-1}:k:key-1:";
  // The window holds 20..24 settled tokens and the open admission's 50; the leases, its 7 reserved.
  EXPECT_EQ(call({"HGET", key_scope + "sums", "t"}).text, std::to_string(20 + 21 + 22 + 23 + 24 + 50));
  EXPECT_EQ(call({"HGET", key_scope + "sums", "h"}).text, "7");
  EXPECT_EQ(call({"ZCARD", key_scope + "log"}).integer, 6);
  EXPECT_EQ(call({"ZCARD", key_scope + "lease"}).integer, 1);
  EXPECT_EQ(integer(spend_key(ScopeKind::key)), 15);
}

TEST_F(LimitsTest, HeadersDescribeTheTightestScope) {
  Admitter admitter(redis_, config());
  auto limited = request({.budget_micros = {}, .rpm = 10, .tpm = 5000, .parallel = {}},
                         {.budget_micros = {}, .rpm = 5, .tpm = 100000, .parallel = {}}, 100);
  auto admission = loop_.run(admitter.admit(limited));
  ASSERT_TRUE(admission.admitted());
  EXPECT_EQ(header(admission, "x-ratelimit-limit-requests"), "5");
  EXPECT_EQ(header(admission, "x-ratelimit-remaining-requests"), "4");
  EXPECT_EQ(header(admission, "x-ratelimit-reset-requests"), "1m0s");
  EXPECT_EQ(header(admission, "x-ratelimit-limit-tokens"), "5000");
  EXPECT_EQ(header(admission, "x-ratelimit-remaining-tokens"), "4900");
  EXPECT_EQ(header(admission, "x-ratelimit-reset-tokens"), "1m0s");
  EXPECT_EQ(header(admission, "retry-after"), "(absent)");

  auto requests_only =
      loop_.run(admitter.admit(request({.budget_micros = {}, .rpm = {}, .tpm = {}, .parallel = 4},
                                       {.budget_micros = {}, .rpm = 100, .tpm = {}, .parallel = {}})));
  EXPECT_EQ(header(requests_only, "x-ratelimit-limit-requests"), "100");
  EXPECT_EQ(header(requests_only, "x-ratelimit-limit-tokens"), "(absent)");
}

TEST_F(LimitsTest, AnExpiredLeaseFreesTheSlotOfACrashedRequest) {
  auto settings = config();
  settings.lease_ttl = 300ms;
  Admitter admitter(redis_, settings);
  auto limited = request({.budget_micros = {}, .rpm = {}, .tpm = {}, .parallel = 1}, {});
  auto crashed = loop_.run(admitter.admit(limited));
  ASSERT_TRUE(crashed.admitted());
  auto refused = loop_.run(admitter.admit(limited));
  ASSERT_FALSE(refused.admitted());
  EXPECT_NE(std::string(refused.refusal->what()).find("1 requests in flight"), std::string::npos);
  EXPECT_EQ(header(refused, "retry-after"), "1");
  std::this_thread::sleep_for(400ms);
  EXPECT_TRUE(loop_.run(admitter.admit(limited)).admitted());
  EXPECT_FALSE(loop_.run(admitter.renew(crashed)));
}

TEST_F(LimitsTest, RenewKeepsALongRequestsSlot) {
  auto settings = config();
  settings.lease_ttl = 300ms;
  Admitter admitter(redis_, settings);
  auto limited = request({.budget_micros = {}, .rpm = {}, .tpm = {}, .parallel = 1}, {});
  auto streaming = loop_.run(admitter.admit(limited));
  ASSERT_TRUE(streaming.admitted());
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(loop_.run(admitter.renew(streaming)));
  }
  EXPECT_FALSE(loop_.run(admitter.admit(limited)).admitted());
  loop_.run(admitter.settle(streaming, 0, 0));
  EXPECT_TRUE(loop_.run(admitter.admit(limited)).admitted());
}

TEST_F(LimitsTest, SpendIsRebuiltOnceAfterRedisLosesIt) {
  Admitter admitter(redis_, config());
  stored_spend_ = 700;
  auto limited = request({.budget_micros = 1000, .rpm = {}, .tpm = {}, .parallel = {}}, {}, 10, 200);
  auto first = loop_.run(admitter.admit(limited));
  ASSERT_TRUE(first.admitted());
  EXPECT_EQ(loads_.load(), 1);
  EXPECT_EQ(loaded_kind_, ScopeKind::key);
  EXPECT_EQ(loaded_start_, period_start(BudgetPeriod::monthly, system_clock::now()));
  EXPECT_GT(call({"TTL", spend_key(ScopeKind::key)}).integer, 0);
  loop_.run(admitter.settle(first, 10, 150));
  EXPECT_EQ(integer(spend_key(ScopeKind::key)), 850);

  // A Redis restart loses the counter; Postgres' usage records still hold the 850.
  call({"DEL", spend_key(ScopeKind::key)});
  stored_spend_ = 850;
  std::vector<std::future<Admission>> after;
  for (int i = 0; i < 20; ++i) after.push_back(loop_.spawn(admitter.admit(limited)));
  for (auto& each : after) {
    auto admission = each.get();
    ASSERT_FALSE(admission.admitted());
    EXPECT_EQ(admission.refusal->status(), 402);
  }
  EXPECT_EQ(loads_.load(), 2);
  EXPECT_EQ(integer(spend_key(ScopeKind::key)), 850);
}

TEST_F(LimitsTest, RedisUnreachableFailsOpenWithTheLocalLimiter) {
  redis::Client closed(loop_.executor(),
                       redis_config("redis://127.0.0.1:" + std::to_string(testing::free_port())));
  closed.start();
  auto settings = config();
  settings.fail_open = true;
  Admitter admitter(closed, settings);
  auto limited = request({.budget_micros = 10, .rpm = 2, .tpm = {}, .parallel = {}},
                         {.budget_micros = {}, .rpm = {}, .tpm = {}, .parallel = 5}, 10, 1000);
  auto first = loop_.run(admitter.admit(limited));
  ASSERT_TRUE(first.admitted());
  EXPECT_EQ(first.mode, AdmissionMode::local);
  EXPECT_EQ(header(first, "x-ratelimit-remaining-requests"), "1");
  loop_.run(admitter.settle(first, 10, 1000));
  EXPECT_TRUE(loop_.run(admitter.admit(limited)).admitted());
  auto refused = loop_.run(admitter.admit(limited));
  ASSERT_FALSE(refused.admitted());
  EXPECT_EQ(refused.refusal->status(), 429);
  EXPECT_EQ(loads_.load(), 0);
  closed.stop();
}

TEST_F(LimitsTest, RedisUnreachableFailsClosedWith503) {
  redis::Client closed(loop_.executor(),
                       redis_config("redis://127.0.0.1:" + std::to_string(testing::free_port())));
  closed.start();
  auto settings = config();
  settings.fail_open = false;
  Admitter admitter(closed, settings);
  try {
    loop_.run(admitter.admit(request({.budget_micros = {}, .rpm = 2, .tpm = {}, .parallel = {}}, {})));
    FAIL() << "admitted without Redis";
  } catch (const ApiError& error) {
    EXPECT_EQ(error.status(), 503);
    EXPECT_EQ(error.type(), "service_unavailable");
  }
  // Unlimited scopes need no Redis at all.
  auto free = loop_.run(admitter.admit(request({}, {})));
  EXPECT_TRUE(free.admitted());
  EXPECT_EQ(free.mode, AdmissionMode::unlimited);
  EXPECT_TRUE(free.headers.empty());
  closed.stop();
}

}  // namespace
}  // namespace switchyard::limits
