#include "switchyard/gateway/openai_body.hpp"

#include <simdjson.h>

#include <array>

#include "switchyard/core/error.hpp"

namespace switchyard::gateway {
namespace {

using providers::Operation;

void require_type(const char* field, bool ok, const char* expected) {
  if (!ok) {
    throw ApiError::invalid_request(
        std::string("Invalid type for '") + field + "': expected " + expected + ".", field);
  }
}

std::optional<std::int64_t> positive_integer(const nlohmann::json& body, const char* field) {
  auto found = body.find(field);
  if (found == body.end() || found->is_null()) return std::nullopt;
  require_type(field, found->is_number_integer(), "an integer");
  auto value = found->get<std::int64_t>();
  if (value < 1) throw ApiError::invalid_request(std::string("'") + field + "' must be at least 1.", field);
  return value;
}

bool is_text_or_list(const nlohmann::json& value) {
  if (value.is_string()) return true;
  if (!value.is_array() || value.empty()) return false;
  for (const auto& item : value) {
    if (!item.is_string() && !item.is_number_integer() && !item.is_array()) return false;
  }
  return true;
}

/// Answers up to this size are read with a parser kept per thread, which keeps buffers for the largest
/// document it has read; a larger answer gets a parser of its own, freed with it.
constexpr std::size_t kReusedParserLimit = 64 * 1024;

std::int64_t integer_field(simdjson::dom::element object, const char* name) {
  std::int64_t value = 0;
  return object[name].get_int64().get(value) == simdjson::SUCCESS ? value : 0;
}

AnswerSummary summarize(simdjson::dom::parser& parser, simdjson::padded_string_view text) {
  AnswerSummary summary;
  simdjson::dom::element document;
  if (parser.parse(text).get(document) != simdjson::SUCCESS) return summary;
  summary.well_formed = true;
  if (!document.is_object()) return summary;
  simdjson::dom::element usage;
  if (document["usage"].get(usage) == simdjson::SUCCESS && usage.is_object()) {
    TokenCounts counts;
    counts.prompt = integer_field(usage, "prompt_tokens");
    counts.completion = integer_field(usage, "completion_tokens");
    simdjson::dom::element details;
    if (usage["prompt_tokens_details"].get(details) == simdjson::SUCCESS && details.is_object()) {
      counts.cached = integer_field(details, "cached_tokens");
    }
    summary.usage = counts;
  }
  simdjson::dom::array choices;
  summary.empty_choices =
      document["choices"].get_array().get(choices) == simdjson::SUCCESS && choices.size() == 0;
  return summary;
}

}  // namespace

ParsedRequest parse_request(Operation operation, std::string_view text) {
  ParsedRequest parsed;
  parsed.body = nlohmann::json::parse(text, nullptr, false);
  if (parsed.body.is_discarded()) {
    throw ApiError::invalid_request(
        "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.");
  }
  auto& body = parsed.body;
  if (!body.is_object()) throw ApiError::invalid_request("The request body must be a JSON object.");

  auto model = body.find("model");
  if (model == body.end() || model->is_null())
    throw ApiError::invalid_request("Missing required parameter: 'model'.", "model");
  require_type("model", model->is_string() && !model->get_ref<const std::string&>().empty(),
               "a non-empty string");
  parsed.alias = model->get<std::string>();

  switch (operation) {
    case Operation::chat: {
      auto messages = body.find("messages");
      if (messages == body.end())
        throw ApiError::invalid_request("Missing required parameter: 'messages'.", "messages");
      require_type("messages", messages->is_array() && !messages->empty(), "a non-empty array");
      for (std::size_t i = 0; i < messages->size(); ++i) {
        const auto& message = (*messages)[i];
        auto param = "messages[" + std::to_string(i) + "]";
        if (!message.is_object() || !message.contains("role") || !message["role"].is_string()) {
          throw ApiError::invalid_request("Invalid '" + param + "': each message needs a string 'role'.",
                                          param);
        }
      }
      break;
    }
    case Operation::completions: {
      auto prompt = body.find("prompt");
      if (prompt == body.end())
        throw ApiError::invalid_request("Missing required parameter: 'prompt'.", "prompt");
      require_type("prompt", is_text_or_list(*prompt), "a string or an array");
      break;
    }
    case Operation::embeddings: {
      auto input = body.find("input");
      if (input == body.end())
        throw ApiError::invalid_request("Missing required parameter: 'input'.", "input");
      require_type("input", is_text_or_list(*input), "a string or a non-empty array");
      if (auto format = body.find("encoding_format"); format != body.end() && !format->is_null()) {
        bool known = format->is_string() && (*format == "float" || *format == "base64");
        if (!known)
          throw ApiError::invalid_request("'encoding_format' must be 'float' or 'base64'.",
                                          "encoding_format");
      }
      positive_integer(body, "dimensions");
      break;
    }
  }

  if (auto stream = body.find("stream"); stream != body.end() && !stream->is_null()) {
    require_type("stream", stream->is_boolean(), "a boolean");
    parsed.stream = stream->get<bool>();
    if (parsed.stream && operation == Operation::embeddings) {
      throw ApiError::invalid_request("Embeddings cannot be streamed.", "stream");
    }
  }
  if (auto options = body.find("stream_options"); options != body.end() && !options->is_null()) {
    require_type("stream_options", options->is_object(), "an object");
    if (auto usage = options->find("include_usage"); usage != options->end() && !usage->is_null()) {
      if (!usage->is_boolean()) {
        throw ApiError::invalid_request(
            "Invalid type for 'stream_options.include_usage': expected a boolean.",
            "stream_options.include_usage");
      }
      parsed.client_wants_usage = usage->get<bool>();
    }
  }
  auto n = positive_integer(body, "n");
  if (n && *n > 128) throw ApiError::invalid_request("'n' must be at most 128.", "n");
  parsed.max_tokens = positive_integer(body, "max_completion_tokens");
  if (!parsed.max_tokens) parsed.max_tokens = positive_integer(body, "max_tokens");
  if (parsed.max_tokens && n) *parsed.max_tokens *= *n;
  parsed.prompt_estimate = estimate_tokens(static_cast<std::int64_t>(text.size()));
  return parsed;
}

AnswerSummary summarize_answer(std::string_view text) {
  if (text.size() > kReusedParserLimit) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(text);
    return summarize(parser, padded);
  }
  // simdjson reads a little past the end of the text: a per-thread copy with room for it, reused.
  thread_local simdjson::dom::parser parser;
  thread_local std::string padded;
  padded.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  padded.assign(text);
  return summarize(parser, simdjson::padded_string_view(padded.data(), padded.size(), padded.capacity()));
}

bool may_carry_usage(std::string_view payload) {
  auto at = payload.find("\"usage\"");
  if (at == std::string_view::npos) return false;
  auto colon = payload.find(':', at + 7);
  if (colon == std::string_view::npos) return false;
  auto value = payload.find_first_not_of(" \t\r\n", colon + 1);
  return value != std::string_view::npos && payload[value] == '{';
}

std::int64_t generated_characters(std::string_view payload) {
  static constexpr std::array<std::string_view, 3> kFields = {"\"content\"", "\"text\"", "\"arguments\""};
  std::int64_t characters = 0;
  for (auto field : kFields) {
    for (auto at = payload.find(field); at != std::string_view::npos; at = payload.find(field, at + 1)) {
      auto colon = payload.find_first_not_of(" \t", at + field.size());
      if (colon == std::string_view::npos || payload[colon] != ':') continue;
      auto quote = payload.find_first_not_of(" \t", colon + 1);
      if (quote == std::string_view::npos || payload[quote] != '"') continue;
      for (auto i = quote + 1; i < payload.size() && payload[i] != '"'; ++i) {
        if (payload[i] == '\\') ++i;
        ++characters;
      }
    }
  }
  return characters;
}

std::int64_t estimate_tokens(std::int64_t characters) { return characters <= 0 ? 0 : (characters + 3) / 4; }

}  // namespace switchyard::gateway
