#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace switchyard::auth::detail {

/// One load from Postgres whose outcome every coroutine that asked for the same thing shares: the first
/// asker loads, the others wait() for it. Waiters may run on any executor; each resumes on its own.
/// Thread-safe.
template <class T>
class Flight {
 public:
  using Signature = void(std::exception_ptr, T);

  /// Resumes every waiter, present and future, with this outcome. Only the first call counts.
  void complete(std::exception_ptr error, T value) {
    std::vector<Waiter> waiters;
    {
      std::lock_guard lock(mutex_);
      if (done_) return;
      done_ = true;
      error_ = error;
      value_ = value;
      waiters.swap(waiters_);
    }
    for (auto& waiter : waiters) resume(std::move(waiter), error, value);
  }

  /// The outcome; rethrows a failure.
  boost::asio::awaitable<T> wait() {
    co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), Signature>(
        [this](auto handler) {
          // Taken before the handler's type is erased: the waiter resumes on its own executor, and the
          // tracked work keeps that executor's context running until it does.
          boost::asio::any_io_executor executor =
              boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                  boost::asio::execution::outstanding_work.tracked);
          Waiter waiter{std::move(handler), std::move(executor)};
          std::unique_lock lock(mutex_);
          if (!done_) {
            waiters_.push_back(std::move(waiter));
            return;
          }
          auto error = error_;
          auto value = value_;
          lock.unlock();
          resume(std::move(waiter), error, std::move(value));
        },
        boost::asio::use_awaitable);
  }

 private:
  struct Waiter {
    boost::asio::any_completion_handler<Signature> handler;
    boost::asio::any_io_executor executor;
  };

  /// Posted, never run inline: the completer may be another thread, holding locks of its own.
  static void resume(Waiter waiter, std::exception_ptr error, T value) {
    auto executor = waiter.executor;
    boost::asio::post(executor,
                      [handler = std::move(waiter.handler), error, value = std::move(value)]() mutable {
                        std::move(handler)(error, std::move(value));
                      });
  }

  std::mutex mutex_;
  bool done_ = false;
  std::exception_ptr error_;
  T value_{};
  std::vector<Waiter> waiters_;
};

/// Runs `action` when destroyed unless dismissed: a leader's frame destroyed mid-load (its io_context
/// stopped) must still release the coroutines waiting on its flight.
class UnlessDismissed {
 public:
  explicit UnlessDismissed(std::function<void()> action) : action_(std::move(action)) {}
  ~UnlessDismissed() {
    if (action_) action_();
  }
  UnlessDismissed(const UnlessDismissed&) = delete;
  UnlessDismissed& operator=(const UnlessDismissed&) = delete;
  void dismiss() { action_ = nullptr; }

 private:
  std::function<void()> action_;
};

}  // namespace switchyard::auth::detail
