#include "switchyard/http/upstream_client.hpp"

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <memory>

#include "upstream_connection.hpp"

namespace switchyard::http {

using namespace upstream;
namespace bhttp = beast::http;
using beast::error_code;
using Kind = UpstreamError::Kind;

namespace {

/// The piece buffer of a body of unknown length (a stream): small, as an open stream holds it while it
/// waits, and stream events are a few hundred bytes.
constexpr std::size_t kStreamPieceSize = 4 * 1024;
/// The largest piece read() returns.
constexpr std::size_t kPieceSize = 16 * 1024;
/// The read buffer's room when the response's header is read.
constexpr std::size_t kHeadReadSize = 4 * 1024;
/// What Beast's reads allocate at least: a buffer no larger is kept while a stream waits.
constexpr std::size_t kIdleReadCapacity = 512;

using Parser = bhttp::response_parser<bhttp::buffer_body>;

UpstreamError cancelled_error() { return UpstreamError(Kind::cancelled, "upstream request cancelled"); }

/// A coroutine cancelled between two operations makes Asio refuse to start the next one.
UpstreamError translated(const boost::system::system_error& error) {
  if (error.code() == asio::error::operation_aborted) return cancelled_error();
  return UpstreamError(Kind::closed, error.what());
}

/// The earlier of a phase's deadline and the whole request's, and which one it is.
struct Deadline {
  Clock::time_point at;
  bool total;
};

Deadline earliest(std::chrono::milliseconds phase, Clock::time_point total) {
  auto at = Clock::now() + phase;
  return at < total ? Deadline{at, false} : Deadline{total, true};
}

/// An error that ended an exchange with the upstream; `doing` says what was going on.
UpstreamError failure(const error_code& ec, const Connection& connection, const Deadline& deadline,
                      const char* phase, const std::string& doing) {
  if (connection.cancelled) return cancelled_error();
  if (ec == beast::error::timeout) {
    return UpstreamError(Kind::timeout,
                         doing + " timed out (" + (deadline.total ? "total" : phase) + " deadline)");
  }
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
      ec == asio::ssl::error::stream_truncated) {
    return UpstreamError(Kind::closed, doing + ": the upstream closed the connection (" + ec.message() + ")");
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category()) {
    return UpstreamError(Kind::protocol, doing + ": malformed response (" + ec.message() + ")");
  }
  return UpstreamError(Kind::closed, doing + ": " + ec.message());
}

bhttp::request<bhttp::string_body> to_message(UpstreamRequest& request, const UpstreamUrl& url) {
  bhttp::request<bhttp::string_body> message;
  message.method_string(request.method);
  message.target(url.target);
  message.version(11);
  for (const auto& [name, value] : request.headers) message.insert(name, value);
  message.set(bhttp::field::host, url.host_header());
  // Compressed bodies would have to be inflated before the gateway could read usage from them.
  message.set(bhttp::field::accept_encoding, "identity");
  message.erase(bhttp::field::connection);
  message.erase(bhttp::field::transfer_encoding);
  message.body() = std::move(request.body);
  message.prepare_payload();
  return message;
}

/// How a write-then-read-header exchange ended.
struct Exchange {
  std::unique_ptr<Parser> parser;
  std::optional<UpstreamError> error;
  bool nothing_received = false;  ///< the request may be retried on another connection
};

}  // namespace

struct UpstreamResponse::State {
  std::shared_ptr<UpstreamClient::Impl> client;
  PoolService* pool = nullptr;
  std::string pool_key;
  std::unique_ptr<Connection> connection;
  std::unique_ptr<Parser> parser;
  std::string authority;
  int status = 0;
  Headers headers;
  Clock::time_point total_deadline;
  std::chrono::milliseconds between_chunks{};
  /// Where the parser puts body bytes; allocated at the first read, not zeroed, sized to the body when its
  /// length is known.
  std::unique_ptr<char[]> piece;
  std::size_t piece_size = 0;
  bool length_known = false;
  bool done = false;

  /// At the body's end: the connection goes back to the pool when the exchange left it clean.
  void finish() {
    done = true;
    if (parser->keep_alive() && connection->buffer.size() == 0 && !connection->cancelled) {
      pool->put(pool_key, std::move(connection), client->config.max_idle_per_host);
    } else {
      connection.reset();
    }
  }
};

namespace {

asio::awaitable<Exchange> exchange(Connection& connection, bhttp::request<bhttp::string_body>& message,
                                   const UpstreamRequest& request, Clock::time_point total_deadline,
                                   const std::string& authority) {
  Exchange result;
  result.parser = std::make_unique<Parser>();
  auto& parser = *result.parser;
  parser.header_limit(static_cast<std::uint32_t>(kReadBufferLimit));
  parser.body_limit(boost::none);
  if (request.method == "HEAD") parser.skip(true);
  connection.buffer.clear();
  // GCC 12 mishandles a capturing lambda temporary inside a co_await expression.
  auto slot = (co_await asio::this_coro::cancellation_state).slot();
  CancelHook hook(slot, [&connection] {
    connection.cancelled = true;
    connection.close();
  });

  auto deadline = earliest(request.deadlines.first_byte, total_deadline);
  connection.tcp().expires_at(deadline.at);
  hook.arm();
  auto [write_ec, written] = co_await connection.visit(
      [&](auto& stream) { return bhttp::async_write(stream, message, unbound_tuple()); });
  if (write_ec) {
    result.error = failure(write_ec, connection, deadline, "first byte", "sending to " + authority);
    result.nothing_received = !connection.cancelled && write_ec != beast::error::timeout;
    co_return result;
  }

  connection.tcp().expires_at(deadline.at);
  hook.arm();
  // Room for the header and a small answer in one read: Beast reads no more than the buffer's free
  // capacity (512 bytes at first), which took two system calls for a 400-byte answer. Not for an event
  // stream, whose open connections would keep the freed room as heap they cannot give back.
  if (!request.headers.find("Accept").value_or("").starts_with("text/event-stream")) {
    connection.buffer.reserve(kHeadReadSize);
  }
  auto [read_ec, read] = co_await connection.visit([&](auto& stream) {
    return bhttp::async_read_header(stream, connection.buffer, parser, unbound_tuple());
  });
  if (read_ec) {
    result.error =
        failure(read_ec, connection, deadline, "first byte", "waiting for the response of " + authority);
    result.nothing_received = !connection.cancelled && !parser.got_some() && connection.buffer.size() == 0 &&
                              read_ec != beast::error::timeout;
  }
  co_return result;
}

}  // namespace

asio::awaitable<std::unique_ptr<UpstreamResponse>> UpstreamClient::send(UpstreamRequest request) {
  auto client = impl_;
  auto url = UpstreamUrl::parse(request.url);
  if (!url) throw UpstreamError(Kind::connect, "invalid upstream URL");
  auto total_deadline = Clock::now() + request.deadlines.total;
  auto executor = co_await asio::this_coro::executor;
  auto& pool = PoolService::of(executor);
  auto key = client->pool_key(*url, request.verify_tls);
  std::string authority = url->host + ":" + std::to_string(url->port);
  auto message = to_message(request, *url);

  try {
    for (int attempt = 0;; ++attempt) {
      auto connection = attempt == 0 ? pool.take(key, client->config.idle_timeout) : nullptr;
      bool reused = connection != nullptr;
      if (!connection) {
        auto deadline = earliest(request.deadlines.connect, total_deadline);
        connection = co_await client->connect(*url, request.verify_tls, deadline.at, deadline.total);
      }
      auto outcome = co_await exchange(*connection, message, request, total_deadline, authority);
      if (outcome.error) {
        // A server may close an idle keep-alive connection just as we reuse it; nothing was processed.
        if (reused && outcome.nothing_received && attempt == 0) continue;
        throw *outcome.error;
      }
      auto state = std::make_unique<UpstreamResponse::State>();
      state->client = client;
      state->pool = &pool;
      state->pool_key = key;
      state->connection = std::move(connection);
      state->parser = std::move(outcome.parser);
      state->authority = authority;
      const auto& header = state->parser->get();
      state->status = static_cast<int>(header.result_int());
      for (const auto& field : header)
        state->headers.add(std::string(field.name_string()), std::string(field.value()));
      state->total_deadline = total_deadline;
      state->between_chunks = request.deadlines.between_chunks;
      if (state->parser->is_done()) state->finish();
      co_return std::make_unique<UpstreamResponse>(std::move(state));
    }
  } catch (const boost::system::system_error& error) {
    throw translated(error);
  }
}

UpstreamResponse::UpstreamResponse(std::unique_ptr<State> state) : state_(std::move(state)) {}

UpstreamResponse::~UpstreamResponse() = default;

int UpstreamResponse::status() const { return state_->status; }

const Headers& UpstreamResponse::headers() const { return state_->headers; }

asio::awaitable<std::optional<std::string>> UpstreamResponse::read() {
  auto& state = *state_;
  if (state.done) co_return std::nullopt;
  auto& connection = *state.connection;
  auto& parser = *state.parser;
  // GCC 12 mishandles a capturing lambda temporary inside a co_await expression.
  auto slot = (co_await asio::this_coro::cancellation_state).slot();
  CancelHook hook(slot, [&connection] {
    connection.cancelled = true;
    connection.close();
  });
  if (!state.piece) {
    auto length = parser.content_length_remaining();
    state.length_known = length.has_value();
    state.piece_size = length ? std::clamp<std::size_t>(*length, 1, kPieceSize) : kStreamPieceSize;
    state.piece = std::make_unique_for_overwrite<char[]>(state.piece_size);
  }
  try {
    for (;;) {
      if (parser.is_done()) {
        state.finish();
        co_return std::nullopt;
      }
      parser.get().body().data = state.piece.get();
      parser.get().body().size = state.piece_size;
      auto deadline = earliest(state.between_chunks, state.total_deadline);
      connection.tcp().expires_at(deadline.at);
      hook.arm();
      auto [ec, n] = co_await connection.visit([&](auto& stream) {
        return bhttp::async_read_some(stream, connection.buffer, parser, unbound_tuple());
      });
      if (ec && ec != bhttp::error::need_buffer) {
        throw failure(ec, connection, deadline, "between chunks",
                      "reading the response of " + state.authority);
      }
      std::size_t produced = state.piece_size - parser.get().body().size;
      // An open stream (a body of unknown length) waits with no more than Beast's smallest read buffer
      // once its first burst is read.
      if (!state.length_known && connection.buffer.size() == 0 &&
          connection.buffer.capacity() > kIdleReadCapacity) {
        connection.buffer.shrink_to_fit();
      }
      if (produced == 0) continue;
      std::string piece(state.piece.get(), produced);
      if (parser.is_done()) state.finish();
      co_return piece;
    }
  } catch (const boost::system::system_error& error) {
    throw translated(error);
  }
}

asio::awaitable<std::string> UpstreamResponse::read_all(std::size_t limit) {
  std::string body;
  while (auto piece = co_await read()) {
    if (body.size() + piece->size() > limit) {
      throw UpstreamError(Kind::protocol, "the response of " + state_->authority + " exceeds " +
                                              std::to_string(limit) + " bytes");
    }
    body += *piece;
  }
  co_return body;
}

}  // namespace switchyard::http
