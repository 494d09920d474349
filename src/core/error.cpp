#include "switchyard/core/error.hpp"

#include <nlohmann/json.hpp>

namespace switchyard {

ApiError::ApiError(int status, std::string type, std::string code, std::string message, std::string param,
                   std::string detail)
    : std::runtime_error(std::move(message)),
      status_(status),
      type_(std::move(type)),
      code_(std::move(code)),
      param_(std::move(param)),
      detail_(std::move(detail)) {}

std::string ApiError::to_json() const {
  auto nullable = [](const std::string& s) {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
  };
  nlohmann::json body = {
      {"error",
       {{"message", what()}, {"type", type_}, {"param", nullable(param_)}, {"code", nullable(code_)}}}};
  return body.dump();
}

ApiError ApiError::invalid_request(std::string message, std::string param) {
  return {400, "invalid_request_error", {}, std::move(message), std::move(param)};
}

ApiError ApiError::not_found(std::string message) {
  return {404, "invalid_request_error", "not_found", std::move(message)};
}

ApiError ApiError::unavailable(std::string message, std::string detail) {
  return {503, "service_unavailable", "service_unavailable", std::move(message), {}, std::move(detail)};
}

ApiError ApiError::internal(std::string detail) {
  return {500, "server_error",   "internal_error", "The server had an error while processing your request.",
          {},  std::move(detail)};
}

}  // namespace switchyard
