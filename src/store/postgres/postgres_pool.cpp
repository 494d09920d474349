#include "switchyard/store/postgres_pool.hpp"

#include <algorithm>
#include <boost/asio/async_result.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <pqxx/nontransaction>
#include <string>
#include <utility>
#include <vector>

#include "lane.hpp"

namespace switchyard::postgres {
namespace asio = boost::asio;
using detail::Job;
using detail::Lane;

namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

bool is_uri(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

/// The parameter names of a URI's query string (`postgresql://host/db?name=value&name=value`).
std::vector<std::string_view> uri_parameter_names(std::string_view uri) {
  std::vector<std::string_view> names;
  auto query = uri.find('?');
  if (query == std::string_view::npos) return names;
  std::string_view rest = uri.substr(query + 1);
  while (!rest.empty()) {
    auto pair = rest.substr(0, rest.find('&'));
    names.push_back(pair.substr(0, pair.find('=')));
    rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
  }
  return names;
}

/// The parameter names of a libpq keyword string (`name = value name='quoted \' value'`).
std::vector<std::string_view> keyword_parameter_names(std::string_view text) {
  std::vector<std::string_view> names;
  std::size_t i = 0;
  auto skip_spaces = [&] {
    while (i < text.size() && is_space(text[i])) ++i;
  };
  while (true) {
    skip_spaces();
    if (i >= text.size()) return names;
    auto start = i;
    while (i < text.size() && text[i] != '=' && !is_space(text[i])) ++i;
    names.push_back(text.substr(start, i - start));
    skip_spaces();
    if (i < text.size() && text[i] == '=') ++i;
    skip_spaces();
    bool quoted = i < text.size() && text[i] == '\'';
    if (quoted) ++i;
    while (i < text.size() && (quoted ? text[i] != '\'' : !is_space(text[i]))) {
      if (text[i] == '\\') ++i;
      ++i;
    }
    if (quoted) ++i;
  }
}

}  // namespace

std::string connection_string(std::string_view url, std::chrono::seconds connect_timeout) {
  // libpq reads connect_timeout 0 as "wait forever".
  auto timeout_s = std::max<std::chrono::seconds::rep>(connect_timeout.count(), 1);
  // A dead server is noticed within about ten seconds whether the connection is idle (keepalives) or has
  // unacknowledged data in flight (tcp_user_timeout); the kernel's defaults take minutes to hours.
  const std::pair<std::string_view, std::string> defaults[] = {
      {"connect_timeout", std::to_string(timeout_s)},
      {"keepalives_idle", "5"},
      {"keepalives_interval", "2"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", "10000"},
      {"fallback_application_name", "switchyard"},
  };

  bool uri = is_uri(url);
  auto present = uri ? uri_parameter_names(url) : keyword_parameter_names(url);
  std::string out(url);
  for (const auto& [name, value] : defaults) {
    if (std::find(present.begin(), present.end(), name) != present.end()) continue;
    if (uri) {
      if (out.find('?') == std::string::npos) {
        out += '?';
      } else if (out.back() != '?' && out.back() != '&') {
        out += '&';
      }
    } else if (!out.empty() && !is_space(out.back())) {
      out += ' ';
    }
    out.append(name).append("=").append(value);
  }
  return out;
}

namespace {

/// Runs `job` on `lane` and waits for its outcome, resuming on the caller's executor. Past the job's
/// deadline the caller stops waiting for a connection; with `abandon_running` it also stops waiting for a
/// running job, whose body must then own everything it touches.
asio::awaitable<void> run_on(std::shared_ptr<Lane> lane, std::shared_ptr<Job> job, bool abandon_running) {
  auto caller = co_await asio::this_coro::executor;
  asio::steady_timer timer(caller, job->deadline);
  timer.async_wait([lane, job, abandon_running](const boost::system::error_code& ec) {
    if (!ec) lane->give_up(job, abandon_running);
  });
  // The job is queued only inside the initiation, so a caller cancelled before this point never queues
  // one; after it, nothing but the outcome resumes the caller, which must not leave while the body may
  // still borrow from its frame. use_awaitable rethrows a non-null outcome.
  co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr)>(
      [&](Job::Waiter waiter) { lane->submit(job, std::move(waiter), caller); }, asio::use_awaitable);
}

}  // namespace

struct Pool::Lanes {
  std::chrono::milliseconds acquire_timeout{0};
  std::shared_ptr<Lane> work;
  /// One connection for ping alone, so that /ready never queues behind slow work.
  std::shared_ptr<Lane> ping;
};

Pool::Pool(const DatabaseConfig& config) : lanes_(std::make_unique<Lanes>()) {
  auto conninfo = connection_string(config.url, config.connect_timeout);
  lanes_->work = std::make_shared<Lane>(detail::LaneSettings{
      .name = "pool",
      .conninfo = conninfo,
      .threads = std::max(config.pool_size, 1),
      .max_waiting = static_cast<std::size_t>(std::max(config.max_waiting, 0)),
      .statement_timeout = config.statement_timeout,
  });
  lanes_->ping = std::make_shared<Lane>(detail::LaneSettings{
      .name = "ping",
      .conninfo = conninfo,
      .threads = 1,
      .max_waiting = static_cast<std::size_t>(std::max(config.max_waiting, 1)),
      .statement_timeout = config.statement_timeout,
  });
  lanes_->acquire_timeout = config.acquire_timeout;
}

Pool::~Pool() { shutdown(); }

void Pool::shutdown() {
  lanes_->ping->stop();
  lanes_->work->stop();
}

PoolStats Pool::stats() const {
  auto work = lanes_->work->stats();
  auto ping = lanes_->ping->stats();
  return {
      .open = work.open + ping.open, .busy = work.busy + ping.busy, .waiting = work.waiting + ping.waiting};
}

asio::awaitable<void> Pool::run_transaction(std::function<void(pqxx::work&)> work, CallOptions options) {
  auto body = [&work, timeout = options.statement_timeout](pqxx::connection& connection) {
    pqxx::work tx(connection);
    if (timeout) tx.exec("SET LOCAL statement_timeout = " + std::to_string(timeout->count()));
    work(tx);
    tx.commit();
  };
  co_await run_on(lanes_->work, std::make_shared<Job>(body, lanes_->acquire_timeout), false);
}

asio::awaitable<void> Pool::ping(std::chrono::milliseconds deadline) {
  // Owns nothing of the caller's: it may be abandoned while it runs.
  auto body = [](pqxx::connection& connection) { pqxx::nontransaction(connection).exec("SELECT 1"); };
  co_await run_on(lanes_->ping, std::make_shared<Job>(body, deadline), true);
}

}  // namespace switchyard::postgres
