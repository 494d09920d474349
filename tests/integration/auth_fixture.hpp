#pragma once

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "support/io_thread.hpp"
#include "switchyard/auth/principal.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/seed/seed.hpp"
#include "switchyard/store/migrations.hpp"

namespace switchyard::auth::fixture {

inline constexpr const char* kAcmeKey = "sk-sy-test-acme-0123456789abcdef";
inline constexpr const char* kOpenKey = "sk-sy-test-open-0123456789abcdef";

/// Two providers, three models, a tenant with grants and one without, a key in each.
inline constexpr const char* kSeed = R"(
providers:
  - name: up
    type: openai
    base_url: http://127.0.0.1:9/v1
    api_key: sk-upstream-secret
    timeout_s: 30
  - name: demo
    type: mock
models:
  - alias: chat-model
    provider: up
    capabilities: [chat]
    input_usd_per_mtok: 0.15
    output_usd_per_mtok: 0.60
  - alias: embed-model
    provider: demo
    capabilities: [embeddings]
  - alias: off-model
    provider: demo
    enabled: false
tenants:
  - name: acme
    budget_usd: 100
    rpm: 600
    tpm: 100000
    parallel: 10
    models: [chat-model]
  - name: open
api_keys:
  - name: ci
    tenant: acme
    secret: sk-sy-test-acme-0123456789abcdef
    budget_usd: 10
    rpm: 60
    tpm: 20000
    parallel: 2
  - name: shared
    tenant: open
    secret: sk-sy-test-open-0123456789abcdef
)";

inline const crypto::MasterKey& master_key() {
  static const crypto::MasterKey key(std::string(crypto::MasterKey::kSize, 'm'));
  return key;
}

/// Migrates the database at `url` and loads kSeed into it.
inline void migrate_and_seed(const std::string& url) {
  postgres::migrate(url);
  pqxx::connection connection{url};
  seed::apply_seed(connection, seed::parse_seed(YAML::Load(kSeed)), master_key());
}

inline void execute(const std::string& url, const std::string& statement) {
  pqxx::connection connection{url};
  pqxx::work tx{connection};
  tx.exec(statement);
  tx.commit();
}

/// The status of the ApiError that running `task` throws; 0 when it succeeds.
template <class T>
int status_of(switchyard::testing::IoThread& io, boost::asio::awaitable<T> task) {
  try {
    io.run(std::move(task));
  } catch (const ApiError& e) {
    return e.status();
  }
  return 0;
}

}  // namespace switchyard::auth::fixture
