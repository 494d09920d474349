#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <pqxx/transaction>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "switchyard/core/config.hpp"

namespace switchyard::postgres {

/// Gauges for /metrics: connections open, calls running on one, calls waiting for one.
struct PoolStats {
  int open = 0;
  int busy = 0;
  int waiting = 0;
};

/// What one call may change from the pool's configuration.
struct CallOptions {
  /// Replaces DatabaseConfig::statement_timeout for every statement of this call.
  std::optional<std::chrono::milliseconds> statement_timeout;
};

/// `url` (a postgresql:// URI or a libpq keyword string) with connect_timeout and TCP keepalives added,
/// unless the URL sets them itself: an unreachable or vanished server then costs seconds, not minutes.
std::string connection_string(std::string_view url, std::chrono::seconds connect_timeout);

/// Postgres for coroutines. libpq blocks, so queries run on pool_size threads of their own, each with one
/// connection opened on first use and reopened after it breaks; the calling coroutine waits without
/// blocking its thread and resumes on its own executor.
///
/// Every failure to reach the database is an ApiError::unavailable (503) carrying the cause in detail():
/// max_waiting calls already waiting, acquire_timeout passed before a connection was free, the server
/// unreachable or lost mid-call, a statement cancelled by statement_timeout, the pool shut down.
///
/// Thread-safe. A call is not cancellable from outside: a caller cancelled before it queues never queues;
/// once queued, it waits for the outcome, which acquire_timeout, statement_timeout and the TCP keepalives
/// bound. Shut the pool down before destroying the io_context its callers run on.
class Pool {
 public:
  explicit Pool(const DatabaseConfig& config);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// Runs `work(tx)` in a transaction on a pooled connection and commits it; returns what work returns.
  /// An exception from work rolls the transaction back and reaches the caller unchanged (pqxx's SQL
  /// errors included), except lost connections and timeouts, which become ApiError::unavailable.
  /// work runs at most once, on a pool thread, while the caller waits: it may capture by reference. It
  /// must not commit or abort tx itself.
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&, pqxx::work&>> transact(F work, CallOptions options = {});

  /// `SELECT 1` on a connection kept apart from the pool, so that it never queues behind slow work.
  /// Throws ApiError::unavailable when there is no answer within `deadline`.
  boost::asio::awaitable<void> ping(std::chrono::milliseconds deadline);

  PoolStats stats() const;

  /// Fails every waiting call, lets running ones finish, and joins the threads. Later calls fail at once.
  void shutdown();

 private:
  boost::asio::awaitable<void> run_transaction(std::function<void(pqxx::work&)> work, CallOptions options);

  struct Lanes;
  std::unique_ptr<Lanes> lanes_;
};

template <class F>
boost::asio::awaitable<std::invoke_result_t<F&, pqxx::work&>> Pool::transact(F work, CallOptions options) {
  using Result = std::invoke_result_t<F&, pqxx::work&>;
  static_assert(!std::is_reference_v<Result>, "transact returns values: the connection is gone by then");
  if constexpr (std::is_void_v<Result>) {
    co_await run_transaction([&work](pqxx::work& tx) { work(tx); }, options);
  } else {
    std::optional<Result> result;
    co_await run_transaction([&work, &result](pqxx::work& tx) { result.emplace(work(tx)); }, options);
    co_return std::move(*result);
  }
}

}  // namespace switchyard::postgres
