#include "switchyard/auth/api_key.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "api_key_error.hpp"
#include "switchyard/core/crypto.hpp"

namespace switchyard::auth {
namespace {

constexpr std::string_view kWhitespace = " \t";

std::string_view trim(std::string_view text) {
  auto first = text.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(kWhitespace);
  return text.substr(first, last - first + 1);
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

/// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 9110 §11.1); empty for other schemes.
std::string_view bearer_token(std::string_view authorization) {
  authorization = trim(authorization);
  auto space = authorization.find_first_of(kWhitespace);
  if (space == std::string_view::npos || !iequals(authorization.substr(0, space), "bearer")) return {};
  return trim(authorization.substr(space));
}

ApiError unauthorized(std::string message) {
  return {401, "invalid_request_error", "invalid_api_key", std::move(message)};
}

}  // namespace

std::string_view presented_api_key(std::optional<std::string_view> authorization,
                                   std::optional<std::string_view> x_api_key) {
  if (authorization) {
    if (auto token = bearer_token(*authorization); !token.empty()) return token;
  }
  if (x_api_key) {
    if (auto key = trim(*x_api_key); !key.empty()) return key;
  }
  throw missing_api_key();
}

ApiError missing_api_key() {
  return unauthorized(
      "You didn't provide an API key. You need to provide your API key in an Authorization header using "
      "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or in an x-api-key header.");
}

ApiError incorrect_api_key(std::string_view presented_key) {
  return detail::incorrect_api_key_shown(detail::shown_key(presented_key));
}

namespace detail {

std::string shown_key(std::string_view presented_key) {
  // Only what the portal shows of a key anyway, and only characters that are safe to echo.
  std::string shown = crypto::api_key_prefix(presented_key);
  std::replace_if(
      shown.begin(), shown.end(),
      [](char c) { return !(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'); }, '?');
  return shown;
}

ApiError incorrect_api_key_shown(const std::string& shown) {
  return unauthorized("Incorrect API key provided: " + shown +
                      "****. Check the key, or create a new one in the portal.");
}

}  // namespace detail

}  // namespace switchyard::auth
