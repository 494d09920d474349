#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "dispatcher.hpp"
#include "switchyard/core/config.hpp"

namespace switchyard::http {

/// One client connection. Owned by its session coroutine; touched only on its stream's executor.
struct Connection {
  explicit Connection(boost::beast::tcp_stream s) : stream(std::move(s)) {}
  boost::beast::tcp_stream stream;
  bool idle = true;  ///< waiting for the next request, so a drain may close it
  /// Bound to the session's coroutine: emitted (terminal) when the client leaves while a request is being
  /// handled, it cancels whatever the handler awaits.
  boost::asio::cancellation_signal client_left;
};

/// What the listener and every session share.
struct ServerState {
  ServerState(const ServerConfig& c, const Router& router, Metrics& metrics, bool access_log)
      : config(c), dispatcher(router, metrics, access_log) {}

  const ServerConfig config;
  Dispatcher dispatcher;
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> open_connections{0};

  /// Live connections, so a drain can reach the idle ones.
  std::mutex mutex;
  std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> connections;
  std::uint64_t next_connection_id = 0;

  std::uint64_t add(const std::shared_ptr<Connection>& connection);
  void remove(std::uint64_t id);
  /// Closes idle connections, or every connection when `all`, each on its own executor.
  void close_connections(bool all);
};

/// Serves one connection until the client leaves, a limit is hit, or the server drains.
boost::asio::awaitable<void> run_session(std::shared_ptr<ServerState> state,
                                         std::shared_ptr<Connection> connection);

}  // namespace switchyard::http
