#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <optional>

#include "switchyard/auth/catalog.hpp"
#include "switchyard/auth/principal.hpp"
#include "switchyard/gateway/gateway.hpp"
#include "switchyard/gateway/openai_body.hpp"
#include "switchyard/limits/admission.hpp"
#include "switchyard/usage/usage_record.hpp"

namespace switchyard::gateway {

/// A catalogue model's prices, as the cost arithmetic takes them.
usage::Prices prices_of(const auth::ModelInfo& model);

/// The end of one admitted request, done exactly once whichever way it ends: one usage row, and the
/// admission settled to the real token count and cost. Destroyed without finish() (a stream never started,
/// or a client gone mid-way), it settles as cancelled with the tokens counted so far.
class Settlement {
 public:
  Settlement(GatewayParts parts, boost::asio::any_io_executor executor, limits::Admission admission,
             const auth::Principal& principal, const auth::ModelInfo& model, std::string request_id,
             bool stream);
  ~Settlement();
  Settlement(const Settlement&) = delete;
  Settlement& operator=(const Settlement&) = delete;

  void first_token();
  /// Generated text seen in a stream, for an estimate when no usage arrives.
  void count_generated(std::int64_t characters) { generated_characters_ += characters; }
  void set_prompt_estimate(std::int64_t tokens) { prompt_estimate_ = tokens; }

  /// Settles with the provider's counts, or with the gateway's estimate when `reported` is nullopt.
  void finish(usage::RequestOutcome outcome, int http_status, std::optional<TokenCounts> reported);

  const limits::Admission& admission() const { return admission_; }

 private:
  GatewayParts parts_;
  boost::asio::any_io_executor executor_;
  limits::Admission admission_;
  usage::UsageRecord record_;
  usage::Prices prices_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::int64_t prompt_estimate_ = 0;
  std::int64_t generated_characters_ = 0;
  bool finished_ = false;
};

}  // namespace switchyard::gateway
