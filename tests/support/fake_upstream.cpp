#include "support/fake_upstream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace switchyard::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using namespace asio::experimental::awaitable_operators;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct FakeUpstream::State {
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  FakeScenario scenario = FakeScenario::normal;
  std::chrono::milliseconds first_byte_delay{0};
  std::chrono::milliseconds chunk_delay{0};
  std::size_t disconnect_after = 2;
  bool drop_reused = false;
  std::vector<std::string> models{"gpt-4o-mini", "text-embedding-3-small"};
  std::vector<FakeRequest> requests;
  std::vector<FakeConnection> connections;
  std::size_t active = 0;
  std::size_t max_active = 0;
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;

  std::unique_ptr<asio::io_context> io = std::make_unique<asio::io_context>(1);
  tcp::acceptor acceptor{*io};
  std::thread thread;

  std::size_t opened() {
    std::lock_guard lock(mutex);
    connections.push_back({Clock::now(), std::nullopt});
    return connections.size() - 1;
  }
  void closed(std::size_t index) {
    std::lock_guard lock(mutex);
    if (!connections[index].closed) connections[index].closed = Clock::now();
    changed.notify_all();
  }
  void reported(std::uint64_t prompt, std::uint64_t completion) {
    std::lock_guard lock(mutex);
    prompt_tokens += prompt;
    completion_tokens += completion;
  }
};

namespace {

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string word; in >> word;) result.push_back(word);
  return result;
}

std::string content_text(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text")) {
        text += (text.empty() ? "" : " ") + part["text"].get<std::string>();
      }
    }
  }
  return text;
}

std::string base64(const std::string& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out +=
        {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], kAlphabet[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    unsigned v =
        (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

std::vector<float> embedding_of(const std::string& text, std::size_t dimensions) {
  std::uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  std::vector<float> values;
  for (std::size_t i = 0; i < dimensions; ++i) {
    hash = hash * 6364136223846793005ull + 1442695040888963407ull;
    values.push_back(static_cast<float>(hash >> 40) / static_cast<float>(1u << 24) - 0.5f);
  }
  return values;
}

std::string status_line(int status) {
  switch (status) {
    case 200:
      return "200 OK";
    case 400:
      return "400 Bad Request";
    case 404:
      return "404 Not Found";
    case 429:
      return "429 Too Many Requests";
    default:
      return "500 Internal Server Error";
  }
}

std::string json_response(int status, const std::string& body, const std::string& extra_headers = {}) {
  return "HTTP/1.1 " + status_line(status) +
         "\r\nContent-Type: application/json\r\nx-request-id: req_fake\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

std::string error_body(const std::string& message, const std::string& type, const json& code) {
  return json{{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}}.dump();
}

std::string sse_chunk(const std::string& event) {
  std::ostringstream size;
  size << std::hex << event.size();
  return size.str() + "\r\n" + event + "\r\n";
}

std::string data_event(const json& payload) { return "data: " + payload.dump() + "\n\n"; }

asio::awaitable<bool> write_all(tcp::socket& socket, const std::string& bytes) {
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), kTuple);
  co_return !ec;
}

asio::awaitable<void> pause(std::chrono::milliseconds delay) {
  if (delay.count() <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(asio::use_awaitable);
}

/// Completes when the client closes its end (or resets it); never while it merely stays quiet.
asio::awaitable<void> peer_gone(tcp::socket& socket) {
  co_await socket.async_wait(tcp::socket::wait_read, asio::use_awaitable);
  char byte;
  beast::error_code ec;
  auto n = socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
  if (ec || n == 0) co_return;
  // A pipelined request: not a departure; wait for the answer to finish.
  asio::steady_timer forever(co_await asio::this_coro::executor, std::chrono::hours(24));
  co_await forever.async_wait(asio::use_awaitable);
}

struct Settings {
  FakeScenario scenario;
  std::chrono::milliseconds first_byte_delay;
  std::chrono::milliseconds chunk_delay;
  std::size_t disconnect_after;
  std::vector<std::string> models;
};

/// Streams `events` as SSE; false when the connection must close.
asio::awaitable<bool> stream_events(FakeUpstream::State& state, tcp::socket& socket, const Settings& settings,
                                    const std::vector<std::string>& events, std::uint64_t prompt_tokens,
                                    std::uint64_t completion_tokens, bool with_usage) {
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "x-request-id: req_fake\r\nTransfer-Encoding: chunked\r\n\r\n";
  if (!co_await write_all(socket, head)) co_return false;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (settings.scenario == FakeScenario::disconnect && i == settings.disconnect_after) co_return false;
    if (i > 0 && settings.scenario == FakeScenario::slow) co_await pause(settings.chunk_delay);
    if (!co_await write_all(socket, sse_chunk(events[i]))) co_return false;
  }
  if (with_usage) state.reported(prompt_tokens, completion_tokens);
  co_return co_await write_all(socket, "0\r\n\r\n");
}

asio::awaitable<bool> answer_chat(FakeUpstream::State& state, tcp::socket& socket, const Settings& settings,
                                  const json& body, bool legacy) {
  auto answer = fake_chat_answer(body.dump());
  if (legacy) {
    const auto& prompt = body.value("prompt", json(""));
    std::string text = prompt.is_string() ? prompt.get<std::string>() : prompt.dump();
    answer =
        FakeAnswer{text.empty() ? "ok" : text, words(text).size(), words(text.empty() ? "ok" : text).size()};
  }
  std::string model = body.value("model", "gpt-4o-mini");
  std::string id = legacy ? "cmpl-fake" : "chatcmpl-fake";
  std::string object = legacy ? "text_completion" : "chat.completion";
  json usage = {{"prompt_tokens", answer.prompt_tokens},
                {"completion_tokens", answer.completion_tokens},
                {"total_tokens", answer.prompt_tokens + answer.completion_tokens}};
  if (!legacy) {
    usage["prompt_tokens_details"] = {{"cached_tokens", 0}};
    usage["completion_tokens_details"] = {{"reasoning_tokens", 0}};
  }

  if (!body.value("stream", false)) {
    if (settings.scenario == FakeScenario::malformed_sse) {
      co_await write_all(socket, json_response(200, "{\"id\": \"chatcmpl-fake\", \"choices\": [tru"));
      co_return true;
    }
    json choice =
        legacy ? json{{"index", 0}, {"text", answer.text}, {"logprobs", nullptr}, {"finish_reason", "stop"}}
               : json{{"index", 0},
                      {"message", {{"role", "assistant"}, {"content", answer.text}, {"refusal", nullptr}}},
                      {"logprobs", nullptr},
                      {"finish_reason", "stop"}};
    json response = {{"id", id},       {"object", object},    {"created", 1741569952},
                     {"model", model}, {"choices", {choice}}, {"usage", usage}};
    if (!legacy) response["system_fingerprint"] = "fp_fake";
    std::string text = json_response(200, response.dump());
    if (settings.scenario == FakeScenario::disconnect) {
      co_await write_all(socket, text.substr(0, text.size() - response.dump().size() / 2));
      co_return false;
    }
    state.reported(answer.prompt_tokens, answer.completion_tokens);
    co_return co_await write_all(socket, text);
  }

  bool include_usage = body.contains("stream_options") && body["stream_options"].is_object() &&
                       body["stream_options"].value("include_usage", false);
  std::vector<std::string> events;
  if (settings.scenario == FakeScenario::malformed_sse) {
    events = {"data: {\"id\": \"chatcmpl-fake\", \"choices\": [\n\n", "data: this is not json\n\n"};
    co_return co_await stream_events(state, socket, settings, events, 0, 0, false);
  }
  auto chunk = [&](json choices) {
    json payload = {{"id", id},
                    {"object", legacy ? "text_completion" : "chat.completion.chunk"},
                    {"created", 1741569952},
                    {"model", model},
                    {"choices", std::move(choices)}};
    if (include_usage) payload["usage"] = nullptr;
    return payload;
  };
  auto delta = [&](json content, json finish) {
    if (legacy)
      return json{{"index", 0},
                  {"text", content.is_null() ? "" : content},
                  {"logprobs", nullptr},
                  {"finish_reason", finish}};
    json d = json::object();
    if (!content.is_null()) d["content"] = content;
    return json{{"index", 0}, {"delta", d}, {"logprobs", nullptr}, {"finish_reason", finish}};
  };
  if (!legacy) {
    events.push_back(data_event(chunk({{{"index", 0},
                                        {"delta", {{"role", "assistant"}, {"content", ""}}},
                                        {"logprobs", nullptr},
                                        {"finish_reason", nullptr}}})));
  }
  auto pieces = words(answer.text);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    events.push_back(data_event(chunk({delta((i == 0 ? "" : " ") + pieces[i], nullptr)})));
  }
  events.push_back(data_event(chunk({delta(nullptr, "stop")})));
  if (include_usage) {
    json last = chunk(json::array());
    last["usage"] = usage;
    events.push_back(data_event(last));
  }
  events.push_back("data: [DONE]\n\n");
  co_return co_await stream_events(state, socket, settings, events, answer.prompt_tokens,
                                   answer.completion_tokens, include_usage);
}

asio::awaitable<bool> answer_embeddings(FakeUpstream::State& state, tcp::socket& socket, const json& body) {
  std::vector<std::string> inputs;
  const auto& input = body.value("input", json(""));
  if (input.is_array()) {
    for (const auto& item : input) inputs.push_back(item.is_string() ? item.get<std::string>() : item.dump());
  } else {
    inputs.push_back(input.is_string() ? input.get<std::string>() : input.dump());
  }
  std::size_t dimensions = body.value("dimensions", 8u);
  bool as_base64 = body.value("encoding_format", "float") == "base64";
  json data = json::array();
  std::uint64_t tokens = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    tokens += words(inputs[i]).size();
    auto values = embedding_of(inputs[i], dimensions);
    json embedding;
    if (as_base64) {
      std::string bytes(values.size() * sizeof(float), '\0');
      std::memcpy(bytes.data(), values.data(), bytes.size());
      embedding = base64(bytes);
    } else {
      embedding = values;
    }
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", embedding}});
  }
  json response = {{"object", "list"},
                   {"data", data},
                   {"model", body.value("model", "text-embedding-3-small")},
                   {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
  state.reported(tokens, 0);
  co_return co_await write_all(socket, json_response(200, response.dump()));
}

Settings settings_for(FakeUpstream::State& state, const bhttp::request<bhttp::string_body>& request,
                      const json& body) {
  std::lock_guard lock(state.mutex);
  Settings settings{state.scenario, state.first_byte_delay, state.chunk_delay, state.disconnect_after,
                    state.models};
  std::string model = body.is_object() ? body.value("model", "") : "";
  if (auto header = request.find("X-Fake-Scenario"); header != request.end()) {
    if (auto named = fake_scenario_named(header->value())) settings.scenario = *named;
  } else if (model.starts_with("fake-")) {
    if (auto named = fake_scenario_named(model.substr(5))) settings.scenario = *named;
  }
  return settings;
}

/// Answers one request; false when the connection must close.
asio::awaitable<bool> respond(FakeUpstream::State& state, tcp::socket& socket,
                              const bhttp::request<bhttp::string_body>& request) {
  json body = json::parse(request.body(), nullptr, false);
  auto settings = settings_for(state, request, body);
  switch (settings.scenario) {
    case FakeScenario::never_answers:
      co_await pause(std::chrono::hours(24));
      co_return false;
    case FakeScenario::malformed_http:
      co_await write_all(socket, "this is not HTTP\r\n\r\n");
      co_return false;
    case FakeScenario::slow:
      co_await pause(settings.first_byte_delay);
      break;
    case FakeScenario::rate_limited:
      co_return co_await write_all(
          socket,
          json_response(429,
                        error_body("Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, "
                                   "Used 3, Requested 1. Please try again in 1s.",
                                   "requests", "rate_limit_exceeded"),
                        "Retry-After: 1\r\n"));
    case FakeScenario::server_error:
      co_return co_await write_all(
          socket, json_response(500, error_body("The server had an error while processing your request.",
                                                "server_error", nullptr)));
    default:
      break;
  }

  std::string target(request.target());
  bool post = request.method() == bhttp::verb::post;
  if (post &&
      (target == "/v1/chat/completions" || target == "/v1/completions" || target == "/v1/embeddings") &&
      !body.is_object()) {
    co_return co_await write_all(
        socket, json_response(400, error_body("We could not parse the JSON body of your request.",
                                              "invalid_request_error", nullptr)));
  }
  if (post && target == "/v1/chat/completions")
    co_return co_await answer_chat(state, socket, settings, body, false);
  if (post && target == "/v1/completions")
    co_return co_await answer_chat(state, socket, settings, body, true);
  if (post && target == "/v1/embeddings") co_return co_await answer_embeddings(state, socket, body);
  if (request.method() == bhttp::verb::get && target.starts_with("/v1/models")) {
    auto model = [](const std::string& id) {
      return json{{"id", id}, {"object", "model"}, {"created", 1686935002}, {"owned_by", "openai"}};
    };
    if (target == "/v1/models") {
      json data = json::array();
      for (const auto& id : settings.models) data.push_back(model(id));
      json list = {{"object", "list"}, {"data", data}};
      co_return co_await write_all(socket, json_response(200, list.dump()));
    }
    std::string id = target.substr(std::strlen("/v1/models/"));
    for (const auto& known : settings.models) {
      if (known == id) co_return co_await write_all(socket, json_response(200, model(id).dump()));
    }
  }
  co_return co_await write_all(socket, json_response(404, error_body("Unknown request URL: " + target,
                                                                     "invalid_request_error", nullptr)));
}

asio::awaitable<void> session(FakeUpstream::State& state, tcp::socket socket) {
  auto index = state.opened();
  beast::flat_buffer buffer;
  for (std::size_t served = 0;; ++served) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(64u << 20);
    auto [ec, n] = co_await bhttp::async_read(socket, buffer, parser, kTuple);
    if (ec) break;
    auto request = parser.release();
    {
      std::lock_guard lock(state.mutex);
      FakeRequest record{std::string(request.method_string()),
                         std::string(request.target()),
                         {},
                         request.body(),
                         index,
                         Clock::now()};
      for (const auto& field : request)
        record.headers.add(std::string(field.name_string()), std::string(field.value()));
      state.requests.push_back(std::move(record));
      if (served > 0 && state.drop_reused) break;
      state.max_active = std::max(state.max_active, ++state.active);
    }
    auto outcome = co_await (respond(state, socket, request) || peer_gone(socket));
    {
      std::lock_guard lock(state.mutex);
      --state.active;
    }
    bool keep = outcome.index() == 0 && std::get<0>(outcome) && request.keep_alive();
    if (!keep) break;
  }
  state.closed(index);
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

asio::awaitable<void> accept_loop(FakeUpstream::State& state) {
  for (;;) {
    auto [ec, socket] = co_await state.acceptor.async_accept(kTuple);
    if (ec) co_return;
    asio::co_spawn(state.acceptor.get_executor(), session(state, std::move(socket)), asio::detached);
  }
}

}  // namespace

std::optional<FakeScenario> fake_scenario_named(std::string_view name) {
  if (name == "normal") return FakeScenario::normal;
  if (name == "slow") return FakeScenario::slow;
  if (name == "429") return FakeScenario::rate_limited;
  if (name == "500") return FakeScenario::server_error;
  if (name == "malformed_sse") return FakeScenario::malformed_sse;
  if (name == "disconnect") return FakeScenario::disconnect;
  if (name == "hang") return FakeScenario::never_answers;
  if (name == "malformed_http") return FakeScenario::malformed_http;
  return std::nullopt;
}

FakeAnswer fake_chat_answer(const std::string& request_body) {
  json body = json::parse(request_body, nullptr, false);
  FakeAnswer answer;
  std::string last_user;
  if (body.is_object() && body.contains("messages") && body["messages"].is_array()) {
    for (const auto& message : body["messages"]) {
      if (!message.is_object() || !message.contains("content")) continue;
      auto text = content_text(message["content"]);
      answer.prompt_tokens += words(text).size();
      if (message.value("role", "") == "user") last_user = text;
    }
  }
  answer.text = words(last_user).empty() ? "ok" : last_user;
  answer.completion_tokens = words(answer.text).size();
  return answer;
}

FakeUpstream::FakeUpstream() : state_(std::make_shared<State>()) {
  tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen();
  asio::co_spawn(*state_->io, accept_loop(*state_), asio::detached);
  state_->thread = std::thread([io = state_->io.get()] { io->run(); });
}

FakeUpstream::~FakeUpstream() {
  state_->io->stop();
  state_->thread.join();
  // The acceptor goes first; then destroying the context destroys the suspended sessions and their sockets.
}

std::uint16_t FakeUpstream::port() const { return state_->acceptor.local_endpoint().port(); }

std::string FakeUpstream::base_url() const { return "http://127.0.0.1:" + std::to_string(port()); }

void FakeUpstream::set_scenario(FakeScenario scenario) {
  std::lock_guard lock(state_->mutex);
  state_->scenario = scenario;
}

void FakeUpstream::set_delays(std::chrono::milliseconds first_byte,
                              std::chrono::milliseconds between_chunks) {
  std::lock_guard lock(state_->mutex);
  state_->first_byte_delay = first_byte;
  state_->chunk_delay = between_chunks;
}

void FakeUpstream::set_disconnect_after(std::size_t chunks) {
  std::lock_guard lock(state_->mutex);
  state_->disconnect_after = chunks;
}

void FakeUpstream::set_drop_reused_connections(bool drop) {
  std::lock_guard lock(state_->mutex);
  state_->drop_reused = drop;
}

void FakeUpstream::set_models(std::vector<std::string> ids) {
  std::lock_guard lock(state_->mutex);
  state_->models = std::move(ids);
}

std::vector<FakeRequest> FakeUpstream::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

std::vector<FakeConnection> FakeUpstream::connections() const {
  std::lock_guard lock(state_->mutex);
  return state_->connections;
}

std::size_t FakeUpstream::max_concurrent() const {
  std::lock_guard lock(state_->mutex);
  return state_->max_active;
}

std::uint64_t FakeUpstream::reported_prompt_tokens() const {
  std::lock_guard lock(state_->mutex);
  return state_->prompt_tokens;
}

std::uint64_t FakeUpstream::reported_completion_tokens() const {
  std::lock_guard lock(state_->mutex);
  return state_->completion_tokens;
}

std::optional<Clock::time_point> FakeUpstream::wait_closed(std::size_t index,
                                                           std::chrono::milliseconds limit) const {
  std::unique_lock lock(state_->mutex);
  bool closed = state_->changed.wait_for(lock, limit, [&] {
    return index < state_->connections.size() && state_->connections[index].closed.has_value();
  });
  if (!closed) return std::nullopt;
  return state_->connections[index].closed;
}

}  // namespace switchyard::testing
