#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace switchyard {

/// Request counts by status and a latency histogram for one route. Lock-free to record.
class RouteStats {
 public:
  static constexpr std::array<double, 16> kBucketSeconds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

  RouteStats(std::string method, std::string route) : method_(std::move(method)), route_(std::move(route)) {}

  void record(int status, std::chrono::nanoseconds duration);

 private:
  friend class Metrics;
  static constexpr int kFirstStatus = 100;
  static constexpr int kStatusCount = 500;

  std::string method_;
  std::string route_;
  std::array<std::atomic<std::uint64_t>, kStatusCount> by_status_{};
  std::array<std::atomic<std::uint64_t>, kBucketSeconds.size()> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_nanoseconds_{0};
};

/// The process' metrics, rendered in Prometheus' text exposition format (small enough to write here).
/// Routes and gauges are registered at start-up; recording is thread-safe.
class Metrics {
 public:
  /// Stats of one route, created once; the reference stays valid for the registry's life.
  RouteStats& route(const std::string& method, const std::string& pattern);
  /// A gauge read when /metrics is scraped. `labels` is Prometheus label text such as `state="busy"`.
  void add_gauge(std::string name, std::string help, std::string labels, std::function<double()> read);

  std::atomic<std::int64_t>& in_flight() { return in_flight_; }

  std::string render() const;

 private:
  struct Gauge {
    std::string name;
    std::string help;
    std::string labels;
    std::function<double()> read;
  };

  mutable std::mutex mutex_;
  std::deque<RouteStats> routes_;  // deque: references stay valid as routes are added
  std::vector<Gauge> gauges_;
  std::atomic<std::int64_t> in_flight_{0};
};

}  // namespace switchyard
