#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/raw_http.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/http/server.hpp"
#include "switchyard/http/static_files.hpp"
#include "switchyard/ops/operational_routes.hpp"

namespace switchyard::http {
namespace {

using testing::http_request;
using testing::RawConnection;
using namespace std::chrono_literals;
namespace asio = boost::asio;

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

/// A server on a free port with a few test routes, its loops on a thread of their own.
class ServerHarness {
 public:
  explicit ServerHarness(ServerConfig config, std::vector<ops::DependencyCheck> checks = {})
      : config_(std::move(config)), loops_(2) {
    router_.add("GET", "/ok", [](RequestContext&) -> asio::awaitable<Response> {
      co_return Response::json(200, R"({"ok":true})");
    });
    router_.add("POST", "/echo", [](RequestContext& context) -> asio::awaitable<Response> {
      co_return Response::text(200, context.request.body);
    });
    router_.add("GET", "/items/{id}", [](RequestContext& context) -> asio::awaitable<Response> {
      co_return Response::text(200, context.params.at("id"));
    });
    router_.add("GET", "/slow", [](RequestContext&) -> asio::awaitable<Response> {
      co_await sleep_for(1500ms);
      co_return Response::text(200, "finished");
    });
    router_.add("GET", "/throws", [](RequestContext&) -> asio::awaitable<Response> {
      throw std::runtime_error("database exploded with password=hunter2");
      co_return Response{};
    });
    router_.add("GET", "/payment", [](RequestContext&) -> asio::awaitable<Response> {
      throw ApiError(402, "insufficient_quota", "budget_exceeded", "Budget spent");
      co_return Response{};
    });
    router_.add("GET", "/stream", [](RequestContext&) -> asio::awaitable<Response> {
      Response response;
      response.headers.add("Content-Type", "text/event-stream");
      response.stream = [](BodyWriter& writer) -> asio::awaitable<void> {
        for (int i = 0; i < 5; ++i) {
          if (!co_await writer.write("data: " + std::to_string(i) + "\n\n")) co_return;
          co_await sleep_for(20ms);
        }
      };
      co_return response;
    });
    router_.add("GET", "/stream-waits", [this](RequestContext&) -> asio::awaitable<Response> {
      Response response;
      response.stream = [this](BodyWriter& writer) -> asio::awaitable<void> {
        co_await writer.write("data: first\n\n");
        try {
          co_await sleep_for(10s);
        } catch (const boost::system::system_error&) {
          cancelled_.set_value(std::chrono::steady_clock::now());
          throw;
        }
      };
      co_return response;
    });
    router_.add("GET", "/handler-waits", [this](RequestContext&) -> asio::awaitable<Response> {
      try {
        co_await sleep_for(10s);
      } catch (const boost::system::system_error&) {
        cancelled_.set_value(std::chrono::steady_clock::now());
        throw;
      }
      co_return Response::text(200, "too late");
    });
    ops::add_operational_routes(router_, metrics_, std::move(checks), 500ms);
    if (!config_.static_dir.empty()) {
      static_files_.emplace(config_.static_dir);
      router_.set_fallback([this](RequestContext& context) -> asio::awaitable<Response> {
        co_return static_files_->serve(context.request);
      });
    }
    server_ = std::make_unique<Server>(loops_, config_, router_, metrics_, true);
    port_ = server_->listen({"127.0.0.1", 0});
    thread_ = std::thread([this] { loops_.run(); });
  }

  ~ServerHarness() {
    loops_.stop();
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  Server& server() { return *server_; }
  /// When a waiting handler or producer saw its cancellation.
  std::future<std::chrono::steady_clock::time_point> cancellation() { return cancelled_.get_future(); }

 private:
  ServerConfig config_;
  EventLoops loops_;
  Metrics metrics_;
  Router router_;
  std::optional<StaticFiles> static_files_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::promise<std::chrono::steady_clock::time_point> cancelled_;
  std::thread thread_;
};

ServerConfig test_config() {
  ServerConfig config;
  config.static_dir = "";
  config.max_body_bytes = 1 << 20;
  config.max_header_bytes = 8 << 10;
  config.header_timeout = 600ms;
  config.body_timeout = 600ms;
  config.idle_timeout = 800ms;
  return config;
}

nlohmann::json error_of(const testing::RawResponse& response) {
  return nlohmann::json::parse(response.body)["error"];
}

TEST(HttpServer, AnswersWithARequestIdOnEveryResponse) {
  ServerHarness harness(test_config());
  auto response = http_request(harness.port(), "GET", "/ok");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_EQ(response->header("x-request-id").rfind("req_", 0), 0u);

  response = http_request(harness.port(), "GET", "/ok", "", "X-Request-Id: caller-id_1.2:3\r\n");
  EXPECT_EQ(response->header("x-request-id"), "caller-id_1.2:3");
  response = http_request(harness.port(), "GET", "/ok", "", "X-Request-Id: bad id with spaces\r\n");
  EXPECT_EQ(response->header("x-request-id").rfind("req_", 0), 0u);
  response = http_request(harness.port(), "GET", "/nowhere", "", "X-Request-Id: mine\r\n");
  EXPECT_EQ(response->header("x-request-id"), "mine");
}

TEST(HttpServer, UnknownRoutesAndWrongMethodsGetOpenAIShapedErrors) {
  ServerHarness harness(test_config());
  auto missing = http_request(harness.port(), "GET", "/v1/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(error_of(*missing)["type"], "invalid_request_error");

  auto wrong = http_request(harness.port(), "DELETE", "/ok");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->header("allow"), "GET, HEAD");
  EXPECT_EQ(error_of(*wrong)["code"], "method_not_allowed");
}

TEST(HttpServer, PathParametersReachTheHandler) {
  ServerHarness harness(test_config());
  auto response = http_request(harness.port(), "GET", "/items/a%20b");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "a b");
}

TEST(HttpServer, HandlerFailuresBecomeErrorsWithoutLeakingDetail) {
  ServerHarness harness(test_config());
  auto crashed = http_request(harness.port(), "GET", "/throws");
  ASSERT_TRUE(crashed);
  EXPECT_EQ(crashed->status, 500);
  EXPECT_EQ(crashed->body.find("hunter2"), std::string::npos);
  EXPECT_EQ(error_of(*crashed)["type"], "server_error");

  auto budget = http_request(harness.port(), "GET", "/payment");
  EXPECT_EQ(budget->status, 402);
  EXPECT_EQ(error_of(*budget)["code"], "budget_exceeded");
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  ServerHarness harness(test_config());
  RawConnection connection(harness.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(connection.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "hello");
  }
}

TEST(HttpServer, OversizedBodyDeclaredUpFrontIs413) {
  ServerHarness harness(test_config());
  RawConnection connection(harness.port());
  ASSERT_TRUE(connection.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"));
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(error_of(*response)["code"], "request_too_large");
  EXPECT_EQ(error_of(*response)["type"], "invalid_request_error");
  EXPECT_TRUE(connection.closed_by_peer(3s));
}

TEST(HttpServer, OversizedChunkedBodyIs413) {
  ServerHarness harness(test_config());
  RawConnection connection(harness.port());
  ASSERT_TRUE(connection.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string chunk(256 << 10, 'a');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  for (int i = 0; i < 5; ++i) {
    if (!connection.send(size_line + chunk + "\r\n")) break;
  }
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
}

TEST(HttpServer, ExpectContinueIsHonouredAndRefusedWhenTooLarge) {
  ServerHarness harness(test_config());
  RawConnection small(harness.port());
  ASSERT_TRUE(
      small.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"));
  ASSERT_TRUE(small.send("hi"));
  auto answer = small.read_response();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->body, "hi");

  RawConnection large(harness.port());
  ASSERT_TRUE(large.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000000\r\n\r\n"));
  answer = large.read_response();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 413);
}

TEST(HttpServer, OversizedHeaderIs431) {
  ServerHarness harness(test_config());
  auto response =
      http_request(harness.port(), "GET", "/ok", "", "X-Big: " + std::string(16 << 10, 'h') + "\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
}

TEST(HttpServer, MalformedRequestIs400) {
  ServerHarness harness(test_config());
  RawConnection connection(harness.port());
  ASSERT_TRUE(connection.send("GARBAGE\x01 / HTTP/9.9\r\n\r\n"));
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
}

TEST(HttpServer, ATricklingClientIsCutAtTheHeaderDeadline) {
  ServerHarness harness(test_config());
  RawConnection connection(harness.port());
  const std::string request =
      "GET /ok HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(64, 'p') + "\r\n\r\n";
  auto started = std::chrono::steady_clock::now();
  bool cut = false;
  for (char c : request) {
    if (!connection.send(std::string(1, c))) {
      cut = true;
      break;
    }
    std::this_thread::sleep_for(40ms);
    if (std::chrono::steady_clock::now() - started > 3s) break;
  }
  EXPECT_TRUE(cut || connection.closed_by_peer(1s)) << "the trickling client was not cut";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST(HttpServer, IdleKeepAliveConnectionsAreClosed) {
  ServerHarness harness(test_config());
  RawConnection connection(harness.port());
  ASSERT_TRUE(connection.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(connection.read_response());
  EXPECT_TRUE(connection.closed_by_peer(3s));
}

TEST(HttpServer, ConnectionsBeyondTheLimitAreRefusedWith503) {
  auto config = test_config();
  config.max_connections = 2;
  config.idle_timeout = 10s;
  ServerHarness harness(config);
  RawConnection first(harness.port());
  RawConnection second(harness.port());
  ASSERT_TRUE(first.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(first.read_response());
  ASSERT_TRUE(second.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(second.read_response());

  auto refused = http_request(harness.port(), "GET", "/ok");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(error_of(*refused)["code"], "busy");
  EXPECT_EQ(harness.server().open_connections(), 2u);
}

TEST(HttpServer, StaticFilesNeverEscapeTheirRoot) {
  namespace fs = std::filesystem;
  auto base = fs::temp_directory_path() / ("switchyard-http-static-" + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base / "root");
  std::ofstream(base / "root/index.html") << "<html>portal</html>";
  std::ofstream(base / "secret.txt") << "top secret";
  fs::create_symlink(base / "secret.txt", base / "root/link.txt");
  auto config = test_config();
  config.static_dir = (base / "root").string();
  {
    ServerHarness harness(config);
    auto index = http_request(harness.port(), "GET", "/");
    ASSERT_TRUE(index);
    EXPECT_EQ(index->body, "<html>portal</html>");
    auto route = http_request(harness.port(), "GET", "/usage/compare");
    EXPECT_EQ(route->body, "<html>portal</html>");
    const std::vector<std::string> escapes = {"/../secret.txt",        "/%2e%2e/secret.txt",
                                              "/%2E%2E%2Fsecret.txt",  "/link.txt",
                                              "/..%2f..%2fsecret.txt", (base / "secret.txt").string()};
    for (const auto& target : escapes) {
      auto response = http_request(harness.port(), "GET", target);
      ASSERT_TRUE(response) << target;
      EXPECT_EQ(response->body.find("top secret"), std::string::npos) << target;
      EXPECT_EQ(response->status, 404) << target;
    }
    auto head = http_request(harness.port(), "HEAD", "/index.html");
    ASSERT_TRUE(head);
    EXPECT_EQ(head->header("content-length"), "19");
  }
  fs::remove_all(base);
}

TEST(HttpServer, HealthReadyAndMetrics) {
  std::vector<ops::DependencyCheck> checks = {
      {"postgres", [](std::chrono::milliseconds) -> asio::awaitable<void> { co_return; }},
      {"redis", [](std::chrono::milliseconds) -> asio::awaitable<void> {
         throw ApiError::unavailable("redis down", "connection refused");
         co_return;
       }}};
  ServerHarness harness(test_config(), std::move(checks));
  EXPECT_EQ(http_request(harness.port(), "GET", "/health")->status, 200);
  auto ready = http_request(harness.port(), "GET", "/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  auto body = nlohmann::json::parse(ready->body);
  EXPECT_EQ(body["checks"]["postgres"], "ok");
  EXPECT_NE(body["checks"]["redis"].get<std::string>().find("connection refused"), std::string::npos);
  EXPECT_NE(body["error"]["message"].get<std::string>().find("redis"), std::string::npos);
  EXPECT_EQ(body["error"]["message"].get<std::string>().find("postgres"), std::string::npos);

  // An exchange is recorded once its response is written, a moment after the client has it.
  std::optional<testing::RawResponse> metrics;
  for (int attempt = 0; attempt < 50; ++attempt) {
    metrics = http_request(harness.port(), "GET", "/metrics");
    ASSERT_TRUE(metrics);
    if (metrics->body.find(R"(route="/ready",status="503"} 1)") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(metrics->header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(
      metrics->body.find(R"(switchyard_http_requests_total{method="GET",route="/health",status="200"} 1)"),
      std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find(R"(route="/ready",status="503"} 1)"), std::string::npos);
  EXPECT_NE(metrics->body.find("switchyard_http_open_connections"), std::string::npos);
}

TEST(HttpServer, StreamedBodiesArriveChunkedPieceByPiece) {
  ServerHarness harness(test_config());
  RawConnection connection(harness.port());
  ASSERT_TRUE(connection.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->header("transfer-encoding"), "chunked");
  EXPECT_EQ(response->header("content-type"), "text/event-stream");
  EXPECT_EQ(response->body, "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n");
  ASSERT_TRUE(connection.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")) << "keep-alive after a stream";
  EXPECT_EQ(connection.read_response()->status, 200);
}

/// Sends `target`, leaves after 200 ms, and checks that what waited on the server side saw its cancellation
/// at once.
void expect_cancelled_when_the_client_leaves(const std::string& target) {
  ServerHarness harness(test_config());
  auto cancelled = harness.cancellation();
  std::chrono::steady_clock::time_point left;
  {
    RawConnection connection(harness.port());
    ASSERT_TRUE(connection.send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::this_thread::sleep_for(200ms);
    left = std::chrono::steady_clock::now();
  }
  ASSERT_EQ(cancelled.wait_for(2s), std::future_status::ready);
  EXPECT_LT(cancelled.get() - left, 200ms);
}

TEST(HttpServer, AClientThatLeavesCancelsAWaitingHandlerAtOnce) {
  expect_cancelled_when_the_client_leaves("/handler-waits");
}

TEST(HttpServer, AClientThatLeavesMidStreamCancelsTheProducerAtOnce) {
  expect_cancelled_when_the_client_leaves("/stream-waits");
}

TEST(HttpServer, APipelinedRequestIsNoClientLeaving) {
  ServerHarness harness(test_config());
  RawConnection connection(harness.port());
  // The second request arrives while the first is handled: both are answered, in order.
  ASSERT_TRUE(connection.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(connection.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = connection.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "finished");
  auto second = connection.read_response();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
}

TEST(HttpServer, DrainLetsInFlightRequestsFinishAndRefusesNewConnections) {
  ServerHarness harness(test_config());
  auto slow = std::async(std::launch::async, [&] { return http_request(harness.port(), "GET", "/slow"); });
  std::this_thread::sleep_for(300ms);

  std::promise<bool> drained;
  harness.server().drain(5s, [&](bool clean) { drained.set_value(clean); });
  std::this_thread::sleep_for(100ms);
  EXPECT_THROW(RawConnection late(harness.port()), std::runtime_error);

  auto response = slow.get();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "finished");
  auto clean = drained.get_future();
  ASSERT_EQ(clean.wait_for(3s), std::future_status::ready);
  EXPECT_TRUE(clean.get());
}

TEST(HttpServer, DrainClosesIdleKeepAliveConnectionsAtOnce) {
  auto config = test_config();
  config.idle_timeout = 30s;
  ServerHarness harness(config);
  RawConnection idle(harness.port());
  ASSERT_TRUE(idle.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.read_response());
  std::promise<bool> drained;
  harness.server().drain(5s, [&](bool clean) { drained.set_value(clean); });
  EXPECT_TRUE(idle.closed_by_peer(2s));
  auto clean = drained.get_future();
  ASSERT_EQ(clean.wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(clean.get());
}

}  // namespace
}  // namespace switchyard::http
