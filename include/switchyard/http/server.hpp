#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "switchyard/core/config.hpp"
#include "switchyard/core/metrics.hpp"
#include "switchyard/http/router.hpp"

namespace switchyard::http {

/// One Asio io_context per thread: no locking in the scheduler, and throughput scales with cores.
class EventLoops {
 public:
  explicit EventLoops(std::size_t count);
  ~EventLoops();
  EventLoops(const EventLoops&) = delete;
  EventLoops& operator=(const EventLoops&) = delete;

  std::size_t size() const;
  boost::asio::any_io_executor executor(std::size_t index) const;
  /// Round robin over the loops; thread-safe.
  boost::asio::any_io_executor next_executor();

  /// Runs every loop, loop 0 on the calling thread, until stop(); returns when all have ended.
  void run();
  /// Thread-safe.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The HTTP/1.1 server: keep-alive sessions as coroutines, limits on header and body size and time, on idle
/// time and on open connections; X-Request-Id, access log and metrics on every request.
class Server {
 public:
  Server(EventLoops& loops, const ServerConfig& config, const Router& router, Metrics& metrics,
         bool access_log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and starts accepting; returns the bound port. Throws std::system_error when binding fails.
  std::uint16_t listen(const ListenAddress& address);

  /// Stops accepting at once (new connections are refused), closes idle connections and lets in-flight
  /// requests finish; then calls `done(true)`, or closes what is left after `timeout` and calls
  /// `done(false)`.
  void drain(std::chrono::milliseconds timeout, std::function<void(bool clean)> done);

  std::size_t open_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace switchyard::http
