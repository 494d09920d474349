#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "switchyard/core/metrics.hpp"
#include "switchyard/http/router.hpp"

namespace switchyard::ops {

/// A dependency /ready checks. `probe` throws when the dependency is unreachable and must finish within the
/// deadline it is given: /ready answers within the sum of the deadlines.
struct DependencyCheck {
  std::string name;
  std::function<boost::asio::awaitable<void>(std::chrono::milliseconds deadline)> probe;
};

/// `GET /health` (alive), `GET /ready` (200 while every dependency answers, else 503 naming the ones that
/// did not) and `GET /metrics` (Prometheus text). None needs a key.
void add_operational_routes(http::Router& router, Metrics& metrics, std::vector<DependencyCheck> checks,
                            std::chrono::milliseconds check_deadline);

}  // namespace switchyard::ops
