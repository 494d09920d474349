#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/error.hpp"

namespace switchyard::providers {

/// The error a client sees for a provider's non-2xx answer: 4xx keep their status and the provider's
/// message (OpenAI's `{"error":{…}}`, vLLM's flat `{"message":…}` or plain text), with `Retry-After`;
/// 5xx become 502 upstream_error. Every secret in `secrets` is masked out of the message. Pure.
ApiError upstream_status_error(int status, std::string_view body, std::optional<std::string_view> retry_after,
                               const std::vector<std::string>& secrets);

/// 502 upstream_error: the provider failed (refused connection, broken or malformed answer).
ApiError upstream_failure(std::string_view provider, std::string_view detail);
/// 504 upstream_timeout: the provider passed its deadline.
ApiError upstream_timeout(std::string_view provider, std::string_view detail);

/// `text` with each non-empty secret replaced by `[redacted]`.
std::string scrub(std::string text, const std::vector<std::string>& secrets);

}  // namespace switchyard::providers
