#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "switchyard/auth/catalog.hpp"

/// What every provider adapter offers the gateway: an OpenAI-shaped request in, an OpenAI-shaped answer
/// out, whatever the provider speaks on the wire.
namespace switchyard::providers {

enum class Operation { chat, completions, embeddings };

/// The capability a model needs for an operation, as the catalogue names it.
std::string_view capability_of(Operation operation);

/// The `data:` payloads of an OpenAI-shaped stream (chat.completion.chunk or text_completion JSON),
/// in order. Not thread-safe; use it on the executor that made it.
class ChunkStream {
 public:
  virtual ~ChunkStream() = default;
  /// The next payload; nullopt after the last one (OpenAI's `[DONE]`). Throws ApiError (502 when the
  /// provider breaks off or sends garbage, 504 past its deadline); cancelling the awaiting coroutine
  /// closes the upstream connection at once.
  virtual boost::asio::awaitable<std::optional<std::string>> next() = 0;
  /// Whether next() can answer without waiting on the network (a payload or the end already arrived), so
  /// that the gateway writes what came together in one write instead of one per event.
  virtual bool has_buffered() const { return false; }
};

/// A provider's successful answer: a whole JSON body, or a stream.
struct Reply {
  std::string body;                     ///< OpenAI-shaped JSON, when not streaming
  std::unique_ptr<ChunkStream> chunks;  ///< when streaming
};

/// About the request being forwarded.
struct CallContext {
  std::string request_id;  ///< sent upstream as X-Request-Id
};

/// One adapter per provider type; stateless apart from connection pools, shared by all requests.
class Provider {
 public:
  virtual ~Provider() = default;
  /// Sends `body` (OpenAI's request shape, `model` already the upstream model; `stream` set as wanted, and
  /// for streams `stream_options.include_usage` on) to `model`'s provider. A provider's own 4xx comes back
  /// as an ApiError with its status, message and Retry-After (credentials scrubbed); 5xx, refused
  /// connections and malformed answers as 502 upstream_error; a passed deadline as 504 upstream_timeout.
  virtual boost::asio::awaitable<Reply> send(Operation operation, const auth::ModelInfo& model,
                                             nlohmann::json body, const CallContext& context) = 0;
};

}  // namespace switchyard::providers
