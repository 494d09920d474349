#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "switchyard/providers/provider.hpp"

namespace switchyard::providers {

/// The built-in `mock` provider: answers made up in-process, deterministic from the input, shaped and
/// streamed exactly like OpenAI's. Quickstart's demo, the tests and the benchmarks run on it.
///
/// Provider settings: `latency_ms` (before the answer or the first chunk), `chunk_delay_ms` (between
/// stream chunks), `embedding_dimensions` (default 256). Failures are injected from the prompt, so a test
/// picks them per request: `mock:status=NNN` answers as a provider's status NNN would (4xx pass through,
/// 5xx become 502), `mock:break_after=N` breaks a stream off after N content chunks.
class MockProvider final : public Provider {
 public:
  boost::asio::awaitable<Reply> send(Operation operation, const auth::ModelInfo& model, nlohmann::json body,
                                     const CallContext& context) override;
};

/// What the mock answers, before any delay: pure, for the unit tests.
struct MockAnswer {
  std::vector<std::string> pieces;  ///< the completion's text, one piece per token
  std::int64_t prompt_tokens = 0;
  std::string finish_reason = "stop";
};

/// Tokens are whitespace-separated words (at least one per prompt); the answer echoes the last user
/// message, cut at max_tokens.
MockAnswer mock_answer(Operation operation, const nlohmann::json& body);

/// A deterministic unit vector for `text`.
std::vector<float> mock_embedding(std::string_view text, std::size_t dimensions);

}  // namespace switchyard::providers
