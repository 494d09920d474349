#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

namespace switchyard::testing {

/// An io_context run by a thread of its own, like one of the server's loops: the test thread spawns
/// coroutines on it and waits on their futures, so several calls can be in flight while the test watches.
class IoThread {
 public:
  IoThread();
  /// Lets the loop finish the work it has, then joins its thread.
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::any_io_executor executor() { return io_.get_executor(); }
  std::thread::id thread_id() const { return thread_.get_id(); }

  template <class T>
  std::future<T> spawn(boost::asio::awaitable<T> task) {
    return boost::asio::co_spawn(io_, std::move(task), boost::asio::use_future);
  }

  /// Runs `task` on the loop and waits for its result (or exception) on the calling thread.
  template <class T>
  T run(boost::asio::awaitable<T> task) {
    return spawn(std::move(task)).get();
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

/// Polls `condition` until it holds or `limit` passes; returns whether it held.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::seconds{5});

}  // namespace switchyard::testing
