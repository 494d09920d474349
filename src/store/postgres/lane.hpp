#pragma once

#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <string>
#include <thread>
#include <vector>

#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::postgres::detail {

using Clock = std::chrono::steady_clock;

/// One call's trip through a Lane: queued, then run by a worker or given up by its caller, then settled
/// exactly once by posting the outcome to the caller's executor. After that it holds nothing of the
/// caller's, so it may die on any thread.
struct Job {
  using Body = std::function<void(pqxx::connection&)>;
  /// Receives the outcome: null on success.
  using Waiter = boost::asio::any_completion_handler<void(std::exception_ptr)>;

  Job(Body work, std::chrono::milliseconds wait_limit)
      : body(std::move(work)), patience(wait_limit), deadline(Clock::now() + wait_limit) {}

  Body body;
  /// How long the caller waits: for a connection, or (ping) for the whole call.
  std::chrono::milliseconds patience;
  Clock::time_point deadline;

  enum class State { queued, running, settled };
  // Guarded by the lane's mutex.
  State state = State::queued;
  /// Behind a pointer because Boost 1.81's any_completion_handler recurses forever on move-assignment:
  /// this way it is only ever move-constructed.
  std::unique_ptr<Waiter> waiter;
  boost::asio::any_io_executor caller;  ///< tracks outstanding work, so the caller's loop waits for us
};

struct LaneSettings {
  std::string name;  ///< for log lines and error details
  std::string conninfo;
  int threads = 1;
  std::size_t max_waiting = 0;
  std::chrono::milliseconds statement_timeout{0};
};

/// A queue of Jobs and the worker threads that run them, each on a connection of its own. Connections open
/// on first use, are checked before each job, and are dropped when they break: the next job reopens.
/// Thread-safe.
class Lane {
 public:
  explicit Lane(LaneSettings settings);
  ~Lane();
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  /// Queues `job`, whose outcome goes to `waiter` on `caller`; settles it at once with a 503 when
  /// max_waiting jobs already wait or the lane has stopped.
  void submit(const std::shared_ptr<Job>& job, Job::Waiter waiter,
              const boost::asio::any_io_executor& caller);

  /// The caller's deadline passed: settles a job still queued with a 503 and, when `abandon_running`,
  /// one already running (its result is then dropped). A settled job is left alone.
  void give_up(const std::shared_ptr<Job>& job, bool abandon_running);

  /// Settles every queued job with a 503, lets running ones finish, joins the workers. Idempotent.
  void stop();

  PoolStats stats() const;

 private:
  void work();
  std::shared_ptr<Job> take();
  std::unique_ptr<pqxx::connection> open();
  void close(std::unique_ptr<pqxx::connection>& connection);
  void finish(const std::shared_ptr<Job>& job, std::exception_ptr error);
  std::exception_ptr failure(const char* message, const std::string& detail) const;
  void note_failure(const std::string& detail);

  const LaneSettings settings_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  int busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::atomic<int> open_{0};
  /// Whether the last attempt to use the server worked: failures are logged once, not once per call.
  std::atomic<bool> healthy_{true};
};

}  // namespace switchyard::postgres::detail
