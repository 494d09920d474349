#include "switchyard/usage/usage_writer.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <pqxx/pqxx>
#include <span>
#include <thread>
#include <vector>

#include "spool_file.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/metrics.hpp"
#include "switchyard/core/threads.hpp"
#include "switchyard/store/postgres_pool.hpp"
#include "switchyard/usage/spool_format.hpp"

namespace switchyard::usage {
namespace {

using SteadyClock = std::chrono::steady_clock;

// One parameter, the batch as a JSON array of spool lines: no quoting, and the spool format is the wire
// format. Keys a line lacks become NULL, which only optional columns allow.
const std::string kInsert = R"(
  INSERT INTO usage_records (id, request_id, tenant_id, api_key_id, user_id, model_alias, provider,
    upstream_model, prompt_tokens, completion_tokens, cached_tokens, cost_micros, status, http_status, stream,
    latency_ms, ttft_ms, estimated, session_id, created_at)
  SELECT id, request_id, tenant_id, api_key_id, user_id, model_alias, provider, upstream_model,
    prompt_tokens, completion_tokens, cached_tokens, cost_micros, status, http_status, stream, latency_ms,
    ttft_ms, estimated, session_id, timestamptz 'epoch' + created_at_us * interval '1 microsecond'
  FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, request_id text, tenant_id uuid, api_key_id uuid,
    user_id uuid, model_alias text, provider text, upstream_model text, prompt_tokens bigint,
    completion_tokens bigint, cached_tokens bigint, cost_micros bigint, status text, http_status smallint,
    stream boolean, latency_ms integer, ttft_ms integer, estimated boolean, session_id text,
    created_at_us bigint)
  ON CONFLICT (id) DO NOTHING)";

constexpr std::string_view kSpoolPrefix = "usage-";
constexpr std::string_view kSpoolSuffix = ".jsonl";
constexpr std::size_t kReplayChunkBytes = 4u << 20;

std::string lines(std::span<const UsageRecord> records) {
  std::string text;
  for (const auto& record : records) {
    text += encode_spool_line(record);
    text += '\n';
  }
  return text;
}

std::string json_array(std::span<const UsageRecord> records) {
  std::string text = "[";
  for (const auto& record : records) {
    if (text.size() > 1) text += ',';
    text += encode_spool_line(record);
  }
  text += ']';
  return text;
}

bool is_spool_file(const std::filesystem::path& path) {
  auto name = path.filename().string();
  return name.starts_with(kSpoolPrefix) && name.ends_with(kSpoolSuffix);
}

bool older(const SpoolFile& a, const SpoolFile& b) {
  auto x = a.modified();
  auto y = b.modified();
  return x.tv_sec != y.tv_sec ? x.tv_sec < y.tv_sec : x.tv_nsec < y.tv_nsec;
}

}  // namespace

struct UsageWriter::State {
  explicit State(UsageWriterOptions o)
      : options(std::move(o)),
        spool_dir(options.data_dir / "spool"),
        stem(std::to_string(::getpid()) + "-" + crypto::hex(crypto::random_bytes(4))) {
    options.batch_size = std::max<std::size_t>(options.batch_size, 1);
    options.max_queued = std::max(options.max_queued, options.batch_size);
    std::filesystem::create_directories(spool_dir);
  }

  void run_writer();
  void run_spiller();
  void write(std::vector<UsageRecord>& batch);
  std::size_t insert(std::span<const UsageRecord> rows);
  bool connected();
  void disconnect(const std::exception& cause);
  void replay(bool scan_orphans);
  bool replay_file(SpoolFile& file);
  bool spool(std::span<const UsageRecord> rows);
  void spool_or_log(std::span<const UsageRecord> rows);
  void reject(std::string_view text);
  void requeue(std::vector<UsageRecord>& rows);
  bool own_spool_pending();

  UsageWriterOptions options;
  std::filesystem::path spool_dir;
  std::string stem;  // "<pid>-<random>": unique among processes sharing the data directory

  std::mutex mutex;
  std::condition_variable writer_wake;
  std::condition_variable spiller_wake;
  std::condition_variable settled;  // a flush completed, or the spiller went idle
  std::deque<UsageRecord> queue;
  bool stopping = false;
  bool spill_wanted = false;
  bool spilling = false;
  bool writer_done = false;
  std::uint64_t flush_requested = 0;
  std::uint64_t flush_completed = 0;

  std::mutex spool_mutex;  // the files below
  std::optional<SpoolFile> spool_file;
  std::vector<SpoolFile> sealed;  // this process' earlier spool files, not yet replayed
  std::optional<SpoolFile> rejects;
  int spool_sequence = 0;

  // Writer thread only.
  std::unique_ptr<pqxx::connection> connection;
  SteadyClock::time_point next_connect{};
  SteadyClock::time_point next_orphan_scan{};

  std::atomic<std::uint64_t> recorded{0};
  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> spooled{0};
  std::atomic<std::uint64_t> replayed{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::int64_t> queued{0};
  std::atomic<bool> postgres_up{false};

  std::mutex stop_mutex;
  std::thread writer;
  std::thread spiller;
};

void UsageWriter::State::run_writer() {
  run_as_background_thread();
  std::unique_lock lock(mutex);
  auto next_flush = SteadyClock::now() + options.flush_interval;
  for (;;) {
    writer_wake.wait_until(lock, next_flush, [&] {
      return stopping || queue.size() >= options.batch_size || flush_requested > flush_completed;
    });
    auto flush_target = flush_requested;
    while (!queue.empty()) {
      auto count = std::min(queue.size(), options.batch_size);
      std::vector<UsageRecord> batch(
          std::make_move_iterator(queue.begin()),
          std::make_move_iterator(queue.begin() + static_cast<std::ptrdiff_t>(count)));
      queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(count));
      lock.unlock();
      write(batch);
      lock.lock();
    }
    if (!stopping) {
      lock.unlock();
      auto scan_due = SteadyClock::now() >= next_orphan_scan;
      if ((scan_due || own_spool_pending()) && connected()) {
        replay(scan_due);
        if (scan_due) next_orphan_scan = SteadyClock::now() + options.orphan_scan_interval;
      }
      lock.lock();
    }
    // Rows the spiller holds were recorded before the flush too.
    settled.wait(lock, [&] { return !spilling; });
    if (queue.empty()) {
      flush_completed = std::max(flush_completed, flush_target);
      settled.notify_all();
      if (stopping) break;
    }
    next_flush = SteadyClock::now() + options.flush_interval;
  }
  writer_done = true;
  flush_completed = flush_requested;
  settled.notify_all();
  lock.unlock();
  connection.reset();
  postgres_up = false;
}

void UsageWriter::State::run_spiller() {
  run_as_background_thread();
  std::unique_lock lock(mutex);
  for (;;) {
    spiller_wake.wait(lock, [&] { return spill_wanted || stopping; });
    if (!spill_wanted) return;
    std::vector<UsageRecord> rows(std::make_move_iterator(queue.begin()),
                                  std::make_move_iterator(queue.end()));
    queue.clear();
    spill_wanted = false;
    spilling = true;
    lock.unlock();
    spdlog::warn("usage: {} rows waiting for Postgres, more than usage max_queued; spooling them",
                 rows.size());
    bool ok = spool(rows);
    lock.lock();
    if (!ok) {
      for (auto& row : rows) queue.push_back(std::move(row));
    }
    spilling = false;
    settled.notify_all();
    writer_wake.notify_one();
    if (!ok) spiller_wake.wait_for(lock, options.retry_interval, [&] { return stopping; });
  }
}

void UsageWriter::State::write(std::vector<UsageRecord>& batch) {
  std::span<const UsageRecord> rows(batch);
  auto done = connected() ? insert(rows) : 0;
  queued -= static_cast<std::int64_t>(done);
  auto rest = rows.subspan(done);
  if (rest.empty()) return;
  bool final = false;
  {
    std::lock_guard lock(mutex);
    final = stopping;
  }
  if (final) {
    spool_or_log(rest);
  } else if (!spool(rest)) {
    std::vector<UsageRecord> left(batch.begin() + static_cast<std::ptrdiff_t>(done), batch.end());
    requeue(left);
  }
}

std::size_t UsageWriter::State::insert(std::span<const UsageRecord> rows) {
  try {
    pqxx::work tx(*connection);
    auto result = tx.exec_params(kInsert, json_array(rows));
    tx.commit();
    written += static_cast<std::uint64_t>(result.affected_rows());
    postgres_up = true;
    return rows.size();
  } catch (const pqxx::data_exception&) {
  } catch (const pqxx::integrity_constraint_violation&) {
  } catch (const std::exception& e) {
    disconnect(e);
    return 0;
  }
  // Some row is at fault (a bad uuid, a negative count): find it, so that the others still count.
  for (std::size_t i = 0; i < rows.size(); ++i) {
    try {
      pqxx::work tx(*connection);
      auto result = tx.exec_params(kInsert, json_array(rows.subspan(i, 1)));
      tx.commit();
      written += static_cast<std::uint64_t>(result.affected_rows());
    } catch (const pqxx::sql_error& e) {
      if (dynamic_cast<const pqxx::data_exception*>(&e) == nullptr &&
          dynamic_cast<const pqxx::integrity_constraint_violation*>(&e) == nullptr) {
        disconnect(e);
        return i;
      }
      spdlog::error("usage: Postgres refused row {} (request {}): {}; kept in {}", rows[i].id,
                    rows[i].request_id, e.what(), (spool_dir / ("rejected-" + stem + ".jsonl")).string());
      reject(encode_spool_line(rows[i]));
    } catch (const std::exception& e) {
      disconnect(e);
      return i;
    }
  }
  return rows.size();
}

bool UsageWriter::State::connected() {
  if (connection) return true;
  auto now = SteadyClock::now();
  if (now < next_connect) return false;
  next_connect = now + options.retry_interval;
  try {
    auto fresh = std::make_unique<pqxx::connection>(
        postgres::connection_string(options.database_url, options.connect_timeout));
    pqxx::nontransaction tx(*fresh);
    tx.exec0("SET statement_timeout = " + std::to_string(options.statement_timeout.count()));
    connection = std::move(fresh);
    if (!postgres_up.exchange(true)) spdlog::info("usage: writing to Postgres");
    return true;
  } catch (const std::exception& e) {
    if (postgres_up.exchange(false))
      spdlog::warn("usage: Postgres unreachable, spooling usage: {}", e.what());
    return false;
  }
}

void UsageWriter::State::disconnect(const std::exception& cause) {
  if (postgres_up.exchange(false))
    spdlog::warn("usage: Postgres write failed, spooling usage: {}", cause.what());
  connection.reset();
  next_connect = SteadyClock::now() + options.retry_interval;
}

bool UsageWriter::State::own_spool_pending() {
  std::lock_guard lock(spool_mutex);
  return (spool_file && spool_file->size() > 0) || !sealed.empty();
}

void UsageWriter::State::replay(bool scan_orphans) {
  std::vector<SpoolFile> files;
  {
    // Later spills start a new file, so that the writer reads this one while the spiller may append.
    std::lock_guard lock(spool_mutex);
    if (spool_file && spool_file->size() > 0) {
      sealed.push_back(std::move(*spool_file));
      spool_file.reset();
    }
    for (auto& file : sealed) files.push_back(std::move(file));
    sealed.clear();
  }
  auto owned = files.size();
  if (scan_orphans) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(spool_dir, error)) {
      if (!is_spool_file(entry.path())) continue;
      // A file whose lock nobody holds belongs to a dead process, or to a writer of this one now stopped.
      if (auto orphan = SpoolFile::try_claim(entry.path())) files.push_back(std::move(*orphan));
    }
    if (error) spdlog::warn("usage: cannot list {}: {}", spool_dir.string(), error.message());
  }
  std::vector<std::size_t> order(files.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return older(files[a], files[b]); });
  bool reachable = true;
  for (auto i : order) {
    if (reachable && replay_file(files[i])) continue;
    reachable = false;  // the rest waits for the next attempt
    if (i < owned) {
      std::lock_guard lock(spool_mutex);
      sealed.push_back(std::move(files[i]));
    }
  }
}

bool UsageWriter::State::replay_file(SpoolFile& file) {
  std::vector<std::string> malformed;
  std::uint64_t offset = 0;
  std::size_t count = 0;
  for (;;) {
    std::string text;
    try {
      text = file.read_lines(offset, kReplayChunkBytes);
    } catch (const std::system_error& e) {
      spdlog::error("usage: cannot replay {}: {}", file.path().string(), e.what());
      return true;  // the file stays for an operator; the next ones may still be read
    }
    if (text.empty()) break;
    offset += text.size();
    auto contents = parse_spool(text);
    for (auto& line : contents.malformed) malformed.push_back(std::move(line));
    std::span<const UsageRecord> rows(contents.records);
    while (!rows.empty()) {
      auto chunk = rows.first(std::min(rows.size(), options.batch_size));
      if (!connected() || insert(chunk) < chunk.size()) return false;
      replayed += chunk.size();
      count += chunk.size();
      rows = rows.subspan(chunk.size());
    }
  }
  // Only now, so that a replay cut short and repeated does not set lines aside twice.
  for (const auto& line : malformed) {
    spdlog::error("usage: {} holds a line that is no usage record; kept in {}", file.path().string(),
                  (spool_dir / ("rejected-" + stem + ".jsonl")).string());
    reject(line);
  }
  try {
    file.remove();
  } catch (const std::system_error& e) {
    spdlog::error("usage: replayed {} but cannot remove it: {}", file.path().string(), e.what());
  }
  spdlog::info("usage: replayed {} rows from {}", count, file.path().string());
  return true;
}

bool UsageWriter::State::spool(std::span<const UsageRecord> rows) {
  auto text = lines(rows);
  std::lock_guard lock(spool_mutex);
  try {
    if (!spool_file) {
      auto name = std::string(kSpoolPrefix) + stem + "-" + std::to_string(++spool_sequence) +
                  std::string(kSpoolSuffix);
      spool_file = SpoolFile::create(spool_dir / name);
    }
    spool_file->append(text);
  } catch (const std::exception& e) {
    spdlog::error("usage: cannot spool {} rows: {}", rows.size(), e.what());
    return false;
  }
  spooled += rows.size();
  queued -= static_cast<std::int64_t>(rows.size());
  return true;
}

void UsageWriter::State::spool_or_log(std::span<const UsageRecord> rows) {
  if (spool(rows)) return;
  // The last resort: the rows reach the log, from which an operator can still recover them.
  for (const auto& row : rows)
    spdlog::critical("usage: row lost, neither Postgres nor the spool took it: {}", encode_spool_line(row));
  queued -= static_cast<std::int64_t>(rows.size());
}

void UsageWriter::State::reject(std::string_view text) {
  ++rejected;
  std::lock_guard lock(spool_mutex);
  try {
    if (!rejects) rejects = SpoolFile::create(spool_dir / ("rejected-" + stem + ".jsonl"));
    rejects->append(std::string(text) + "\n");
  } catch (const std::exception& e) {
    spdlog::critical("usage: cannot keep a rejected row ({}): {}", e.what(), text);
  }
}

void UsageWriter::State::requeue(std::vector<UsageRecord>& rows) {
  std::unique_lock lock(mutex);
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) queue.push_front(std::move(*it));
  // Postgres and the disk both failed: wait before trying either again.
  writer_wake.wait_for(lock, options.retry_interval, [&] { return stopping; });
}

UsageWriter::UsageWriter(UsageWriterOptions options) : state_(std::make_unique<State>(std::move(options))) {
  state_->writer = std::thread([state = state_.get()] { state->run_writer(); });
  state_->spiller = std::thread([state = state_.get()] { state->run_spiller(); });
}

UsageWriter::~UsageWriter() { stop(); }

void UsageWriter::record(UsageRecord record) {
  auto& s = *state_;
  ++s.recorded;
  ++s.queued;
  std::unique_lock lock(s.mutex);
  if (s.stopping) {
    lock.unlock();
    s.spool_or_log(std::span<const UsageRecord>(&record, 1));
    return;
  }
  s.queue.push_back(std::move(record));
  if (s.queue.size() >= s.options.max_queued && !s.spill_wanted) {
    s.spill_wanted = true;
    s.spiller_wake.notify_one();
  } else if (s.queue.size() == s.options.batch_size) {
    s.writer_wake.notify_one();
  }
}

void UsageWriter::flush() {
  auto& s = *state_;
  std::unique_lock lock(s.mutex);
  auto target = ++s.flush_requested;
  s.writer_wake.notify_one();
  s.settled.wait(lock, [&] { return s.flush_completed >= target || s.writer_done; });
}

void UsageWriter::stop() {
  auto& s = *state_;
  std::lock_guard stopping(s.stop_mutex);
  {
    std::lock_guard lock(s.mutex);
    s.stopping = true;
  }
  s.writer_wake.notify_all();
  s.spiller_wake.notify_all();
  if (s.spiller.joinable()) s.spiller.join();
  if (s.writer.joinable()) s.writer.join();
  // The files stay, unlocked, for the next writer; an empty one would only be noise.
  std::lock_guard lock(s.spool_mutex);
  if (s.spool_file && s.spool_file->size() == 0) s.spool_file->remove();
  s.spool_file.reset();
  s.sealed.clear();
}

UsageStats UsageWriter::stats() const {
  const auto& s = *state_;
  return {.recorded = s.recorded,
          .written = s.written,
          .spooled = s.spooled,
          .replayed = s.replayed,
          .rejected = s.rejected,
          .queued = s.queued,
          .postgres_up = s.postgres_up};
}

void add_usage_metrics(Metrics& metrics, const UsageWriter& writer) {
  auto stat = [&writer](auto field) {
    return [&writer, field] { return static_cast<double>(writer.stats().*field); };
  };
  metrics.add_gauge("switchyard_usage_rows", "Usage rows by what became of them since start",
                    R"(state="recorded")", stat(&UsageStats::recorded));
  metrics.add_gauge("switchyard_usage_rows", "Usage rows by what became of them since start",
                    R"(state="written")", stat(&UsageStats::written));
  metrics.add_gauge("switchyard_usage_rows", "Usage rows by what became of them since start",
                    R"(state="spooled")", stat(&UsageStats::spooled));
  metrics.add_gauge("switchyard_usage_rows", "Usage rows by what became of them since start",
                    R"(state="replayed")", stat(&UsageStats::replayed));
  metrics.add_gauge("switchyard_usage_rows", "Usage rows by what became of them since start",
                    R"(state="rejected")", stat(&UsageStats::rejected));
  metrics.add_gauge("switchyard_usage_queued_rows", "Usage rows waiting in memory", "",
                    stat(&UsageStats::queued));
  metrics.add_gauge("switchyard_usage_postgres_up", "Whether usage rows reach Postgres", "",
                    stat(&UsageStats::postgres_up));
}

}  // namespace switchyard::usage
