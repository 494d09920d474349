#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "switchyard/core/tenancy.hpp"
#include "switchyard/http/message.hpp"
#include "switchyard/store/sql_text.hpp"

/// Reading the portal's JSON bodies and writing its answers. Every refusal is a 400 naming the field.
namespace switchyard::portal {

/// The body as a JSON object; an empty body is an empty object.
nlohmann::json object_body(const http::Request& request);

/// A field that may be absent; present with the wrong type → 400.
std::optional<std::string> optional_string(const nlohmann::json& body, const char* field);
std::string required_string(const nlohmann::json& body, const char* field);
std::optional<bool> optional_bool(const nlohmann::json& body, const char* field);

/// A field of a PATCH: absent (nullopt), set to a value, or cleared with null.
template <class T>
using Patch = std::optional<std::optional<T>>;

/// budget_usd, rpm, tpm and parallel: absent fields stay absent; null is unlimited.
struct LimitsPatch {
  Patch<Micros> budget_micros;
  Patch<std::int64_t> rpm;
  Patch<std::int64_t> tpm;
  Patch<std::int64_t> parallel;

  /// `base` with this patch applied.
  Limits applied_to(Limits base) const;
};
LimitsPatch limits_patch(const nlohmann::json& body);

/// 400 naming the first cap of `wanted` above `ceiling`. A cap `wanted` leaves unset is no refusal: the
/// ceiling still bounds it at admission.
void check_within(const Limits& wanted, const Limits& ceiling, const std::string& ceiling_name);

/// {budget_usd, rpm, tpm, parallel}, null where unlimited.
nlohmann::json limits_json(const Limits& limits);

/// A 201 or 200 JSON answer.
http::Response json_response(int status, const nlohmann::json& body);
/// 204 without a body.
http::Response no_content();

template <class T>
std::optional<T> nullable(const pqxx::field& field) {
  return field.is_null() ? std::nullopt : std::optional<T>(field.as<T>());
}

/// The caps in four consecutive columns from `first`: budget_micros, rpm, tpm, parallel.
Limits limits_at(const pqxx::row& row, int first);

using postgres::rfc3339_sql;
using postgres::text_or_null;

/// The 404 of a resource that does not exist for this caller, worded the same whether it exists elsewhere.
ApiError not_found(const std::string& what);

}  // namespace switchyard::portal
