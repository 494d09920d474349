#include <gtest/gtest.h>
#include <signal.h>

#include <future>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "binary_support.hpp"
#include "support/fake_upstream.hpp"
#include "support/test_env.hpp"

namespace switchyard::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kKey = "sk-sy-gateway-test-0123456789";
constexpr const char* kTightKey = "sk-sy-gateway-tight-0123456789";
constexpr const char* kUpstreamSecret = "sk-upstream-very-secret";

/// A gateway process on a scratch database, seeded with an OpenAI-wire provider pointing at a fake upstream
/// and the built-in mock, serving on a free port: the whole path, over real sockets.
class Gateway : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(migrate_and_seed(database_.url(), seed_yaml()), "");
    serve_.emplace(database_.url(), test_redis_url(),
                   std::map<std::string, std::string>{{"SWITCHYARD_AUTH_CACHE_TTL_S", "1"}});
    ASSERT_TRUE(serve_->wait_for("/health", 200, 20s)) << serve_->process().output();
  }

  std::string seed_yaml() const {
    auto base = fake_.base_url() + "/v1";
    std::string models;
    for (const auto& [alias, upstream] :
         std::vector<std::pair<std::string, std::string>>{{"gpt-test", "gpt-4o-mini"},
                                                          {"gpt-slow", "fake-slow"},
                                                          {"gpt-429", "fake-429"},
                                                          {"gpt-500", "fake-500"},
                                                          {"gpt-broken-sse", "fake-malformed_sse"},
                                                          {"gpt-disconnect", "fake-disconnect"},
                                                          {"gpt-hang", "fake-hang"}}) {
      models += "  - {alias: " + alias + ", provider: upstream, upstream_model: " + upstream +
                ", capabilities: [chat, completions], input_usd_per_mtok: 1, output_usd_per_mtok: 2}\n";
    }
    return "providers:\n"
           "  - {name: upstream, type: openai, base_url: \"" +
           base + "\", api_key: " + kUpstreamSecret +
           ", timeout_s: 2}\n"
           "  - {name: mock, type: mock}\n"
           "models:\n" +
           models +
           "  - {alias: embed-test, provider: upstream, upstream_model: text-embedding-3-small, "
           "capabilities: [embeddings]}\n"
           "  - {alias: mock-chat, provider: mock, upstream_model: mock-chat, capabilities: [chat]}\n"
           "tenants:\n"
           "  - {name: acme, rpm: 100000, tpm: 100000000, parallel: 100}\n"
           "  - {name: tight, parallel: 3}\n"
           "api_keys:\n"
           "  - {name: ci, tenant: acme, secret: " +
           std::string(kKey) +
           "}\n"
           "  - {name: tight, tenant: tight, secret: " +
           std::string(kTightKey) + "}\n";
  }

  std::optional<RawResponse> post(const std::string& path, const json& body, const std::string& key = kKey,
                                  const std::string& extra = {}) {
    return http_request(serve_->port(), "POST", path, body.dump(),
                        "Authorization: Bearer " + key + "\r\nContent-Type: application/json\r\n" + extra);
  }

  static json chat(const std::string& model, const std::string& text, bool stream = false) {
    json body = {{"model", model}, {"messages", json::array({{{"role", "user"}, {"content", text}}})}};
    if (stream) body["stream"] = true;
    return body;
  }

  /// The data payloads of an SSE body.
  static std::vector<std::string> events(const std::string& body) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while ((at = body.find("data: ", at)) != std::string::npos) {
      auto end = body.find("\n\n", at);
      out.push_back(body.substr(at + 6, end - at - 6));
      at = end;
    }
    return out;
  }

  /// Sum of tokens of the usage rows, once `rows` of them are there (written behind: poll).
  std::pair<std::int64_t, std::int64_t> usage_tokens(std::size_t rows) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      pqxx::connection connection(database_.url());
      pqxx::nontransaction tx(connection);
      auto result = tx.exec1(
          "SELECT count(*), COALESCE(sum(prompt_tokens),0), COALESCE(sum(completion_tokens),0) FROM "
          "usage_records");
      if (result[0].as<std::size_t>() >= rows)
        return {result[1].as<std::int64_t>(), result[2].as<std::int64_t>()};
      std::this_thread::sleep_for(100ms);
    }
    return {-1, -1};
  }

  ScratchDatabase database_;
  FakeUpstream fake_;
  std::optional<ServeProcess> serve_;
};

TEST_F(Gateway, ChatIsForwardedWithTheProvidersCredentialsAndTheRequestId) {
  auto response =
      post("/v1/chat/completions", chat("gpt-test", "hello there"), kKey, "X-Request-Id: trace-42\r\n");
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 200) << response->body;
  auto answer = json::parse(response->body);
  EXPECT_EQ(answer["choices"][0]["message"]["content"],
            fake_chat_answer(chat("gpt-test", "hello there").dump()).text);
  EXPECT_EQ(response->header("x-request-id"), "trace-42");
  EXPECT_FALSE(response->header("x-ratelimit-limit-requests").empty());

  auto seen = fake_.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/v1/chat/completions");
  EXPECT_EQ(seen[0].headers.find("Authorization"), std::string("Bearer ") + kUpstreamSecret);
  EXPECT_EQ(seen[0].headers.find("X-Request-Id"), "trace-42");
  EXPECT_EQ(json::parse(seen[0].body)["model"], "gpt-4o-mini");

  auto tokens = usage_tokens(1);
  EXPECT_EQ(tokens.first, static_cast<std::int64_t>(fake_.reported_prompt_tokens()));
  EXPECT_EQ(tokens.second, static_cast<std::int64_t>(fake_.reported_completion_tokens()));
}

TEST_F(Gateway, StreamsPassThroughAndTheUsageChunkOnlyWhenAsked) {
  auto plain = post("/v1/chat/completions", chat("gpt-test", "one two three", true));
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->status, 200) << plain->body;
  EXPECT_EQ(plain->header("content-type"), "text/event-stream");
  auto chunks = events(plain->body);
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks.back(), "[DONE]");
  for (const auto& chunk : chunks) {
    if (chunk == "[DONE]") continue;
    EXPECT_FALSE(json::parse(chunk)["choices"].empty()) << "the usage chunk leaked: " << chunk;
  }
  EXPECT_TRUE(json::parse(fake_.requests().at(0).body)["stream_options"]["include_usage"].get<bool>())
      << "the gateway asks for usage even when the client did not";

  auto body = chat("gpt-test", "one two three", true);
  body["stream_options"] = {{"include_usage", true}};
  auto with_usage = post("/v1/chat/completions", body);
  auto all = events(with_usage->body);
  ASSERT_GE(all.size(), 2u);
  auto usage_chunk = json::parse(all[all.size() - 2]);
  EXPECT_TRUE(usage_chunk["choices"].empty());
  EXPECT_GT(usage_chunk["usage"]["completion_tokens"].get<int>(), 0);

  auto tokens = usage_tokens(2);
  EXPECT_EQ(tokens.first, static_cast<std::int64_t>(fake_.reported_prompt_tokens()));
  EXPECT_EQ(tokens.second, static_cast<std::int64_t>(fake_.reported_completion_tokens()));
}

TEST_F(Gateway, ProviderErrorsMapToOpenAIStatuses) {
  auto limited = post("/v1/chat/completions", chat("gpt-429", "x"));
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_FALSE(limited->header("retry-after").empty());
  EXPECT_EQ(limited->body.find(kUpstreamSecret), std::string::npos);

  auto failed = post("/v1/chat/completions", chat("gpt-500", "x"));
  EXPECT_EQ(failed->status, 502);
  EXPECT_EQ(json::parse(failed->body)["error"]["type"], "upstream_error");

  // An answer that is not JSON is never passed on as if it were one.
  auto garbled = post("/v1/chat/completions", chat("gpt-broken-sse", "x"));
  EXPECT_EQ(garbled->status, 502);
  EXPECT_EQ(json::parse(garbled->body)["error"]["type"], "upstream_error");

  auto started = std::chrono::steady_clock::now();
  auto silent = post("/v1/chat/completions", chat("gpt-hang", "x"));
  EXPECT_EQ(silent->status, 504);
  EXPECT_EQ(json::parse(silent->body)["error"]["type"], "upstream_timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 6s);
}

TEST_F(Gateway, FailuresAfterTheStreamStartedEndWithOneErrorEvent) {
  for (const char* model : {"gpt-broken-sse", "gpt-disconnect"}) {
    auto response = post("/v1/chat/completions", chat(model, "a b c d e f", true));
    ASSERT_TRUE(response) << model;
    EXPECT_EQ(response->status, 200) << model;
    auto all = events(response->body);
    ASSERT_FALSE(all.empty()) << model;
    auto last = json::parse(all.back(), nullptr, false);
    ASSERT_TRUE(last.is_object()) << model << ": " << all.back();
    EXPECT_TRUE(last.contains("error")) << model << ": " << all.back();
  }
}

TEST_F(Gateway, AClientThatLeavesMidStreamClosesTheUpstreamConnection) {
  fake_.set_delays(50ms, 300ms);
  {
    RawConnection client(serve_->port());
    auto body = chat("gpt-slow", "one two three four five six seven", true).dump();
    ASSERT_TRUE(client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                            std::string(kKey) + "\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body));
    std::this_thread::sleep_for(500ms);
  }
  auto left = std::chrono::steady_clock::now();
  auto closed = fake_.wait_closed(0, 2s);
  ASSERT_TRUE(closed) << "the upstream connection stayed open";
  EXPECT_LT(*closed - left, 200ms);
}

TEST_F(Gateway, EachStreamEventReachesTheClientBeforeTheNextArrives) {
  fake_.set_delays(50ms, 400ms);
  RawConnection client(serve_->port());
  auto body = chat("gpt-slow", "one two three", true).dump();
  auto sent = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                          std::string(kKey) + "\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body));
  // Events that arrive together are written together, but none waits for the next one.
  ASSERT_TRUE(client.wait_for("data: {", 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 350ms);
  ASSERT_TRUE(client.wait_for("data: [DONE]", 10s));
}

TEST_F(Gateway, ParallelLimitHoldsUnderConcurrency) {
  fake_.set_delays(200ms, 10ms);
  std::vector<std::future<int>> results;
  for (int i = 0; i < 20; ++i) {
    results.push_back(std::async(std::launch::async, [&] {
      auto response = post("/v1/chat/completions", chat("gpt-slow", "x"), kTightKey);
      return response ? response->status : 0;
    }));
  }
  int admitted = 0;
  int refused = 0;
  for (auto& result : results) {
    auto status = result.get();
    admitted += status == 200;
    refused += status == 429;
  }
  EXPECT_LE(fake_.max_concurrent(), 3u);
  EXPECT_GE(admitted, 3);
  EXPECT_EQ(admitted + refused, 20);
}

TEST_F(Gateway, ClientErrorsAreOpenAIShaped) {
  auto no_key = http_request(serve_->port(), "POST", "/v1/chat/completions", chat("gpt-test", "x").dump());
  EXPECT_EQ(no_key->status, 401);
  EXPECT_EQ(json::parse(no_key->body)["error"]["code"], "invalid_api_key");
  EXPECT_EQ(post("/v1/chat/completions", chat("gpt-test", "x"), "sk-sy-nope-0000000000")->status, 401);

  auto unknown = post("/v1/chat/completions", chat("no-such-model", "x"));
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(json::parse(unknown->body)["error"]["code"], "model_not_found");

  auto wrong_capability = post("/v1/chat/completions", chat("embed-test", "x"));
  EXPECT_EQ(wrong_capability->status, 400);
  EXPECT_EQ(json::parse(wrong_capability->body)["error"]["param"], "model");

  auto bad_json = http_request(serve_->port(), "POST", "/v1/chat/completions", "{not json",
                               std::string("Authorization: Bearer ") + kKey + "\r\n");
  EXPECT_EQ(bad_json->status, 400);
  auto wrong_type = post("/v1/chat/completions", {{"model", "gpt-test"}, {"messages", "hello"}});
  EXPECT_EQ(wrong_type->status, 400);
  EXPECT_EQ(json::parse(wrong_type->body)["error"]["param"], "messages");
  auto missing = post("/v1/embeddings", {{"model", "embed-test"}});
  EXPECT_EQ(json::parse(missing->body)["error"]["param"], "input");
}

TEST_F(Gateway, ModelsListOnlyWhatTheTenantMayUse) {
  auto list = http_request(serve_->port(), "GET", "/v1/models", "",
                           std::string("Authorization: Bearer ") + kKey + "\r\n");
  ASSERT_EQ(list->status, 200);
  auto body = json::parse(list->body);
  EXPECT_EQ(body["object"], "list");
  EXPECT_GE(body["data"].size(), 3u);
  auto one = http_request(serve_->port(), "GET", "/v1/models/mock-chat", "",
                          std::string("x-api-key: ") + kKey + "\r\n");
  EXPECT_EQ(json::parse(one->body)["id"], "mock-chat");
  auto missing = http_request(serve_->port(), "GET", "/v1/models/unknown", "",
                              std::string("x-api-key: ") + kKey + "\r\n");
  EXPECT_EQ(missing->status, 404);
}

TEST_F(Gateway, EmbeddingsPassThroughFloatAndBase64) {
  auto floats = post("/v1/embeddings", {{"model", "embed-test"}, {"input", "hello"}, {"dimensions", 4}});
  ASSERT_EQ(floats->status, 200) << floats->body;
  EXPECT_EQ(json::parse(floats->body)["data"][0]["embedding"].size(), 4u);
  auto base64 =
      post("/v1/embeddings", {{"model", "embed-test"}, {"input", "hello"}, {"encoding_format", "base64"}});
  ASSERT_EQ(base64->status, 200) << base64->body;
  EXPECT_TRUE(json::parse(base64->body)["data"][0]["embedding"].is_string());
}

TEST_F(Gateway, TheMockProviderAnswersAndStreams) {
  auto answer = post("/v1/chat/completions", chat("mock-chat", "ping pong"));
  ASSERT_EQ(answer->status, 200) << answer->body;
  EXPECT_EQ(json::parse(answer->body)["choices"][0]["message"]["content"], "Mock answer: ping pong");
  auto stream = post("/v1/chat/completions", chat("mock-chat", "ping pong", true));
  auto all = events(stream->body);
  EXPECT_EQ(all.back(), "[DONE]");
  auto broken = post("/v1/chat/completions", chat("mock-chat", "a mock:break_after=2 b c", true));
  EXPECT_TRUE(json::parse(events(broken->body).back()).contains("error"));
}

}  // namespace
}  // namespace switchyard::testing
