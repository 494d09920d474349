#include "switchyard/usage/spool_format.hpp"

#include <algorithm>
#include <charconv>
#include <concepts>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>

namespace switchyard::usage {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::system_clock;

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

/// Writes one flat JSON object field by field: the usage writer encodes every record it sends, and building
/// an nlohmann object first cost several times the whole encoding.
class SpoolLineWriter {
 public:
  SpoolLineWriter() {
    text_.reserve(400);
    text_ += '{';
  }

  void field(std::string_view key, std::string_view value) {
    name(key);
    if (is_plain(value)) {
      text_ += '"';
      text_ += value;
      text_ += '"';
    } else {
      // Escapes, control characters, non-ASCII: nlohmann's serializer, which also replaces invalid UTF-8
      // (a request id or session id as a client sent it) rather than throwing.
      text_ += Json(std::string(value)).dump(-1, ' ', false, Json::error_handler_t::replace);
    }
  }
  void field(std::string_view key, const char* value) { field(key, std::string_view(value)); }
  void field(std::string_view key, bool value) {
    name(key);
    text_ += value ? "true" : "false";
  }
  template <std::integral T>
  void field(std::string_view key, T value) {
    name(key);
    char digits[24];
    auto [end, error] = std::to_chars(std::begin(digits), std::end(digits), value);
    static_cast<void>(error);  // 24 characters hold any 64-bit integer
    text_.append(digits, end);
  }
  template <class T>
  void field(std::string_view key, const std::optional<T>& value) {
    if (value) field(key, *value);
  }

  std::string finish() {
    text_ += '}';
    return std::move(text_);
  }

 private:
  static bool is_plain(std::string_view value) {
    return std::all_of(value.begin(), value.end(),
                       [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  }

  void name(std::string_view key) {
    if (text_.size() > 1) text_ += ',';
    text_ += '"';
    text_ += key;
    text_ += "\":";
  }

  std::string text_;
};

}  // namespace

std::string encode_spool_line(const UsageRecord& record) {
  SpoolLineWriter line;
  line.field("id", record.id);
  line.field("request_id", record.request_id);
  line.field("tenant_id", record.tenant_id);
  line.field("model_alias", record.model_alias);
  line.field("prompt_tokens", record.prompt_tokens);
  line.field("completion_tokens", record.completion_tokens);
  line.field("cached_tokens", record.cached_tokens);
  line.field("cost_micros", record.cost_micros);
  line.field("status", to_string(record.outcome));
  line.field("stream", record.stream);
  line.field("estimated", record.estimated);
  line.field(
      "created_at_us",
      std::chrono::duration_cast<std::chrono::microseconds>(record.created_at.time_since_epoch()).count());
  line.field("api_key_id", record.api_key_id);
  line.field("user_id", record.user_id);
  line.field("provider", record.provider);
  line.field("upstream_model", record.upstream_model);
  line.field("http_status", record.http_status);
  line.field("latency_ms", record.latency_ms);
  line.field("ttft_ms", record.ttft_ms);
  line.field("session_id", record.session_id);
  return line.finish();
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
