#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "server_state.hpp"

namespace switchyard::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using beast::error_code;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
/// What the access log and metrics record for a client that left before its answer was complete (nginx's
/// 499).
constexpr int kClientClosedRequest = 499;

/// After refusing a request whose body we did not read, read and drop what the client still sends for a
/// moment: closing with unread data makes the kernel send a reset, which can destroy our answer in flight.
asio::awaitable<void> linger(beast::tcp_stream& stream) {
  error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  std::array<char, 16384> sink{};
  std::size_t dropped = 0;
  stream.expires_after(std::chrono::seconds(1));
  while (dropped < (64u << 20)) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
    if (ec) break;
    dropped += n;
  }
}

std::string remote_address(const beast::tcp_stream& stream) {
  error_code ec;
  auto remote = stream.socket().remote_endpoint(ec);
  return ec ? std::string("-") : remote.address().to_string();
}

Request to_request(bhttp::request<bhttp::string_body>&& message, const std::string& remote) {
  Request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message)
    request.headers.add(std::string(field.name_string()), std::string(field.value()));
  request.body = std::move(message.body());
  request.remote_address = remote;
  return request;
}

/// Writes `response`; returns the body bytes sent, or nullopt when the client is gone.
asio::awaitable<std::optional<std::size_t>> write_response(beast::tcp_stream& stream,
                                                           const ServerConfig& config, Response& response,
                                                           bool head, bool keep_alive) {
  bool bodiless = head || response.status == 204 || response.status == 304 || response.status < 200;
  std::size_t body_size = response.body.size();
  stream.expires_after(config.write_timeout);
  if (bodiless) {
    bhttp::response<bhttp::empty_body> message{static_cast<bhttp::status>(response.status), 11};
    for (const auto& [name, value] : response.headers) message.insert(name, value);
    if (head) message.content_length(body_size);
    message.keep_alive(keep_alive);
    auto [ec, n] = co_await bhttp::async_write(stream, message, kTuple);
    if (ec) co_return std::nullopt;
    co_return 0;
  }
  bhttp::response<bhttp::string_body> message{static_cast<bhttp::status>(response.status), 11};
  for (const auto& [name, value] : response.headers) message.insert(name, value);
  message.body() = std::move(response.body);
  message.keep_alive(keep_alive);
  message.prepare_payload();
  auto [ec, n] = co_await bhttp::async_write(stream, message, kTuple);
  if (ec) co_return std::nullopt;
  co_return body_size;
}

/// Watches the client's socket while a request is handled or a stream is sent: a client that closes its end
/// (or resets) emits a terminal cancellation into the session, which cancels whatever the handler awaits
/// (its upstream request) at once. Bytes of a pipelined next request end the watch: they are that request's.
/// A plain completion handler on the socket, not a second coroutine raced against the handler: that cost a
/// co_spawn and a parallel group on every request.
class DisconnectWatch {
 public:
  DisconnectWatch(beast::tcp_stream& stream, asio::cancellation_signal& signal)
      : socket_(stream.socket()), state_(std::make_shared<State>(signal)) {
    wait(socket_, state_);
  }
  ~DisconnectWatch() { stop(); }
  DisconnectWatch(const DisconnectWatch&) = delete;
  DisconnectWatch& operator=(const DisconnectWatch&) = delete;

  /// Ends the watch; true when the client left meanwhile.
  bool stop() {
    if (state_->watching) {
      state_->watching = false;
      error_code ignored;
      socket_.cancel(ignored);
    }
    return state_->left;
  }

 private:
  struct State {
    explicit State(asio::cancellation_signal& s) : signal(s) {}
    asio::cancellation_signal& signal;
    bool watching = true;
    bool left = false;
  };

  static void wait(asio::ip::tcp::socket& socket, std::shared_ptr<State> state) {
    socket.async_wait(asio::socket_base::wait_read, [&socket, state](const error_code& ec) {
      // A cancelled or ended watch: the socket may be gone by now, and is not touched.
      if (ec || !state->watching) return;
      char probe;
      auto peeked = ::recv(socket.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
      if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        wait(socket, state);
        return;
      }
      state->watching = false;
      if (peeked > 0) return;  // a pipelined request
      state->left = true;
      state->signal.emit(asio::cancellation_type::terminal);
    });
  }

  asio::ip::tcp::socket& socket_;
  std::shared_ptr<State> state_;
};

/// Chunked transfer-encoding onto the client's socket, each piece under the write deadline.
class ChunkedWriter final : public BodyWriter {
 public:
  ChunkedWriter(beast::tcp_stream& stream, std::chrono::milliseconds timeout)
      : stream_(stream), timeout_(timeout) {}

  asio::awaitable<bool> write(std::string_view piece) override {
    if (broken_) co_return false;
    if (piece.empty()) co_return true;
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await asio::async_write(
        stream_, bhttp::make_chunk(asio::buffer(piece.data(), piece.size())), kTuple);
    broken_ = static_cast<bool>(ec);
    if (!broken_) bytes_ += piece.size();
    co_return !broken_;
  }

  asio::awaitable<bool> finish() {
    if (broken_) co_return false;
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await asio::async_write(stream_, bhttp::make_chunk_last(), kTuple);
    co_return !ec;
  }

  std::size_t bytes() const { return bytes_; }

 private:
  beast::tcp_stream& stream_;
  std::chrono::milliseconds timeout_;
  std::size_t bytes_ = 0;
  bool broken_ = false;
};

/// Sends the header, then what the producer writes, raced against the client leaving. Returns the body
/// bytes sent, or nullopt when the client is gone or did not take the data.
asio::awaitable<std::optional<std::size_t>> write_streamed(beast::tcp_stream& stream,
                                                           asio::cancellation_signal& client_left,
                                                           const ServerConfig& config, Response& response,
                                                           bool keep_alive) {
  {
    bhttp::response<bhttp::empty_body> header{static_cast<bhttp::status>(response.status), 11};
    for (const auto& [name, value] : response.headers) header.insert(name, value);
    header.keep_alive(keep_alive);
    header.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer{header};
    stream.expires_after(config.write_timeout);
    auto [ec, n] = co_await bhttp::async_write_header(stream, serializer, kTuple);
    if (ec) co_return std::nullopt;
  }
  // Sent: neither the header nor its fields are held for the stream's life.
  response.headers = Headers{};

  ChunkedWriter writer(stream, config.write_timeout);
  {
    DisconnectWatch watch(stream, client_left);
    co_await response.stream(writer);
    if (watch.stop()) co_return std::nullopt;
  }
  if (!co_await writer.finish()) co_return std::nullopt;
  co_return writer.bytes();
}

/// The answer to a read that failed after the request began, or nullopt when there is nobody to answer:
/// the client left, or a deadline passed (tcp_stream closes the socket when its timer fires).
std::optional<ApiError> refusal_for(const error_code& ec) {
  if (ec == bhttp::error::body_limit) {
    return ApiError(413, "invalid_request_error", "request_too_large", "The request body is too large.");
  }
  if (ec == bhttp::error::header_limit) {
    return ApiError(431, "invalid_request_error", "request_header_fields_too_large",
                    "The request header is too large.");
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    return ApiError(400, "invalid_request_error", "bad_request", "Malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

}  // namespace

asio::awaitable<void> run_session(std::shared_ptr<ServerState> state,
                                  std::shared_ptr<Connection> connection) {
  auto& stream = connection->stream;
  const auto& config = state->config;
  beast::flat_buffer buffer;
  // Asked once: the peer of a connection does not change, and every request would cost a system call.
  const auto remote = remote_address(stream);

  for (;;) {
    // Wait for the first byte of the next request under the idle deadline; the header deadline starts then.
    if (buffer.size() == 0) {
      if (state->draining) break;
      connection->idle = true;
      stream.expires_after(config.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kTuple);
      connection->idle = false;
      if (ec) break;
      buffer.commit(n);
    }

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
    parser.body_limit(config.max_body_bytes);
    stream.expires_after(config.header_timeout);
    auto [header_ec, header_bytes] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
    error_code read_ec = header_ec;
    bool header_done = !header_ec;

    if (header_done && !parser.is_done()) {
      if (parser.get()[bhttp::field::expect] == "100-continue") {
        bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
        stream.expires_after(config.write_timeout);
        auto [ec, n] = co_await bhttp::async_write(stream, go_on, kTuple);
        if (ec) break;
      }
      stream.expires_after(config.body_timeout);
      auto [body_ec, body_bytes] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
      read_ec = body_ec;
    }

    if (read_ec) {
      auto refusal = refusal_for(read_ec);
      if (!refusal) break;
      Exchange exchange;
      exchange.request.remote_address = remote;
      if (header_done) {
        exchange.request.method = std::string(parser.get().method_string());
        exchange.request.target = std::string(parser.get().target());
        if (auto id = parser.get().find("X-Request-Id"); id != parser.get().end()) {
          exchange.request.headers.add("X-Request-Id", std::string(id->value()));
        }
      }
      Response response = state->dispatcher.refuse(exchange, *refusal);
      auto sent = co_await write_response(stream, config, response, false, false);
      state->dispatcher.finish(exchange, response.status, sent.value_or(0));
      if (sent) co_await linger(stream);
      break;
    }

    bool keep_alive = parser.keep_alive();
    Exchange exchange;
    exchange.request = to_request(parser.release(), remote);
    // Requests to a model last seconds, streams minutes: the read buffer is not held meanwhile unless it
    // holds the start of a pipelined request.
    if (buffer.size() == 0) buffer.shrink_to_fit();
    bool head = exchange.request.method == "HEAD";
    std::optional<Response> handled;
    bool client_left = false;
    {
      DisconnectWatch watch(stream, connection->client_left);
      handled = co_await state->dispatcher.handle(exchange);
      client_left = watch.stop();
    }
    if (client_left) {
      state->dispatcher.finish(exchange, kClientClosedRequest, 0);
      break;
    }
    // Read by the handler already: a long prompt is not held while its answer streams.
    std::string().swap(exchange.request.body);
    Response& response = *handled;
    keep_alive = keep_alive && !response.close && !state->draining;
    auto sent = response.stream && !head
                    ? co_await write_streamed(stream, connection->client_left, config, response, keep_alive)
                    : co_await write_response(stream, config, response, head, keep_alive);
    state->dispatcher.finish(exchange, sent ? response.status : kClientClosedRequest, sent.value_or(0));
    if (!sent || !keep_alive) break;
  }

  error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
}

}  // namespace switchyard::http
