#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "switchyard/usage/usage_record.hpp"

namespace switchyard {
class Metrics;
}

namespace switchyard::usage {

struct UsageWriterOptions {
  /// Postgres URI or libpq keyword string of the database holding usage_records.
  std::string database_url;
  /// SWITCHYARD_DATA_DIR: the spool lives in its `spool/` folder, created when missing.
  std::filesystem::path data_dir;
  /// Rows wait at most this long in memory before a write is attempted.
  std::chrono::milliseconds flush_interval{1'000};
  /// Rows per INSERT; this many waiting rows start a write before flush_interval.
  std::size_t batch_size = 1'000;
  /// More rows waiting than this (Postgres slow or stuck) go to the spool at once instead of growing memory.
  std::size_t max_queued = 100'000;
  /// While Postgres is unreachable, a new connection is tried at most this often.
  std::chrono::milliseconds retry_interval{1'000};
  std::chrono::seconds connect_timeout{3};
  std::chrono::milliseconds statement_timeout{10'000};
  /// How often the spool folder is searched for files that other, dead processes left behind.
  std::chrono::milliseconds orphan_scan_interval{10'000};
};

/// Counters and gauges for /metrics. Counters count rows since start.
struct UsageStats {
  std::uint64_t recorded = 0;  ///< rows handed to record()
  std::uint64_t written = 0;   ///< rows inserted into Postgres (a replayed row already there is not)
  std::uint64_t spooled = 0;   ///< rows appended to the spool
  std::uint64_t replayed = 0;  ///< spooled rows (this process' or a dead one's) sent to Postgres since
  std::uint64_t rejected = 0;  ///< rows or spool lines Postgres or the decoder refused, kept aside
  std::int64_t queued = 0;     ///< rows waiting in memory now
  bool postgres_up = false;    ///< whether the last write or connection attempt succeeded
};

/// Writes usage rows behind the requests, in batches, on a thread of its own with its own Postgres
/// connection (never the request pool). While Postgres is unreachable, rows go to an append-only spool
/// file of this process under `<data_dir>/spool/`, fsynced after each batch, and are replayed, oldest
/// first, when it is back; so are spool files of dead processes sharing the data directory. Replays are
/// idempotent (rows carry their id). See docs/operations.md, "Usage accounting", for the crash bound.
///
/// Thread-safe. The constructor throws std::filesystem::filesystem_error when the spool folder cannot be
/// made; it never waits for Postgres.
class UsageWriter {
 public:
  explicit UsageWriter(UsageWriterOptions options);
  /// stop().
  ~UsageWriter();
  UsageWriter(const UsageWriter&) = delete;
  UsageWriter& operator=(const UsageWriter&) = delete;

  /// Queues a row and returns at once: never blocks on Postgres or the disk (but after stop(), when it
  /// appends the row to the spool itself).
  void record(UsageRecord record);

  /// Blocks until every row recorded before the call is in Postgres or in the spool.
  void flush();

  /// flush(), then ends the threads and closes the connection; rows that Postgres cannot take stay in the
  /// spool for the next writer. Idempotent.
  void stop();

  UsageStats stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Registers the writer's stats as switchyard_usage_* gauges; the writer must outlive `metrics`' scrapes.
void add_usage_metrics(Metrics& metrics, const UsageWriter& writer);

}  // namespace switchyard::usage
