#pragma once

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

/// How the HTTP APIs read columns into JSON, the same way everywhere.
namespace switchyard::postgres {

/// SQL that formats a timestamptz expression as RFC 3339 in UTC, to the second ("2026-11-23T16:00:00Z").
inline std::string rfc3339_sql(std::string_view expression) {
  return "to_char(" + std::string(expression) + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
}

/// A nullable text column (or one read through rfc3339_sql()), or JSON null.
inline nlohmann::json text_or_null(const pqxx::field& field) {
  return field.is_null() ? nlohmann::json(nullptr) : nlohmann::json(field.as<std::string>());
}

/// A text[] literal for a query parameter (`$1::text[]`); every element quoted and escaped, so values may
/// hold commas, braces or quotes.
inline std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const auto& value : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace switchyard::postgres
