#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "binary_support.hpp"
#include "support/fake_upstream.hpp"
#include "support/test_env.hpp"

namespace switchyard::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kKey = "sk-sy-accounting-0123456789";

// Exact accounting across a Postgres outage: 2,000 mixed requests (streams with and without usage,
// non-streams, upstream 5xx, streams the upstream breaks off, clients that leave mid-stream), Postgres
// stopped and restarted in the middle. Every request leaves one usage row, and the rows whose counts came
// from the provider add up to exactly what the fake upstream reported; only the broken and abandoned
// streams, where no usage ever arrived, are estimates.
TEST(GatewayAccounting, UsageIsExactAcrossAPostgresOutage) {
  ManagedService postgres(ManagedService::Kind::postgres);
  FakeUpstream fake;
  fake.set_disconnect_after(3);
  fake.set_delays(10ms, 400ms);
  std::map<std::string, std::string> env = {{"SWITCHYARD_DATABASE_URL", postgres.url()},
                                            {"SWITCHYARD_MASTER_KEY", kTestMasterKey}};
  ASSERT_EQ(run_to_end(kBinary, {"migrate"}, env).status, 0);
  auto seed = std::filesystem::temp_directory_path() / "accounting-seed.yaml";
  std::ofstream(seed) << "providers:\n  - {name: up, type: openai, base_url: \"" + fake.base_url() +
                             "/v1\", api_key: k}\n"
                             "models:\n"
                             "  - {alias: ok, provider: up, upstream_model: gpt-4o-mini}\n"
                             "  - {alias: fails, provider: up, upstream_model: fake-500}\n"
                             "  - {alias: breaks, provider: up, upstream_model: fake-disconnect}\n"
                             "  - {alias: slow, provider: up, upstream_model: fake-slow}\n"
                             "tenants:\n  - {name: acct}\n"
                             "api_keys:\n  - {name: k, tenant: acct, secret: " +
                             std::string(kKey) + "}\n";
  auto seeded = run_to_end(kBinary, {"seed", seed.string()}, env);
  ASSERT_EQ(seeded.status, 0) << seeded.output;
  ServeProcess serve(postgres.url(), test_redis_url());
  ASSERT_TRUE(serve.wait_for("/health", 200, 20s)) << serve.process().output();

  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  std::atomic<int> abandoned{0};
  std::atomic<int> unexpected{0};
  auto worker = [&](int thread) {
    for (int i = 0; i < kPerThread; ++i) {
      int kind = (thread + i) % 6;
      json body = {
          {"model", kind == 3   ? "fails"
                    : kind == 4 ? "breaks"
                    : kind == 5 ? "slow"
                                : "ok"},
          {"messages",
           json::array({{{"role", "user"}, {"content", "count these few words " + std::to_string(i)}}})}};
      if (kind == 0 || kind == 4 || kind == 5) body["stream"] = true;
      if (kind == 0) body["stream_options"] = {{"include_usage", true}};
      if (kind == 1) body["stream"] = true;
      if (kind == 5) {
        // A client that leaves after the first chunk: the upstream is cancelled before its usage chunk.
        RawConnection client(serve.port());
        auto text = body.dump();
        client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                    std::string(kKey) + "\r\nContent-Length: " + std::to_string(text.size()) + "\r\n\r\n" +
                    text);
        std::this_thread::sleep_for(150ms);
        ++abandoned;
        ++done;
        continue;
      }
      auto response = http_request(serve.port(), "POST", "/v1/chat/completions", body.dump(),
                                   std::string("Authorization: Bearer ") + kKey + "\r\n");
      int expected = kind == 3 ? 502 : 200;
      if (!response || response->status != expected) ++unexpected;
      if (kind == 3 || kind == 4) ++failed;
      ++done;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  while (done < 500) std::this_thread::sleep_for(10ms);
  postgres.stop();
  while (done < 1200) std::this_thread::sleep_for(10ms);
  postgres.start();
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(unexpected.load(), 0);

  const int total = kThreads * kPerThread;
  std::int64_t rows = 0;
  for (int attempt = 0; attempt < 300 && rows < total; ++attempt) {
    try {
      pqxx::connection connection(postgres.url());
      pqxx::nontransaction tx(connection);
      rows = tx.exec1("SELECT count(*) FROM usage_records")[0].as<std::int64_t>();
    } catch (const std::exception&) {
      // Postgres still starting.
    }
    if (rows < total) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(rows, total) << "every request leaves one usage row";
  pqxx::connection connection(postgres.url());
  pqxx::nontransaction tx(connection);
  auto exact = tx.exec1(
      "SELECT COALESCE(sum(prompt_tokens),0), COALESCE(sum(completion_tokens),0) FROM usage_records WHERE "
      "NOT estimated");
  EXPECT_EQ(exact[0].as<std::uint64_t>(), fake.reported_prompt_tokens());
  EXPECT_EQ(exact[1].as<std::uint64_t>(), fake.reported_completion_tokens());
  std::string abandoned_rows;
  for (const auto& row : tx.exec("SELECT status, http_status, estimated, count(*) FROM usage_records "
                                 "WHERE model_alias = 'slow' GROUP BY 1, 2, 3")) {
    abandoned_rows += std::string(row[0].c_str()) + "/" + row[1].c_str() + "/" + row[2].c_str() + ": " +
                      row[3].c_str() + "; ";
  }
  // Under load a few abandoned requests are only read after their client left, yet finish: those count
  // as completed with the provider's usage, which the exact sums above include.
  EXPECT_GE(tx.exec1("SELECT count(*) FROM usage_records WHERE status = 'cancelled'")[0].as<int>(),
            abandoned.load() * 9 / 10)
      << "the clients that left: " << abandoned_rows;
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM usage_records WHERE model_alias = 'slow' AND status = 'failed'")[0]
                .as<int>(),
            0)
      << abandoned_rows;
  // Estimates only where no usage arrived: abandoned streams, and broken ones that had delivered text (a
  // stream broken before any text costs nothing and is recorded as such).
  EXPECT_LE(tx.exec1("SELECT count(*) FROM usage_records WHERE estimated")[0].as<int>(),
            abandoned.load() + failed.load());
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM usage_records WHERE status = 'failed'")[0].as<int>(),
            failed.load())
      << "the 5xx answers and the broken streams";
  EXPECT_EQ(tx.exec1("SELECT count(DISTINCT id) FROM usage_records")[0].as<int>(), total) << "no row twice";
}

}  // namespace
}  // namespace switchyard::testing
