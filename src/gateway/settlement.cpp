#include "settlement.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "switchyard/store/redis_client.hpp"
#include "switchyard/usage/usage_writer.hpp"

namespace switchyard::gateway {
namespace {

namespace asio = boost::asio;

std::int32_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return static_cast<std::int32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since)
          .count());
}

asio::awaitable<void> settle_admission(limits::Admitter& admitter, limits::Admission admission,
                                       std::int64_t tokens, Micros cost) {
  try {
    co_await admitter.settle(admission, tokens, cost);
  } catch (const std::exception& failure) {
    // The lease frees the slot by itself; the spend is in the usage row, from which Redis is rebuilt.
    spdlog::warn("settling admission {} failed: {}", admission.id, failure.what());
  }
}

}  // namespace

usage::Prices prices_of(const auth::ModelInfo& model) {
  return {model.prices.input_per_mtok, model.prices.output_per_mtok, model.prices.cached_input_per_mtok};
}

Settlement::Settlement(GatewayParts parts, asio::any_io_executor executor, limits::Admission admission,
                       const auth::Principal& principal, const auth::ModelInfo& model, std::string request_id,
                       bool stream)
    : parts_(parts),
      executor_(std::move(executor)),
      admission_(std::move(admission)),
      prices_(prices_of(model)) {
  record_.id = usage::new_usage_id();
  record_.request_id = std::move(request_id);
  record_.tenant_id = principal.tenant_id;
  // A JWT organisation's principal has no key: its rows carry the user and a null api_key_id.
  if (!principal.key_id.empty()) record_.api_key_id = principal.key_id;
  record_.user_id = principal.user_id;
  record_.model_alias = model.alias;
  record_.provider = model.provider->name;
  record_.upstream_model = model.upstream_model;
  record_.stream = stream;
}

Settlement::~Settlement() {
  if (!finished_) finish(usage::RequestOutcome::cancelled, 499, std::nullopt);
}

void Settlement::first_token() {
  if (!record_.ttft_ms) record_.ttft_ms = elapsed_ms(started_);
}

void Settlement::finish(usage::RequestOutcome outcome, int http_status, std::optional<TokenCounts> reported) {
  if (finished_) return;
  finished_ = true;
  TokenCounts counts;
  if (reported) {
    counts = *reported;
  } else if (outcome != usage::RequestOutcome::failed || generated_characters_ > 0) {
    // No usage from the provider: what was delivered still counts, estimated from the text.
    counts.prompt = prompt_estimate_;
    counts.completion = estimate_tokens(generated_characters_);
    record_.estimated = true;
  }
  record_.prompt_tokens = counts.prompt;
  record_.completion_tokens = counts.completion;
  record_.cached_tokens = counts.cached;
  record_.cost_micros = usage::cost_micros(prices_, counts.prompt, counts.completion, counts.cached);
  record_.outcome = outcome;
  record_.http_status = http_status;
  record_.latency_ms = elapsed_ms(started_);
  record_.created_at = std::chrono::system_clock::now();
  auto cost = record_.cost_micros;
  parts_.usage.record(std::move(record_));  // finished once: the record is needed no more here
  if (admission_.mode != limits::AdmissionMode::unlimited) {
    asio::co_spawn(
        executor_,
        // Finished once: the admission is needed no more here.
        settle_admission(parts_.admitter, std::move(admission_), counts.prompt + counts.completion, cost),
        asio::detached);
  }
}

}  // namespace switchyard::gateway
