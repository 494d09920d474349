#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>

#include "support/temp_dir.hpp"
#include "switchyard/usage/usage_writer.hpp"

namespace switchyard::usage::testing {

/// A data directory of its own, removed at the end.
class TempDataDir {
 public:
  const std::filesystem::path& path() const { return dir_.path(); }
  std::filesystem::path spool() const { return dir_.path() / "spool"; }

 private:
  switchyard::testing::TempDir dir_{"switchyard-usage"};
};

/// Record number `n` of a test: token counts that differ from row to row, so that sums catch a lost or
/// doubled row.
inline UsageRecord numbered_record(std::int64_t n, const std::string& tenant) {
  UsageRecord record;
  record.id = new_usage_id();
  record.request_id = "req_" + std::to_string(n);
  record.tenant_id = tenant;
  record.model_alias = "mock-chat";
  record.provider = "mock";
  record.prompt_tokens = 10 + n % 97;
  record.completion_tokens = 1 + n % 13;
  record.cached_tokens = n % 5;
  record.cost_micros = n % 1000;
  record.http_status = 200;
  record.stream = n % 2 == 0;
  record.latency_ms = static_cast<std::int32_t>(n % 500);
  record.created_at = std::chrono::system_clock::now();
  return record;
}

/// What the table holds: rows, distinct request ids and token sums.
struct Totals {
  std::int64_t rows = 0;
  std::int64_t requests = 0;
  std::int64_t prompt = 0;
  std::int64_t completion = 0;
  bool operator==(const Totals&) const = default;
};

inline Totals expected_totals(std::int64_t first, std::int64_t count) {
  Totals totals{.rows = count, .requests = count};
  for (auto n = first; n < first + count; ++n) {
    totals.prompt += 10 + n % 97;
    totals.completion += 1 + n % 13;
  }
  return totals;
}

inline Totals table_totals(const std::string& url) {
  pqxx::connection connection(url);
  pqxx::read_transaction tx(connection);
  auto row = tx.exec1(
      "SELECT count(*), count(DISTINCT request_id), coalesce(sum(prompt_tokens), 0), "
      "coalesce(sum(completion_tokens), 0) FROM usage_records");
  return {row[0].as<std::int64_t>(), row[1].as<std::int64_t>(), row[2].as<std::int64_t>(),
          row[3].as<std::int64_t>()};
}

/// Lines in the spool files (usage-*.jsonl) under `spool`.
inline std::int64_t spooled_lines(const std::filesystem::path& spool) {
  std::int64_t lines = 0;
  for (const auto& entry : std::filesystem::directory_iterator(spool)) {
    if (!entry.path().filename().string().starts_with("usage-")) continue;
    std::ifstream file(entry.path());
    std::string line;
    while (std::getline(file, line)) ++lines;
  }
  return lines;
}

inline int spool_files(const std::filesystem::path& spool) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(spool)) {
    files += entry.path().filename().string().starts_with("usage-") ? 1 : 0;
  }
  return files;
}

}  // namespace switchyard::usage::testing
