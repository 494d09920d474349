#include <gtest/gtest.h>

#include "switchyard/providers/mock.hpp"
#include "switchyard/providers/openai_wire.hpp"
#include "switchyard/providers/upstream_errors.hpp"

namespace switchyard::providers {
namespace {

auth::ModelInfo model_on(std::string type, std::string base_url, nlohmann::json settings,
                         nlohmann::json credentials) {
  auto provider = std::make_shared<auth::ProviderInfo>();
  provider->name = "p";
  provider->type = std::move(type);
  provider->base_url = std::move(base_url);
  provider->settings = std::move(settings);
  provider->credentials = std::move(credentials);
  auth::ModelInfo model;
  model.alias = "alias";
  model.upstream_model = "gpt-4o";
  model.provider = provider;
  return model;
}

TEST(WireTarget, OpenAiAndCompatibleServers) {
  auto openai = wire_target(model_on("openai", "https://api.openai.com/v1/", {}, {{"api_key", "sk-1"}}),
                            Operation::chat);
  EXPECT_EQ(openai.url, "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(openai.headers.find("Authorization"), "Bearer sk-1");
  auto ollama =
      wire_target(model_on("openai_compatible", "http://localhost:11434/v1", {}, {}), Operation::embeddings);
  EXPECT_EQ(ollama.url, "http://localhost:11434/v1/embeddings");
  EXPECT_FALSE(ollama.headers.contains("Authorization")) << "no key, no header";
}

TEST(WireTarget, AzureClassicDeploymentUrls) {
  auto classic = wire_target(model_on("azure", "https://res.openai.azure.com",
                                      {{"api_version", "2024-10-21"}}, {{"api_key", "az-key"}}),
                             Operation::completions);
  EXPECT_EQ(classic.url,
            "https://res.openai.azure.com/openai/deployments/gpt-4o/completions?api-version=2024-10-21");
  EXPECT_EQ(classic.headers.find("api-key"), "az-key");
  EXPECT_FALSE(classic.headers.contains("Authorization"));
  auto named =
      wire_target(model_on("azure", "https://res.openai.azure.com",
                           {{"api_version", "2024-06-01"}, {"deployment", "prod-4o"}}, {{"api_key", "k"}}),
                  Operation::chat);
  EXPECT_EQ(
      named.url,
      "https://res.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2024-06-01");
}

TEST(WireTarget, AzureV1AndBearerAuth) {
  auto v1 = wire_target(model_on("azure", "https://res.openai.azure.com/openai/v1", {{"auth", "bearer"}},
                                 {{"api_key", "az-key"}}),
                        Operation::chat);
  EXPECT_EQ(v1.url, "https://res.openai.azure.com/openai/v1/chat/completions");
  EXPECT_EQ(v1.headers.find("Authorization"), "Bearer az-key");
  auto entra =
      wire_target(model_on("azure", "https://res.openai.azure.com/openai/v1", {}, {{"bearer_token", "eyJ"}}),
                  Operation::chat);
  EXPECT_EQ(entra.headers.find("Authorization"), "Bearer eyJ");
}

TEST(UpstreamErrors, FourHundredsPassThroughScrubbed) {
  auto error = upstream_status_error(
      429,
      R"({"error":{"message":"Rate limit for key sk-secret reached","type":"requests","code":"rate_limit_exceeded"}})",
      "7", {"sk-secret"});
  EXPECT_EQ(error.status(), 429);
  EXPECT_EQ(std::string(error.what()), "Rate limit for key [redacted] reached");
  EXPECT_EQ(error.code(), "rate_limit_exceeded");
  ASSERT_EQ(error.headers().size(), 1u);
  EXPECT_EQ(error.headers()[0].second, "7");
}

TEST(UpstreamErrors, VllmsFlatErrorsAndPlainText) {
  auto flat = upstream_status_error(
      400, R"({"object":"error","message":"too long","type":"BadRequestError","code":400})", std::nullopt,
      {});
  EXPECT_EQ(flat.status(), 400);
  EXPECT_EQ(std::string(flat.what()), "too long");
  EXPECT_EQ(flat.type(), "invalid_request_error");
  auto text = upstream_status_error(404, "no such deployment", std::nullopt, {});
  EXPECT_EQ(std::string(text.what()), "no such deployment");
}

TEST(UpstreamErrors, FiveHundredsBecome502) {
  auto error = upstream_status_error(503, R"({"error":{"message":"overloaded"}})", "1", {});
  EXPECT_EQ(error.status(), 502);
  EXPECT_EQ(error.type(), "upstream_error");
  EXPECT_NE(error.detail().find("overloaded"), std::string::npos);
}

TEST(MockAnswer, EchoesTheLastUserMessageAndCountsWords) {
  auto answer = mock_answer(Operation::chat, nlohmann::json::parse(
                                                 R"({"messages":[{"role":"system","content":"be brief"},
                                                     {"role":"user","content":"hello big world"}]})"));
  EXPECT_EQ(answer.prompt_tokens, 5);
  ASSERT_EQ(answer.pieces.size(), 5u);
  EXPECT_EQ(answer.pieces[0], "Mock");
  EXPECT_EQ(answer.pieces[4], " world");
  EXPECT_EQ(answer.finish_reason, "stop");
  auto cut = mock_answer(
      Operation::chat,
      nlohmann::json::parse(R"({"max_tokens":2,"messages":[{"role":"user","content":"a b c"}]})"));
  EXPECT_EQ(cut.pieces.size(), 2u);
  EXPECT_EQ(cut.finish_reason, "length");
}

TEST(MockEmbedding, DeterministicUnitVectors) {
  auto a = mock_embedding("text", 16);
  EXPECT_EQ(a, mock_embedding("text", 16));
  EXPECT_NE(a, mock_embedding("other", 16));
  double norm = 0;
  for (float value : a) norm += static_cast<double>(value) * static_cast<double>(value);
  EXPECT_NEAR(norm, 1.0, 1e-5);
}

}  // namespace
}  // namespace switchyard::providers
