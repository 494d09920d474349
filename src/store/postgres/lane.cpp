#include "lane.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/append.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <pqxx/except>
#include <utility>

#include "switchyard/core/error.hpp"
#include "switchyard/core/threads.hpp"

namespace switchyard::postgres::detail {
namespace {

constexpr const char* kBusy = "The database is busy; try again shortly.";
constexpr const char* kUnavailable = "The database is unavailable; try again shortly.";
constexpr const char* kQueryCanceled = "57014";

/// libpq's message on one line, for a log line of its own.
std::string server_message(const std::exception& e) {
  std::string message;
  for (const char* c = e.what(); *c != '\0'; ++c) {
    bool space = *c == '\n' || *c == '\t' || *c == ' ';
    if (!space) {
      message += *c;
    } else if (!message.empty() && message.back() != ' ') {
      message += ' ';
    }
  }
  if (!message.empty() && message.back() == ' ') message.pop_back();
  return message;
}

/// An idle connection has nothing to read: if its socket is readable or hung up, the server has closed it
/// (restart, idle timeout, pg_terminate_backend). Checking here costs no round trip and spares the job a
/// failure on a connection that was already dead.
bool still_connected(const pqxx::connection& connection) {
  pollfd socket{.fd = connection.sock(), .events = POLLIN, .revents = 0};
  return socket.fd >= 0 && ::poll(&socket, 1, 0) == 0;
}

/// A settled job's outcome on its way to the caller, taken out of the job under the lane's lock.
struct Resumption {
  std::unique_ptr<Job::Waiter> waiter;
  boost::asio::any_io_executor caller;
  std::exception_ptr outcome;
};

Resumption settle(Job& job, std::exception_ptr outcome) {
  job.state = Job::State::settled;
  return {std::move(job.waiter), std::move(job.caller), std::move(outcome)};
}

/// Never on the worker's thread: the caller's coroutine resumes on its own executor.
void resume(Resumption resumption) {
  if (!resumption.waiter) return;
  boost::asio::post(resumption.caller,
                    boost::asio::append(std::move(*resumption.waiter), std::move(resumption.outcome)));
}

}  // namespace

Lane::Lane(LaneSettings settings) : settings_(std::move(settings)) {
  workers_.reserve(static_cast<std::size_t>(settings_.threads));
  for (int i = 0; i < settings_.threads; ++i)
    workers_.emplace_back([this] {
      run_as_background_thread();
      work();
    });
}

Lane::~Lane() { stop(); }

std::exception_ptr Lane::failure(const char* message, const std::string& detail) const {
  return std::make_exception_ptr(
      ApiError::unavailable(message, "postgres " + settings_.name + ": " + detail));
}

void Lane::submit(const std::shared_ptr<Job>& job, Job::Waiter waiter,
                  const boost::asio::any_io_executor& caller) {
  Resumption refusal;
  {
    std::lock_guard lock(mutex_);
    job->waiter = std::make_unique<Job::Waiter>(std::move(waiter));
    job->caller = boost::asio::prefer(caller, boost::asio::execution::outstanding_work.tracked);
    // Idle workers take queued jobs at once: only the jobs beyond them wait.
    auto idle = static_cast<std::size_t>(std::max(settings_.threads - busy_, 0));
    auto waiting = queue_.size() - std::min(queue_.size(), idle);
    if (!stopping_ && queue_.size() < idle + settings_.max_waiting) {
      queue_.push_back(job);
      wake_.notify_one();
      return;
    }
    refusal =
        settle(*job, stopping_ ? failure(kUnavailable, "shut down")
                               : failure(kBusy, std::to_string(waiting) +
                                                    " calls already waiting for a connection (max_waiting " +
                                                    std::to_string(settings_.max_waiting) + ")"));
  }
  resume(std::move(refusal));
}

void Lane::give_up(const std::shared_ptr<Job>& job, bool abandon_running) {
  Resumption resumption;
  {
    std::lock_guard lock(mutex_);
    if (job->state == Job::State::queued) {
      queue_.erase(std::find(queue_.begin(), queue_.end(), job));
      resumption = settle(
          *job, failure(kBusy, "no connection free within " + std::to_string(job->patience.count()) + " ms"));
    } else if (job->state == Job::State::running && abandon_running) {
      resumption = settle(
          *job, failure(kUnavailable, "no answer within " + std::to_string(job->patience.count()) + " ms"));
    } else {
      return;
    }
  }
  resume(std::move(resumption));
}

void Lane::stop() {
  std::vector<Resumption> abandoned;
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const auto& job : queue_) abandoned.push_back(settle(*job, failure(kUnavailable, "shut down")));
    queue_.clear();
    workers.swap(workers_);
  }
  wake_.notify_all();
  for (auto& resumption : abandoned) resume(std::move(resumption));
  for (auto& worker : workers) worker.join();
}

PoolStats Lane::stats() const {
  std::lock_guard lock(mutex_);
  return {.open = open_.load(), .busy = busy_, .waiting = static_cast<int>(queue_.size())};
}

std::shared_ptr<Job> Lane::take() {
  std::vector<Resumption> expired;
  std::shared_ptr<Job> next;
  {
    std::unique_lock lock(mutex_);
    while (!next) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      auto job = std::move(queue_.front());
      queue_.pop_front();
      // Its caller's timer has fired, or is about to: running it now would only waste the connection.
      if (Clock::now() >= job->deadline) {
        expired.push_back(settle(*job, failure(kBusy, "no connection free within " +
                                                          std::to_string(job->patience.count()) + " ms")));
        continue;
      }
      job->state = Job::State::running;
      ++busy_;
      next = std::move(job);
    }
  }
  for (auto& resumption : expired) resume(std::move(resumption));
  return next;
}

void Lane::work() {
  std::unique_ptr<pqxx::connection> connection;
  while (auto job = take()) {
    if (connection && !still_connected(*connection)) close(connection);
    std::exception_ptr error;
    std::string lost;  // why the connection is gone, when it is
    try {
      if (!connection) connection = open();
      job->body(*connection);
    } catch (const pqxx::broken_connection& e) {
      lost = "connection failed: " + server_message(e);
    } catch (const pqxx::in_doubt_error& e) {
      lost = "connection lost during commit, outcome unknown: " + server_message(e);
    } catch (const pqxx::sql_error& e) {
      error = e.sqlstate() == kQueryCanceled ? failure(kUnavailable, server_message(e))
                                             : std::current_exception();
    } catch (...) {
      error = std::current_exception();
    }
    if (!lost.empty()) {
      error = failure(kUnavailable, lost);
      note_failure(lost);
      close(connection);
    } else if (connection && !connection->is_open()) {
      close(connection);
    }
    finish(job, error);
  }
  close(connection);
}

std::unique_ptr<pqxx::connection> Lane::open() {
  auto connection = std::make_unique<pqxx::connection>(settings_.conninfo);
  // set_variable, not SET: libpqxx restores it should it ever reconnect this connection by itself.
  connection->set_variable("statement_timeout", std::to_string(settings_.statement_timeout.count()));
  ++open_;
  if (!healthy_.exchange(true)) spdlog::info("postgres {}: connected again", settings_.name);
  return connection;
}

void Lane::close(std::unique_ptr<pqxx::connection>& connection) {
  if (!connection) return;
  connection.reset();
  --open_;
}

void Lane::finish(const std::shared_ptr<Job>& job, std::exception_ptr error) {
  Resumption resumption;
  {
    std::lock_guard lock(mutex_);
    --busy_;
    if (job->state != Job::State::running) return;  // abandoned by its caller
    resumption = settle(*job, std::move(error));
  }
  resume(std::move(resumption));
}

void Lane::note_failure(const std::string& detail) {
  if (healthy_.exchange(false)) spdlog::warn("postgres {}: {}", settings_.name, detail);
}

}  // namespace switchyard::postgres::detail
