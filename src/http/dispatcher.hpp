#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <vector>

#include "switchyard/core/error.hpp"
#include "switchyard/core/metrics.hpp"
#include "switchyard/http/router.hpp"

namespace switchyard::http {

/// One request on its way through the server: what the access log and metrics need at the end.
struct Exchange {
  Request request;
  std::string request_id;
  std::string tenant;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  RouteStats* stats = nullptr;
};

/// Runs a request through the router and its handler, turning every failure into an OpenAI-shaped answer,
/// and records each finished exchange in the metrics and the access log. Thread-safe.
class Dispatcher {
 public:
  Dispatcher(const Router& router, Metrics& metrics, bool access_log);

  /// Assigns the request id (the caller's when sane), runs the handler; the response carries X-Request-Id.
  boost::asio::awaitable<Response> handle(Exchange& exchange);
  /// The answer to a request the server refused before routing (too large, too slow, malformed).
  Response refuse(Exchange& exchange, const ApiError& error);
  /// Called once the response is written (or the client left): metrics and one access-log line.
  void finish(const Exchange& exchange, int status, std::size_t body_bytes);

 private:
  void start(Exchange& exchange);

  const Router& router_;
  Metrics& metrics_;
  bool access_log_;
  std::vector<RouteStats*> route_stats_;  // by Router::Route::index
  RouteStats* fallback_stats_;
  RouteStats* unmatched_stats_;
};

}  // namespace switchyard::http
