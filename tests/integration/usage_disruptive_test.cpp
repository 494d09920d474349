#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "integration/usage_test_support.hpp"
#include "support/io_thread.hpp"
#include "support/test_env.hpp"
#include "switchyard/store/migrations.hpp"

// libpqxx 6.4 asks for the client encoding before it takes ownership of a query's result, so a connection
// lost mid-query leaks that PGresult (about 2 KB per lost connection). Its frames carry no symbols, hence
// the module.
// NOLINTNEXTLINE(bugprone-reserved-identifier,readability-identifier-naming): the name LSan looks up.
extern "C" const char* __lsan_default_suppressions() { return "leak:libpq.so\n"; }

namespace switchyard::usage {
namespace {

using namespace std::chrono_literals;
using switchyard::testing::eventually;
using switchyard::testing::ManagedService;
using testing::expected_totals;
using testing::numbered_record;
using testing::table_totals;
using testing::TempDataDir;

UsageWriterOptions options_for(const ManagedService& server, const TempDataDir& dir) {
  UsageWriterOptions options;
  options.database_url = server.url();
  options.data_dir = dir.path();
  options.flush_interval = 100ms;
  options.batch_size = 50;
  options.retry_interval = 200ms;
  options.connect_timeout = std::chrono::seconds{1};
  options.statement_timeout = 2s;
  options.orphan_scan_interval = 200ms;
  return options;
}

/// Whether the table holds `want`, asked until it does or 15 s pass (the server may still be starting).
bool eventually_totals(const ManagedService& server, const testing::Totals& want) {
  return eventually(
      [&] {
        try {
          return table_totals(server.url()) == want;
        } catch (const std::exception&) {
          return false;
        }
      },
      15s);
}

TEST(UsageWriterDisruptive, RowsRecordedWhilePostgresIsDownAreSpooledThenReplayedExactlyOnce) {
  ManagedService server(ManagedService::Kind::postgres);
  postgres::migrate(server.url());
  TempDataDir dir;
  UsageWriter writer(options_for(server, dir));
  auto tenant = new_usage_id();
  std::atomic<std::int64_t> next{0};
  std::atomic<bool> running{true};
  std::thread traffic([&] {
    while (running) {
      writer.record(numbered_record(next++, tenant));
      std::this_thread::sleep_for(1ms);
    }
  });

  ASSERT_TRUE(eventually([&] { return writer.stats().written > 200; }, 10s));
  server.stop();
  ASSERT_TRUE(eventually([&] { return writer.stats().spooled > 200; }, 15s)) << "rows go to the spool";
  EXPECT_FALSE(writer.stats().postgres_up);
  EXPECT_GT(testing::spooled_lines(dir.spool()), 0);
  server.start();
  ASSERT_TRUE(eventually([&] { return writer.stats().replayed > 0; }, 15s));
  ASSERT_TRUE(eventually([&] { return writer.stats().written > writer.stats().replayed + 400; }, 10s));
  running = false;
  traffic.join();
  writer.flush();

  EXPECT_TRUE(eventually_totals(server, expected_totals(0, next))) << next << " rows recorded";
  EXPECT_EQ(testing::spool_files(dir.spool()), 0) << "replayed files are removed";
  writer.stop();
  EXPECT_EQ(table_totals(server.url()), expected_totals(0, next));
  EXPECT_EQ(writer.stats().recorded, static_cast<std::uint64_t>(next.load()));
  EXPECT_EQ(writer.stats().written, static_cast<std::uint64_t>(next.load())) << "no row inserted twice";
}

TEST(UsageWriterDisruptive, StopWithPostgresDownSpoolsEverythingAndTheNextWriterReplaysIt) {
  ManagedService server(ManagedService::Kind::postgres);
  postgres::migrate(server.url());
  server.stop();
  TempDataDir dir;
  auto tenant = new_usage_id();
  {
    UsageWriter writer(options_for(server, dir));
    for (std::int64_t n = 0; n < 500; ++n) writer.record(numbered_record(n, tenant));
    writer.stop();
    EXPECT_EQ(writer.stats().spooled, 500u);
    EXPECT_EQ(writer.stats().queued, 0);
  }
  EXPECT_EQ(testing::spooled_lines(dir.spool()), 500);

  server.start();
  UsageWriter next(options_for(server, dir));
  EXPECT_TRUE(eventually_totals(server, expected_totals(0, 500)));
  EXPECT_TRUE(eventually([&] { return testing::spool_files(dir.spool()) == 0; }, 5s));
}

TEST(UsageWriterDisruptive, AQueueBeyondMaxQueuedGoesToTheSpoolAtOnce) {
  ManagedService server(ManagedService::Kind::postgres);
  postgres::migrate(server.url());
  server.stop();
  TempDataDir dir;
  auto options = options_for(server, dir);
  options.flush_interval = 1h;  // only the bound moves rows
  options.batch_size = 1'000;
  options.max_queued = 1'000;
  auto tenant = new_usage_id();
  UsageWriter writer(options);
  for (std::int64_t n = 0; n < 2'500; ++n) writer.record(numbered_record(n, tenant));
  EXPECT_TRUE(eventually([&] { return writer.stats().queued < 1'000; }, 10s));
  EXPECT_GE(writer.stats().spooled, 1'000u);
  server.start();
  writer.stop();
  UsageWriter next(options_for(server, dir));
  EXPECT_TRUE(eventually_totals(server, expected_totals(0, 2'500)));
}

TEST(UsageWriterDisruptive, TwoWritersSharingADataDirNeverClash) {
  ManagedService server(ManagedService::Kind::postgres);
  postgres::migrate(server.url());
  TempDataDir dir;
  auto tenant = new_usage_id();
  UsageWriter a(options_for(server, dir));
  UsageWriter b(options_for(server, dir));
  auto record_range = [&](UsageWriter& writer, std::int64_t first, std::int64_t count) {
    for (auto n = first; n < first + count; ++n) writer.record(numbered_record(n, tenant));
  };
  record_range(a, 0, 300);
  record_range(b, 300, 300);
  a.flush();
  b.flush();
  server.stop();
  std::thread ta([&] { record_range(a, 600, 400); });
  std::thread tb([&] { record_range(b, 1'000, 400); });
  ta.join();
  tb.join();
  a.flush();
  b.flush();
  EXPECT_EQ(testing::spool_files(dir.spool()), 2) << "one spool file each";
  EXPECT_EQ(testing::spooled_lines(dir.spool()), 800);
  a.stop();  // its file is now an orphan, which b replays alongside its own
  server.start();
  EXPECT_TRUE(eventually_totals(server, expected_totals(0, 1'400)));
  EXPECT_TRUE(eventually([&] { return testing::spool_files(dir.spool()) == 0; }, 5s));
  b.stop();
  EXPECT_EQ(a.stats().written + b.stats().written, 1'400u) << "no row replayed twice";
}

}  // namespace
}  // namespace switchyard::usage
