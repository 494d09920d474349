#include "fields.hpp"

#include <cctype>

#include "switchyard/core/error.hpp"
#include "switchyard/core/money.hpp"

namespace switchyard::portal {
namespace {

std::string type_error(const char* field, const char* expected) {
  return std::string("'") + field + "' must be " + expected + ".";
}

Patch<std::int64_t> count_patch(const nlohmann::json& body, const char* field) {
  auto found = body.find(field);
  if (found == body.end()) return std::nullopt;
  if (found->is_null()) return std::optional<std::int64_t>{};
  if (!found->is_number_integer() || found->get<std::int64_t>() < 0 ||
      found->get<std::int64_t>() > 1'000'000'000'000) {
    throw ApiError::invalid_request(type_error(field, "a non-negative integer or null"), field);
  }
  return std::optional<std::int64_t>{found->get<std::int64_t>()};
}

template <class T>
void apply(std::optional<T>& target, const Patch<T>& patch) {
  if (patch) target = *patch;
}

template <class T>
nlohmann::json or_null(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json object_body(const http::Request& request) {
  if (request.body.empty()) return nlohmann::json::object();
  auto body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded()) throw ApiError::invalid_request("The request body is not valid JSON.");
  if (!body.is_object()) throw ApiError::invalid_request("The request body must be a JSON object.");
  return body;
}

std::optional<std::string> optional_string(const nlohmann::json& body, const char* field) {
  auto found = body.find(field);
  if (found == body.end() || found->is_null()) return std::nullopt;
  if (!found->is_string()) throw ApiError::invalid_request(type_error(field, "a string"), field);
  return found->get<std::string>();
}

std::string required_string(const nlohmann::json& body, const char* field) {
  auto value = optional_string(body, field);
  if (!value || value->empty()) {
    throw ApiError::invalid_request(std::string("'") + field + "' is required.", field);
  }
  return *value;
}

std::optional<bool> optional_bool(const nlohmann::json& body, const char* field) {
  auto found = body.find(field);
  if (found == body.end() || found->is_null()) return std::nullopt;
  if (!found->is_boolean()) throw ApiError::invalid_request(type_error(field, "true or false"), field);
  return found->get<bool>();
}

Limits LimitsPatch::applied_to(Limits base) const {
  apply(base.budget_micros, budget_micros);
  apply(base.rpm, rpm);
  apply(base.tpm, tpm);
  apply(base.parallel, parallel);
  return base;
}

LimitsPatch limits_patch(const nlohmann::json& body) {
  LimitsPatch patch;
  if (auto found = body.find("budget_usd"); found != body.end()) {
    if (found->is_null()) {
      patch.budget_micros = std::optional<Micros>{};
    } else if (auto micros = usd_from_json(*found)) {
      patch.budget_micros = micros;
    } else {
      throw ApiError::invalid_request(type_error("budget_usd", "a non-negative amount in USD or null"),
                                      "budget_usd");
    }
  }
  patch.rpm = count_patch(body, "rpm");
  patch.tpm = count_patch(body, "tpm");
  patch.parallel = count_patch(body, "parallel");
  return patch;
}

void check_within(const Limits& wanted, const Limits& ceiling, const std::string& ceiling_name) {
  auto check = [&](const char* field, const std::optional<std::int64_t>& value,
                   const std::optional<std::int64_t>& cap, auto format) {
    if (!cap || !value) return;
    if (*value > *cap) {
      throw ApiError::invalid_request(
          std::string("'") + field + "' may be at most " + format(*cap) + ", the " + ceiling_name + "'s.",
          field);
    }
  };
  auto count = [](std::int64_t value) { return std::to_string(value); };
  check("budget_usd", wanted.budget_micros, ceiling.budget_micros,
        [](Micros micros) { return format_usd(micros); });
  check("rpm", wanted.rpm, ceiling.rpm, count);
  check("tpm", wanted.tpm, ceiling.tpm, count);
  check("parallel", wanted.parallel, ceiling.parallel, count);
}

nlohmann::json limits_json(const Limits& limits) {
  return {{"budget_usd", limits.budget_micros ? nlohmann::json(usd_number(*limits.budget_micros)) : nullptr},
          {"rpm", or_null(limits.rpm)},
          {"tpm", or_null(limits.tpm)},
          {"parallel", or_null(limits.parallel)}};
}

http::Response json_response(int status, const nlohmann::json& body) {
  return http::Response::json(status, body.dump());
}

http::Response no_content() {
  http::Response response;
  response.status = 204;
  return response;
}

Limits limits_at(const pqxx::row& row, int first) {
  return {nullable<Micros>(row[first]), nullable<std::int64_t>(row[first + 1]),
          nullable<std::int64_t>(row[first + 2]), nullable<std::int64_t>(row[first + 3])};
}

ApiError not_found(const std::string& what) {
  // "API key" → "api_key_not_found", as the admin routes name theirs.
  std::string code;
  for (char c : what) code += c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return {404, "invalid_request_error", code + "_not_found", "No such " + what + "."};
}

}  // namespace switchyard::portal
