#include "upstream_connection.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>

#include <atomic>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace switchyard::http::upstream {

using beast::error_code;

Connection::Connection(const asio::any_io_executor& executor, asio::ssl::context* tls_context) {
  if (tls_context) {
    tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(executor, *tls_context);
  } else {
    plain_ = std::make_unique<beast::tcp_stream>(executor);
  }
}

beast::tcp_stream& Connection::tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

void Connection::close() {
  error_code ignored;
  tcp().socket().close(ignored);
}

bool Connection::unusable_when_idle() {
  auto& socket = tcp().socket();
  if (!socket.is_open()) return true;
  pollfd watched{socket.native_handle(), POLLIN, 0};
  return ::poll(&watched, 1, 0) != 0;
}

asio::awaitable<asio::ip::tcp::resolver::results_type> DnsCache::resolve(const std::string& host,
                                                                         std::uint16_t port,
                                                                         Clock::time_point deadline) {
  std::string key = host + ":" + std::to_string(port);
  {
    std::lock_guard lock(mutex_);
    if (auto found = entries_.find(key); found != entries_.end() && found->second.expires > Clock::now()) {
      co_return found->second.results;
    }
  }
  // The resolver takes no deadline: a timer cancels it, as does the caller's cancellation. The timer's
  // handler may run after this frame is gone, hence the shared state.
  struct Pending {
    explicit Pending(const asio::any_io_executor& executor) : resolver(executor) {}
    asio::ip::tcp::resolver resolver;
    bool timed_out = false;
    bool cancelled = false;
  };
  auto executor = co_await asio::this_coro::executor;
  auto pending = std::make_shared<Pending>(executor);
  asio::steady_timer timer(executor, deadline);
  timer.async_wait([pending](error_code ec) {
    if (ec) return;
    pending->timed_out = true;
    pending->resolver.cancel();
  });
  // GCC 12 mishandles a capturing lambda temporary inside a co_await expression.
  auto slot = (co_await asio::this_coro::cancellation_state).slot();
  CancelHook hook(slot, [pending] {
    pending->cancelled = true;
    pending->resolver.cancel();
  });
  hook.arm();
  auto [ec, results] = co_await pending->resolver.async_resolve(host, std::to_string(port), unbound_tuple());
  timer.cancel();
  if (pending->cancelled) throw UpstreamError(UpstreamError::Kind::cancelled, "upstream request cancelled");
  if (pending->timed_out)
    throw UpstreamError(UpstreamError::Kind::timeout, "resolving " + host + " timed out");
  if (ec) throw UpstreamError(UpstreamError::Kind::connect, "cannot resolve " + host + ": " + ec.message());
  std::lock_guard lock(mutex_);
  entries_[key] = Entry{results, Clock::now() + ttl_};
  co_return results;
}

asio::execution_context::id PoolService::id;

PoolService& PoolService::of(const asio::any_io_executor& executor) {
  return asio::use_service<PoolService>(asio::query(executor, asio::execution::context));
}

std::unique_ptr<Connection> PoolService::take(const std::string& pool_key,
                                              std::chrono::milliseconds idle_timeout) {
  std::lock_guard lock(mutex_);
  auto found = idle_.find(pool_key);
  if (found == idle_.end()) return nullptr;
  auto& idle = found->second;
  auto now = Clock::now();
  while (!idle.empty()) {
    auto connection = std::move(idle.back());
    idle.pop_back();
    if (now - connection->idle_since < idle_timeout && !connection->unusable_when_idle()) return connection;
  }
  return nullptr;
}

void PoolService::put(const std::string& pool_key, std::unique_ptr<Connection> connection,
                      std::size_t max_idle) {
  connection->tcp().expires_never();
  connection->idle_since = Clock::now();
  std::lock_guard lock(mutex_);
  auto& idle = idle_[pool_key];
  idle.push_back(std::move(connection));
  // The oldest idle connection is the likeliest to have been closed by the server meanwhile.
  while (idle.size() > max_idle) idle.pop_front();
}

void PoolService::shutdown() {
  std::lock_guard lock(mutex_);
  idle_.clear();
}

namespace {

std::atomic<std::uint64_t> next_client_id{1};

asio::ssl::context make_tls_context(bool verify) {
  asio::ssl::context context(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  if (verify) {
    context.set_default_verify_paths();
    context.set_verify_mode(asio::ssl::verify_peer);
  } else {
    context.set_verify_mode(asio::ssl::verify_none);
  }
  return context;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

/// Sets SNI and the name (or address) the certificate must carry.
void prepare_tls(SSL* ssl, const std::string& host, bool verify) {
  bool literal = is_ip_literal(host);
  // RFC 6066: SNI carries host names only, never addresses.
  // SSL_set_tlsext_host_name() is a macro with a C cast, hence SSL_ctrl.
  if (!literal) {
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
  }
  if (!verify) return;
  if (literal) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  } else {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl, host.c_str());
  }
}

std::string authority(const UpstreamUrl& url) { return url.host + ":" + std::to_string(url.port); }

}  // namespace

}  // namespace switchyard::http::upstream

namespace switchyard::http {

using namespace upstream;
using beast::error_code;

UpstreamClient::Impl::Impl(UpstreamClientConfig client_config)
    : config(client_config),
      id(next_client_id.fetch_add(1)),
      verifying_context(make_tls_context(true)),
      trusting_context(make_tls_context(false)),
      dns(client_config.dns_ttl) {}

std::string UpstreamClient::Impl::pool_key(const UpstreamUrl& url, bool verify_tls) const {
  return std::to_string(id) + (url.tls ? " https://" : " http://") + authority(url) +
         (url.tls && !verify_tls ? " unverified" : "");
}

asio::awaitable<std::unique_ptr<Connection>> UpstreamClient::Impl::connect(const UpstreamUrl& url,
                                                                           bool verify_tls,
                                                                           Clock::time_point deadline,
                                                                           bool deadline_is_total) {
  auto executor = co_await asio::this_coro::executor;
  auto timed_out = [&](const char* what) {
    return UpstreamError(UpstreamError::Kind::timeout,
                         std::string(what) + " " + authority(url) + " timed out" +
                             (deadline_is_total ? " (total deadline)" : " (connect deadline)"));
  };
  auto cancelled = [] { return UpstreamError(UpstreamError::Kind::cancelled, "upstream request cancelled"); };

  auto endpoints = co_await dns.resolve(url.host, url.port, deadline);
  auto* tls_context = url.tls ? (verify_tls ? &verifying_context : &trusting_context) : nullptr;
  auto connection = std::make_unique<Connection>(executor, tls_context);
  // GCC 12 mishandles a capturing lambda temporary inside a co_await expression.
  auto slot = (co_await asio::this_coro::cancellation_state).slot();
  CancelHook hook(slot, [raw = connection.get()] {
    raw->cancelled = true;
    raw->close();
  });

  connection->tcp().expires_at(deadline);
  hook.arm();
  auto [connect_ec, endpoint] = co_await connection->tcp().async_connect(endpoints, unbound_tuple());
  if (connection->cancelled) throw cancelled();
  if (connect_ec == beast::error::timeout) throw timed_out("connecting to");
  if (connect_ec) {
    throw UpstreamError(UpstreamError::Kind::connect,
                        "cannot connect to " + authority(url) + ": " + connect_ec.message());
  }
  error_code ignored;
  connection->tcp().socket().set_option(asio::ip::tcp::no_delay(true), ignored);

  if (auto* tls = connection->tls()) {
    prepare_tls(tls->native_handle(), url.host, verify_tls);
    connection->tcp().expires_at(deadline);
    hook.arm();
    auto [handshake_ec] = co_await tls->async_handshake(asio::ssl::stream_base::client, unbound_tuple());
    if (connection->cancelled) throw cancelled();
    if (handshake_ec == beast::error::timeout) throw timed_out("TLS handshake with");
    if (handshake_ec) {
      long verdict = SSL_get_verify_result(tls->native_handle());
      if (verify_tls && verdict != X509_V_OK) {
        throw UpstreamError(
            UpstreamError::Kind::connect,
            "TLS certificate of " + authority(url) + " rejected: " + X509_verify_cert_error_string(verdict));
      }
      throw UpstreamError(UpstreamError::Kind::connect,
                          "TLS handshake with " + authority(url) + " failed: " + handshake_ec.message());
    }
  }
  connection->tcp().expires_never();
  co_return connection;
}

UpstreamClient::UpstreamClient(UpstreamClientConfig config) : impl_(std::make_shared<Impl>(config)) {}

UpstreamClient::~UpstreamClient() = default;

}  // namespace switchyard::http
