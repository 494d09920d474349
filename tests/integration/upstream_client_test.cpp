#include "switchyard/http/upstream_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/fake_upstream.hpp"
#include "support/io_thread.hpp"

namespace switchyard::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::FakeScenario;
using testing::FakeUpstream;
using testing::IoThread;

UpstreamRequest chat_request(const FakeUpstream& fake, bool stream,
                             const std::string& text = "hello there world") {
  UpstreamRequest request;
  request.url = fake.base_url() + "/v1/chat/completions";
  request.headers.add("Content-Type", "application/json");
  request.headers.add("Authorization", "Bearer sk-test");
  nlohmann::json body = {{"model", "gpt-4o-mini"}, {"messages", {{{"role", "user"}, {"content", text}}}}};
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  request.body = body.dump();
  return request;
}

/// Sends `request` and reads the whole body.
asio::awaitable<std::pair<int, std::string>> fetch(UpstreamClient& client, UpstreamRequest request) {
  auto response = co_await client.send(std::move(request));
  auto body = co_await response->read_all(1 << 20);
  co_return std::pair{response->status(), body};
}

/// Runs `task` and returns the kind of UpstreamError it threw (with its message), or fails.
template <class T>
std::pair<UpstreamError::Kind, std::string> error_of(IoThread& io, asio::awaitable<T> task) {
  try {
    io.run(std::move(task));
  } catch (const UpstreamError& error) {
    return {error.kind(), error.what()};
  }
  ADD_FAILURE() << "no UpstreamError";
  return {UpstreamError::Kind::protocol, ""};
}

TEST(UpstreamClient, NonStreamingRequest) {
  FakeUpstream fake;
  UpstreamClient client;
  IoThread io;
  auto [status, body] = io.run(fetch(client, chat_request(fake, false)));
  EXPECT_EQ(status, 200);
  auto answer = nlohmann::json::parse(body);
  EXPECT_EQ(answer["choices"][0]["message"]["content"], "hello there world");
  EXPECT_EQ(answer["usage"]["completion_tokens"], 3);
  auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/chat/completions");
  EXPECT_EQ(requests[0].headers.find("Accept-Encoding"), "identity");
  EXPECT_EQ(requests[0].headers.find("Host"), "127.0.0.1:" + std::to_string(fake.port()));
  EXPECT_EQ(requests[0].headers.find("Authorization"), "Bearer sk-test");
  EXPECT_EQ(fake.reported_completion_tokens(), 3u);
}

TEST(UpstreamClient, StreamIsReadPieceByPiece) {
  FakeUpstream fake;
  fake.set_scenario(FakeScenario::slow);
  fake.set_delays(0ms, 30ms);
  UpstreamClient client;
  IoThread io;
  auto pieces = io.run([&]() -> asio::awaitable<std::vector<std::string>> {
    auto response = co_await client.send(chat_request(fake, true, "one two three four"));
    EXPECT_EQ(response->headers().find("Content-Type"), "text/event-stream");
    std::vector<std::string> read;
    while (auto piece = co_await response->read()) read.push_back(*piece);
    co_return read;
  }());
  ASSERT_GE(pieces.size(), 5u);
  std::string all;
  for (const auto& piece : pieces) all += piece;
  EXPECT_NE(all.find("\"content\":\" four\""), std::string::npos);
  EXPECT_NE(all.find("\"choices\":[]"), std::string::npos);
  EXPECT_EQ(all.substr(all.size() - 14), "data: [DONE]\n\n");
  EXPECT_EQ(fake.reported_prompt_tokens(), 4u);
}

TEST(UpstreamClient, ReusesKeepAliveConnections) {
  FakeUpstream fake;
  UpstreamClient client;
  IoThread io;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(io.run(fetch(client, chat_request(fake, i == 1))).first, 200);
  EXPECT_EQ(fake.requests().size(), 3u);
  EXPECT_EQ(fake.connections().size(), 1u);
}

TEST(UpstreamClient, ConnectionLeftUnreadIsClosedNotReused) {
  FakeUpstream fake;
  UpstreamClient client;
  IoThread io;
  io.run([&]() -> asio::awaitable<void> {
    auto response = co_await client.send(chat_request(fake, true));
    co_await response->read();
  }());
  EXPECT_TRUE(fake.wait_closed(0, 2s).has_value());
  EXPECT_EQ(io.run(fetch(client, chat_request(fake, false))).first, 200);
  EXPECT_EQ(fake.connections().size(), 2u);
}

TEST(UpstreamClient, RetriesOnceWhenAReusedConnectionIsDropped) {
  FakeUpstream fake;
  fake.set_drop_reused_connections(true);
  UpstreamClient client;
  IoThread io;
  EXPECT_EQ(io.run(fetch(client, chat_request(fake, false))).first, 200);
  EXPECT_EQ(io.run(fetch(client, chat_request(fake, false))).first, 200);
  EXPECT_EQ(fake.connections().size(), 2u);
  EXPECT_EQ(fake.requests().size(), 3u);
}

TEST(UpstreamClient, RefusedConnectionIsAConnectError) {
  UpstreamClient client;
  IoThread io;
  UpstreamRequest request;
  {
    FakeUpstream gone;
    request.url = gone.base_url() + "/v1/models";
  }
  request.method = "GET";
  auto [kind, message] = error_of(io, fetch(client, request));
  EXPECT_EQ(kind, UpstreamError::Kind::connect);
  EXPECT_NE(message.find("refused"), std::string::npos) << message;
}

/// A loopback listener whose accept queue is full: the kernel drops further SYNs, so connects hang.
class Blackhole {
 public:
  Blackhole() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(listener_, 0);
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    for (int i = 0; i < 16; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      ::fcntl(fd, F_SETFL, O_NONBLOCK);
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
      fillers_.push_back(fd);
      pollfd watched{fd, POLLOUT, 0};
      if (::poll(&watched, 1, 100) == 0) break;
    }
  }
  ~Blackhole() {
    for (int fd : fillers_) ::close(fd);
    ::close(listener_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int listener_;
  std::uint16_t port_ = 0;
  std::vector<int> fillers_;
};

TEST(UpstreamClient, ConnectDeadline) {
  Blackhole blackhole;
  UpstreamClient client;
  IoThread io;
  UpstreamRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(blackhole.port()) + "/v1/models";
  request.method = "GET";
  request.deadlines.connect = 200ms;
  auto started = Clock::now();
  auto [kind, message] = error_of(io, fetch(client, request));
  EXPECT_EQ(kind, UpstreamError::Kind::timeout);
  EXPECT_NE(message.find("connect deadline"), std::string::npos) << message;
  EXPECT_LT(Clock::now() - started, 2s);
}

TEST(UpstreamClient, FirstByteDeadline) {
  FakeUpstream fake;
  fake.set_scenario(FakeScenario::slow);
  fake.set_delays(2s, 0ms);
  UpstreamClient client;
  IoThread io;
  auto request = chat_request(fake, false);
  request.deadlines.first_byte = 150ms;
  auto started = Clock::now();
  auto [kind, message] = error_of(io, fetch(client, request));
  EXPECT_EQ(kind, UpstreamError::Kind::timeout);
  EXPECT_NE(message.find("first byte"), std::string::npos) << message;
  EXPECT_LT(Clock::now() - started, 1s);
}

TEST(UpstreamClient, BetweenChunksDeadline) {
  FakeUpstream fake;
  fake.set_scenario(FakeScenario::slow);
  fake.set_delays(0ms, 2s);
  UpstreamClient client;
  IoThread io;
  auto request = chat_request(fake, true);
  request.deadlines.between_chunks = 150ms;
  auto [kind, message] = error_of(io, fetch(client, request));
  EXPECT_EQ(kind, UpstreamError::Kind::timeout);
  EXPECT_NE(message.find("between chunks"), std::string::npos) << message;
}

TEST(UpstreamClient, TotalDeadline) {
  FakeUpstream fake;
  fake.set_scenario(FakeScenario::slow);
  fake.set_delays(0ms, 60ms);
  UpstreamClient client;
  IoThread io;
  auto request = chat_request(fake, true, "a b c d e f g h i j k l");
  request.deadlines.total = 300ms;
  auto started = Clock::now();
  auto [kind, message] = error_of(io, fetch(client, request));
  EXPECT_EQ(kind, UpstreamError::Kind::timeout);
  EXPECT_NE(message.find("total deadline"), std::string::npos) << message;
  EXPECT_LT(Clock::now() - started, 600ms);
}

/// Cancels `task` through its cancellation slot once `ready` holds; returns when the cancellation was sent.
template <class T>
Clock::time_point cancel_when(IoThread& io, asio::awaitable<T> task, const std::function<bool()>& ready,
                              std::future<T>& outcome, asio::cancellation_signal& signal) {
  outcome = asio::co_spawn(io.executor(), std::move(task),
                           asio::bind_cancellation_slot(signal.slot(), asio::use_future));
  EXPECT_TRUE(testing::eventually(ready));
  std::promise<Clock::time_point> sent;
  asio::post(io.executor(), [&] {
    auto now = Clock::now();
    signal.emit(asio::cancellation_type::terminal);
    sent.set_value(now);
  });
  return sent.get_future().get();
}

TEST(UpstreamClient, CancellationWhileWaitingClosesTheSocket) {
  FakeUpstream fake;
  fake.set_scenario(FakeScenario::never_answers);
  UpstreamClient client;
  IoThread io;
  asio::cancellation_signal signal;
  std::future<std::pair<int, std::string>> outcome;
  auto cancelled_at = cancel_when(
      io, fetch(client, chat_request(fake, false)), [&] { return fake.requests().size() == 1; }, outcome,
      signal);
  auto closed_at = fake.wait_closed(0, 1s);
  EXPECT_EQ(outcome.wait_for(1s), std::future_status::ready);
  ASSERT_TRUE(closed_at.has_value());
  EXPECT_LT(*closed_at - cancelled_at, 200ms);
  try {
    outcome.get();
    ADD_FAILURE() << "not cancelled";
  } catch (const UpstreamError& error) {
    EXPECT_EQ(error.kind(), UpstreamError::Kind::cancelled);
  }
}

TEST(UpstreamClient, CancellationWhileStreamingClosesTheSocket) {
  FakeUpstream fake;
  fake.set_scenario(FakeScenario::slow);
  fake.set_delays(0ms, 5s);
  UpstreamClient client;
  IoThread io;
  asio::cancellation_signal signal;
  std::future<std::pair<int, std::string>> outcome;
  auto cancelled_at = cancel_when(
      io, fetch(client, chat_request(fake, true)), [&] { return fake.requests().size() == 1; }, outcome,
      signal);
  auto closed_at = fake.wait_closed(0, 1s);
  ASSERT_TRUE(closed_at.has_value());
  EXPECT_LT(*closed_at - cancelled_at, 200ms);
  EXPECT_THROW(outcome.get(), UpstreamError);
}

TEST(UpstreamClient, MalformedResponseIsAProtocolError) {
  FakeUpstream fake;
  fake.set_scenario(FakeScenario::malformed_http);
  UpstreamClient client;
  IoThread io;
  EXPECT_EQ(error_of(io, fetch(client, chat_request(fake, false))).first, UpstreamError::Kind::protocol);
}

TEST(UpstreamClient, DisconnectMidStreamIsAClosedError) {
  FakeUpstream fake;
  fake.set_scenario(FakeScenario::disconnect);
  fake.set_disconnect_after(2);
  UpstreamClient client;
  IoThread io;
  EXPECT_EQ(error_of(io, fetch(client, chat_request(fake, true))).first, UpstreamError::Kind::closed);
}

TEST(UpstreamClient, BodyOverTheLimitIsAProtocolError) {
  FakeUpstream fake;
  UpstreamClient client;
  IoThread io;
  auto task = [&]() -> asio::awaitable<std::string> {
    auto response = co_await client.send(chat_request(fake, false));
    co_return co_await response->read_all(10);
  };
  EXPECT_EQ(error_of(io, task()).first, UpstreamError::Kind::protocol);
}

/// A self-signed certificate for "localhost" and 127.0.0.1, made with OpenSSL at test time.
struct SelfSigned {
  std::string certificate;
  std::string key;
};

SelfSigned make_self_signed() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"),
                             -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &context, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert, key, EVP_sha256());
  auto to_pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(size));
    BIO_free(bio);
    return pem;
  };
  SelfSigned result{to_pem([&](BIO* bio) { PEM_write_bio_X509(bio, cert); }), to_pem([&](BIO* bio) {
                      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
                    })};
  X509_free(cert);
  EVP_PKEY_free(key);
  return result;
}

/// A tiny HTTPS server answering "ok" to each connection's first request; it records the SNI it saw.
class TlsServer {
 public:
  TlsServer() : tls_(asio::ssl::context::tls_server), acceptor_(io_, {asio::ip::address_v4::loopback(), 0}) {
    auto pair = make_self_signed();
    tls_.use_certificate_chain(asio::buffer(pair.certificate));
    tls_.use_private_key(asio::buffer(pair.key), asio::ssl::context::pem);
    asio::co_spawn(io_, accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TlsServer() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::string> server_names() const {
    std::lock_guard lock(mutex_);
    return names_;
  }

 private:
  asio::awaitable<void> accept() {
    for (;;) {
      auto socket = co_await acceptor_.async_accept(asio::use_awaitable);
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }
  asio::awaitable<void> serve(asio::ip::tcp::socket socket) {
    asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), tls_);
    auto [ec] =
        co_await stream.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
    {
      std::lock_guard lock(mutex_);
      names_.push_back(name ? name : "");
    }
    std::string request;
    auto [read_ec, n] = co_await asio::async_read_until(stream, asio::dynamic_buffer(request), "\r\n\r\n",
                                                        asio::as_tuple(asio::use_awaitable));
    if (read_ec) co_return;
    std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    co_await asio::async_write(stream, asio::buffer(answer), asio::as_tuple(asio::use_awaitable));
  }

  asio::io_context io_;
  asio::ssl::context tls_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::string> names_;
};

UpstreamRequest tls_request(const TlsServer& server, bool verify) {
  UpstreamRequest request;
  request.method = "GET";
  request.url = "https://localhost:" + std::to_string(server.port()) + "/v1/models";
  request.verify_tls = verify;
  return request;
}

TEST(UpstreamClient, TlsVerificationRejectsASelfSignedCertificate) {
  TlsServer server;
  UpstreamClient client;
  IoThread io;
  auto [kind, message] = error_of(io, fetch(client, tls_request(server, true)));
  EXPECT_EQ(kind, UpstreamError::Kind::connect);
  EXPECT_NE(message.find("self-signed certificate"), std::string::npos) << message;
}

TEST(UpstreamClient, TlsWithoutVerificationWorksAndSendsSni) {
  TlsServer server;
  UpstreamClient client;
  IoThread io;
  auto [status, body] = io.run(fetch(client, tls_request(server, false)));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, "ok");
  auto names = server.server_names();
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0], "localhost");
}

}  // namespace
}  // namespace switchyard::http
