#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "switchyard/http/upstream_client.hpp"

namespace switchyard::http::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;

/// The read buffer's cap: it bounds the response header too.
constexpr std::size_t kReadBufferLimit = 64 * 1024;

/// Completion token for every upstream operation: errors as values, and no attachment to the coroutine's
/// cancellation slot, which a CancelHook holds instead (Beast's composed operations do not all honour
/// per-operation cancellation; closing the socket always works).
inline auto unbound_tuple() {
  return asio::bind_cancellation_slot(asio::cancellation_slot(), asio::as_tuple(asio::use_awaitable));
}

/// One upstream connection, plain or TLS, with the buffer its responses are read through.
class Connection {
 public:
  Connection(const asio::any_io_executor& executor, asio::ssl::context* tls_context);

  beast::tcp_stream& tcp();
  beast::ssl_stream<beast::tcp_stream>* tls() { return tls_.get(); }

  /// Calls `f` with the stream to read and write (the TLS stream, or the TCP one).
  template <class F>
  decltype(auto) visit(F&& f) {
    return tls_ ? f(*tls_) : f(*plain_);
  }

  /// Closes the socket: pending operations end at once. Idempotent.
  void close();
  /// True when an idle connection has something to read (data or EOF): the peer closed it or broke
  /// protocol, so it must not be reused.
  bool unusable_when_idle();

  beast::flat_buffer buffer{kReadBufferLimit};
  bool cancelled = false;  ///< closed because the awaiting coroutine was cancelled
  Clock::time_point idle_since{};

 private:
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
};

/// While alive, a cancellation of the awaiting coroutine runs `on_cancel` (which closes what is pending).
/// Asio clears the coroutine's slot whenever an awaited operation completes, so arm() before each one.
class CancelHook {
 public:
  CancelHook(asio::cancellation_slot slot, std::function<void()> on_cancel)
      : slot_(slot), on_cancel_(std::move(on_cancel)) {}
  ~CancelHook() {
    if (slot_.is_connected()) slot_.clear();
  }
  CancelHook(const CancelHook&) = delete;
  CancelHook& operator=(const CancelHook&) = delete;

  void arm() {
    if (slot_.is_connected()) slot_.assign([this](asio::cancellation_type) { on_cancel_(); });
  }

 private:
  asio::cancellation_slot slot_;
  std::function<void()> on_cancel_;
};

/// DNS answers shared by every event loop for a short TTL; concurrent misses each resolve (rare, harmless).
class DnsCache {
 public:
  explicit DnsCache(std::chrono::milliseconds ttl) : ttl_(ttl) {}
  /// Resolves off the event loop (Asio's resolver thread). Throws UpstreamError.
  asio::awaitable<asio::ip::tcp::resolver::results_type> resolve(const std::string& host, std::uint16_t port,
                                                                 Clock::time_point deadline);

 private:
  struct Entry {
    asio::ip::tcp::resolver::results_type results;
    Clock::time_point expires;
  };
  std::chrono::milliseconds ttl_;
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
};

/// Idle keep-alive connections of one io_context, by pool key. A service of the context, so idle sockets
/// never outlive their loop. The mutex is uncontended when, as in the server, one thread runs the context.
class PoolService : public asio::execution_context::service {
 public:
  static asio::execution_context::id id;
  explicit PoolService(asio::execution_context& context) : asio::execution_context::service(context) {}

  static PoolService& of(const asio::any_io_executor& executor);

  /// The most recently used idle connection still fit for use, or null.
  std::unique_ptr<Connection> take(const std::string& pool_key, std::chrono::milliseconds idle_timeout);
  void put(const std::string& pool_key, std::unique_ptr<Connection> connection, std::size_t max_idle);

 private:
  void shutdown() override;

  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<std::unique_ptr<Connection>>> idle_;
};

}  // namespace switchyard::http::upstream

namespace switchyard::http {

struct UpstreamClient::Impl {
  explicit Impl(UpstreamClientConfig config);

  /// Opens a connection (TLS handshake included) before `deadline`. Throws UpstreamError.
  boost::asio::awaitable<std::unique_ptr<upstream::Connection>> connect(const UpstreamUrl& url,
                                                                        bool verify_tls,
                                                                        upstream::Clock::time_point deadline,
                                                                        bool deadline_is_total);
  /// The pool key: scheme, host, port, verify flag and this client.
  std::string pool_key(const UpstreamUrl& url, bool verify_tls) const;

  UpstreamClientConfig config;
  std::uint64_t id;
  boost::asio::ssl::context verifying_context;
  boost::asio::ssl::context trusting_context;
  upstream::DnsCache dns;
};

}  // namespace switchyard::http
