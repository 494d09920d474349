#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "switchyard/providers/provider.hpp"

/// The parts of OpenAI's request and answer bodies the gateway reads; everything else passes through.
/// Pure functions, unit-tested and fuzzable.
namespace switchyard::gateway {

/// A validated request body of chat, completions or embeddings.
struct ParsedRequest {
  nlohmann::json body;  ///< the whole body as sent, to be forwarded
  std::string alias;    ///< `model`
  bool stream = false;
  bool client_wants_usage = false;         ///< stream_options.include_usage as the client sent it
  std::optional<std::int64_t> max_tokens;  ///< max_completion_tokens, else max_tokens
  std::int64_t prompt_estimate = 0;        ///< tokens, for the TPM and budget reservations
};

/// Parses and checks `text`: malformed JSON, a missing field or a wrong type is a 400 invalid_request_error
/// whose `param` names the field. Unknown fields are kept and passed on.
ParsedRequest parse_request(providers::Operation operation, std::string_view text);

/// Token counts of one request.
struct TokenCounts {
  std::int64_t prompt = 0;
  std::int64_t completion = 0;
  std::int64_t cached = 0;
};

/// What the gateway reads of an OpenAI answer or stream chunk (chat, completions, embeddings).
struct AnswerSummary {
  bool well_formed = false;          ///< the text is one JSON value
  std::optional<TokenCounts> usage;  ///< its top-level `usage` object; nullopt when absent or null
  bool empty_choices = false;        ///< its top-level `choices` is [] (a stream's usage-only chunk)
};

/// Checks and reads `text` with simdjson: answers pass through as they came, and only these few fields are
/// needed from them (nlohmann's parser cost ~100 instructions a byte here, a tenth of a request's CPU).
AnswerSummary summarize_answer(std::string_view text);

/// Whether a stream payload may carry usage: a cheap scan, so that only those chunks are parsed.
bool may_carry_usage(std::string_view payload);

/// Characters of generated text in a stream payload (`content`, `text`, tool-call `arguments`), for
/// estimating the completion when the provider never reports usage. A scan, not a parse.
std::int64_t generated_characters(std::string_view payload);

/// Roughly four characters a token, never less than one for non-empty text.
std::int64_t estimate_tokens(std::int64_t characters);

}  // namespace switchyard::gateway
