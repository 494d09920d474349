#include "switchyard/store/redis_client.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <random>
#include <sstream>
#include <thread>
#include <variant>

#include "support/child_process.hpp"
#include "support/io_thread.hpp"
#include "support/test_env.hpp"
#include "switchyard/core/config.hpp"

namespace switchyard::redis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace std::string_literals;
using Clock = std::chrono::steady_clock;

RedisConfig config_for(const std::string& url, std::chrono::milliseconds command_timeout = 1s) {
  RedisConfig config;
  config.url = url;
  config.endpoint = parse_redis_url(url);
  config.command_timeout = command_timeout;
  config.connect_timeout = 1s;
  config.reconnect_max_backoff = 500ms;
  return config;
}

std::string unique_prefix() {
  static std::mt19937_64 rng{std::random_device{}()};
  return "sy-test:redis:" + std::to_string(rng()) + ":";
}

/// A redis-server of the test's own on a free loopback port, for what the shared one must not see: a
/// password, command statistics, SCRIPT FLUSH.
class PrivateRedis {
 public:
  explicit PrivateRedis(const std::vector<std::string>& extra_args = {})
      : port_(testing::free_port()), process_("/usr/bin/redis-server", arguments(port_, extra_args)) {
    bool listening = testing::eventually([this] {
      asio::io_context io;
      asio::ip::tcp::socket probe(io);
      boost::system::error_code error;
      probe.connect({asio::ip::address_v4::loopback(), port_}, error);
      return !error;
    });
    if (!listening) {
      throw std::runtime_error("redis-server did not start on port " + std::to_string(port_) + ":\n" +
                               process_.output());
    }
  }

  std::string url(const std::string& password = {}, int db = 0) const {
    return "redis://" + (password.empty() ? "" : ":" + password + "@") +
           "127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
  }

 private:
  static std::vector<std::string> arguments(std::uint16_t port, const std::vector<std::string>& extra_args) {
    std::vector<std::string> args = {"--bind", "127.0.0.1",    "--port", std::to_string(port), "--save",
                                     "",       "--appendonly", "no",     "--daemonize",        "no"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    return args;
  }

  std::uint16_t port_;
  testing::ChildProcess process_;
};

/// `calls=` of one command in INFO commandstats.
std::int64_t calls(const std::string& commandstats, const std::string& command) {
  auto line = commandstats.find("cmdstat_" + command + ":calls=");
  if (line == std::string::npos) return 0;
  return std::stoll(commandstats.substr(line + command.size() + 15));
}

class RedisClientTest : public ::testing::Test {
 protected:
  Reply call(Client& client, std::vector<std::string> args) {
    return loop_.run(client.command(std::move(args)));
  }

  void start(Client& client) {
    client.start();
    ASSERT_TRUE(testing::eventually([&] { return client.connected(); })) << "no connection to Redis";
  }

  testing::IoThread loop_;
  std::string prefix_ = unique_prefix();
};

TEST_F(RedisClientTest, RepliesOfEveryKind) {
  Client client(loop_.executor(), config_for(testing::test_redis_url()));
  start(client);
  auto key = prefix_ + "string";
  auto list = prefix_ + "list";
  auto counter = prefix_ + "counter";

  auto set = call(client, {"SET", key, "v\0\r\n"s});
  EXPECT_EQ(set.type, Reply::Type::status);
  EXPECT_EQ(set.text, "OK");

  auto get = call(client, {"GET", key});
  EXPECT_EQ(get.type, Reply::Type::string);
  EXPECT_EQ(get.text, "v\0\r\n"s);

  EXPECT_EQ(call(client, {"GET", prefix_ + "missing"}).type, Reply::Type::nil);

  call(client, {"INCR", counter});
  auto incremented = call(client, {"INCRBY", counter, "41"});
  EXPECT_EQ(incremented.type, Reply::Type::integer);
  EXPECT_EQ(incremented.integer, 42);

  call(client, {"RPUSH", list, "a", "b", "c"});
  auto range = call(client, {"LRANGE", list, "0", "-1"});
  ASSERT_EQ(range.type, Reply::Type::array);
  ASSERT_EQ(range.elements.size(), 3u);
  EXPECT_EQ(range.elements[2].text, "c");

  auto error = call(client, {"INCR", key});
  EXPECT_EQ(error.type, Reply::Type::error);
  EXPECT_TRUE(error.text.starts_with("ERR")) << error.text;

  EXPECT_EQ(call(client, {"DEL", key, list, counter}).integer, 3);
  EXPECT_EQ(client.reconnects(), 0u);
}

TEST_F(RedisClientTest, RefusesCommandsThatWouldChangeTheSharedConnection) {
  Client client(loop_.executor(), config_for(testing::test_redis_url()));
  start(client);
  EXPECT_THROW(call(client, {}), std::invalid_argument);
  EXPECT_THROW(call(client, {"SUBSCRIBE", prefix_ + "channel"}), std::invalid_argument);
  EXPECT_THROW(call(client, {"select", "1"}), std::invalid_argument);
  EXPECT_EQ(call(client, {"PING"}).text, "PONG");
}

struct PipelineOutcome {
  std::atomic<int> wrong_thread{0};
  std::atomic<int> wrong_reply{0};
};

/// INCR then SET from a coroutine on its own loop, noting whether each reply resumed it at home.
asio::awaitable<void> incr_and_set(Client& client, std::string counter, std::string key, std::string value,
                                   std::thread::id home, PipelineOutcome& outcome) {
  // GCC 12 rejects a braced list inside a co_await expression ("array used as initializer"): name it first.
  std::vector<std::string> incr_command{"INCR", counter};
  auto incr = co_await client.command(std::move(incr_command));
  if (std::this_thread::get_id() != home) ++outcome.wrong_thread;
  if (incr.type != Reply::Type::integer || incr.integer < 1) ++outcome.wrong_reply;
  std::vector<std::string> set_command{"SET", key, value, "EX", "60"};
  auto set = co_await client.command(std::move(set_command));
  if (std::this_thread::get_id() != home) ++outcome.wrong_thread;
  if (set.text != "OK") ++outcome.wrong_reply;
}

TEST_F(RedisClientTest, PipelinesAThousandCommandsFromTwoLoops) {
  testing::IoThread other;
  Client client(loop_.executor(), config_for(testing::test_redis_url(), 5s));
  start(client);
  auto counter = prefix_ + "counter";
  constexpr int kCallers = 1'000;  // a thousand INCRs in flight at once, then a thousand SETs

  PipelineOutcome outcome;
  std::vector<std::future<void>> done;
  for (int i = 0; i < kCallers; ++i) {
    testing::IoThread& loop = i % 2 == 0 ? loop_ : other;
    auto key = prefix_ + "k" + std::to_string(i);
    done.push_back(
        loop.spawn(incr_and_set(client, counter, key, std::to_string(i), loop.thread_id(), outcome)));
  }
  for (auto& each : done) each.get();

  EXPECT_EQ(outcome.wrong_thread, 0) << "a caller resumed on another thread than its own";
  EXPECT_EQ(outcome.wrong_reply, 0);
  EXPECT_EQ(call(client, {"GET", counter}).text, std::to_string(kCallers));
  EXPECT_EQ(call(client, {"GET", prefix_ + "k" + std::to_string(kCallers - 1)}).text,
            std::to_string(kCallers - 1));
  call(client, {"DEL", counter});
  EXPECT_EQ(client.reconnects(), 0u);
}

TEST_F(RedisClientTest, EvalFallsBackToEvalOnNoscriptThenUsesEvalsha) {
  PrivateRedis redis;
  Client client(loop_.executor(), config_for(redis.url()));
  start(client);
  Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  auto key = prefix_ + "scripted";
  call(client, {"SCRIPT", "FLUSH"});
  call(client, {"CONFIG", "RESETSTAT"});

  auto first = loop_.run(client.eval(script, {key}, {"5"}));
  ASSERT_EQ(first.type, Reply::Type::integer) << first.text;
  EXPECT_EQ(first.integer, 5);
  auto stats = call(client, {"INFO", "commandstats"}).text;
  EXPECT_EQ(calls(stats, "eval"), 1) << stats;
  EXPECT_EQ(call(client, {"SCRIPT", "EXISTS", script.sha1()}).elements.at(0).integer, 1);

  auto second = loop_.run(client.eval(script, {key}, {"5"}));
  EXPECT_EQ(second.integer, 10);
  stats = call(client, {"INFO", "commandstats"}).text;
  EXPECT_EQ(calls(stats, "eval"), 1) << "the cached script was sent again:\n" << stats;
  EXPECT_EQ(calls(stats, "evalsha"), 2) << stats;

  call(client, {"SCRIPT", "FLUSH"});
  auto third = loop_.run(client.eval(script, {key}, {"5"}));
  EXPECT_EQ(third.integer, 15);
  stats = call(client, {"INFO", "commandstats"}).text;
  EXPECT_EQ(calls(stats, "eval"), 2) << stats;
}

TEST_F(RedisClientTest, ScriptErrorsComeBackAsReplies) {
  Client client(loop_.executor(), config_for(testing::test_redis_url()));
  start(client);
  Script script("return redis.error_reply('ERR nope')");
  auto reply = loop_.run(client.eval(script, {}, {}));
  EXPECT_EQ(reply.type, Reply::Type::error);
  EXPECT_EQ(reply.text, "ERR nope");
}

TEST_F(RedisClientTest, AuthAndSelectFromTheUrl) {
  const std::string password = "pw-" + std::to_string(testing::free_port()) + "-secret";
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::default_logger()->sinks().push_back(sink);
  {
    PrivateRedis redis({"--requirepass", password});
    testing::IoThread loop;
    Client db3(loop.executor(), config_for(redis.url(password, 3)));
    Client db0(loop.executor(), config_for(redis.url(password, 0)));
    Client wrong_password(loop.executor(), config_for(redis.url("not-" + password, 0)));
    Client no_password(loop.executor(), config_for(redis.url()));
    for (auto* client : {&db3, &db0, &wrong_password, &no_password}) client->start();
    ASSERT_TRUE(testing::eventually([&] { return db3.connected() && db0.connected(); }));

    auto key = prefix_ + "where";
    EXPECT_EQ(loop.run(db3.command({"SET", key, "three"})).text, "OK");
    EXPECT_EQ(loop.run(db3.command({"GET", key})).text, "three");
    EXPECT_EQ(loop.run(db0.command({"GET", key})).type, Reply::Type::nil);
    EXPECT_EQ(loop.run(db0.command({"EXISTS", key})).integer, 0);

    std::this_thread::sleep_for(1500ms);  // a few refused attempts, each logged
    EXPECT_FALSE(wrong_password.connected());
    EXPECT_FALSE(no_password.connected());
    EXPECT_THROW(loop.run(wrong_password.command({"PING"})), Unavailable);
    EXPECT_THROW(loop.run(no_password.command({"PING"})), Unavailable);
  }
  spdlog::default_logger()->sinks().pop_back();
  auto lines = log.str();
  EXPECT_NE(lines.find("AUTH refused"), std::string::npos) << lines;
  EXPECT_NE(lines.find("NOAUTH"), std::string::npos) << lines;
  EXPECT_EQ(lines.find(password), std::string::npos) << "the password reached the log:\n" << lines;
}

TEST_F(RedisClientTest, FailsAtOnceWhileNotConnected) {
  Client never_started(loop_.executor(), config_for(testing::test_redis_url()));
  EXPECT_THROW(call(never_started, {"PING"}), Unavailable);

  Client nobody_listens(loop_.executor(),
                        config_for("redis://127.0.0.1:" + std::to_string(testing::free_port())));
  nobody_listens.start();
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(nobody_listens.connected());
  for (int i = 0; i < 10; ++i) {
    auto began = Clock::now();
    EXPECT_THROW(call(nobody_listens, {"PING"}), Unavailable);
    EXPECT_LT(Clock::now() - began, 200ms);
  }
}

TEST_F(RedisClientTest, DeadlineFailsAStuckCommandAndTheConnectionIsMadeAgain) {
  Client client(loop_.executor(), config_for(testing::test_redis_url(), 100ms));
  start(client);

  // BLPOP with no timeout blocks the connection for good: nothing can come back on it.
  auto began = Clock::now();
  EXPECT_THROW(call(client, {"BLPOP", prefix_ + "never", "0"}), Unavailable);
  auto waited = Clock::now() - began;
  EXPECT_GE(waited, 90ms);
  EXPECT_LT(waited, 600ms);

  ASSERT_TRUE(testing::eventually([&] { return client.connected() && client.reconnects() == 1; }));
  EXPECT_EQ(call(client, {"PING"}).text, "PONG");
}

TEST_F(RedisClientTest, LateReplyAfterTheDeadlineIsDropped) {
  Client client(loop_.executor(), config_for(testing::test_redis_url(), 300ms));
  start(client);

  // The first command answers (nil) after 100 ms, so the connection is seen to move; the second answers
  // only after a second, long after its deadline.
  auto sent = Clock::now();
  auto quick = loop_.spawn(client.command({"BLPOP", prefix_ + "quick", "0.1"}));
  auto slow = loop_.spawn(client.command({"BLPOP", prefix_ + "slow", "1"}));
  EXPECT_EQ(quick.get().type, Reply::Type::nil);
  EXPECT_THROW(slow.get(), Unavailable);
  EXPECT_LT(Clock::now() - sent, 800ms) << "the command waited for its reply, not its deadline";

  std::this_thread::sleep_for(1200ms);  // the late reply arrives and must be ignored
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(client.reconnects(), 0u);
  EXPECT_EQ(call(client, {"PING"}).text, "PONG");
}

TEST_F(RedisClientTest, CancellingTheCallerCompletesTheCommandAtOnce) {
  using namespace asio::experimental::awaitable_operators;
  Client client(loop_.executor(), config_for(testing::test_redis_url(), 5s));
  start(client);

  auto began = Clock::now();
  auto winner = loop_.run([&]() -> asio::awaitable<std::size_t> {
    asio::steady_timer timer(co_await asio::this_coro::executor, 50ms);
    std::vector<std::string> blpop{"BLPOP", prefix_ + "cancelled", "2"};
    auto result = co_await (client.command(std::move(blpop)) || timer.async_wait(asio::use_awaitable));
    co_return result.index();
  }());
  EXPECT_EQ(winner, 1u);
  EXPECT_LT(Clock::now() - began, 1s);

  // The BLPOP still holds the connection until Redis gives up on it; the next command waits behind it.
  EXPECT_EQ(call(client, {"PING"}).text, "PONG");
  EXPECT_EQ(client.reconnects(), 0u);
}

TEST_F(RedisClientTest, StopFailsCommandsInFlight) {
  Client client(loop_.executor(), config_for(testing::test_redis_url(), 10s));
  start(client);
  auto blocked = loop_.spawn(client.command({"BLPOP", prefix_ + "stopped", "0"}));
  std::this_thread::sleep_for(100ms);

  auto began = Clock::now();
  client.stop();
  EXPECT_THROW(blocked.get(), Unavailable);
  EXPECT_LT(Clock::now() - began, 1s);
  EXPECT_FALSE(client.connected());
  EXPECT_THROW(call(client, {"PING"}), Unavailable);
  client.start();  // a stopped client stays stopped
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(client.connected());
}

TEST(RedisClientShutdown, LoopDestroyedAfterTheClientWithoutRunningAgain) {
  auto io = std::make_unique<asio::io_context>();
  std::future<Reply> blocked;
  {
    Client client(io->get_executor(), config_for(testing::test_redis_url(), 10s));
    client.start();
    auto until = Clock::now() + 5s;
    while (!client.connected() && Clock::now() < until) io->run_for(10ms);
    ASSERT_TRUE(client.connected());
    blocked =
        asio::co_spawn(*io, client.command({"BLPOP", unique_prefix() + "shutdown", "0"}), asio::use_future);
    io->run_for(50ms);
  }
  // The client is gone and its loop never ran again: whatever it left queued dies with the loop.
  io.reset();
  EXPECT_THROW(blocked.get(), std::future_error);
}

}  // namespace
}  // namespace switchyard::redis
