#include "switchyard/gateway/openai_body.hpp"

#include <gtest/gtest.h>

#include "switchyard/core/error.hpp"

namespace switchyard::gateway {
namespace {

using providers::Operation;

std::string param_of(Operation operation, const std::string& body) {
  try {
    parse_request(operation, body);
  } catch (const ApiError& error) {
    EXPECT_EQ(error.status(), 400) << body;
    EXPECT_EQ(error.type(), "invalid_request_error") << body;
    return error.param().empty() ? "(none)" : error.param();
  }
  return "";
}

TEST(ParseRequest, AcceptsAndReadsAChatRequest) {
  auto parsed = parse_request(
      Operation::chat,
      R"({"model":"gpt","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":20,"n":2,"tools":[{"type":"function"}]})");
  EXPECT_EQ(parsed.alias, "gpt");
  EXPECT_TRUE(parsed.stream);
  EXPECT_TRUE(parsed.client_wants_usage);
  EXPECT_EQ(parsed.max_tokens, 40) << "max_tokens counts for each of the n choices";
  EXPECT_GT(parsed.prompt_estimate, 0);
  EXPECT_TRUE(parsed.body.contains("tools")) << "unknown fields pass through";
}

TEST(ParseRequest, MaxCompletionTokensWins) {
  auto parsed =
      parse_request(Operation::chat,
                    R"({"model":"m","messages":[{"role":"user"}],"max_tokens":5,"max_completion_tokens":7})");
  EXPECT_EQ(parsed.max_tokens, 7);
}

TEST(ParseRequest, EveryBadFieldIsNamed) {
  EXPECT_EQ(param_of(Operation::chat, "{not json"), "(none)");
  EXPECT_EQ(param_of(Operation::chat, "[1,2]"), "(none)");
  EXPECT_EQ(param_of(Operation::chat, R"({"messages":[]})"), "model");
  EXPECT_EQ(param_of(Operation::chat, R"({"model":5,"messages":[]})"), "model");
  EXPECT_EQ(param_of(Operation::chat, R"({"model":""})"), "model");
  EXPECT_EQ(param_of(Operation::chat, R"({"model":"m"})"), "messages");
  EXPECT_EQ(param_of(Operation::chat, R"({"model":"m","messages":"hi"})"), "messages");
  EXPECT_EQ(param_of(Operation::chat, R"({"model":"m","messages":[]})"), "messages");
  EXPECT_EQ(param_of(Operation::chat, R"({"model":"m","messages":[{"content":"x"}]})"), "messages[0]");
  EXPECT_EQ(param_of(Operation::chat, R"({"model":"m","messages":[{"role":"user"}],"stream":"yes"})"),
            "stream");
  EXPECT_EQ(param_of(Operation::chat, R"({"model":"m","messages":[{"role":"user"}],"max_tokens":0})"),
            "max_tokens");
  EXPECT_EQ(param_of(Operation::chat, R"({"model":"m","messages":[{"role":"user"}],"max_tokens":1.5})"),
            "max_tokens");
  EXPECT_EQ(param_of(Operation::chat, R"({"model":"m","messages":[{"role":"user"}],"n":500})"), "n");
  EXPECT_EQ(param_of(Operation::chat, R"({"model":"m","messages":[{"role":"user"}],"stream_options":1})"),
            "stream_options");
  EXPECT_EQ(param_of(Operation::completions, R"({"model":"m"})"), "prompt");
  EXPECT_EQ(param_of(Operation::completions, R"({"model":"m","prompt":{}})"), "prompt");
  EXPECT_EQ(param_of(Operation::embeddings, R"({"model":"m"})"), "input");
  EXPECT_EQ(param_of(Operation::embeddings, R"({"model":"m","input":[]})"), "input");
  EXPECT_EQ(param_of(Operation::embeddings, R"({"model":"m","input":"x","encoding_format":"hex"})"),
            "encoding_format");
  EXPECT_EQ(param_of(Operation::embeddings, R"({"model":"m","input":"x","dimensions":0})"), "dimensions");
  EXPECT_EQ(param_of(Operation::embeddings, R"({"model":"m","input":"x","stream":true})"), "stream");
}

TEST(SummarizeAnswer, ReadsChatEmbeddingsAndCachedTokens) {
  auto chat = summarize_answer(
      R"({"id":"x","choices":[{"message":{"content":"hi","usage":{"prompt_tokens":99}}}],)"
      R"("usage":{"prompt_tokens":10,"completion_tokens":4,"completion_tokens_details":{"cached_tokens":7},)"
      R"("prompt_tokens_details":{"cached_tokens":6},"total_tokens":14}})");
  ASSERT_TRUE(chat.well_formed);
  ASSERT_TRUE(chat.usage);
  EXPECT_EQ(chat.usage->prompt, 10);
  EXPECT_EQ(chat.usage->completion, 4);
  EXPECT_EQ(chat.usage->cached, 6);
  EXPECT_FALSE(chat.empty_choices);
  auto embeddings = summarize_answer(R"({"usage":{"prompt_tokens":3,"total_tokens":3}})");
  ASSERT_TRUE(embeddings.usage);
  EXPECT_EQ(embeddings.usage->prompt, 3);
  EXPECT_EQ(embeddings.usage->completion, 0);
  EXPECT_FALSE(summarize_answer(R"({"usage":null})").usage);
  EXPECT_FALSE(summarize_answer(R"({"usage":[{"prompt_tokens":1}]})").usage);
  EXPECT_FALSE(summarize_answer(R"([{"usage":{"prompt_tokens":1}}])").usage);
  EXPECT_FALSE(summarize_answer(R"({"data":{"usage":{"prompt_tokens":1}}})").usage);
}

TEST(SummarizeAnswer, TellsAUsageOnlyChunkAndMalformedText) {
  auto usage_only = summarize_answer(R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}})");
  EXPECT_TRUE(usage_only.empty_choices);
  EXPECT_EQ(usage_only.usage->completion, 2);
  EXPECT_FALSE(summarize_answer(R"({"choices":[{"delta":{}}]})").empty_choices);
  EXPECT_FALSE(summarize_answer(R"({"choices":[null]})").empty_choices);
  EXPECT_FALSE(summarize_answer(R"({"x":{"choices":[]}})").empty_choices);
  auto torn = summarize_answer(R"({"usage":{"prompt_tokens":1,)");
  EXPECT_FALSE(torn.well_formed);
  EXPECT_FALSE(torn.usage);
  EXPECT_FALSE(summarize_answer("not json").well_formed);
  EXPECT_TRUE(summarize_answer("[]").well_formed);
}

TEST(MayCarryUsage, OnlyChunksWithAUsageObject) {
  EXPECT_TRUE(may_carry_usage(R"({"choices":[],"usage":{"prompt_tokens":1}})"));
  EXPECT_TRUE(may_carry_usage(R"({"choices":[], "usage" : {"prompt_tokens":1}})"));
  EXPECT_FALSE(may_carry_usage(R"({"choices":[{"delta":{}}],"usage":null})"));
  EXPECT_FALSE(may_carry_usage(R"({"choices":[{"delta":{"content":"usage"}}]})"));
}

TEST(GeneratedCharacters, CountsContentTextAndArgumentsWithEscapes) {
  EXPECT_EQ(generated_characters(R"({"choices":[{"delta":{"content":"Hello"}}]})"), 5);
  EXPECT_EQ(generated_characters(R"({"choices":[{"delta":{"content":"a\"b"}}]})"), 3);
  EXPECT_EQ(generated_characters(R"({"choices":[{"text":"abc"}]})"), 3);
  EXPECT_EQ(
      generated_characters(R"({"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{}"}}]}}]})"), 2);
  EXPECT_EQ(generated_characters(R"({"choices":[{"delta":{"content":null}}]})"), 0);
}

TEST(EstimateTokens, FourCharactersATokenRoundedUp) {
  EXPECT_EQ(estimate_tokens(0), 0);
  EXPECT_EQ(estimate_tokens(1), 1);
  EXPECT_EQ(estimate_tokens(4), 1);
  EXPECT_EQ(estimate_tokens(5), 2);
}

}  // namespace
}  // namespace switchyard::gateway
