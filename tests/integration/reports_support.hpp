#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <pqxx/pqxx>
#include <string>

#include "support/raw_http.hpp"

/// What the usage-route tests share: usage rows an hour old, and a check that an answer shows nothing of a
/// tenant the caller may not see.
namespace switchyard::testing::reports {

/// The other tenant's figures: numbers that no answer about the caller's own tenants contains by chance.
inline constexpr std::int64_t kForeignRows = 7;
inline constexpr std::int64_t kForeignTokens = 777'777;
inline constexpr std::int64_t kForeignMicros = 98'760'000;

inline void add_usage(pqxx::work& tx, const std::string& tenant, std::int64_t rows, std::int64_t tokens,
                      std::int64_t micros) {
  for (std::int64_t i = 0; i < rows; ++i) {
    tx.exec_params0(
        "INSERT INTO usage_records (id, request_id, tenant_id, model_alias, provider, prompt_tokens,"
        " completion_tokens, cost_micros, status, created_at) VALUES (gen_random_uuid(), 'req', $1,"
        " 'mock-chat', 'mock', $2, 0, $3, 'completed', now() - interval '1 hour')",
        tenant, tokens, micros);
  }
}

inline void add_foreign_usage(pqxx::work& tx, const std::string& tenant) {
  add_usage(tx, tenant, kForeignRows, kForeignTokens, kForeignMicros);
}

inline RawResponse get_as(std::uint16_t port, const std::string& target, const std::string& bearer) {
  auto response = http_request(port, "GET", target, {}, "Authorization: Bearer " + bearer + "\r\n");
  EXPECT_TRUE(response.has_value()) << target;
  return response.value_or(RawResponse{});
}

/// Fails the test when the answer shows the foreign tenant's id, tokens or cents.
inline void expect_nothing_of(const RawResponse& response, const std::string& foreign_tenant) {
  EXPECT_EQ(response.body.find(std::to_string(kForeignTokens)), std::string::npos) << response.body;
  EXPECT_EQ(response.body.find(std::to_string((kForeignRows * kForeignMicros + 5'000) / 10'000)),
            std::string::npos)
      << response.body;
  EXPECT_EQ(response.body.find(foreign_tenant), std::string::npos) << response.body;
}

}  // namespace switchyard::testing::reports
