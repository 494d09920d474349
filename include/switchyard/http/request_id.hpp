#pragma once

#include <string>
#include <string_view>

namespace switchyard::http {

/// 1–128 characters of `A-Z a-z 0-9 . _ : -`: a caller's X-Request-Id that we keep as it is.
bool is_sane_request_id(std::string_view id);

/// `req_` and 24 random base62 characters (about 143 bits).
std::string new_request_id();

}  // namespace switchyard::http
