#include "switchyard/ops/operational_routes.hpp"

#include <nlohmann/json.hpp>

#include "switchyard/core/error.hpp"

namespace switchyard::ops {

void add_operational_routes(http::Router& router, Metrics& metrics, std::vector<DependencyCheck> checks,
                            std::chrono::milliseconds check_deadline) {
  router.add("GET", "/health", [](http::RequestContext&) -> boost::asio::awaitable<http::Response> {
    co_return http::Response::json(200, R"({"status":"ok"})");
  });

  router.add(
      "GET", "/ready",
      [checks = std::move(checks),
       check_deadline](http::RequestContext& context) -> boost::asio::awaitable<http::Response> {
        nlohmann::json results = nlohmann::json::object();
        std::string failed;
        for (const auto& check : checks) {
          try {
            co_await check.probe(check_deadline);
            results[check.name] = "ok";
          } catch (const std::exception& failure) {
            auto detail = dynamic_cast<const ApiError*>(&failure);
            std::string reason = detail && !detail->detail().empty() ? detail->detail() : failure.what();
            results[check.name] = "unreachable: " + reason;
            failed += (failed.empty() ? "" : ", ") + check.name;
            context.log.warn("readiness: {} unreachable: {}", check.name, reason);
          }
        }
        if (failed.empty()) {
          co_return http::Response::json(200,
                                         nlohmann::json{{"status", "ready"}, {"checks", results}}.dump());
        }
        ApiError error(503, "service_unavailable", "not_ready", "Not ready: " + failed + " unreachable");
        auto body = nlohmann::json::parse(error.to_json());
        body["status"] = "unavailable";
        body["checks"] = results;
        co_return http::Response::json(503, body.dump());
      });

  router.add("GET", "/metrics", [&metrics](http::RequestContext&) -> boost::asio::awaitable<http::Response> {
    co_return http::Response::text(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace switchyard::ops
