#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "integration/usage_test_support.hpp"
#include "support/io_thread.hpp"
#include "support/test_env.hpp"
#include "switchyard/store/migrations.hpp"
#include "switchyard/usage/spool_format.hpp"

namespace switchyard::usage {
namespace {

using namespace std::chrono_literals;
using switchyard::testing::eventually;
using switchyard::testing::ScratchDatabase;
using testing::expected_totals;
using testing::numbered_record;
using testing::table_totals;
using testing::TempDataDir;

UsageWriterOptions options_for(const ScratchDatabase& db, const TempDataDir& dir) {
  UsageWriterOptions options;
  options.database_url = db.url();
  options.data_dir = dir.path();
  options.flush_interval = 200ms;
  options.batch_size = 500;
  options.orphan_scan_interval = 200ms;
  return options;
}

TEST(UsageWriter, TenThousandRowsFromFourThreadsArriveExactlyOnce) {
  ScratchDatabase db;
  postgres::migrate(db.url());
  TempDataDir dir;
  UsageWriter writer(options_for(db, dir));
  auto tenant = new_usage_id();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::int64_t n = t * 2500; n < (t + 1) * 2500; ++n) writer.record(numbered_record(n, tenant));
    });
  }
  for (auto& thread : threads) thread.join();
  writer.stop();

  EXPECT_EQ(table_totals(db.url()), expected_totals(0, 10'000));
  auto stats = writer.stats();
  EXPECT_EQ(stats.recorded, 10'000u);
  EXPECT_EQ(stats.written, 10'000u);
  EXPECT_EQ(stats.spooled, 0u);
  EXPECT_EQ(stats.queued, 0);
  EXPECT_EQ(testing::spool_files(dir.spool()), 0);
}

TEST(UsageWriter, WritesBehindWithinTheFlushIntervalAndKeepsEveryField) {
  ScratchDatabase db;
  postgres::migrate(db.url());
  TempDataDir dir;
  UsageWriter writer(options_for(db, dir));
  auto record = numbered_record(7, new_usage_id());
  record.api_key_id = new_usage_id();
  record.outcome = RequestOutcome::cancelled;
  record.ttft_ms = 42;
  record.estimated = true;
  record.session_id = "s-1";
  record.created_at = std::chrono::system_clock::time_point{1'700'000'000'123'456us};
  writer.record(record);
  EXPECT_TRUE(eventually([&] { return table_totals(db.url()).rows == 1; }, 3s)) << "no flush() called";

  pqxx::connection connection(db.url());
  pqxx::read_transaction tx(connection);
  auto row = tx.exec1(
      "SELECT id::text, api_key_id::text, status, ttft_ms, estimated, session_id, cached_tokens, "
      "extract(epoch FROM created_at)::numeric(20,6)::text FROM usage_records");
  EXPECT_EQ(row[0].as<std::string>(), record.id);
  EXPECT_EQ(row[1].as<std::string>(), *record.api_key_id);
  EXPECT_EQ(row[2].as<std::string>(), "cancelled");
  EXPECT_EQ(row[3].as<int>(), 42);
  EXPECT_TRUE(row[4].as<bool>());
  EXPECT_EQ(row[5].as<std::string>(), "s-1");
  EXPECT_EQ(row[6].as<std::int64_t>(), record.cached_tokens);
  EXPECT_EQ(row[7].as<std::string>(), "1700000000.123456") << "created_at kept to the microsecond";
}

TEST(UsageWriter, ARowPostgresRefusesIsKeptAsideAndTheOthersStillCount) {
  ScratchDatabase db;
  postgres::migrate(db.url());
  TempDataDir dir;
  UsageWriter writer(options_for(db, dir));
  auto tenant = new_usage_id();
  for (std::int64_t n = 0; n < 10; ++n) writer.record(numbered_record(n, tenant));
  auto bad = numbered_record(10, "not-a-uuid");
  writer.record(bad);
  writer.flush();

  EXPECT_EQ(table_totals(db.url()), expected_totals(0, 10));
  EXPECT_EQ(writer.stats().rejected, 1u);
  int kept = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.spool())) {
    if (!entry.path().filename().string().starts_with("rejected-")) continue;
    std::ifstream file(entry.path());
    std::string line;
    while (std::getline(file, line)) {
      auto record = decode_spool_line(line);
      ASSERT_TRUE(record) << line;
      EXPECT_EQ(record->id, bad.id);
      ++kept;
    }
  }
  EXPECT_EQ(kept, 1);
}

TEST(UsageWriter, ReplaysASpoolFileADeadProcessLeftAndKeepsItsBadLinesAside) {
  ScratchDatabase db;
  postgres::migrate(db.url());
  TempDataDir dir;
  std::filesystem::create_directories(dir.spool());
  auto tenant = new_usage_id();
  auto first = numbered_record(0, tenant);
  {
    std::ofstream orphan(dir.spool() / "usage-999999-deadbeef-1.jsonl");
    orphan << encode_spool_line(first) << "\n{\"torn\": \n"
           << encode_spool_line(first) << "\n"  // a row replayed twice counts once
           << encode_spool_line(numbered_record(1, tenant)) << "\n";
  }
  UsageWriter writer(options_for(db, dir));
  EXPECT_TRUE(eventually([&] { return table_totals(db.url()).rows == 2; }, 5s));
  EXPECT_TRUE(eventually([&] { return testing::spool_files(dir.spool()) == 0; }, 5s));
  writer.stop();
  EXPECT_EQ(table_totals(db.url()), expected_totals(0, 2));
  EXPECT_EQ(writer.stats().replayed, 3u);
  EXPECT_EQ(writer.stats().rejected, 1u);
}

}  // namespace
}  // namespace switchyard::usage
