#include "dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include "switchyard/http/request_id.hpp"

namespace switchyard::http {
namespace {

std::string loggable_headers(const Headers& headers) {
  std::string out;
  for (const auto& [name, value] : headers) {
    out += name;
    out += ": ";
    out += is_secret_header(name) ? "[redacted]" : value;
    out += "; ";
  }
  return out;
}

}  // namespace

Dispatcher::Dispatcher(const Router& router, Metrics& metrics, bool access_log)
    : router_(router),
      metrics_(metrics),
      access_log_(access_log),
      fallback_stats_(&metrics.route("GET", "(static)")),
      unmatched_stats_(&metrics.route("ANY", "(unmatched)")) {
  for (const auto& route : router.routes())
    route_stats_.push_back(&metrics.route(route.method, route.pattern));
}

void Dispatcher::start(Exchange& exchange) {
  auto caller_id = exchange.request.headers.find("X-Request-Id");
  exchange.request_id =
      caller_id && is_sane_request_id(*caller_id) ? std::string(*caller_id) : new_request_id();
  exchange.stats = unmatched_stats_;
  metrics_.in_flight().fetch_add(1, std::memory_order_relaxed);
}

boost::asio::awaitable<Response> Dispatcher::handle(Exchange& exchange) {
  start(exchange);
  Request& request = exchange.request;
  RequestContext context{request, {}, RequestLog(exchange.request_id), {}};
  if (context.log.debug_enabled()) {
    context.log.debug("request {} {} headers: {}body: {}", request.method, request.path(),
                      loggable_headers(request.headers),
                      loggable_body(request.body, request.headers.find("Content-Type").value_or("")));
  }

  Response response;
  auto match = router_.match(request.method, request.path());
  try {
    switch (match.kind) {
      case Router::Match::Kind::found:
        exchange.stats =
            match.route == router_.fallback() ? fallback_stats_ : route_stats_[match.route->index];
        context.params = std::move(match.params);
        response = co_await match.route->handler(context);
        break;
      case Router::Match::Kind::method_not_allowed:
        response = Response::error(ApiError(405, "invalid_request_error", "method_not_allowed",
                                            "Method " + request.method + " is not allowed on " +
                                                std::string(request.path()) + "; allowed: " + match.allow));
        response.headers.add("Allow", match.allow);
        break;
      case Router::Match::Kind::not_found:
        response =
            Response::error(ApiError(404, "invalid_request_error", "not_found",
                                     "No route for " + request.method + " " + std::string(request.path())));
        break;
    }
  } catch (const ApiError& error) {
    if (error.status() >= 500) context.log.error("{} {}: {}", error.status(), error.what(), error.detail());
    response = Response::error(error);
  } catch (const std::exception& failure) {
    // A request cancelled because its client left has nobody to answer, and nothing went wrong here.
    const auto* system = dynamic_cast<const boost::system::system_error*>(&failure);
    if (system != nullptr && system->code() == boost::asio::error::operation_aborted) {
      context.log.debug("{} {} cancelled: the client left", request.method, request.path());
    } else {
      context.log.error("unhandled failure in {} {}: {}", request.method, request.path(), failure.what());
    }
    response = Response::error(ApiError::internal(failure.what()));
  }
  exchange.tenant = std::move(context.tenant);
  response.headers.set("X-Request-Id", exchange.request_id);
  if (context.log.debug_enabled()) {
    context.log.debug("response {} headers: {}body: {}", response.status, loggable_headers(response.headers),
                      loggable_body(response.body, response.headers.find("Content-Type").value_or("")));
  }
  co_return response;
}

Response Dispatcher::refuse(Exchange& exchange, const ApiError& error) {
  start(exchange);
  RequestLog(exchange.request_id).info("refused: {}", error.what());
  Response response = Response::error(error);
  response.close = true;
  response.headers.set("X-Request-Id", exchange.request_id);
  return response;
}

void Dispatcher::finish(const Exchange& exchange, int status, std::size_t body_bytes) {
  auto duration = std::chrono::steady_clock::now() - exchange.started;
  exchange.stats->record(status, duration);
  metrics_.in_flight().fetch_sub(1, std::memory_order_relaxed);
  if (!access_log_) return;
  const auto& request = exchange.request;
  spdlog::info("request_id={} {} {} {} {}B {:.3f}ms tenant={} remote={}", exchange.request_id,
               request.method.empty() ? "-" : request.method, request.target.empty() ? "-" : request.path(),
               status, body_bytes, std::chrono::duration<double, std::milli>(duration).count(),
               exchange.tenant.empty() ? "-" : exchange.tenant, request.remote_address);
}

}  // namespace switchyard::http
