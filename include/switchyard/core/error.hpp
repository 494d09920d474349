#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace switchyard {

/// An error that reaches a client: HTTP status, OpenAI error type and code, the message the client may
/// read, and a detail only the log sees.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string type, std::string code, std::string message, std::string param = {},
           std::string detail = {});

  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& code() const { return code_; }
  const std::string& param() const { return param_; }
  const std::string& detail() const { return detail_; }
  /// Headers the answer carries, such as Retry-After.
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
  ApiError& with_header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
  }

  /// `{"error": {"message", "type", "param", "code"}}`, with null for an empty param or code.
  std::string to_json() const;

  static ApiError invalid_request(std::string message, std::string param = {});
  static ApiError not_found(std::string message);
  static ApiError unavailable(std::string message, std::string detail = {});
  static ApiError internal(std::string detail);

 private:
  int status_;
  std::string type_;
  std::string code_;
  std::string param_;
  std::string detail_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

/// A bad or missing setting: start-up stops with exit status 2 and this one-line message.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace switchyard
