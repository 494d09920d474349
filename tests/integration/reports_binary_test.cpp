#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "binary_support.hpp"
#include "reports_support.hpp"
#include "support/test_env.hpp"

namespace switchyard::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kPassword = "correct-horse-battery";

/// The binary on a scratch database, seeded: tenants acme (alice's) and beta (bob's), an administrator, and
/// usage rows in both tenants, so that every answer can be checked for the other tenant's numbers.
class ReportsBinary : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string password = kPassword;
    std::string seed =
        "providers:\n"
        "  - {name: mock, type: mock}\n"
        "models:\n"
        "  - {alias: mock-chat, provider: mock, upstream_model: mock-chat, capabilities: [chat]}\n"
        "tenants:\n"
        "  - {name: acme}\n"
        "  - {name: beta}\n"
        "users:\n"
        "  - {email: alice@example.com, password: " +
        password +
        ", memberships: [{tenant: acme, role: viewer}]}\n"
        "  - {email: bob@example.com, password: " +
        password +
        ", memberships: [{tenant: beta, role: owner}]}\n"
        "  - {email: root@example.com, password: " +
        password + ", admin: true}\n";
    ASSERT_EQ(migrate_and_seed(database_.url(), seed), "");

    pqxx::connection connection(database_.url());
    pqxx::work tx(connection);
    acme_ = tenant_id(tx, "acme");
    beta_ = tenant_id(tx, "beta");
    // Beta's figures are ones no acme answer could contain by chance.
    reports::add_usage(tx, acme_, 1, 11, 1'230'000);
    reports::add_foreign_usage(tx, beta_);
    tx.commit();

    serve_.emplace(database_.url(), test_redis_url());
    ASSERT_TRUE(serve_->wait_for("/health", 200, 20s)) << serve_->process().output();
  }

  static std::string tenant_id(pqxx::work& tx, const std::string& name) {
    return tx.exec_params1("SELECT id::text FROM tenants WHERE name = $1", name)[0].as<std::string>();
  }

  /// A login token for `email`.
  std::string login(const std::string& email) {
    json body = {{"email", email}, {"password", kPassword}};
    auto response = http_request(serve_->port(), "POST", "/v1/users/login", body.dump(),
                                 "Content-Type: application/json\r\n");
    EXPECT_TRUE(response && response->status == 200) << (response ? response->body : "no answer");
    return response ? json::parse(response->body).value("token", "") : "";
  }

  RawResponse get(const std::string& target, const std::string& bearer) {
    return reports::get_as(serve_->port(), target, bearer);
  }

  void expect_no_beta_data(const RawResponse& response) { reports::expect_nothing_of(response, beta_); }

  ScratchDatabase database_;
  std::optional<ServeProcess> serve_;
  std::string acme_;
  std::string beta_;
};

// The route-by-route checks are in reports_routes_test.cpp; this one proves the binary serves the usage
// routes behind the real login.
TEST_F(ReportsBinary, ALoggedInMemberReadsTheirUsageButNeitherAnotherTenantsNorTheAdminUsage) {
  auto token = login("alice@example.com");
  auto own = get("/user/usage?period=7d", token);
  ASSERT_EQ(own.status, 200) << own.body;
  expect_no_beta_data(own);
  EXPECT_EQ(json::parse(own.body)["totals"]["cost_cents"], 123);

  for (const char* route : {"/user/usage", "/user/usage/compare"}) {
    auto refused = get(std::string(route) + "?tenant_ids=" + beta_, token);
    EXPECT_EQ(refused.status, 404) << route << " " << refused.body;
    expect_no_beta_data(refused);
  }
  for (const char* route : {"/admin/usage", "/admin/usage/compare"}) {
    auto refused = get(route, token);
    EXPECT_EQ(refused.status, 403) << route << " " << refused.body;
    expect_no_beta_data(refused);
  }

  auto root = get("/admin/usage?tenant_ids=" + beta_, login("root@example.com"));
  ASSERT_EQ(root.status, 200) << root.body;
  EXPECT_EQ(json::parse(root.body)["totals"]["requests"], 7);
}

}  // namespace
}  // namespace switchyard::testing
