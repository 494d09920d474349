#pragma once

#include <memory>
#include <string>

#include "switchyard/http/upstream_client.hpp"
#include "switchyard/providers/provider.hpp"

namespace switchyard::providers {

/// Where and how a request to an OpenAI-wire provider goes: URL and auth headers. Pure, so that every
/// provider type's URL rules are tested without a network.
struct WireTarget {
  std::string url;
  http::Headers headers;
  std::vector<std::string> secrets;  ///< values to scrub from anything a client sees
};

/// openai and openai_compatible: `{base_url}/chat/completions` etc., `Authorization: Bearer <api_key>`
/// when there is a key. azure: with `settings.api_version`, the classic deployment URL
/// `{base_url}/openai/deployments/{deployment}/…?api-version=…` (deployment: `settings.deployment`, else
/// the upstream model); without, the v1 API under `{base_url}` like OpenAI. Azure sends the key as
/// `api-key`, or `Authorization: Bearer` when `settings.auth` is `bearer` or the credential is
/// `bearer_token`.
WireTarget wire_target(const auth::ModelInfo& model, Operation operation);

/// The provider types that speak OpenAI's wire format: openai, openai_compatible, azure. Request bodies
/// and stream chunks pass through untouched; only the URL and headers differ.
class OpenAiWireProvider final : public Provider {
 public:
  explicit OpenAiWireProvider(http::UpstreamClient& client) : client_(client) {}

  boost::asio::awaitable<Reply> send(Operation operation, const auth::ModelInfo& model, nlohmann::json body,
                                     const CallContext& context) override;

 private:
  http::UpstreamClient& client_;
};

}  // namespace switchyard::providers
