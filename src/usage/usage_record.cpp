#include "switchyard/usage/usage_record.hpp"

#include <algorithm>
#include <limits>

#include "switchyard/core/crypto.hpp"

namespace switchyard::usage {
namespace {

// GCC's 128-bit integer is an extension; __extension__ keeps -Wpedantic quiet about it.
__extension__ using Wide = __int128;

constexpr Wide kTokensPerPriceUnit = 1'000'000;  // prices are per million tokens

Wide non_negative(std::int64_t value) { return std::max<std::int64_t>(value, 0); }

}  // namespace

std::string new_usage_id() {
  auto bytes = crypto::unique_id_bytes(16);
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  auto text = crypto::hex(bytes);
  for (auto at : {8, 13, 18, 23}) text.insert(static_cast<std::size_t>(at), 1, '-');
  return text;
}

const char* to_string(RequestOutcome outcome) {
  switch (outcome) {
    case RequestOutcome::completed:
      return "completed";
    case RequestOutcome::failed:
      return "failed";
    case RequestOutcome::cancelled:
      return "cancelled";
  }
  return "failed";
}

std::optional<RequestOutcome> parse_request_outcome(std::string_view text) {
  if (text == "completed") return RequestOutcome::completed;
  if (text == "failed") return RequestOutcome::failed;
  if (text == "cancelled") return RequestOutcome::cancelled;
  return std::nullopt;
}

Micros cost_micros(const Prices& prices, std::int64_t prompt_tokens, std::int64_t completion_tokens,
                   std::int64_t cached_tokens) {
  Wide prompt = non_negative(prompt_tokens);
  Wide cached = std::min(non_negative(cached_tokens), prompt);
  Wide input_price = non_negative(prices.input_per_mtok);
  Wide cached_price = non_negative(prices.cached_input_per_mtok.value_or(prices.input_per_mtok));
  // Each product is below 2^126 (both factors below 2^63), but their sum may not be: add with care.
  Wide limit = static_cast<Wide>(std::numeric_limits<Micros>::max()) * kTokensPerPriceUnit;
  Wide total = 0;
  for (Wide part : {(prompt - cached) * input_price, cached * cached_price,
                    non_negative(completion_tokens) * non_negative(prices.output_per_mtok)}) {
    total = part >= limit - total ? limit : total + part;
  }
  if (total >= limit) return std::numeric_limits<Micros>::max();
  return static_cast<Micros>((total + kTokensPerPriceUnit / 2) / kTokensPerPriceUnit);
}

}  // namespace switchyard::usage
