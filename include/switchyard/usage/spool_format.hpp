#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/usage/usage_record.hpp"

/// The spool's line format: one JSON object per usage record, keys named as usage_records' columns, with
/// created_at as integer microseconds since the Unix epoch ("created_at_us") so that it round-trips exactly.
/// Optional fields that are unset are left out. Also the format in which batches are sent to Postgres.
namespace switchyard::usage {

/// The record as one line of JSON, without the trailing newline.
std::string encode_spool_line(const UsageRecord& record);

/// The record a line holds; nullopt when it is not one (bad JSON, a required field missing or mistyped).
std::optional<UsageRecord> decode_spool_line(std::string_view line);

/// What a spool file holds: its records in file order, and the non-empty lines that are not records (a
/// line torn by a crash, a stray edit), which the caller keeps aside rather than drop.
struct SpoolContents {
  std::vector<UsageRecord> records;
  std::vector<std::string> malformed;
};

/// Splits a spool file's text into lines ('\n'; a last line without one counts too) and decodes each.
SpoolContents parse_spool(std::string_view text);

}  // namespace switchyard::usage
