// switchyard-loadgen: the parts of scripts/bench that wrk cannot do (issue 4).
//
//   rate          open-loop load at a fixed rate; latency counted from each request's scheduled send time,
//                 so a slow answer delays no measurement (no coordinated omission)
//   hold          opens N streams, waits for each one's first chunk, reports, and holds them until SIGTERM
//   slow-upstream a fake OpenAI upstream whose streams send one chunk every N ms until the client leaves
//
// Each mode prints its result as one JSON line on stdout. One thread: the load side is pinned to one core.
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "response_parser.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;
using json = nlohmann::json;

namespace switchyard::bench {
namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Options {
  std::string mode;
  std::map<std::string, std::string> values;
  std::vector<std::string> headers;
  bool stream = false;

  const std::string& required(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) throw std::invalid_argument{mode + " needs --" + name};
    return it->second;
  }
  double number(const std::string& name, double fallback) const {
    auto it = values.find(name);
    if (it == values.end()) return fallback;
    std::size_t end = 0;
    const double v = std::stod(it->second, &end);
    if (end != it->second.size() || v < 0) throw std::invalid_argument{"--" + name + " is not a number >= 0"};
    return v;
  }
};

Options parse_options(int argc, char** argv) {
  if (argc < 2)
    throw std::invalid_argument{"usage: switchyard-loadgen rate|hold|slow-upstream [--option value]..."};
  Options o;
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--stream") {
      o.stream = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || i + 1 >= argc) throw std::invalid_argument{"bad argument '" + arg + "'"};
    std::string value = argv[++i];
    if (arg == "--header") {
      o.headers.push_back(value);
    } else if (arg == "--headers-file") {
      std::ifstream in(value);
      if (!in) throw std::invalid_argument{"cannot read --headers-file " + value};
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) o.headers.push_back(line);
    } else {
      o.values[arg.substr(2)] = value;
    }
  }
  return o;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument{"cannot read " + path};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Where requests go and the bytes of the one request every connection sends.
struct Target {
  tcp::endpoint endpoint;
  std::string request;
};

Target make_target(asio::io_context& io, const Options& o) {
  const std::string& url = o.required("url");
  // http://host:port/path only: the benchmark never needs TLS or name lookups beyond localhost.
  if (url.rfind("http://", 0) != 0)
    throw std::invalid_argument{"--url must start with http:// (" + url + ")"};
  const auto rest = url.substr(7);
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  const std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = authority.rfind(':');
  const std::string host = authority.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, port);
  if (results.empty()) throw std::invalid_argument{"cannot resolve " + authority};

  const std::string body = read_file(o.required("body"));
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: " + authority +
                    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n";
  for (const auto& h : o.headers) req += h + "\r\n";
  req += "\r\n" + body;
  return Target{results.begin()->endpoint(), std::move(req)};
}

void spawn(asio::io_context& io, asio::awaitable<void> task) {
  asio::co_spawn(io, std::move(task), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

std::int64_t since_ns(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count();
}

json latency_json(const LatencySummary& s, const std::string& prefix) {
  return {{prefix + "p50_us", s.p50_us},
          {prefix + "p99_us", s.p99_us},
          {prefix + "p999_us", s.p999_us},
          {prefix + "max_us", s.max_us},
          {prefix + "mean_us", s.mean_us}};
}

// --- rate ------------------------------------------------------------------------------------------------

struct RateRun {
  const Target* target = nullptr;
  bool stream = false;
  double rate = 0;
  std::uint64_t total = 0;
  std::uint64_t next = 0;
  Clock::time_point t0;
  Clock::duration timeout{};
  Clock::time_point last_done;
  std::vector<std::int64_t> latency_ns;
  std::vector<std::int64_t> first_ns;
  std::uint64_t ok = 0, errors_status = 0, errors_socket = 0, errors_stream = 0, dropped_late = 0;
  std::uint64_t late_starts = 0;
};

/// One keep-alive connection taking the next scheduled request whenever it is free: a request due while
/// every connection is busy waits in line, and that wait counts in its latency.
struct RateWorker {
  explicit RateWorker(asio::io_context& io) : socket(io), timer(io) {}
  tcp::socket socket;
  asio::steady_timer timer;
  Clock::time_point deadline = Clock::time_point::max();
};

// A failed connection is replaced by a new one at the next request; closing it has nothing left to report.
void close_quietly(tcp::socket& socket) {
  error_code ignored;
  socket.close(ignored);
}

asio::awaitable<void> rate_worker(RateRun& run, RateWorker& w) {
  std::vector<char> buffer(64 * 1024);
  ResponseParser parser;
  while (run.next < run.total) {
    const std::uint64_t i = run.next++;
    const auto scheduled =
        run.t0 + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(i) * 1e9 / run.rate));
    if (Clock::now() < scheduled) {
      w.timer.expires_at(scheduled);
      co_await w.timer.async_wait(kTuple);
    } else if (Clock::now() - scheduled > run.timeout) {
      // So far behind that its answer could only come after the timeout: an overloaded contender.
      ++run.dropped_late;
      continue;
    } else if (Clock::now() - scheduled > std::chrono::milliseconds(1)) {
      ++run.late_starts;
    }
    w.deadline = scheduled + run.timeout;
    if (!w.socket.is_open()) {
      auto [ec] = co_await w.socket.async_connect(run.target->endpoint, kTuple);
      if (ec) {
        ++run.errors_socket;
        close_quietly(w.socket);
        continue;
      }
      error_code ignored;
      w.socket.set_option(tcp::no_delay(true), ignored);
    }
    auto [wec, written] = co_await asio::async_write(w.socket, asio::buffer(run.target->request), kTuple);
    if (wec) {
      ++run.errors_socket;
      close_quietly(w.socket);
      continue;
    }
    parser.reset();
    std::int64_t first = -1;
    bool failed = false;
    while (parser.state() == ResponseParser::State::headers ||
           parser.state() == ResponseParser::State::body) {
      auto [rec, n] = co_await w.socket.async_read_some(asio::buffer(buffer), kTuple);
      if (rec == asio::error::eof) {
        parser.on_eof();
        break;
      }
      if (rec) {
        failed = true;
        break;
      }
      parser.feed(std::string_view(buffer.data(), n));
      if (run.stream && first < 0 && has_first_event(parser.body()))
        first = since_ns(scheduled, Clock::now());
    }
    const auto now = Clock::now();
    w.deadline = Clock::time_point::max();
    if (failed || parser.state() != ResponseParser::State::complete) {
      ++run.errors_socket;
      close_quietly(w.socket);
      continue;
    }
    if (!parser.keep_alive()) close_quietly(w.socket);
    if (parser.status() < 200 || parser.status() > 299) {
      ++run.errors_status;
      continue;
    }
    if (run.stream && (first < 0 || !has_done_event(parser.body()))) {
      ++run.errors_stream;
      continue;
    }
    ++run.ok;
    run.last_done = now;
    run.latency_ns.push_back(since_ns(scheduled, now));
    if (run.stream) run.first_ns.push_back(first);
  }
  w.deadline = Clock::time_point::max();
}

/// Cuts connections whose request is past its deadline, every 50 ms, until stop is set.
asio::awaitable<void> watchdog(std::list<RateWorker>& workers, const bool& stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stop) {
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(kTuple);
    const auto now = Clock::now();
    for (auto& w : workers) {
      if (now > w.deadline) close_quietly(w.socket);
    }
  }
}

int run_rate(const Options& o) {
  asio::io_context io(1);
  const Target target = make_target(io, o);
  RateRun run;
  run.target = &target;
  run.stream = o.stream;
  run.rate = o.number("rate", 0);
  const double duration = o.number("duration", 0);
  if (run.rate <= 0 || duration <= 0) throw std::invalid_argument{"rate needs --rate and --duration above 0"};
  run.total = static_cast<std::uint64_t>(run.rate * duration);
  if (run.total == 0) throw std::invalid_argument{"--rate times --duration is under one request"};
  run.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o.number("timeout", 10) * 1000));
  const auto connections = static_cast<std::size_t>(o.number("connections", 64));
  if (connections == 0) throw std::invalid_argument{"--connections must be above 0"};
  run.latency_ns.reserve(run.total);
  if (run.stream) run.first_ns.reserve(run.total);

  std::list<RateWorker> workers;
  bool stop = false;
  std::size_t running = connections;
  // A little head start so that connecting does not eat into the first requests' schedule.
  run.t0 = Clock::now() + std::chrono::milliseconds(20);
  run.last_done = run.t0;
  for (std::size_t c = 0; c < connections; ++c) {
    auto& w = workers.emplace_back(io);
    asio::co_spawn(io, rate_worker(run, w), [&](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      if (--running == 0) stop = true;
    });
  }
  spawn(io, watchdog(workers, stop));
  io.run();

  const double seconds = std::chrono::duration<double>(run.last_done - run.t0).count();
  json out = {{"mode", "rate"},
              {"stream", run.stream},
              {"target_rps", run.rate},
              {"duration_s", duration},
              {"connections", connections},
              {"scheduled", run.total},
              {"ok", run.ok},
              {"achieved_rps", seconds > 0 ? static_cast<double>(run.ok) / seconds : 0.0},
              {"errors_status", run.errors_status},
              {"errors_socket", run.errors_socket},
              {"errors_stream", run.errors_stream},
              {"dropped_late", run.dropped_late},
              {"late_starts", run.late_starts}};
  out.update(latency_json(summarize(std::move(run.latency_ns)), ""));
  if (run.stream) out.update(latency_json(summarize(std::move(run.first_ns)), "first_"));
  std::cout << out.dump() << std::endl;
  return 0;
}

// --- hold ------------------------------------------------------------------------------------------------

struct HoldRun {
  const Target* target = nullptr;
  std::size_t open = 0, failed = 0, ended_early = 0;
  bool holding = false;
  std::list<tcp::socket> sockets;
};

/// One batch of the ramp: how many of its streams are neither open nor failed yet, and until when they may
/// be.
struct HoldBatch {
  std::size_t pending = 0;
  Clock::time_point deadline;
};

asio::awaitable<void> hold_stream(HoldRun& run, tcp::socket& socket, std::shared_ptr<HoldBatch> batch) {
  std::vector<char> buffer(4096);
  ResponseParser parser;
  bool settled = false;
  bool opened = false;
  auto settle = [&](bool ok) {
    settled = true;
    opened = ok;
    --batch->pending;
    ++(ok ? run.open : run.failed);
  };
  auto [ec] = co_await socket.async_connect(run.target->endpoint, kTuple);
  if (!ec) {
    socket.set_option(tcp::no_delay(true), ec);
    auto [wec, written] = co_await asio::async_write(socket, asio::buffer(run.target->request), kTuple);
    ec = wec;
  }
  while (!ec) {
    auto [rec, n] = co_await socket.async_read_some(asio::buffer(buffer), kTuple);
    if (rec) break;
    parser.feed(std::string_view(buffer.data(), n));
    if (parser.state() == ResponseParser::State::failed || parser.state() == ResponseParser::State::complete)
      break;
    if (!settled && parser.status() != 0 && (parser.status() < 200 || parser.status() > 299)) break;
    // A stream that opens after its batch's deadline was not open when counted: a failure.
    if (!settled && has_first_event(parser.body())) settle(Clock::now() < batch->deadline);
    if (settled) parser.discard_body();
  }
  if (!settled) {
    settle(false);
  } else if (opened && run.holding) {
    ++run.ended_early;
  }
}

/// Closes every socket so that the held coroutines end and io.run() returns.
void close_all(HoldRun& run) {
  for (auto& s : run.sockets) close_quietly(s);
}

asio::awaitable<void> hold_all(asio::io_context& io, HoldRun& run, std::size_t count, std::size_t batch_size,
                               Clock::duration batch_timeout) {
  asio::steady_timer timer(io);
  const auto start = Clock::now();
  for (std::size_t started = 0; started < count;) {
    const std::size_t n = std::min(batch_size, count - started);
    auto batch = std::make_shared<HoldBatch>(HoldBatch{n, Clock::now() + batch_timeout});
    for (std::size_t i = 0; i < n; ++i) spawn(io, hold_stream(run, run.sockets.emplace_back(io), batch));
    // A ramp, not a thundering herd: the next batch starts when this one has its first chunks.
    while (batch->pending > 0 && Clock::now() < batch->deadline) {
      timer.expires_after(std::chrono::milliseconds(5));
      co_await timer.async_wait(kTuple);
    }
    started += n;
  }
  run.holding = true;
  json out = {
      {"mode", "hold"},
      {"requested", count},
      {"open", run.open},
      {"not_open", count - run.open},
      {"ramp_ms", std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()}};
  std::cout << out.dump() << std::endl;
}

int run_hold(const Options& o) {
  asio::io_context io(1);
  const Target target = make_target(io, o);
  HoldRun run;
  run.target = &target;
  const auto count = static_cast<std::size_t>(o.number("count", 0));
  if (count == 0) throw std::invalid_argument{"hold needs --count above 0"};
  const auto batch = static_cast<std::size_t>(o.number("batch", 500));
  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o.number("timeout", 30) * 1000));
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](error_code, int) {
    json out = {{"mode", "hold-end"}, {"open", run.open}, {"ended_early", run.ended_early}};
    std::cout << out.dump() << std::endl;
    run.holding = false;
    close_all(run);
  });
  spawn(io, hold_all(io, run, count, std::max<std::size_t>(batch, 1), timeout));
  io.run();
  return 0;
}

// --- slow-upstream ---------------------------------------------------------------------------------------

std::string sse_chunk(std::string_view delta) {
  std::string event =
      "data: {\"id\":\"chatcmpl-slow\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
      "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":";
  event += delta;
  event += ",\"logprobs\":null,\"finish_reason\":null}]}\n\n";
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", event.size());
  return size + event + "\r\n";
}

asio::awaitable<void> slow_session(tcp::socket socket, std::chrono::milliseconds interval) {
  std::string in;
  auto [ec, head_end] = co_await asio::async_read_until(socket, asio::dynamic_buffer(in), "\r\n\r\n", kTuple);
  if (ec) co_return;
  const std::string head = in.substr(0, head_end);
  // Anything but a POST (the script's readiness probe) gets a plain 404.
  if (head.rfind("POST ", 0) != 0) {
    const std::string not_found = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    co_await asio::async_write(socket, asio::buffer(not_found), kTuple);
    co_return;
  }
  std::string lower = head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::size_t length = 0;
  if (auto at = lower.find("\r\ncontent-length:"); at != std::string::npos)
    length = std::stoul(lower.substr(at + 17, lower.find("\r\n", at + 2) - at - 17));
  if (in.size() - head_end < length) {
    auto [bec, n] = co_await asio::async_read(
        socket, asio::dynamic_buffer(in), asio::transfer_exactly(length - (in.size() - head_end)), kTuple);
    if (bec) co_return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Transfer-Encoding: chunked\r\n\r\n" +
      sse_chunk(R"({"role":"assistant","content":""})");
  const std::string tick = sse_chunk(R"({"content":"tok "})");
  asio::steady_timer timer(socket.get_executor());
  for (;;) {
    auto [wec, written] = co_await asio::async_write(socket, asio::buffer(out), kTuple);
    if (wec) co_return;
    out = tick;
    timer.expires_after(interval);
    co_await timer.async_wait(kTuple);
  }
}

asio::awaitable<void> slow_accept(tcp::acceptor& acceptor, std::chrono::milliseconds interval) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec == asio::error::operation_aborted) co_return;
    // Out of descriptors: wait rather than spin, the client sees a slow accept.
    if (ec) {
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(10));
      co_await pause.async_wait(kTuple);
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), slow_session(std::move(socket), interval), asio::detached);
  }
}

int run_slow_upstream(const Options& o) {
  asio::io_context io(1);
  const auto port = static_cast<unsigned short>(o.number("port", 0));
  const auto interval = std::chrono::milliseconds(static_cast<std::int64_t>(o.number("interval-ms", 1000)));
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(4096);
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](error_code, int) { io.stop(); });
  json ready = {{"mode", "slow-upstream"}, {"port", acceptor.local_endpoint().port()}};
  std::cout << ready.dump() << std::endl;
  spawn(io, slow_accept(acceptor, interval));
  io.run();
  return 0;
}

}  // namespace
}  // namespace switchyard::bench

int main(int argc, char** argv) {
  using namespace switchyard::bench;
  try {
    const Options o = parse_options(argc, argv);
    if (o.mode == "rate") return run_rate(o);
    if (o.mode == "hold") return run_hold(o);
    if (o.mode == "slow-upstream") return run_slow_upstream(o);
    throw std::invalid_argument{"unknown mode '" + o.mode + "' (rate, hold, slow-upstream)"};
  } catch (const std::exception& e) {
    std::cerr << "switchyard-loadgen: " << e.what() << '\n';
    return 2;
  }
}
