#include "switchyard/http/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "server_state.hpp"

namespace switchyard::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::uint64_t ServerState::add(const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(mutex);
  auto id = next_connection_id++;
  connections.emplace(id, connection);
  return id;
}

void ServerState::remove(std::uint64_t id) {
  std::lock_guard lock(mutex);
  connections.erase(id);
}

void ServerState::close_connections(bool all) {
  std::lock_guard lock(mutex);
  for (const auto& [id, weak] : connections) {
    auto connection = weak.lock();
    if (!connection) continue;
    auto executor = connection->stream.get_executor();
    asio::post(executor, [connection, all] {
      if (all || connection->idle) connection->stream.cancel();
    });
  }
}

struct Server::Impl {
  Impl(EventLoops& l, const ServerConfig& config, const Router& router, Metrics& metrics, bool access_log)
      : loops(l), state(std::make_shared<ServerState>(config, router, metrics, access_log)) {}

  EventLoops& loops;
  std::shared_ptr<ServerState> state;
  std::shared_ptr<tcp::acceptor> acceptor;
};

namespace {

/// Past max_connections a new client gets this and the connection is closed: an answer, not a silent drop.
const std::string& busy_response() {
  static const std::string response = [] {
    auto body = ApiError(503, "service_unavailable", "busy",
                         "The server has too many open connections; retry shortly.")
                    .to_json();
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
           "Retry-After: 1\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  return response;
}

asio::awaitable<void> refuse_busy(tcp::socket socket) {
  // A client already gone needs no answer: the outcome of the write changes nothing.
  co_await asio::async_write(socket, asio::buffer(busy_response()), asio::as_tuple(asio::use_awaitable));
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

asio::awaitable<void> serve_connection(std::shared_ptr<ServerState> state,
                                       std::shared_ptr<Connection> connection) {
  // Uncounted however the session ends, an exception included.
  struct Registration {
    ServerState& state;
    std::uint64_t id;
    ~Registration() {
      state.remove(id);
      state.open_connections.fetch_sub(1);
    }
  } registration{*state, state->add(connection)};
  co_await run_session(state, connection);
}

asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> state, std::shared_ptr<tcp::acceptor> acceptor,
                                  EventLoops& loops) {
  for (;;) {
    auto executor = loops.next_executor();
    auto [ec, socket] = co_await acceptor->async_accept(executor, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      // Out of file descriptors and the like: pause instead of spinning, then go on serving.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor->get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (state->open_connections.load() >= state->config.max_connections) {
      asio::co_spawn(executor, refuse_busy(std::move(socket)), asio::detached);
      continue;
    }
    state->open_connections.fetch_add(1);
    auto connection = std::make_shared<Connection>(boost::beast::tcp_stream(std::move(socket)));
    // The session is bound to the connection's signal, so that a client leaving cancels the request it has
    // in flight. The completion handler keeps the connection, and with it the signal, until the end.
    auto session_ended = [connection](const std::exception_ptr& failure) {
      if (!failure) return;
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        spdlog::warn("a client connection ended on an error: {}", e.what());
      }
    };
    asio::co_spawn(executor, serve_connection(state, connection),
                   asio::bind_cancellation_slot(connection->client_left.slot(), std::move(session_ended)));
  }
}

asio::awaitable<void> wait_for_drain(std::shared_ptr<ServerState> state, std::chrono::milliseconds timeout,
                                     std::function<void(bool)> done) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (state->open_connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    // Connections that finished a request since the last look go idle: close those too.
    state->close_connections(false);
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  bool clean = state->open_connections.load() == 0;
  if (!clean) {
    spdlog::warn("drain timeout: closing {} connections still open", state->open_connections.load());
    state->close_connections(true);
  }
  done(clean);
}

}  // namespace

Server::Server(EventLoops& loops, const ServerConfig& config, const Router& router, Metrics& metrics,
               bool access_log)
    : impl_(std::make_shared<Impl>(loops, config, router, metrics, access_log)) {
  metrics.add_gauge("switchyard_http_open_connections", "Client connections open now.", "",
                    [state = impl_->state] { return static_cast<double>(state->open_connections.load()); });
}

Server::~Server() = default;

std::uint16_t Server::listen(const ListenAddress& address) {
  auto executor = impl_->loops.executor(0);
  tcp::endpoint endpoint(asio::ip::make_address(address.host), address.port);
  impl_->acceptor = std::make_shared<tcp::acceptor>(executor);
  impl_->acceptor->open(endpoint.protocol());
  impl_->acceptor->set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor->bind(endpoint);
  impl_->acceptor->listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(executor, accept_loop(impl_->state, impl_->acceptor, impl_->loops), asio::detached);
  return impl_->acceptor->local_endpoint().port();
}

void Server::drain(std::chrono::milliseconds timeout, std::function<void(bool clean)> done) {
  auto executor = impl_->loops.executor(0);
  asio::post(executor, [impl = impl_, timeout, done = std::move(done), executor]() mutable {
    impl->state->draining = true;
    boost::system::error_code ignored;
    if (impl->acceptor) impl->acceptor->close(ignored);
    asio::co_spawn(executor, wait_for_drain(impl->state, timeout, std::move(done)), asio::detached);
  });
}

std::size_t Server::open_connections() const { return impl_->state->open_connections.load(); }

}  // namespace switchyard::http
