#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "reports_support.hpp"
#include "support/raw_http.hpp"
#include "support/test_env.hpp"
#include "switchyard/auth/key_cache.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/metrics.hpp"
#include "switchyard/http/server.hpp"
#include "switchyard/identity/accounts.hpp"
#include "switchyard/identity/caller.hpp"
#include "switchyard/identity/sessions.hpp"
#include "switchyard/reports/usage_routes.hpp"
#include "switchyard/store/migrations.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::reports {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using switchyard::testing::http_request;
using switchyard::testing::RawResponse;
using switchyard::testing::ScratchDatabase;
namespace support = switchyard::testing::reports;

constexpr const char* kAliceKey = "sk-sy-reports-routes-alice-0123456789";

DatabaseConfig database_config(const std::string& url) {
  postgres::migrate(url);
  DatabaseConfig config;
  config.url = url;
  config.pool_size = 2;
  return config;
}

/// The usage routes on a real server and database, with the identity module finding callers: alice is a
/// viewer of acme, bob owns beta, root is a platform administrator. Beta's usage has figures no answer
/// about acme could contain by chance.
class ReportsRoutes : public ::testing::Test {
 protected:
  ReportsRoutes() {
    pqxx::connection connection(db_.url());
    pqxx::work tx(connection);
    acme_ = tenant(tx, "acme");
    beta_ = tenant(tx, "beta");
    auto alice = user(tx, "alice@example.com", false);
    auto bob = user(tx, "bob@example.com", false);
    auto root = user(tx, "root@example.com", true);
    member(tx, acme_, alice, "viewer");
    member(tx, beta_, bob, "owner");
    alice_personal_ = tx.exec_params1("SELECT personal_tenant_id::text FROM users WHERE id = $1", alice)[0]
                          .as<std::string>();
    tx.exec_params0(
        "INSERT INTO api_keys (tenant_id, user_id, name, key_hash, prefix) VALUES ($1, $2, 'k', $3, 'sk-sy')",
        acme_, alice, pqxx::binarystring(master_key_.api_key_hash(kAliceKey)));
    alice_token_ = session(tx, alice);
    bob_token_ = session(tx, bob);
    root_token_ = session(tx, root);
    support::add_usage(tx, acme_, 1, 11, 1'230'000);
    support::add_foreign_usage(tx, beta_);
    tx.commit();

    add_usage_routes(router_, pool_, authenticator_);
    server_ = std::make_unique<http::Server>(loops_, ServerConfig{}, router_, metrics_, false);
    port_ = server_->listen({"127.0.0.1", 0});
    thread_ = std::thread([this] { loops_.run(); });
  }

  ~ReportsRoutes() override {
    loops_.stop();
    thread_.join();
    pool_.shutdown();
  }

  static std::string tenant(pqxx::work& tx, const std::string& name) {
    return tx
        .exec_params1("INSERT INTO tenants (kind, name) VALUES ('shared', $1) RETURNING id::text", name)[0]
        .as<std::string>();
  }

  static std::string user(pqxx::work& tx, const std::string& email, bool admin) {
    identity::NewUser account;
    account.email = email;
    account.is_admin = admin;
    return identity::create_user(tx, account, TenancySettings{});
  }

  static void member(pqxx::work& tx, const std::string& tenant_id, const std::string& user_id,
                     const char* role) {
    tx.exec_params0("INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)", tenant_id,
                    user_id, role);
  }

  std::string session(pqxx::work& tx, const std::string& user_id) {
    return identity::open_session(tx, master_key_, user_id, identity::SignInMethod::password,
                                  {"127.0.0.1", "test"}, 1h)
        .token;
  }

  RawResponse get(const std::string& target, const std::string& bearer) {
    return support::get_as(port_, target, bearer);
  }

  void expect_no_beta_data(const RawResponse& response) { support::expect_nothing_of(response, beta_); }

  ScratchDatabase db_;
  postgres::Pool pool_{database_config(db_.url())};
  crypto::MasterKey master_key_{std::string(crypto::MasterKey::kSize, 'k')};
  auth::KeyCache keys_{pool_, master_key_};
  identity::Authenticator authenticator_{pool_, keys_, master_key_};
  http::EventLoops loops_{1};
  Metrics metrics_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::string acme_;
  std::string beta_;
  std::string alice_personal_;
  std::string alice_token_;
  std::string bob_token_;
  std::string root_token_;
};

TEST_F(ReportsRoutes, AMemberOfOneTenantTryingEveryReadOnAnotherGetsNotFoundAndNoData) {
  for (const char* route : {"/user/usage", "/user/usage/compare"}) {
    for (const std::string& query :
         {"tenant_ids=" + beta_, "period=7d&tenant_ids=" + acme_ + "," + beta_,
          "tenant_ids=" + beta_ + "&model_aliases=mock-chat&timezone=Asia/Tokyo",
          "tenant_ids=" + beta_ + "&start=2020-01-01T00:00:00Z&end=2020-06-01T00:00:00Z"}) {
      auto response = get(std::string(route) + "?" + query, alice_token_);
      EXPECT_EQ(response.status, 404) << route << "?" << query << " " << response.body;
      EXPECT_EQ(json::parse(response.body)["error"]["code"], "tenant_not_found");
      expect_no_beta_data(response);
    }
    // A model filter alone stays inside the caller's tenants.
    auto models = get(std::string(route) + "?model_aliases=mock-chat", alice_token_);
    EXPECT_EQ(models.status, 200) << models.body;
    expect_no_beta_data(models);
  }
}

TEST_F(ReportsRoutes, AMemberSeesTheirOwnTenantsPersonalFirst) {
  auto response = get("/user/usage?period=7d&timezone=Europe/Berlin", alice_token_);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("content-type"), "application/json");
  expect_no_beta_data(response);
  auto report = json::parse(response.body);
  EXPECT_EQ(report["timezone"], "Europe/Berlin");
  EXPECT_EQ(report["points"].size(), 7u);
  EXPECT_EQ(report["totals"]["requests"], 1);
  EXPECT_EQ(report["totals"]["cost_cents"], 123);
  ASSERT_EQ(report["tenants"].size(), 2u);
  EXPECT_EQ(report["tenants"][0]["id"], alice_personal_);
  EXPECT_EQ(report["tenants"][0]["label"], "Personal");
  EXPECT_EQ(report["tenants"][1]["label"], "acme");

  auto compare = get("/user/usage/compare", alice_token_);
  ASSERT_EQ(compare.status, 200) << compare.body;
  expect_no_beta_data(compare);
  auto series = json::parse(compare.body)["series"];
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[1]["id"], acme_);
  EXPECT_EQ(series[1]["totals"]["cost_usd"], 1.23);
  EXPECT_EQ(series[1]["points"].size(), 30u);
}

TEST_F(ReportsRoutes, AnApiKeyReachesOnlyItsOwnTenant) {
  auto own = get("/user/usage", kAliceKey);
  ASSERT_EQ(own.status, 200) << own.body;
  auto report = json::parse(own.body);
  ASSERT_EQ(report["tenants"].size(), 1u);
  EXPECT_EQ(report["tenants"][0]["id"], acme_);
  // Alice's personal tenant is hers, but not this key's.
  EXPECT_EQ(get("/user/usage?tenant_ids=" + alice_personal_, kAliceKey).status, 404);
  auto beta = get("/user/usage/compare?tenant_ids=" + beta_, kAliceKey);
  EXPECT_EQ(beta.status, 404);
  expect_no_beta_data(beta);
}

TEST_F(ReportsRoutes, OnlyAdministratorsReadTheAdminUsage) {
  for (const char* route : {"/admin/usage", "/admin/usage/compare"}) {
    for (const auto& bearer : {alice_token_, bob_token_, std::string(kAliceKey)}) {
      auto refused = get(std::string(route) + "?tenant_ids=" + beta_, bearer);
      EXPECT_EQ(refused.status, 403) << route << " " << refused.body;
      EXPECT_EQ(json::parse(refused.body)["error"]["type"], "permission_error");
      EXPECT_EQ(refused.body.find("777777"), std::string::npos);
    }
    auto anonymous = http_request(port_, "GET", route);
    ASSERT_TRUE(anonymous.has_value());
    EXPECT_EQ(anonymous->status, 401);
  }

  auto report = get("/admin/usage?period=7d&tenant_ids=" + beta_, root_token_);
  ASSERT_EQ(report.status, 200) << report.body;
  auto body = json::parse(report.body);
  EXPECT_EQ(body["totals"]["requests"], 7);
  EXPECT_EQ(body["totals"]["tokens"], 7 * 777'777);
  EXPECT_EQ(body["totals"]["cost_usd"], 691.32);
  EXPECT_EQ(body["tenants"][0]["label"], "beta");
  auto compare = get("/admin/usage/compare?period=7d", root_token_);
  ASSERT_EQ(compare.status, 200) << compare.body;
  auto series = json::parse(compare.body)["series"];
  ASSERT_EQ(series.size(), 2u);  // the tenants with usage, by name
  EXPECT_EQ(series[0]["label"], "acme");
  EXPECT_EQ(series[1]["label"], "beta");
}

TEST_F(ReportsRoutes, BadParametersAreRefusedNamingThem) {
  auto param_of = [&](const std::string& query) {
    auto response = get("/user/usage/compare?" + query, alice_token_);
    EXPECT_EQ(response.status, 400) << query << " " << response.body;
    return json::parse(response.body)["error"]["param"];
  };
  EXPECT_EQ(param_of("period=90d"), "period");
  EXPECT_EQ(param_of("timezone=Nowhere/Special"), "timezone");
  EXPECT_EQ(param_of("start=2025-01-01T00:00:00Z"), "end");
  EXPECT_EQ(param_of("end=2025-01-01T00:00:00Z"), "start");
  EXPECT_EQ(param_of("start=2025-01-01T00:00:00Z&end=2025-07-01T00:00:00Z"), "end");
  EXPECT_EQ(param_of("tenant_ids=acme"), "tenant_ids");
}

}  // namespace
}  // namespace switchyard::reports
