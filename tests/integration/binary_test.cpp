#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "binary_support.hpp"
#include "support/test_env.hpp"

namespace switchyard::testing {
namespace {

using namespace std::chrono_literals;

std::map<std::string, std::string> base_env() {
  return {{"SWITCHYARD_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none"},
          {"SWITCHYARD_REDIS_URL", "redis://127.0.0.1:1"},
          {"SWITCHYARD_MASTER_KEY", kTestMasterKey}};
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

TEST(Binary, VersionAndHelp) {
  auto version = run_to_end(kBinary, {"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.output.rfind("switchyard ", 0), 0u);
  auto help = run_to_end(kBinary, {"--help"});
  EXPECT_EQ(help.status, 0);
  for (const char* verb : {"serve", "migrate", "seed FILE", "--config"}) {
    EXPECT_NE(help.output.find(verb), std::string::npos) << verb;
  }
  EXPECT_EQ(run_to_end(kBinary, {}).status, 2);
  EXPECT_EQ(run_to_end(kBinary, {"launch"}).status, 2);
  EXPECT_EQ(run_to_end(kBinary, {"seed"}).status, 2);
}

TEST(Binary, BadSettingsStopStartWithStatus2AndOneLineNamingThem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"SWITCHYARD_DATABASE_URL", ""},         {"SWITCHYARD_REDIS_URL", "tcp://x"},
      {"SWITCHYARD_MASTER_KEY", "short"},      {"SWITCHYARD_LISTEN", "localhost"},
      {"SWITCHYARD_SERVER_MAX_BODY_MB", "-5"},
  };
  for (const auto& [name, value] : cases) {
    auto env = base_env();
    env[name] = value;
    auto result = run_to_end(kBinary, {"serve"}, env);
    EXPECT_EQ(result.status, 2) << name;
    EXPECT_NE(first_line(result.output).find(name), std::string::npos) << result.output;
    EXPECT_EQ(result.output.find('\n'), result.output.size() - 1) << "one line: " << result.output;
  }
}

TEST(Binary, MissingRequiredSettingsAreNamed) {
  auto env = base_env();
  auto result = run_to_end("/usr/bin/env", {"-u", "SWITCHYARD_MASTER_KEY", kBinary, "serve"},
                           {{"SWITCHYARD_DATABASE_URL", env["SWITCHYARD_DATABASE_URL"]},
                            {"SWITCHYARD_REDIS_URL", env["SWITCHYARD_REDIS_URL"]}});
  EXPECT_EQ(result.status, 2);
  EXPECT_NE(result.output.find("SWITCHYARD_MASTER_KEY"), std::string::npos) << result.output;
}

TEST(Binary, BadConfigFileIsNamed) {
  auto path =
      std::filesystem::temp_directory_path() / ("switchyard-bad-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "server:\n  thread_count: 4\n";
  auto result = run_to_end(kBinary, {"serve", "--config", path.string()}, base_env());
  std::filesystem::remove(path);
  EXPECT_EQ(result.status, 2);
  EXPECT_NE(result.output.find("server.thread_count"), std::string::npos) << result.output;
}

class BinaryWithDatabase : public ::testing::Test {
 protected:
  ScratchDatabase database;
  std::map<std::string, std::string> env() const {
    return {{"SWITCHYARD_DATABASE_URL", database.url()}, {"SWITCHYARD_MASTER_KEY", kTestMasterKey}};
  }
};

TEST_F(BinaryWithDatabase, MigrateTwiceThenSeedTheDemoTwice) {
  auto first = run_to_end(kBinary, {"migrate"}, env());
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_NE(first.output.find("applied 0001_"), std::string::npos) << first.output;
  auto second = run_to_end(kBinary, {"migrate"}, env());
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_NE(second.output.find("up to date"), std::string::npos) << second.output;

  const std::string demo = std::string(SWITCHYARD_SOURCE_DIR) + "/config/demo.seed.yaml";
  auto seeded = run_to_end(kBinary, {"seed", demo}, env());
  ASSERT_EQ(seeded.status, 0) << seeded.output;
  auto again = run_to_end(kBinary, {"seed", demo}, env());
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_EQ(again.output.find(" 1 inserted"), std::string::npos) << again.output;
  EXPECT_EQ(again.output.find(" 1 updated"), std::string::npos) << again.output;
}

TEST_F(BinaryWithDatabase, SeedRefusesAnUnknownReferenceNamingTheEntry) {
  ASSERT_EQ(run_to_end(kBinary, {"migrate"}, env()).status, 0);
  auto path =
      std::filesystem::temp_directory_path() / ("switchyard-seed-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "models:\n  - alias: lost\n    provider: nowhere\n    upstream_model: x\n";
  auto result = run_to_end(kBinary, {"seed", path.string()}, env());
  std::filesystem::remove(path);
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("nowhere"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("lost"), std::string::npos) << result.output;
}

TEST_F(BinaryWithDatabase, SeedBeforeMigrateIsRefused) {
  auto result =
      run_to_end(kBinary, {"seed", std::string(SWITCHYARD_SOURCE_DIR) + "/config/demo.seed.yaml"}, env());
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("migrate"), std::string::npos) << result.output;
}

TEST_F(BinaryWithDatabase, ServesHealthReadyAndMetricsAndMigratesAtStart) {
  ServeProcess serve(database.url(), test_redis_url());
  ASSERT_TRUE(serve.wait_for("/ready", 200, 20s)) << serve.process().output();
  EXPECT_EQ(serve.get("/health")->status, 200);
  auto metrics = serve.get("/metrics");
  ASSERT_TRUE(metrics);
  for (const char* family :
       {"switchyard_http_requests_total", "switchyard_http_request_duration_seconds_bucket",
        "switchyard_http_in_flight_requests", "switchyard_pg_pool_connections",
        "switchyard_redis_connected 1"}) {
    EXPECT_NE(metrics->body.find(family), std::string::npos) << family;
  }
  auto missing = serve.get("/v1/unknown");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing->body)["error"]["type"], "invalid_request_error");

  serve.process().signal(SIGTERM);
  EXPECT_EQ(serve.process().wait(10s), 0) << serve.process().output();
  auto log = serve.process().output();
  EXPECT_NE(log.find("applied migration 0001_"), std::string::npos) << log;
  EXPECT_NE(log.find("request_id=" + missing->header("x-request-id")), std::string::npos)
      << "the access log names the request id";
}

TEST_F(BinaryWithDatabase, DebugLogsShowRequestsWithTheirSecretsMasked) {
  ServeProcess serve(database.url(), test_redis_url(), {{"SWITCHYARD_LOG_LEVEL", "debug"}});
  ASSERT_TRUE(serve.wait_for("/health", 200, 20s)) << serve.process().output();
  auto response =
      http_request(serve.port(), "POST", "/v1/anything", R"({"model":"m","api_key":"sk-body-secret"})",
                   "Authorization: Bearer sk-header-secret\r\nContent-Type: application/json\r\n"
                   "X-Request-Id: debug-probe\r\n");
  ASSERT_TRUE(response);
  serve.process().signal(SIGTERM);
  ASSERT_EQ(serve.process().wait(10s), 0);
  auto log = serve.process().output();
  EXPECT_NE(log.find("request_id=debug-probe request POST /v1/anything"), std::string::npos) << log;
  EXPECT_NE(log.find("\"model\":\"m\""), std::string::npos) << log;
  EXPECT_NE(log.find("[redacted]"), std::string::npos) << log;
  EXPECT_EQ(log.find("sk-header-secret"), std::string::npos) << log;
  EXPECT_EQ(log.find("sk-body-secret"), std::string::npos) << log;
}

TEST_F(BinaryWithDatabase, SigtermLetsAnInFlightRequestFinish) {
  ServeProcess serve(database.url(), test_redis_url());
  ASSERT_TRUE(serve.wait_for("/health", 200, 20s)) << serve.process().output();

  RawConnection in_flight(serve.port());
  ASSERT_TRUE(in_flight.send("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345"));
  std::this_thread::sleep_for(200ms);
  serve.process().signal(SIGTERM);
  std::this_thread::sleep_for(500ms);
  EXPECT_THROW(RawConnection(serve.port()), std::runtime_error) << "the listener is closed while draining";
  ASSERT_TRUE(in_flight.send("67890"));
  auto response = in_flight.read_response();
  ASSERT_TRUE(response) << "the in-flight request was cut";
  EXPECT_EQ(response->status, 405);
  EXPECT_EQ(serve.process().wait(10s), 0) << serve.process().output();
}

TEST_F(BinaryWithDatabase, StartsWhilePostgresIsDownAndSaysSoInReady) {
  ServeProcess serve("postgresql://nobody:x@127.0.0.1:" + std::to_string(free_port()) + "/none",
                     test_redis_url(), {{"SWITCHYARD_DATABASE_CONNECT_TIMEOUT_S", "1"}});
  ASSERT_TRUE(serve.wait_for("/ready", 503, 20s)) << serve.process().output();
  auto ready = serve.get("/ready");
  auto body = nlohmann::json::parse(ready->body);
  EXPECT_NE(body["error"]["message"].get<std::string>().find("postgres"), std::string::npos) << ready->body;
  EXPECT_EQ(body["checks"]["redis"], "ok");
}

}  // namespace
}  // namespace switchyard::testing
