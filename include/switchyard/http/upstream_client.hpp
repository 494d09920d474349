#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "switchyard/http/message.hpp"

namespace switchyard::http {

/// Each wait of one upstream request; every one is also bounded by `total`, which starts at send().
struct UpstreamDeadlines {
  std::chrono::milliseconds connect{5000};       ///< DNS, TCP connect and TLS handshake
  std::chrono::milliseconds first_byte{120000};  ///< from the connection being ready to the response header
  std::chrono::milliseconds between_chunks{120000};  ///< each read() of the body
  std::chrono::milliseconds total{600000};
};

struct UpstreamRequest {
  std::string method = "POST";
  std::string url;  ///< http:// or https://host[:port]/path?query
  Headers headers;  ///< Host, Content-Length and Accept-Encoding are set by the client
  std::string body;
  UpstreamDeadlines deadlines;
  bool verify_tls = true;  ///< off only for providers configured so (spec 001's VERIFY_SSL)
};

/// The parts of an upstream URL the client needs.
struct UpstreamUrl {
  bool tls = false;
  std::string host;  ///< without brackets for IPv6 literals
  std::uint16_t port = 0;
  std::string target;  ///< path and query, "/" when empty

  /// Parses an absolute http(s) URL; nullopt for anything else (other schemes, user info, no host).
  static std::optional<UpstreamUrl> parse(std::string_view url);
  /// The Host header's value: the port only when it is not the scheme's default.
  std::string host_header() const;
};

/// What went wrong with an upstream request. The gateway maps timeout to 504, cancelled to nothing (its
/// client is gone) and the rest to 502.
class UpstreamError : public std::runtime_error {
 public:
  enum class Kind {
    connect,    ///< DNS, refused connection, TLS handshake or certificate
    timeout,    ///< one of the UpstreamDeadlines passed
    protocol,   ///< a malformed or oversized response
    closed,     ///< the upstream closed or reset the connection before the response ended
    cancelled,  ///< the awaiting coroutine was cancelled
  };
  UpstreamError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

/// A response whose body is read piece by piece: nothing is read before the caller asks (backpressure).
/// Memory held while reading is bounded: a read buffer of at most 64 KiB (which also bounds the header),
/// one piece of at most 16 KiB, and OpenSSL's record buffers (about 34 KiB) for TLS.
/// Use it on the executor that sent the request; it is not thread-safe. Destroying it before the body's
/// end closes the connection; read to the end, a keep-alive connection goes back to the pool.
class UpstreamResponse {
 public:
  struct State;
  explicit UpstreamResponse(std::unique_ptr<State> state);
  ~UpstreamResponse();
  UpstreamResponse(const UpstreamResponse&) = delete;
  UpstreamResponse& operator=(const UpstreamResponse&) = delete;

  int status() const;
  const Headers& headers() const;

  /// The next piece of the (de-chunked) body; nullopt at its end. Throws UpstreamError. Cancelling the
  /// awaiting coroutine closes the connection at once.
  boost::asio::awaitable<std::optional<std::string>> read();
  /// The rest of the body; throws UpstreamError (protocol) when it exceeds `limit` bytes.
  boost::asio::awaitable<std::string> read_all(std::size_t limit);

 private:
  std::unique_ptr<State> state_;
};

struct UpstreamClientConfig {
  /// Idle keep-alive connections kept per host and event loop: at least the requests in flight to one
  /// provider at busy moments, or every burst past it opens (and closes) connections anew.
  std::size_t max_idle_per_host = 512;
  std::chrono::milliseconds idle_timeout{30000};  ///< an idle connection older than this is closed
  std::chrono::milliseconds dns_ttl{30000};       ///< how long a DNS answer is reused
};

/// An HTTP/1.1 client for providers: keep-alive pool, TLS through OpenSSL (system CA store, hostname
/// check, SNI), cached DNS, a deadline on every wait.
///
/// Idle connections are pooled per (scheme, host, port, verify flag) inside each io_context (an Asio
/// service), so a connection is only ever reused on the event loop that opened it, and the pool dies
/// with its loop. The client itself is thread-safe: share one across all event loops. It must outlive
/// the requests and responses it made.
class UpstreamClient {
 public:
  explicit UpstreamClient(UpstreamClientConfig config = {});
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  /// Sends the request on the caller's executor and returns once the response header arrived. Throws
  /// UpstreamError. A reused connection that fails before anything was received is retried once on a
  /// fresh one. Cancelling the awaiting coroutine (terminal cancellation) closes the socket at once.
  boost::asio::awaitable<std::unique_ptr<UpstreamResponse>> send(UpstreamRequest request);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace switchyard::http
