#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include "settlement.hpp"
#include "switchyard/auth/api_key.hpp"
#include "switchyard/auth/key_cache.hpp"
#include "switchyard/auth/provider_keys.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/http/sse.hpp"
#include "switchyard/jwt_orgs/authenticator.hpp"
#include "switchyard/jwt_orgs/token.hpp"
#include "switchyard/providers/provider.hpp"
#include "switchyard/providers/upstream_errors.hpp"
#include "switchyard/usage/usage_record.hpp"

namespace switchyard::gateway {
namespace {

namespace asio = boost::asio;
using providers::Operation;
using usage::RequestOutcome;

limits::Scope scope_of(limits::ScopeKind kind, const std::string& id, const Limits& caps,
                       BudgetPeriod period) {
  limits::Scope scope;
  scope.kind = kind;
  scope.id = id;
  scope.limits = caps;
  scope.period = period;
  return scope;
}

limits::AdmissionRequest admission_request(const auth::Principal& principal, const auth::ModelInfo& model,
                                           const ParsedRequest& request, const std::string& request_id,
                                           const GatewayConfig& config, Operation operation) {
  limits::AdmissionRequest admission;
  admission.request_id = request_id;
  admission.key =
      scope_of(limits::ScopeKind::key, principal.key_id, principal.key_limits, principal.budget_period);
  admission.tenant = scope_of(limits::ScopeKind::tenant, principal.tenant_id, principal.tenant_limits,
                              principal.budget_period);
  std::int64_t completion =
      operation == Operation::embeddings ? 0 : request.max_tokens.value_or(config.default_max_tokens);
  admission.token_reservation = request.prompt_estimate + completion;
  admission.cost_reservation = usage::cost_micros(prices_of(model), request.prompt_estimate, completion, 0);
  return admission;
}

void add_headers(http::Response& response, const std::vector<limits::Header>& headers) {
  for (const auto& [name, value] : headers) response.headers.add(name, value);
}

ApiError with_headers(ApiError error, const std::vector<limits::Header>& headers) {
  for (const auto& [name, value] : headers) {
    bool present = false;
    for (const auto& [existing, unused] : error.headers()) present = present || http::iequals(existing, name);
    if (!present) error.with_header(name, value);
  }
  return error;
}

/// `data: {"error": …}`: how a failure after the stream started reaches the client (OpenAI's shape).
std::string error_event(const ApiError& error) { return http::sse_data(error.to_json()); }

/// The adapter of a provider's type; types whose adapters have not arrived yet answer 502.
providers::Provider& provider_for(GatewayParts& parts, const auth::ProviderInfo& provider) {
  const auto& type = provider.type;
  if (type == "mock") return parts.mock;
  if (type == "openai" || type == "openai_compatible" || type == "azure") return parts.openai_wire;
  throw ApiError(502, "upstream_error", "provider_unsupported",
                 "The provider of this model (type " + type + ") is not supported by this gateway yet.");
}

/// An API key through the key cache, or an organisation's JWT (spec 002) with its X-User-ID.
asio::awaitable<std::shared_ptr<const auth::Principal>> authenticate(auth::KeyCache& keys,
                                                                     jwt_orgs::Authenticator* jwt,
                                                                     http::RequestContext& context) {
  auto key = auth::presented_api_key(context.request.headers.find("Authorization"),
                                     context.request.headers.find("x-api-key"));
  std::shared_ptr<const auth::Principal> principal;
  if (jwt && jwt_orgs::looks_like_jwt(key)) {
    auto user_header = context.request.headers.find(jwt_orgs::kUserIdHeader);
    principal = co_await jwt->authenticate(key, user_header);
  } else {
    principal = co_await keys.authenticate(key);
  }
  context.tenant = principal->tenant_name;
  co_return principal;
}

/// The stream from provider to client: chunks pass through as they came, but for the usage chunk the
/// gateway asked for on the client's behalf; an error after the start becomes one error event. Events that
/// arrived in one read go out in one write (nginx relays a read in one write too): a write and its system
/// call per event was most of a stream's CPU.
http::BodyProducer relay(std::shared_ptr<Settlement> settlement,
                         std::unique_ptr<providers::ChunkStream> chunks, bool client_wants_usage,
                         GatewayParts parts, std::chrono::milliseconds renewal) {
  auto shared_chunks = std::shared_ptr<providers::ChunkStream>(std::move(chunks));
  return [settlement, shared_chunks, client_wants_usage, parts,
          renewal](http::BodyWriter& writer) -> asio::awaitable<void> {
    std::optional<TokenCounts> reported;
    std::optional<ApiError> failure;
    auto last_renewal = std::chrono::steady_clock::now();
    auto executor = co_await asio::this_coro::executor;
    // Events that arrived together go out in one write: never held back waiting for the network.
    std::string batch;
    try {
      for (;;) {
        auto payload = co_await shared_chunks->next();
        if (!payload) break;
        bool forward = true;
        if (may_carry_usage(*payload)) {
          auto chunk = summarize_answer(*payload);
          if (chunk.usage) reported = chunk.usage;
          forward = client_wants_usage || !chunk.empty_choices;
        }
        settlement->count_generated(generated_characters(*payload));
        if (forward) {
          settlement->first_token();
          batch += http::sse_data(*payload);
        }
        if (batch.empty() || shared_chunks->has_buffered()) continue;
        if (!co_await writer.write(batch)) {
          settlement->finish(RequestOutcome::cancelled, 200, reported);
          co_return;
        }
        batch.clear();
        if (std::chrono::steady_clock::now() - last_renewal > renewal) {
          last_renewal = std::chrono::steady_clock::now();
          asio::co_spawn(
              executor,
              [&admitter = parts.admitter, admission = settlement->admission()]() -> asio::awaitable<void> {
                try {
                  co_await admitter.renew(admission);
                } catch (const std::exception&) {
                  // An expired lease only lets another request in early; the stream goes on.
                }
              },
              asio::detached);
        }
      }
    } catch (const ApiError& error) {
      failure = error;
    }
    if (failure) {
      // A client that left cancels the upstream read, which may surface as a broken upstream: it is the
      // client's leaving all the same.
      auto state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) {
        settlement->finish(RequestOutcome::cancelled, 499, reported);
        co_return;
      }
      settlement->finish(RequestOutcome::failed, 200, reported);
      batch += error_event(*failure);
      co_await writer.write(batch);
      co_return;
    }
    settlement->finish(RequestOutcome::completed, 200, reported);
    batch += "data: [DONE]\n\n";
    co_await writer.write(batch);
  };
}

asio::awaitable<http::Response> generate(GatewayParts parts, GatewayConfig config, Operation operation,
                                         http::RequestContext& context) {
  auto principal = co_await authenticate(parts.keys, parts.jwt, context);
  if (!principal->scopes.write) {
    throw ApiError(403, "permission_error", "insufficient_scope",
                   "This API key may only read: it cannot call " + std::string(context.request.path()) + ".");
  }
  auto request = parse_request(operation, context.request.body);
  auto resolved =
      co_await parts.catalog.resolve(*principal, request.alias, providers::capability_of(operation));
  auto model = auth::with_own_credentials(resolved, *principal);
  const auto& request_id = context.log.request_id();
  auto& provider = provider_for(parts, *model->provider);

  auto wanted = admission_request(*principal, *model, request, request_id, config, operation);
  auto admission = co_await parts.admitter.admit(wanted);
  if (!admission.admitted()) throw with_headers(*admission.refusal, admission.headers);
  auto headers = std::move(admission.headers);  // the settlement needs the rest of the admission only

  auto executor = co_await asio::this_coro::executor;
  auto settlement = std::make_shared<Settlement>(parts, executor, std::move(admission), *principal, *model,
                                                 request_id, request.stream);
  settlement->set_prompt_estimate(request.prompt_estimate);

  auto body = std::move(request.body);
  body["model"] = model->upstream_model;
  if (request.stream) body["stream_options"]["include_usage"] = true;

  providers::Reply reply;
  try {
    providers::CallContext call{request_id};
    reply = co_await provider.send(operation, *model, std::move(body), call);
  } catch (const ApiError& error) {
    settlement->finish(RequestOutcome::failed, error.status(), std::nullopt);
    context.log.warn("provider {} answered {}: {} {}", model->provider->name, error.status(), error.what(),
                     error.detail());
    throw with_headers(error, headers);
  }

  http::Response response;
  add_headers(response, headers);
  if (!request.stream) {
    auto answer = summarize_answer(reply.body);
    if (!answer.well_formed) {
      auto error = providers::upstream_failure(model->provider->name, "the answer is not JSON");
      settlement->finish(RequestOutcome::failed, error.status(), std::nullopt);
      throw with_headers(error, headers);
    }
    settlement->first_token();
    settlement->finish(RequestOutcome::completed, 200, answer.usage);
    response.headers.add("Content-Type", "application/json");
    response.body = std::move(reply.body);
    co_return response;
  }
  response.headers.add("Content-Type", "text/event-stream");
  response.headers.add("Cache-Control", "no-cache");
  response.headers.add("X-Accel-Buffering", "no");
  response.stream =
      relay(settlement, std::move(reply.chunks), request.client_wants_usage, parts, config.lease_renewal);
  co_return response;
}

std::string models_list(const std::vector<std::shared_ptr<const auth::ModelInfo>>& models);
std::string model_object(const auth::ModelInfo& model);

}  // namespace

void add_gateway_routes(http::Router& router, GatewayParts parts, GatewayConfig config) {
  auto generation = [parts, config](Operation operation) {
    return [parts, config, operation](http::RequestContext& context) {
      return generate(parts, config, operation, context);
    };
  };
  router.add("POST", "/v1/chat/completions", generation(Operation::chat));
  router.add("POST", "/v1/completions", generation(Operation::completions));
  router.add("POST", "/v1/embeddings", generation(Operation::embeddings));

  router.add("GET", "/v1/models", [parts](http::RequestContext& context) -> asio::awaitable<http::Response> {
    auto principal = co_await authenticate(parts.keys, parts.jwt, context);
    auto models = co_await parts.catalog.models_for(*principal);
    co_return http::Response::json(200, models_list(models));
  });
  router.add("GET", "/v1/models/{id}",
             [parts](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto principal = co_await authenticate(parts.keys, parts.jwt, context);
               auto model = co_await parts.catalog.resolve(*principal, context.params.at("id"), "");
               co_return http::Response::json(200, model_object(*model));
             });
}

namespace {

nlohmann::json model_json(const auth::ModelInfo& model) {
  return {{"id", model.alias}, {"object", "model"}, {"created", 0}, {"owned_by", model.provider->name}};
}

std::string models_list(const std::vector<std::shared_ptr<const auth::ModelInfo>>& models) {
  nlohmann::json data = nlohmann::json::array();
  for (const auto& model : models) data.push_back(model_json(*model));
  return nlohmann::json{{"object", "list"}, {"data", std::move(data)}}.dump();
}

std::string model_object(const auth::ModelInfo& model) { return model_json(model).dump(); }

}  // namespace

}  // namespace switchyard::gateway
