#include "switchyard/providers/openai_wire.hpp"

#include <boost/asio/this_coro.hpp>
#include <cmath>

#include "switchyard/http/sse.hpp"
#include "switchyard/providers/upstream_errors.hpp"

namespace switchyard::providers {
namespace {

constexpr std::size_t kMaxAnswerBytes = 64u << 20;
constexpr std::size_t kMaxErrorBytes = 64u << 10;

std::string_view path_of(Operation operation) {
  switch (operation) {
    case Operation::chat:
      return "/chat/completions";
    case Operation::completions:
      return "/completions";
    case Operation::embeddings:
      return "/embeddings";
  }
  return "/chat/completions";
}

std::string setting(const nlohmann::json& settings, const char* name) {
  auto found = settings.find(name);
  return found != settings.end() && found->is_string() ? found->get<std::string>() : std::string();
}

std::string trimmed_base(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

http::UpstreamDeadlines deadlines_for(const auth::ProviderInfo& provider) {
  auto timeout =
      std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(provider.timeout_s * 1000)));
  http::UpstreamDeadlines deadlines;
  deadlines.connect = std::min(timeout, std::chrono::milliseconds(10'000));
  deadlines.first_byte = timeout;
  deadlines.between_chunks = timeout;
  deadlines.total = std::max(deadlines.total, timeout);
  return deadlines;
}

ApiError translate(const http::UpstreamError& error, const auth::ProviderInfo& provider) {
  if (error.kind() == http::UpstreamError::Kind::timeout)
    return upstream_timeout(provider.name, error.what());
  return upstream_failure(provider.name, error.what());
}

/// Server-sent events of an OpenAI-wire stream, decoded as they arrive; the payloads pass through as
/// they came.
class WireChunkStream final : public ChunkStream {
 public:
  WireChunkStream(std::unique_ptr<http::UpstreamResponse> response,
                  std::shared_ptr<const auth::ProviderInfo> provider)
      : response_(std::move(response)), provider_(std::move(provider)) {}

  boost::asio::awaitable<std::optional<std::string>> next() override {
    while (pending_index_ >= pending_.size()) {
      if (done_) co_return std::nullopt;
      pending_.clear();
      pending_index_ = 0;
      std::optional<std::string> piece;
      try {
        piece = co_await response_->read();
      } catch (const http::UpstreamError& error) {
        if (error.kind() == http::UpstreamError::Kind::cancelled) throw;
        throw translate(error, *provider_);
      }
      if (!piece) throw upstream_failure(provider_->name, "the stream ended without [DONE]");
      try {
        decoder_.feed(*piece, pending_);
      } catch (const std::length_error& error) {
        throw upstream_failure(provider_->name, error.what());
      }
    }
    auto& event = pending_[pending_index_++];
    if (event.data == "[DONE]") {
      done_ = true;
      co_return std::nullopt;
    }
    co_return std::move(event.data);
  }

  bool has_buffered() const override { return pending_index_ < pending_.size(); }

 private:
  std::unique_ptr<http::UpstreamResponse> response_;
  std::shared_ptr<const auth::ProviderInfo> provider_;
  http::SseDecoder decoder_;
  std::vector<http::SseEvent> pending_;
  std::size_t pending_index_ = 0;
  bool done_ = false;
};

}  // namespace

WireTarget wire_target(const auth::ModelInfo& model, Operation operation) {
  const auth::ProviderInfo& provider = *model.provider;
  WireTarget target;
  std::string base = trimmed_base(provider.base_url);
  std::string api_key = setting(provider.credentials, "api_key");
  std::string bearer = setting(provider.credentials, "bearer_token");
  target.secrets = {api_key, bearer};

  if (provider.type == "azure") {
    std::string api_version = setting(provider.settings, "api_version");
    if (api_version.empty()) {
      target.url = base + std::string(path_of(operation));
    } else {
      std::string deployment = setting(provider.settings, "deployment");
      if (deployment.empty()) deployment = model.upstream_model;
      target.url = base + "/openai/deployments/" + deployment + std::string(path_of(operation)) +
                   "?api-version=" + api_version;
    }
    if (!bearer.empty()) {
      target.headers.add("Authorization", "Bearer " + bearer);
    } else if (setting(provider.settings, "auth") == "bearer") {
      target.headers.add("Authorization", "Bearer " + api_key);
    } else if (!api_key.empty()) {
      target.headers.add("api-key", api_key);
    }
    return target;
  }
  target.url = base + std::string(path_of(operation));
  if (!api_key.empty()) target.headers.add("Authorization", "Bearer " + api_key);
  return target;
}

boost::asio::awaitable<Reply> OpenAiWireProvider::send(Operation operation, const auth::ModelInfo& model,
                                                       nlohmann::json body, const CallContext& context) {
  const auth::ProviderInfo& provider = *model.provider;
  bool stream = body.value("stream", false);
  auto target = wire_target(model, operation);

  http::UpstreamRequest request;
  request.url = std::move(target.url);
  request.headers = std::move(target.headers);
  request.headers.add("Content-Type", "application/json");
  request.headers.add("Accept", stream ? "text/event-stream" : "application/json");
  request.headers.add("X-Request-Id", context.request_id);
  request.body = body.dump();
  request.deadlines = deadlines_for(provider);
  request.verify_tls = provider.verify_tls;

  std::unique_ptr<http::UpstreamResponse> response;
  try {
    response = co_await client_.send(std::move(request));
    if (response->status() < 200 || response->status() >= 300) {
      auto error_body = co_await response->read_all(kMaxErrorBytes);
      throw upstream_status_error(response->status(), error_body, response->headers().find("Retry-After"),
                                  target.secrets);
    }
    if (!stream) {
      // Passed on as it came: the gateway checks that it is JSON as it reads its usage.
      auto answer = co_await response->read_all(kMaxAnswerBytes);
      co_return Reply{std::move(answer), nullptr};
    }
  } catch (const http::UpstreamError& error) {
    if (error.kind() == http::UpstreamError::Kind::cancelled) throw;
    throw translate(error, provider);
  }
  co_return Reply{{}, std::make_unique<WireChunkStream>(std::move(response), model.provider)};
}

}  // namespace switchyard::providers
