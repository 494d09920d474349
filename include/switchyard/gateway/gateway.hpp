#pragma once

#include <chrono>
#include <cstdint>

#include "switchyard/http/router.hpp"

namespace switchyard::auth {
class KeyCache;
class Catalog;
}  // namespace switchyard::auth
namespace switchyard::limits {
class Admitter;
}
namespace switchyard::jwt_orgs {
class Authenticator;
}
namespace switchyard::usage {
class UsageWriter;
}
namespace switchyard::providers {
class Provider;
}

/// The OpenAI-compatible `/v1` pipeline: authenticate, validate, resolve the model, admit against limits
/// and budgets, forward to the provider, stream back, settle usage and cost on every exit path.
namespace switchyard::gateway {

struct GatewayConfig {
  /// Completion tokens reserved for TPM and budget when a request names no max_tokens.
  std::int64_t default_max_tokens = 4096;
  /// A stream renews its parallel-slot lease this often (well within the Admitter's lease TTL).
  std::chrono::milliseconds lease_renewal{30'000};
};

/// What the pipeline runs on; every part must outlive the router's use.
struct GatewayParts {
  auth::KeyCache& keys;
  auth::Catalog& catalog;
  limits::Admitter& admitter;
  usage::UsageWriter& usage;
  providers::Provider& openai_wire;  ///< openai, openai_compatible, azure
  providers::Provider& mock;
  /// Bearer JWTs of JWT organisations (spec 002); null: API keys only.
  jwt_orgs::Authenticator* jwt = nullptr;
};

/// `POST /v1/chat/completions`, `POST /v1/completions`, `POST /v1/embeddings`, `GET /v1/models`,
/// `GET /v1/models/{id}`.
void add_gateway_routes(http::Router& router, GatewayParts parts, GatewayConfig config);

}  // namespace switchyard::gateway
