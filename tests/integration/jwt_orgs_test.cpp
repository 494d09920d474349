#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "binary_support.hpp"
#include "support/fake_upstream.hpp"
#include "support/io_thread.hpp"
#include "support/test_env.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/jwt_orgs/authenticator.hpp"
#include "switchyard/jwt_orgs/store.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kPlatformKey = "sk-platform-upstream-key";

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

/// Spec 002's organisations through the real binary: tenants, keys and users made with the CLI, tokens
/// minted with it, requests served by `switchyard serve` against a fake OpenAI upstream.
class JwtOrganisations : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"SWITCHYARD_DATABASE_URL", database_.url()}, {"SWITCHYARD_MASTER_KEY", kTestMasterKey}};
    ASSERT_EQ(run_to_end(kBinary, {"migrate"}, env_).status, 0);
    auto seed = std::filesystem::temp_directory_path() / ("jwt-seed-" + database_.name() + ".yaml");
    auto base = fake_.base_url() + "/v1";
    std::ofstream(seed) << "providers:\n"
                           "  - {name: upstream, type: openai, base_url: \""
                        << base << "\", api_key: " << kPlatformKey
                        << "}\n"
                           "  - {name: keyless, type: openai, base_url: \""
                        << base
                        << "\"}\n"
                           "models:\n"
                           "  - {alias: gpt-test, provider: upstream, upstream_model: gpt-4o-mini, "
                           "capabilities: [chat], input_usd_per_mtok: 1, output_usd_per_mtok: 2}\n"
                           "  - {alias: gpt-keyless, provider: keyless, upstream_model: gpt-4o-mini, "
                           "capabilities: [chat]}\n";
    auto seeded = run_to_end(kBinary, {"seed", seed.string()}, env_);
    std::filesystem::remove(seed);
    ASSERT_EQ(seeded.status, 0) << seeded.output;
    // Org A has limits, so that its requests go through Redis admission with a principal that has no key.
    tenant_a_ = created_tenant("org-a", {"--rpm", "1000", "--parallel", "20", "--budget-usd", "100"});
    tenant_b_ = created_tenant("org-b");
    ASSERT_EQ(cli({"tenant", "jwt", "org-a", "--hs256-generate"}).status, 0);
    ASSERT_EQ(
        cli({"tenant", "jwt", "org-b", "--hs256-secret", "org-b-shared-secret-of-at-least-32-bytes"}).status,
        0);
    serve_.emplace(database_.url(), test_redis_url());
    ASSERT_TRUE(serve_->wait_for("/health", 200, 20s)) << serve_->process().output();
  }

  Completed cli(const std::vector<std::string>& arguments) { return run_to_end(kBinary, arguments, env_); }

  std::string created_tenant(const std::string& name, std::vector<std::string> limits = {}) {
    std::vector<std::string> arguments = {"tenant", "create", name};
    arguments.insert(arguments.end(), limits.begin(), limits.end());
    auto created = cli(arguments);
    EXPECT_EQ(created.status, 0) << created.output;
    return json::parse(created.output)["id"].get<std::string>();
  }

  std::string mint(const std::string& tenant) {
    auto minted = cli({"jwt", "mint", "--tenant", tenant, "--ttl-s", "600"});
    EXPECT_EQ(minted.status, 0) << minted.output;
    return trimmed(minted.output);
  }

  std::optional<RawResponse> chat(const std::string& token, const std::optional<std::string>& user,
                                  const std::string& model = "gpt-test") {
    json body = {{"model", model}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
    std::string headers = "Authorization: Bearer " + token + "\r\nContent-Type: application/json\r\n";
    if (user) headers += "X-User-ID: " + *user + "\r\n";
    return http_request(serve_->port(), "POST", "/v1/chat/completions", body.dump(), headers);
  }

  /// The Authorization the fake upstream received last.
  std::string upstream_authorization() {
    auto seen = fake_.requests();
    if (seen.empty()) return "";
    return std::string(seen.back().headers.find("Authorization").value_or(""));
  }

  /// The internal id of the tenant's user that X-User-ID `external_id` names ("" when there is none).
  std::string user_id(const std::string& tenant_id, const std::string& external_id) {
    pqxx::connection connection(database_.url());
    pqxx::nontransaction tx(connection);
    auto rows = tx.exec_params("SELECT user_id FROM jwt_users WHERE tenant_id = $1 AND external_id = $2",
                               tenant_id, external_id);
    return rows.empty() ? "" : rows[0][0].as<std::string>();
  }

  /// Polls `request` until it answers `status`, for at most `within`; the last answer's status.
  template <class Request>
  int status_within(Request request, int status, std::chrono::milliseconds within) {
    auto deadline = std::chrono::steady_clock::now() + within;
    int last = 0;
    do {
      auto response = request();
      last = response ? response->status : -1;
      if (last == status) return last;
      std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return last;
  }

  ScratchDatabase database_;
  FakeUpstream fake_;
  std::map<std::string, std::string> env_;
  std::string tenant_a_;
  std::string tenant_b_;
  std::optional<ServeProcess> serve_;
};

TEST_F(JwtOrganisations, AMintedTokenWithAUserIsServedAndAccountedToThatUser) {
  auto token = mint("org-a");
  auto response = chat(token, "alice@example.com");
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 200) << response->body;
  EXPECT_EQ(upstream_authorization(), std::string("Bearer ") + kPlatformKey);
  EXPECT_EQ(response->headers["x-ratelimit-limit-requests"], "1000") << "the tenant's limits apply";

  auto alice = user_id(tenant_a_, "alice@example.com");
  ASSERT_FALSE(alice.empty()) << "the user is made on first sight";
  pqxx::connection connection(database_.url());
  for (int attempt = 0; attempt < 100; ++attempt) {
    pqxx::nontransaction tx(connection);
    auto rows = tx.exec("SELECT tenant_id, user_id, api_key_id FROM usage_records");
    if (!rows.empty()) {
      ASSERT_EQ(rows.size(), 1u);
      EXPECT_EQ(rows[0][0].as<std::string>(), tenant_a_);
      EXPECT_EQ(rows[0][1].as<std::string>(), alice);
      EXPECT_TRUE(rows[0][2].is_null());
      break;
    }
    ASSERT_LT(attempt, 99) << "no usage row";
    std::this_thread::sleep_for(100ms);
  }
  pqxx::nontransaction tx(connection);
  auto member = tx.exec_params(
      "SELECT m.role, u.password_hash IS NULL, u.display_name FROM memberships m JOIN users u ON u.id = "
      "m.user_id "
      "WHERE m.tenant_id = $1 AND m.user_id = $2",
      tenant_a_, alice);
  ASSERT_EQ(member.size(), 1u);
  EXPECT_EQ(member[0][0].as<std::string>(), "user");
  EXPECT_TRUE(member[0][1].as<bool>()) << "such users never sign in with a password";
  EXPECT_EQ(member[0][2].as<std::string>(), "alice@example.com");

  ASSERT_EQ(chat(token, "alice@example.com")->status, 200);
  EXPECT_EQ(user_id(tenant_a_, "alice@example.com"), alice) << "the second request is the same user";
}

TEST_F(JwtOrganisations, AMissingOrBlankUserIdIs422) {
  auto token = mint("org-a");
  for (const std::optional<std::string>& user :
       {std::optional<std::string>(), std::optional<std::string>("  ")}) {
    auto response = chat(token, user);
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 422) << response->body;
    auto error = json::parse(response->body)["error"];
    EXPECT_EQ(error["type"], "invalid_request_error");
    EXPECT_EQ(error["code"], "missing_user_id");
    EXPECT_EQ(error["param"], "X-User-ID");
  }
  EXPECT_TRUE(fake_.requests().empty());
}

TEST_F(JwtOrganisations, ATokenOfOneTenantCannotActInAnother) {
  auto token_b = mint("org-b");
  ASSERT_EQ(chat(token_b, "alice@example.com")->status, 200);
  ASSERT_EQ(chat(mint("org-a"), "alice@example.com")->status, 200);
  auto alice_a = user_id(tenant_a_, "alice@example.com");
  auto alice_b = user_id(tenant_b_, "alice@example.com");
  ASSERT_FALSE(alice_a.empty());
  ASSERT_FALSE(alice_b.empty());
  EXPECT_NE(alice_a, alice_b) << "the same X-User-ID in two organisations is two users";

  // B's token re-labelled as A's: the signature no longer matches, and B's secret is not A's key anyway.
  auto first = token_b.find('.');
  auto second = token_b.find('.', first + 1);
  auto claims = json::parse(*crypto::base64url_decode(token_b.substr(first + 1, second - first - 1)));
  claims["org_id"] = tenant_a_;
  auto relabelled =
      token_b.substr(0, first + 1) + crypto::base64url_encode(claims.dump()) + token_b.substr(second);
  auto response = chat(relabelled, "alice@example.com");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 401) << response->body;
  EXPECT_EQ(json::parse(response->body)["error"]["code"], "invalid_api_key");

  json none_header = {{"alg", "none"}, {"typ", "JWT"}};
  auto unsigned_token =
      crypto::base64url_encode(none_header.dump()) + "." + crypto::base64url_encode(claims.dump()) + ".";
  EXPECT_EQ(chat(unsigned_token, "alice@example.com")->status, 401);

  claims["org_id"] = "00000000-0000-4000-8000-000000000000";
  auto unknown =
      token_b.substr(0, first + 1) + crypto::base64url_encode(claims.dump()) + token_b.substr(second);
  EXPECT_EQ(chat(unknown, "alice@example.com")->status, 401);
}

TEST_F(JwtOrganisations, TheUsersOwnKeyWinsOverTheTenantsOverThePlatforms) {
  auto token = mint("org-a");
  auto bob = cli({"user", "create", "org-a", "bob"});
  ASSERT_EQ(bob.status, 0) << bob.output;
  auto bob_id = trimmed(bob.output);
  ASSERT_EQ(cli({"key", "create", "org-a", "upstream", "sk-tenant-a-own-key"}).status, 0);
  auto user_key = cli({"key", "create", "org-a", "upstream", "sk-user-bob-own-key", "--user-id", bob_id});
  ASSERT_EQ(user_key.status, 0) << user_key.output;

  ASSERT_EQ(status_within([&] { return chat(token, "bob"); }, 200, 2s), 200);
  EXPECT_EQ(upstream_authorization(), "Bearer sk-user-bob-own-key");
  ASSERT_EQ(chat(token, "carol")->status, 200);
  EXPECT_EQ(upstream_authorization(), "Bearer sk-tenant-a-own-key");
  ASSERT_EQ(chat(mint("org-b"), "bob")->status, 200);
  EXPECT_EQ(upstream_authorization(), std::string("Bearer ") + kPlatformKey) << "org-b's bob is not org-a's";

  ASSERT_EQ(cli({"key", "delete", "org-a", "upstream"}).status, 0);
  std::this_thread::sleep_for(1s);
  ASSERT_EQ(chat(token, "carol")->status, 200);
  EXPECT_EQ(upstream_authorization(), std::string("Bearer ") + kPlatformKey);

  auto refused = chat(token, "carol", "gpt-keyless");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403) << refused->body;
  EXPECT_EQ(json::parse(refused->body)["error"]["type"], "permission_error");
  ASSERT_EQ(cli({"key", "create", "org-a", "keyless", "sk-keyless-tenant-key"}).status, 0);
  std::this_thread::sleep_for(1s);
  ASSERT_EQ(chat(token, "carol", "gpt-keyless")->status, 200);
  EXPECT_EQ(upstream_authorization(), "Bearer sk-keyless-tenant-key");
}

TEST_F(JwtOrganisations, ANewSecretRefusesOldTokensWithinASecond) {
  auto old_token = mint("org-a");
  ASSERT_EQ(chat(old_token, "alice")->status, 200);
  auto changed = cli({"tenant", "jwt", "org-a", "--hs256-generate"});
  ASSERT_EQ(changed.status, 0) << changed.output;
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(status_within([&] { return chat(old_token, "alice"); }, 401, 1s), 401);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1100ms);
  EXPECT_EQ(chat(mint("org-a"), "alice")->status, 200);

  ASSERT_EQ(cli({"tenant", "jwt", "org-a", "--off"}).status, 0);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(chat(old_token, "alice")->status, 401);
  EXPECT_EQ(cli({"jwt", "mint", "--tenant", "org-a"}).status, 1);
}

TEST_F(JwtOrganisations, ConcurrentFirstRequestsOfOneUserAllSucceed) {
  auto token = mint("org-a");
  std::vector<std::future<int>> requests;
  for (int i = 0; i < 8; ++i) {
    requests.push_back(std::async(std::launch::async, [&] {
      auto response = chat(token, "dora");
      return response ? response->status : -1;
    }));
  }
  for (auto& request : requests) EXPECT_EQ(request.get(), 200);
  pqxx::connection connection(database_.url());
  pqxx::nontransaction tx(connection);
  EXPECT_EQ(tx.exec("SELECT 1 FROM users WHERE display_name = 'dora'").size(), 1u);
}

/// Two processes seeing a new user at once: the second transaction waits for the first and takes its user.
TEST(JwtUsers, ConcurrentFirstSightsInTwoTransactionsMakeOneUser) {
  ScratchDatabase database;
  ASSERT_EQ(run_to_end(kBinary, {"migrate"}, {{"SWITCHYARD_DATABASE_URL", database.url()}}).status, 0);
  pqxx::connection first(database.url());
  std::string tenant;
  {
    pqxx::work tx(first);
    tenant = tx.exec1("INSERT INTO tenants (kind, name) VALUES ('shared', 'org') RETURNING id")[0]
                 .as<std::string>();
    tx.commit();
  }
  pqxx::work leader(first);
  auto leader_id = jwt_orgs::ensure_user(leader, tenant, "racer");
  auto follower = std::async(std::launch::async, [&] {
    pqxx::connection second(database.url());
    pqxx::work tx(second);
    auto id = jwt_orgs::ensure_user(tx, tenant, "racer");
    tx.commit();
    return id;
  });
  EXPECT_EQ(follower.wait_for(300ms), std::future_status::timeout) << "the follower waits for the leader";
  leader.commit();
  EXPECT_EQ(follower.get(), leader_id);
  pqxx::nontransaction check(first);
  EXPECT_EQ(check.exec("SELECT 1 FROM users WHERE display_name = 'racer'").size(), 1u);
  EXPECT_EQ(check.exec("SELECT 1 FROM memberships WHERE role = 'user'").size(), 1u);
}

/// The authenticator in one process: what it asks Postgres, and what a change notification makes it forget.
class JwtAuthenticatorCache : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(run_to_end(kBinary, {"migrate"}, {{"SWITCHYARD_DATABASE_URL", database_.url()}}).status, 0);
    pqxx::connection connection(database_.url());
    pqxx::work tx(connection);
    tenant_ =
        tx.exec1(
              "INSERT INTO tenants (kind, name, rpm, parallel) VALUES ('shared', 'org', 50, 4) RETURNING id")
            [0]
                .as<std::string>();
    jwt_orgs::store_tenant_key(tx, master_key_, tenant_, key_);
    tx.commit();
  }

  std::string token() {
    auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    json claims = {{"org_id", tenant_}, {"iat", now.count()}, {"exp", now.count() + 600}};
    return jwt_orgs::mint_token(claims, key_);
  }

  int status(jwt_orgs::Authenticator& jwt, const std::string& bearer, const std::string& user) {
    try {
      io_.run(jwt.authenticate(bearer, user));
    } catch (const ApiError& error) {
      return error.status();
    }
    return 200;
  }

  void sql(const std::string& statement) {
    pqxx::connection connection(database_.url());
    pqxx::work tx(connection);
    tx.exec(statement);
    tx.commit();
  }

  ScratchDatabase database_;
  crypto::MasterKey master_key_{*crypto::base64_decode(kTestMasterKey)};
  jwt_orgs::TokenKey key_{jwt_orgs::Algorithm::hs256, "the-organisation-secret-0123456789ab"};
  std::string tenant_;
  IoThread io_;
};

TEST_F(JwtAuthenticatorCache, ConcurrentMissesShareOneLoadAndHitsAskNothing) {
  DatabaseConfig config;
  config.url = database_.url();
  config.pool_size = 2;
  postgres::Pool pool(config);
  jwt_orgs::Authenticator jwt(pool, master_key_);
  auto bearer = token();
  std::vector<std::future<std::shared_ptr<const auth::Principal>>> calls;
  for (int i = 0; i < 16; ++i) calls.push_back(io_.spawn(jwt.authenticate(bearer, "user-1")));
  std::shared_ptr<const auth::Principal> first;
  for (auto& call : calls) {
    auto principal = call.get();
    if (!first) first = principal;
    EXPECT_EQ(principal, first);
  }
  EXPECT_EQ(jwt.stats().loads, 2u) << "one for the tenant's key, one for the user";
  EXPECT_TRUE(first->key_id.empty());
  EXPECT_EQ(first->tenant_id, tenant_);
  EXPECT_TRUE(first->user_id.has_value());
  EXPECT_TRUE(first->scopes.read && first->scopes.write);
  EXPECT_EQ(first->tenant_limits.rpm, 50);
  EXPECT_EQ(first->tenant_limits.parallel, 4);
  EXPECT_FALSE(first->key_limits.rpm || first->key_limits.tpm || first->key_limits.parallel ||
               first->key_limits.budget_micros);

  for (int i = 0; i < 20; ++i) ASSERT_EQ(status(jwt, bearer, "user-1"), 200);
  EXPECT_EQ(jwt.stats().loads, 2u) << "the hot path does not ask Postgres";

  jwt.apply({auth::Change::Kind::tenant, tenant_});
  ASSERT_EQ(status(jwt, bearer, "user-1"), 200);
  EXPECT_EQ(jwt.stats().loads, 4u) << "a tenant change reloads its key and its users";

  sql("UPDATE users SET disabled = true WHERE id = '" + *first->user_id + "'");
  EXPECT_EQ(status(jwt, bearer, "user-1"), 200) << "until the change notification arrives";
  jwt.apply({auth::Change::Kind::user, *first->user_id});
  EXPECT_EQ(status(jwt, bearer, "user-1"), 401);

  sql("DELETE FROM tenant_jwt_settings");
  jwt.apply({auth::Change::Kind::tenant, tenant_});
  EXPECT_EQ(status(jwt, bearer, "user-2"), 401);
  EXPECT_EQ(status(jwt, "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "user-2"), 401) << "a token naming no tenant";
}

TEST_F(JwtAuthenticatorCache, StaleEntriesAreServedWhileTheyReloadAndWhilePostgresCannotBeAsked) {
  DatabaseConfig config;
  config.url = database_.url();
  config.pool_size = 1;
  config.acquire_timeout = std::chrono::milliseconds(500);
  postgres::Pool pool(config);
  jwt_orgs::Authenticator jwt(pool, master_key_);
  auto bearer = token();
  ASSERT_EQ(status(jwt, bearer, "user-1"), 200);
  ASSERT_EQ(jwt.stats().loads, 2u);

  jwt.resync();
  EXPECT_EQ(status(jwt, bearer, "user-1"), 200);
  EXPECT_TRUE(eventually([&] { return jwt.stats().loads == 4u; })) << "reloaded behind the request";

  // Postgres refuses this database's connections from now on, and the pool's own is cut (this one stays).
  pqxx::connection admin(database_.url());
  pqxx::nontransaction tx(admin);
  tx.exec("ALTER DATABASE \"" + database_.name() + "\" CONNECTION LIMIT 0");
  tx.exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
      "pg_backend_pid()");
  jwt.resync();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(status(jwt, bearer, "user-1"), 200) << "seen before: keeps working";
  EXPECT_EQ(status(jwt, bearer, "never-seen"), 503);
  tx.exec("ALTER DATABASE \"" + database_.name() + "\" CONNECTION LIMIT -1");
}

}  // namespace
}  // namespace switchyard::testing
