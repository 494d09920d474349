#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>
#include <vector>

#include "switchyard/http/server.hpp"

namespace switchyard::http {

namespace asio = boost::asio;

struct EventLoops::Impl {
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::atomic<std::size_t> next{0};
};

EventLoops::EventLoops(std::size_t count) : impl_(std::make_unique<Impl>()) {
  if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < count; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread, so Asio can skip its locks.
    impl_->contexts.push_back(std::make_unique<asio::io_context>(1));
    impl_->guards.push_back(asio::make_work_guard(*impl_->contexts.back()));
  }
}

EventLoops::~EventLoops() = default;

std::size_t EventLoops::size() const { return impl_->contexts.size(); }

asio::any_io_executor EventLoops::executor(std::size_t index) const {
  return impl_->contexts.at(index)->get_executor();
}

asio::any_io_executor EventLoops::next_executor() {
  return executor(impl_->next.fetch_add(1, std::memory_order_relaxed) % size());
}

void EventLoops::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl_->contexts.size(); ++i) {
    threads.emplace_back([context = impl_->contexts[i].get()] { context->run(); });
  }
  impl_->contexts[0]->run();
  for (auto& thread : threads) thread.join();
}

void EventLoops::stop() {
  for (auto& context : impl_->contexts) context->stop();
}

}  // namespace switchyard::http
