#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "switchyard/http/message.hpp"

namespace switchyard::testing {

/// How the fake answers. Chosen per request by the `X-Fake-Scenario` header, else by a model named
/// `fake-<scenario>` (e.g. `fake-slow`), else by set_scenario().
enum class FakeScenario {
  normal,
  slow,            ///< waits before the header and between chunks (set_delays)
  rate_limited,    ///< 429 with Retry-After and OpenAI's error body ("429")
  server_error,    ///< 500 with OpenAI's error body ("500")
  malformed_sse,   ///< a stream whose events are not JSON and that never sends [DONE]; a non-JSON body
  disconnect,      ///< closes the socket after set_disconnect_after() chunks (or half the body)
  never_answers,   ///< reads the request and waits until the client leaves ("hang")
  malformed_http,  ///< answers bytes that are not HTTP
};

/// One request the fake received.
struct FakeRequest {
  std::string method;
  std::string target;
  http::Headers headers;
  std::string body;
  std::size_t connection;  ///< index into connections()
  std::chrono::steady_clock::time_point received;
};

struct FakeConnection {
  std::chrono::steady_clock::time_point opened;
  /// When the client closed it (or the fake did, for `disconnect` and `malformed_http`).
  std::optional<std::chrono::steady_clock::time_point> closed;
};

/// A fake OpenAI upstream: a real HTTP/1.1 server on 127.0.0.1 (port 0) in a thread of its own, speaking
/// OpenAI's wire format for POST /v1/chat/completions (stream or not, stream_options.include_usage),
/// POST /v1/completions, POST /v1/embeddings (float or base64, `dimensions`) and GET /v1/models.
/// Answers are deterministic: the text echoes the last user message (the prompt for completions); a token
/// is a whitespace-separated word, of every message for the prompt and of the answer for the completion.
/// Every method is thread-safe.
class FakeUpstream {
 public:
  FakeUpstream();
  /// Closes every connection and joins the thread.
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  std::uint16_t port() const;
  /// http://127.0.0.1:PORT
  std::string base_url() const;

  void set_scenario(FakeScenario scenario);
  /// For `slow`: before the response header, and between stream chunks.
  void set_delays(std::chrono::milliseconds first_byte, std::chrono::milliseconds between_chunks);
  /// For `disconnect`: how many SSE events are sent before the socket is closed.
  void set_disconnect_after(std::size_t chunks);
  /// Answers nothing to a second request on a connection and closes it, as a server whose idle timeout
  /// fires just as the client reuses the connection.
  void set_drop_reused_connections(bool drop);
  void set_models(std::vector<std::string> ids);

  std::vector<FakeRequest> requests() const;
  std::vector<FakeConnection> connections() const;
  /// The most requests it was handling at once.
  std::size_t max_concurrent() const;
  /// Token totals of the usage objects it sent (a stream without include_usage reports none).
  std::uint64_t reported_prompt_tokens() const;
  std::uint64_t reported_completion_tokens() const;

  /// Waits up to `limit` for connection `index` to be closed; its close time, or nullopt.
  std::optional<std::chrono::steady_clock::time_point> wait_closed(std::size_t index,
                                                                   std::chrono::milliseconds limit) const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

/// The scenario a name stands for ("normal", "slow", "429", "500", "malformed_sse", "disconnect", "hang",
/// "malformed_http"), or nullopt.
std::optional<FakeScenario> fake_scenario_named(std::string_view name);

/// The answer and token counts the fake gives for a chat request body.
struct FakeAnswer {
  std::string text;
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;
};
FakeAnswer fake_chat_answer(const std::string& request_body);

}  // namespace switchyard::testing
