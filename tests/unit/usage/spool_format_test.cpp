#include "switchyard/usage/spool_format.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace switchyard::usage {
namespace {

using namespace std::chrono_literals;

UsageRecord full_record() {
  UsageRecord record;
  record.id = "3f1c2a9e-5b7d-4c1e-9a2b-6d8e0f1a2b3c";
  record.request_id = "req_\"quoted\"\n\\ é";
  record.tenant_id = "0b6f5a7c-1d2e-4f30-8a9b-0c1d2e3f4a5b";
  record.api_key_id = "1c7a6b8d-2e3f-4a41-9b0c-1d2e3f4a5b6c";
  record.user_id = "2d8b7c9e-3f4a-4b52-8c1d-2e3f4a5b6c7d";
  record.model_alias = "gpt-4o-mini";
  record.provider = "openai";
  record.upstream_model = "gpt-4o-mini-2024-07-18";
  record.prompt_tokens = 1234;
  record.completion_tokens = 567;
  record.cached_tokens = 200;
  record.cost_micros = 9'223'372'036'854'775'807;
  record.outcome = RequestOutcome::cancelled;
  record.http_status = 200;
  record.stream = true;
  record.latency_ms = 2345;
  record.ttft_ms = 120;
  record.estimated = true;
  record.session_id = "sess-1";
  record.created_at = std::chrono::system_clock::time_point{1'700'000'000'123'456us};
  return record;
}

void expect_same(const UsageRecord& a, const UsageRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.request_id, b.request_id);
  EXPECT_EQ(a.tenant_id, b.tenant_id);
  EXPECT_EQ(a.api_key_id, b.api_key_id);
  EXPECT_EQ(a.user_id, b.user_id);
  EXPECT_EQ(a.model_alias, b.model_alias);
  EXPECT_EQ(a.provider, b.provider);
  EXPECT_EQ(a.upstream_model, b.upstream_model);
  EXPECT_EQ(a.prompt_tokens, b.prompt_tokens);
  EXPECT_EQ(a.completion_tokens, b.completion_tokens);
  EXPECT_EQ(a.cached_tokens, b.cached_tokens);
  EXPECT_EQ(a.cost_micros, b.cost_micros);
  EXPECT_EQ(a.outcome, b.outcome);
  EXPECT_EQ(a.http_status, b.http_status);
  EXPECT_EQ(a.stream, b.stream);
  EXPECT_EQ(a.latency_ms, b.latency_ms);
  EXPECT_EQ(a.ttft_ms, b.ttft_ms);
  EXPECT_EQ(a.estimated, b.estimated);
  EXPECT_EQ(a.session_id, b.session_id);
  EXPECT_EQ(a.created_at, b.created_at);
}

TEST(SpoolLine, RoundTripsEveryField) {
  auto record = full_record();
  auto line = encode_spool_line(record);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one record, one line";
  auto decoded = decode_spool_line(line);
  ASSERT_TRUE(decoded) << line;
  expect_same(*decoded, record);
}

TEST(SpoolLine, EscapesWhatClientsSendAndReplacesInvalidUtf8) {
  auto record = full_record();
  record.request_id = "quote\" backslash\\ tab\t newline\n bell\x07 é 名";
  record.session_id = std::string("bad \xff\xfe utf-8");
  auto line = encode_spool_line(record);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one record, one line";
  auto decoded = decode_spool_line(line);
  ASSERT_TRUE(decoded) << line;
  EXPECT_EQ(decoded->request_id, record.request_id);
  EXPECT_EQ(decoded->session_id, std::string("bad \xef\xbf\xbd\xef\xbf\xbd utf-8"));
}

TEST(SpoolLine, LeavesUnsetOptionalsOutAndReadsThemBackUnset) {
  UsageRecord record;
  record.id = "3f1c2a9e-5b7d-4c1e-9a2b-6d8e0f1a2b3c";
  record.request_id = "r";
  record.tenant_id = "0b6f5a7c-1d2e-4f30-8a9b-0c1d2e3f4a5b";
  record.model_alias = "m";
  record.created_at = std::chrono::system_clock::time_point{-5us};  // before the epoch, still exact
  auto line = encode_spool_line(record);
  EXPECT_EQ(line.find("api_key_id"), std::string::npos);
  EXPECT_EQ(line.find("null"), std::string::npos);
  auto decoded = decode_spool_line(line);
  ASSERT_TRUE(decoded);
  expect_same(*decoded, record);
}

TEST(SpoolLine, RefusesWhatIsNoRecord) {
  auto good = nlohmann::json::parse(encode_spool_line(full_record()));
  auto without = [&](const char* key) {
    auto line = good;
    line.erase(key);
    return line.dump();
  };
  auto with = [&](const char* key, nlohmann::json value) {
    auto line = good;
    line[key] = std::move(value);
    return line.dump();
  };
  for (const auto& line :
       {std::string(), std::string("{"), std::string("[]"), std::string("42"),
        encode_spool_line(full_record()).substr(0, 60), without("id"), without("tenant_id"),
        without("request_id"), without("model_alias"), without("status"), without("created_at_us"),
        with("status", "done"), with("prompt_tokens", "12"), with("prompt_tokens", 1.5),
        with("http_status", 1LL << 40), with("cost_micros", 18'446'744'073'709'551'615ULL), with("stream", 1),
        with("provider", 7), with("id", "")}) {
    EXPECT_FALSE(decode_spool_line(line)) << line;
  }
  EXPECT_TRUE(decode_spool_line(with("provider", nullptr))) << "null reads as unset";
}

TEST(SpoolContents, DecodesGoodLinesAndKeepsTheOthersAside) {
  auto a = full_record();
  auto b = full_record();
  b.id = "4a2d3b0f-6c8e-4d2f-8b3c-7e9f1a2b3c4d";
  auto torn = encode_spool_line(b).substr(0, 40);
  auto text = encode_spool_line(a) + "\n\nnot json\n  \n" + encode_spool_line(b) + "\n" + torn;
  auto contents = parse_spool(text);
  ASSERT_EQ(contents.records.size(), 2u);
  expect_same(contents.records[0], a);
  expect_same(contents.records[1], b);
  ASSERT_EQ(contents.malformed.size(), 2u);
  EXPECT_EQ(contents.malformed[0], "not json");
  EXPECT_EQ(contents.malformed[1], torn) << "a last line cut by a crash is kept, not dropped";
  EXPECT_TRUE(parse_spool("").records.empty());
}

}  // namespace
}  // namespace switchyard::usage
