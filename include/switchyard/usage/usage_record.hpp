#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "switchyard/core/tenancy.hpp"

namespace switchyard::usage {

/// A model's prices in micro-dollars per million tokens, as the models table holds them.
struct Prices {
  Micros input_per_mtok = 0;
  Micros output_per_mtok = 0;
  /// Price of prompt tokens served from the provider's cache; nullopt: the input price.
  std::optional<Micros> cached_input_per_mtok;
};

/// How a request ended, as usage_records.status spells it.
enum class RequestOutcome { completed, failed, cancelled };

/// One request's usage: a row of usage_records.
struct UsageRecord {
  /// Made by the gateway (new_usage_id) before the first write, so a replayed row is inserted only once.
  std::string id;
  std::string request_id;
  std::string tenant_id;
  std::optional<std::string> api_key_id;
  std::optional<std::string> user_id;
  std::string model_alias;
  std::optional<std::string> provider;
  std::optional<std::string> upstream_model;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  /// Part of prompt_tokens that the provider served from its cache.
  std::int64_t cached_tokens = 0;
  Micros cost_micros = 0;
  RequestOutcome outcome = RequestOutcome::completed;
  /// What the client was answered with (200 for a stream that failed later).
  std::optional<int> http_status;
  bool stream = false;
  std::optional<std::int32_t> latency_ms;
  std::optional<std::int32_t> ttft_ms;
  /// The provider reported no usage and the gateway counted the tokens itself.
  bool estimated = false;
  std::optional<std::string> session_id;
  /// When the request ended: a row replayed later keeps its real time. Stored to the microsecond.
  std::chrono::system_clock::time_point created_at;
};

/// A random (version 4) UUID in its 36-character text form. Thread-safe.
std::string new_usage_id();

/// "completed", "failed" or "cancelled".
const char* to_string(RequestOutcome outcome);
std::optional<RequestOutcome> parse_request_outcome(std::string_view text);

/// The cost of one request in micro-dollars: uncached prompt tokens at the input price, cached ones at the
/// cached price (the input price when that is unset), completion tokens at the output price. The sum is
/// computed exactly in 128-bit integers and rounded once, to the nearest micro-dollar, halves up: 1 token
/// at $1/Mtok is exactly 1 micro-dollar, 1 token at $0.40/Mtok is 0, 2 tokens at $0.25/Mtok are 1 (0.5).
/// Negative counts and prices count as 0, cached tokens beyond prompt_tokens as prompt_tokens, and a
/// result beyond the int64 range saturates, so nothing a provider reports can overflow.
Micros cost_micros(const Prices& prices, std::int64_t prompt_tokens, std::int64_t completion_tokens,
                   std::int64_t cached_tokens);

}  // namespace switchyard::usage
