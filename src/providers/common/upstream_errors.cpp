#include "switchyard/providers/upstream_errors.hpp"

#include <nlohmann/json.hpp>

#include "switchyard/providers/provider.hpp"

namespace switchyard::providers {

std::string_view capability_of(Operation operation) {
  switch (operation) {
    case Operation::chat:
      return "chat";
    case Operation::completions:
      return "completions";
    case Operation::embeddings:
      return "embeddings";
  }
  return "chat";
}

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "[redacted]");
    }
  }
  return text;
}

ApiError upstream_status_error(int status, std::string_view body, std::optional<std::string_view> retry_after,
                               const std::vector<std::string>& secrets) {
  std::string message;
  std::string type;
  std::string code;
  std::string param;
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_object()) {
    const auto& error = parsed.contains("error") && parsed["error"].is_object() ? parsed["error"] : parsed;
    auto text = [&](const char* field) {
      if (!error.contains(field)) return std::string();
      const auto& value = error[field];
      return value.is_string() ? value.get<std::string>() : value.is_null() ? std::string() : value.dump();
    };
    message = text("message");
    type = text("type");
    code = text("code");
    param = text("param");
  }
  if (message.empty()) message = std::string(body.substr(0, 500));
  if (message.empty()) message = "The provider answered with status " + std::to_string(status) + ".";

  if (status >= 500) {
    return upstream_failure("provider", "status " + std::to_string(status) + ": " + scrub(message, secrets));
  }
  if (type.empty() || type == "BadRequestError")
    type = status == 429 ? "rate_limit_error" : "invalid_request_error";
  if (status == 429 && code.empty()) code = "rate_limit_exceeded";
  ApiError error(status, type, code, scrub(message, secrets), param);
  if (retry_after) error.with_header("Retry-After", std::string(*retry_after));
  return error;
}

ApiError upstream_failure(std::string_view provider, std::string_view detail) {
  return ApiError(502, "upstream_error", "upstream_error",
                  "The model provider failed to answer; please try again.", {},
                  std::string(provider) + ": " + std::string(detail));
}

ApiError upstream_timeout(std::string_view provider, std::string_view detail) {
  return ApiError(504, "upstream_timeout", "upstream_timeout", "The model provider did not answer in time.",
                  {}, std::string(provider) + ": " + std::string(detail));
}

}  // namespace switchyard::providers
