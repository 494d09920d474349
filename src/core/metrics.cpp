#include "switchyard/core/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace switchyard {

void RouteStats::record(int status, std::chrono::nanoseconds duration) {
  int slot = std::clamp(status, kFirstStatus, kFirstStatus + kStatusCount - 1) - kFirstStatus;
  by_status_[static_cast<std::size_t>(slot)].fetch_add(1, std::memory_order_relaxed);
  double seconds = std::chrono::duration<double>(duration).count();
  for (std::size_t i = 0; i < kBucketSeconds.size(); ++i) {
    if (seconds <= kBucketSeconds[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanoseconds_.fetch_add(static_cast<std::uint64_t>(duration.count()), std::memory_order_relaxed);
}

RouteStats& Metrics::route(const std::string& method, const std::string& pattern) {
  std::lock_guard lock(mutex_);
  for (auto& stats : routes_) {
    if (stats.method_ == method && stats.route_ == pattern) return stats;
  }
  return routes_.emplace_back(method, pattern);
}

void Metrics::add_gauge(std::string name, std::string help, std::string labels,
                        std::function<double()> read) {
  std::lock_guard lock(mutex_);
  gauges_.push_back({std::move(name), std::move(help), std::move(labels), std::move(read)});
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  fmt::memory_buffer out;
  auto emit = [&out](auto&&... parts) { (fmt::format_to(std::back_inserter(out), "{}", parts), ...); };

  emit("# HELP switchyard_http_requests_total HTTP requests answered, by route and status.\n",
       "# TYPE switchyard_http_requests_total counter\n");
  for (const auto& stats : routes_) {
    for (int i = 0; i < RouteStats::kStatusCount; ++i) {
      auto count = stats.by_status_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed);
      if (count == 0) continue;
      emit("switchyard_http_requests_total{method=\"", stats.method_, "\",route=\"", stats.route_,
           "\",status=\"", i + RouteStats::kFirstStatus, "\"} ", count, "\n");
    }
  }

  emit(
      "# HELP switchyard_http_request_duration_seconds Time from a request's header to its last response "
      "byte.\n",
      "# TYPE switchyard_http_request_duration_seconds histogram\n");
  for (const auto& stats : routes_) {
    auto count = stats.count_.load(std::memory_order_relaxed);
    if (count == 0) continue;
    std::string labels = fmt::format("method=\"{}\",route=\"{}\"", stats.method_, stats.route_);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < RouteStats::kBucketSeconds.size(); ++i) {
      cumulative += stats.buckets_[i].load(std::memory_order_relaxed);
      emit("switchyard_http_request_duration_seconds_bucket{", labels, ",le=\"",
           RouteStats::kBucketSeconds[i], "\"} ", cumulative, "\n");
    }
    emit("switchyard_http_request_duration_seconds_bucket{", labels, ",le=\"+Inf\"} ", count, "\n");
    emit("switchyard_http_request_duration_seconds_sum{", labels, "} ",
         static_cast<double>(stats.sum_nanoseconds_.load(std::memory_order_relaxed)) / 1e9, "\n");
    emit("switchyard_http_request_duration_seconds_count{", labels, "} ", count, "\n");
  }

  emit("# HELP switchyard_http_in_flight_requests Requests being handled now.\n",
       "# TYPE switchyard_http_in_flight_requests gauge\n", "switchyard_http_in_flight_requests ",
       in_flight_.load(std::memory_order_relaxed), "\n");

  std::map<std::string, std::vector<const Gauge*>> by_name;
  for (const auto& gauge : gauges_) by_name[gauge.name].push_back(&gauge);
  for (const auto& [name, family] : by_name) {
    emit("# HELP ", name, " ", family.front()->help, "\n", "# TYPE ", name, " gauge\n");
    for (const Gauge* gauge : family) {
      if (gauge->labels.empty()) {
        emit(name, " ", gauge->read(), "\n");
      } else {
        emit(name, "{", gauge->labels, "} ", gauge->read(), "\n");
      }
    }
  }
  return fmt::to_string(out);
}

}  // namespace switchyard
