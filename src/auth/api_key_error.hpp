#pragma once

#include <string>
#include <string_view>

#include "switchyard/core/error.hpp"

namespace switchyard::auth::detail {

/// What a 401 may show of a presented key: its display prefix, with anything unsafe to echo replaced.
std::string shown_key(std::string_view presented_key);

/// incorrect_api_key() from what shown_key() kept, so that a coroutine need not hold the secret itself.
ApiError incorrect_api_key_shown(const std::string& shown);

}  // namespace switchyard::auth::detail
