#pragma once

#include <optional>
#include <string_view>

#include "switchyard/core/error.hpp"

namespace switchyard::auth {

/// The API key a request presents: `Authorization: Bearer <key>` (OpenAI's SDKs), else `x-api-key: <key>`
/// (Anthropic's). Pass each header's value, or nullopt when the request lacks it. The result views into
/// the header it came from. Throws missing_api_key() when neither header carries a key. Pure.
std::string_view presented_api_key(std::optional<std::string_view> authorization,
                                   std::optional<std::string_view> x_api_key);

/// 401 invalid_api_key for a request that carries no key; the message says how to pass one.
ApiError missing_api_key();

/// 401 invalid_api_key for an unknown, revoked or expired key. The message shows only the key's prefix.
ApiError incorrect_api_key(std::string_view presented_key);

}  // namespace switchyard::auth
