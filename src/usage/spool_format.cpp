#include "switchyard/usage/spool_format.hpp"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>

namespace switchyard::usage {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::system_clock;

template <class T>
void put(Json& object, const char* key, const std::optional<T>& value) {
  if (value) object[key] = *value;
}

/// Reads object[key] into `out` when it holds a T; a missing key leaves `out` alone unless `required`.
template <class T>
bool get(const Json& object, const char* key, T& out, bool required = false) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return !required;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return false;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return false;
  } else {
    // Integers only: a float or a value beyond T's range is not a token count or a status.
    if (!it->is_number_integer()) return false;
    if (it->is_number_unsigned() && it->get<std::uint64_t>() > std::uint64_t{std::numeric_limits<T>::max()})
      return false;
    auto value = it->get<std::int64_t>();
    if (value < std::numeric_limits<T>::min() || value > std::numeric_limits<T>::max()) return false;
  }
  out = it->get<T>();
  return true;
}

template <class T>
bool get(const Json& object, const char* key, std::optional<T>& out) {
  T value{};
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return true;
  if (!get(object, key, value, true)) return false;
  out = std::move(value);
  return true;
}

}  // namespace

std::string encode_spool_line(const UsageRecord& record) {
  Json line = {
      {"id", record.id},
      {"request_id", record.request_id},
      {"tenant_id", record.tenant_id},
      {"model_alias", record.model_alias},
      {"prompt_tokens", record.prompt_tokens},
      {"completion_tokens", record.completion_tokens},
      {"cached_tokens", record.cached_tokens},
      {"cost_micros", record.cost_micros},
      {"status", to_string(record.outcome)},
      {"stream", record.stream},
      {"estimated", record.estimated},
      {"created_at_us",
       std::chrono::duration_cast<std::chrono::microseconds>(record.created_at.time_since_epoch()).count()},
  };
  put(line, "api_key_id", record.api_key_id);
  put(line, "user_id", record.user_id);
  put(line, "provider", record.provider);
  put(line, "upstream_model", record.upstream_model);
  put(line, "http_status", record.http_status);
  put(line, "latency_ms", record.latency_ms);
  put(line, "ttft_ms", record.ttft_ms);
  put(line, "session_id", record.session_id);
  // Invalid UTF-8 (a request id or session id as a client sent it) is replaced rather than thrown on.
  return line.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<UsageRecord> decode_spool_line(std::string_view line) {
  auto object = Json::parse(line, nullptr, false);
  if (object.is_discarded() || !object.is_object()) return std::nullopt;
  UsageRecord record;
  std::string status;
  std::int64_t created_at_us = 0;
  bool ok =
      get(object, "id", record.id, true) && get(object, "request_id", record.request_id, true) &&
      get(object, "tenant_id", record.tenant_id, true) &&
      get(object, "model_alias", record.model_alias, true) && get(object, "status", status, true) &&
      get(object, "created_at_us", created_at_us, true) && get(object, "api_key_id", record.api_key_id) &&
      get(object, "user_id", record.user_id) && get(object, "provider", record.provider) &&
      get(object, "upstream_model", record.upstream_model) &&
      get(object, "prompt_tokens", record.prompt_tokens) &&
      get(object, "completion_tokens", record.completion_tokens) &&
      get(object, "cached_tokens", record.cached_tokens) && get(object, "cost_micros", record.cost_micros) &&
      get(object, "http_status", record.http_status) && get(object, "stream", record.stream) &&
      get(object, "latency_ms", record.latency_ms) && get(object, "ttft_ms", record.ttft_ms) &&
      get(object, "estimated", record.estimated) && get(object, "session_id", record.session_id);
  auto outcome = parse_request_outcome(status);
  if (!ok || !outcome || record.id.empty()) return std::nullopt;
  record.outcome = *outcome;
  record.created_at = Clock::time_point{std::chrono::microseconds{created_at_us}};
  return record;
}

SpoolContents parse_spool(std::string_view text) {
  SpoolContents contents;
  while (!text.empty()) {
    auto end = text.find('\n');
    auto line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (auto record = decode_spool_line(line)) {
      contents.records.push_back(std::move(*record));
    } else {
      contents.malformed.emplace_back(line);
    }
  }
  return contents;
}

}  // namespace switchyard::usage
