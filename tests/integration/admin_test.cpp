#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "binary_support.hpp"
#include "support/fake_upstream.hpp"
#include "support/test_env.hpp"

namespace switchyard::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kKey = "sk-sy-admin-test-0123456789";
constexpr const char* kSeedSecret = "sk-seeded-upstream-secret-0001";
constexpr const char* kNewSecret = "sk-admin-created-secret-7f3a";
constexpr const char* kRotatedSecret = "sk-admin-rotated-secret-9c1e";
constexpr const char* kAdminEmail = "admin@example.com";
constexpr const char* kUserEmail = "user@example.com";
constexpr const char* kOtherOwnerEmail = "owner@other.example.com";
constexpr const char* kPassword = "correct-horse-battery";

/// A gateway process on a scratch database, seeded with an administrator, a member of tenant acme, the
/// owner of tenant other, a tenant API key of acme, a mock provider and an OpenAI-wire provider whose
/// upstream is a fake server.
class Admin : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(migrate_and_seed(database_.url(), seed_yaml()), "");
    serve_.emplace(database_.url(), test_redis_url(),
                   std::map<std::string, std::string>{{"SWITCHYARD_AUTH_CACHE_TTL_S", "30"}});
    ASSERT_TRUE(serve_->wait_for("/health", 200, 20s)) << serve_->process().output();
    admin_ = login(kAdminEmail);
    user_ = login(kUserEmail);
    other_owner_ = login(kOtherOwnerEmail);
    ASSERT_FALSE(admin_.empty());
    ASSERT_FALSE(user_.empty());
    ASSERT_FALSE(other_owner_.empty());
  }

  std::string seed_yaml() const {
    return "providers:\n"
           "  - {name: mock, type: mock}\n"
           "  - {name: seeded, type: openai, base_url: \"" +
           fake_.base_url() + "/v1\", api_key: " + kSeedSecret +
           "}\n"
           "models:\n"
           "  - {alias: mock-chat, provider: mock, upstream_model: mock-chat, capabilities: [chat]}\n"
           "tenants:\n"
           "  - {name: acme}\n"
           "  - {name: other}\n"
           "users:\n"
           "  - {email: " +
           kAdminEmail + ", password: " + kPassword +
           ", admin: true}\n"
           "  - {email: " +
           kUserEmail + ", password: " + kPassword +
           ", memberships: [{tenant: acme, role: user}]}\n"
           "  - {email: " +
           kOtherOwnerEmail + ", password: " + kPassword +
           ", memberships: [{tenant: other, role: owner}]}\n"
           "api_keys:\n"
           "  - {name: ci, tenant: acme, secret: " +
           kKey + "}\n";
  }

  std::string login(const std::string& email) {
    auto response = call("POST", "/v1/users/login", "", json{{"email", email}, {"password", kPassword}});
    if (!response || response->status != 200) {
      ADD_FAILURE() << "login of " << email << ": " << (response ? response->body : "no answer");
      return "";
    }
    return json::parse(response->body).value("token", "");
  }

  /// A request with `bearer` (none when empty) and a JSON body (none when null).
  std::optional<RawResponse> call(const std::string& method, const std::string& target,
                                  const std::string& bearer, const json& body = nullptr,
                                  const std::string& extra = {}) {
    std::string headers = extra;
    if (!bearer.empty()) headers += "Authorization: Bearer " + bearer + "\r\n";
    if (!body.is_null()) headers += "Content-Type: application/json\r\n";
    auto response = http_request(serve_->port(), method, target, body.is_null() ? "" : body.dump(), headers);
    if (response) bodies_.push_back(response->body);
    return response;
  }

  /// The JSON answer of a request that must answer `status`.
  json expect(int status, const std::string& method, const std::string& target, const std::string& bearer,
              const json& body = nullptr, const std::string& extra = {}) {
    auto response = call(method, target, bearer, body, extra);
    EXPECT_TRUE(response) << method << " " << target;
    if (!response) return nullptr;
    EXPECT_EQ(response->status, status) << method << " " << target << ": " << response->body;
    auto parsed = json::parse(response->body, nullptr, false);
    return parsed.is_discarded() ? json(nullptr) : parsed;
  }

  /// The status of a chat completion on `alias` with the tenant key.
  int chat_status(const std::string& alias) {
    json body = {{"model", alias}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
    auto response = call("POST", "/v1/chat/completions", kKey, body);
    return response ? response->status : 0;
  }

  /// Polls a chat on `alias` until it answers `status`; how long that took, or nullopt past `within`.
  std::optional<std::chrono::milliseconds> chat_turns(const std::string& alias, int status,
                                                      std::chrono::milliseconds within) {
    auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start <= within) {
      if (chat_status(alias) == status) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                     start);
      }
      std::this_thread::sleep_for(25ms);
    }
    return std::nullopt;
  }

  std::string tenant_id(const std::string& name) {
    pqxx::connection connection(database_.url());
    pqxx::nontransaction tx(connection);
    return tx.exec_params1("SELECT id FROM tenants WHERE name = $1", name)[0].as<std::string>();
  }

  /// Whether any answer so far contained `text`.
  bool any_body_contains(const std::string& text) const {
    return std::any_of(bodies_.begin(), bodies_.end(),
                       [&](const std::string& body) { return body.find(text) != std::string::npos; });
  }

  ScratchDatabase database_;
  FakeUpstream fake_;
  std::optional<ServeProcess> serve_;
  std::string admin_;
  std::string user_;
  std::string other_owner_;
  std::vector<std::string> bodies_;
};

TEST_F(Admin, ProviderCrudRoundTripNeverShowsASecret) {
  auto created = expect(201, "POST", "/admin/providers", admin_,
                        {{"name", "fresh"},
                         {"type", "openai"},
                         {"base_url", fake_.base_url() + "/v1"},
                         {"settings", {{"timeout_s", 5}, {"verify_tls", true}}},
                         {"credentials", {{"api_key", kNewSecret}}}});
  auto id = created.value("id", "");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(created["name"], "fresh");
  EXPECT_EQ(created["type"], "openai");
  EXPECT_EQ(created["settings"], json({{"timeout_s", 5}, {"verify_tls", true}}));
  EXPECT_EQ(created["has_credentials"], true);
  EXPECT_EQ(created["credential_fields"], json({"api_key"}));
  EXPECT_EQ(created["credentials_hint"], "...7f3a");
  EXPECT_EQ(created["models"], 0);

  auto listed = expect(200, "GET", "/admin/providers", admin_);
  ASSERT_EQ(listed["data"].size(), 3u);
  EXPECT_EQ(listed["data"][0]["name"], "fresh");
  EXPECT_EQ(listed["data"][2]["name"], "seeded");
  EXPECT_EQ(listed["data"][2]["credentials_hint"], "...0001");
  EXPECT_EQ(expect(200, "GET", "/admin/providers/" + id, admin_), created);

  // The credentials serve requests, and still do after a rename re-encrypted them under the new name.
  expect(201, "POST", "/admin/models", admin_,
         {{"alias", "fresh-chat"}, {"provider", "fresh"}, {"upstream_model", "gpt-4o-mini"}});
  ASSERT_TRUE(chat_turns("fresh-chat", 200, 2s));
  auto renamed = expect(200, "PATCH", "/admin/providers/" + id, admin_,
                        {{"name", "renamed"}, {"settings", {{"verify_tls", nullptr}, {"region", "eu"}}}});
  EXPECT_EQ(renamed["name"], "renamed");
  EXPECT_EQ(renamed["settings"], json({{"timeout_s", 5}, {"region", "eu"}}));
  EXPECT_EQ(renamed["credentials_hint"], "...7f3a");
  EXPECT_EQ(renamed["models"], 1);
  auto before_rename = fake_.requests().size();
  ASSERT_TRUE(chat_turns("fresh-chat", 200, 2s));
  auto seen = fake_.requests();
  ASSERT_GT(seen.size(), before_rename);
  EXPECT_EQ(seen.back().headers.find("Authorization"), std::string("Bearer ") + kNewSecret);

  // A top-level api_key replaces the key; the stored bytes are ciphertext.
  auto rotated = expect(200, "PATCH", "/admin/providers/" + id, admin_, {{"api_key", kRotatedSecret}});
  EXPECT_EQ(rotated["credentials_hint"], "...9c1e");
  {
    pqxx::connection connection(database_.url());
    pqxx::nontransaction tx(connection);
    auto stored =
        pqxx::binarystring(tx.exec_params1("SELECT credentials FROM providers WHERE id = $1", id)[0]).str();
    EXPECT_EQ(stored.find(kRotatedSecret), std::string::npos);
    EXPECT_EQ(stored.find("api_key"), std::string::npos);
  }

  auto cleared = expect(200, "PATCH", "/admin/providers/" + id, admin_, {{"credentials", nullptr}});
  EXPECT_EQ(cleared["has_credentials"], false);
  EXPECT_TRUE(cleared["credentials_hint"].is_null());

  EXPECT_FALSE(any_body_contains(kNewSecret));
  EXPECT_FALSE(any_body_contains(kRotatedSecret));
  EXPECT_FALSE(any_body_contains(kSeedSecret));
}

TEST_F(Admin, ProviderRefusalsNameTheProblem) {
  auto invalid = expect(400, "POST", "/admin/providers", admin_, {{"name", "x"}, {"type", "telegraph"}});
  EXPECT_EQ(invalid["error"]["param"], "type");
  invalid = expect(400, "POST", "/admin/providers", admin_,
                   {{"name", "x"}, {"type", "openai"}, {"settings", {{"api_key", kNewSecret}}}});
  EXPECT_EQ(invalid["error"]["param"], "settings.api_key");
  invalid = expect(400, "POST", "/admin/providers", admin_,
                   {{"name", "x"}, {"type", "openai"}, {"base_url", "https://me:pw@example.com"}});
  EXPECT_EQ(invalid["error"]["param"], "base_url");
  auto duplicate = expect(409, "POST", "/admin/providers", admin_, {{"name", "seeded"}, {"type", "openai"}});
  EXPECT_EQ(duplicate["error"]["param"], "name");

  auto mock_id = expect(200, "GET", "/admin/providers", admin_)["data"][0]["id"].get<std::string>();
  auto in_use = expect(409, "DELETE", "/admin/providers/" + mock_id, admin_);
  EXPECT_NE(in_use["error"]["message"].get<std::string>().find("mock-chat"), std::string::npos);
  expect(404, "GET", "/admin/providers/not-an-id", admin_);
  expect(404, "PATCH", "/admin/providers/00000000-0000-0000-0000-000000000000", admin_, {{"enabled", false}});
}

TEST_F(Admin, ModelCrudReachesTheGatewayWithinASecond) {
  EXPECT_EQ(chat_status("made-by-admin"), 404);
  auto created = expect(201, "POST", "/admin/models", admin_,
                        {{"alias", "made-by-admin"},
                         {"provider", "mock"},
                         {"capabilities", {"chat"}},
                         {"input_usd_per_mtok", 0.15},
                         {"output_usd_per_mtok", "0.6"}});
  auto id = created.value("id", "");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(created["provider"], "mock");
  EXPECT_EQ(created["upstream_model"], "made-by-admin");
  EXPECT_EQ(created["input_usd_per_mtok"], 0.15);
  EXPECT_EQ(created["input_micros_per_mtok"], 150000);
  EXPECT_EQ(created["output_micros_per_mtok"], 600000);
  EXPECT_TRUE(created["cached_input_usd_per_mtok"].is_null());
  auto usable = chat_turns("made-by-admin", 200, 1s);
  ASSERT_TRUE(usable) << "the new model was not usable within a second";

  auto duplicate =
      expect(409, "POST", "/admin/models", admin_, {{"alias", "made-by-admin"}, {"provider", "mock"}});
  EXPECT_EQ(duplicate["error"]["param"], "alias");
  auto unknown = expect(400, "POST", "/admin/models", admin_, {{"alias", "x"}, {"provider", "nowhere"}});
  EXPECT_EQ(unknown["error"]["param"], "provider");

  auto disabled = expect(200, "PATCH", "/admin/models/" + id, admin_,
                         {{"enabled", false}, {"cached_input_micros_per_mtok", 75000}});
  EXPECT_EQ(disabled["enabled"], false);
  EXPECT_EQ(disabled["cached_input_usd_per_mtok"], 0.075);
  EXPECT_EQ(disabled["input_micros_per_mtok"], 150000);
  EXPECT_TRUE(chat_turns("made-by-admin", 404, 1s)) << "the disabled model still answered after a second";

  expect(200, "DELETE", "/admin/models/" + id, admin_);
  expect(404, "GET", "/admin/models/" + id, admin_);
  auto listed = expect(200, "GET", "/admin/models", admin_);
  ASSERT_EQ(listed["data"].size(), 1u);
  EXPECT_EQ(listed["data"][0]["alias"], "mock-chat");
}

TEST_F(Admin, EveryAdminRouteRefusesOthers) {
  const std::string some_id = "00000000-0000-0000-0000-000000000000";
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/admin/providers"},
      {"POST", "/admin/providers"},
      {"GET", "/admin/providers/" + some_id},
      {"PATCH", "/admin/providers/" + some_id},
      {"DELETE", "/admin/providers/" + some_id},
      {"GET", "/admin/models"},
      {"POST", "/admin/models"},
      {"GET", "/admin/models/" + some_id},
      {"PATCH", "/admin/models/" + some_id},
      {"DELETE", "/admin/models/" + some_id},
      {"GET", "/admin/tenants/" + tenant_id("acme") + "/models"},
      {"PUT", "/admin/tenants/" + tenant_id("acme") + "/models"},
      {"GET", "/admin/audit"}};
  json body = {{"name", "sneaky"}, {"type", "mock"}, {"all_models", true}};
  for (const auto& [method, target] : routes) {
    auto forbidden =
        expect(403, method, target, user_, method == "GET" || method == "DELETE" ? json() : body);
    EXPECT_EQ(forbidden["error"]["type"], "permission_error") << method << " " << target;
    expect(401, method, target, "");
    expect(403, method, target, kKey);
  }
  EXPECT_EQ(expect(200, "GET", "/admin/providers", admin_)["data"].size(), 2u);
}

TEST_F(Admin, GrantsDecideWhatTenantsMayUse) {
  auto acme = tenant_id("acme");
  auto grants = expect(200, "GET", "/admin/tenants/" + acme + "/models", admin_);
  EXPECT_EQ(grants["all_models"], true);
  EXPECT_EQ(grants["models"], json::array());
  expect(201, "POST", "/admin/models", admin_, {{"alias", "second"}, {"provider", "mock"}});

  auto user_models = expect(200, "GET", "/user/models", user_);
  ASSERT_EQ(user_models["models"].size(), 2u);
  EXPECT_EQ(user_models["models"][0]["alias"], "mock-chat");
  EXPECT_EQ(user_models["models"][0]["provider"], "mock");
  EXPECT_EQ(user_models["models"][0]["enabled"], true);

  auto unknown = expect(400, "PUT", "/admin/tenants/" + acme + "/models", admin_,
                        {{"all_models", false}, {"models", {"mock-chat", "nope"}}});
  EXPECT_EQ(unknown["error"]["param"], "models");
  auto replaced = expect(200, "PUT", "/admin/tenants/" + acme + "/models", admin_,
                         {{"all_models", false}, {"models", {"second"}}});
  EXPECT_EQ(replaced["all_models"], false);
  EXPECT_EQ(replaced["models"], json({"second"}));
  EXPECT_TRUE(chat_turns("mock-chat", 404, 1s)) << "the tenant kept a model it no longer has";
  EXPECT_EQ(chat_status("second"), 200);

  // The member's personal tenant still may use every model; acme only the granted one.
  user_models = expect(200, "GET", "/user/models", user_);
  ASSERT_EQ(user_models["models"].size(), 2u);
  EXPECT_EQ(user_models["models"][0]["tenants"].size(), 1u);
  EXPECT_EQ(user_models["models"][1]["alias"], "second");
  EXPECT_EQ(user_models["models"][1]["tenants"].size(), 2u);
  const auto& mock_tenants = user_models["models"][0]["tenants"];
  EXPECT_EQ(std::find(mock_tenants.begin(), mock_tenants.end(), acme), mock_tenants.end())
      << "mock-chat is listed for acme, which lost it";
  const auto& second_tenants = user_models["models"][1]["tenants"];
  EXPECT_NE(std::find(second_tenants.begin(), second_tenants.end(), acme), second_tenants.end());
}

TEST_F(Admin, ProvidersListIsForAnyCallerWithoutSecrets) {
  for (const auto& bearer : {std::string(kKey), user_}) {
    auto listed = expect(200, "GET", "/v1/providers", bearer);
    EXPECT_EQ(listed["object"], "list");
    ASSERT_EQ(listed["data"].size(), 2u);
    EXPECT_EQ(listed["data"][0], json({{"name", "mock"}, {"type", "mock"}, {"enabled", true}}));
    EXPECT_EQ(listed["data"][1], json({{"name", "seeded"}, {"type", "openai"}, {"enabled", true}}));
    EXPECT_EQ(listed["providers"], listed["data"]);
  }
  expect(401, "GET", "/v1/providers", "");
  EXPECT_FALSE(any_body_contains(kSeedSecret));
  EXPECT_FALSE(any_body_contains(fake_.base_url()));
}

TEST_F(Admin, AuditEntriesRecordWhoWhatBeforeAndAfter) {
  auto id = expect(201, "POST", "/admin/providers", admin_, {{"name", "audited"}, {"type", "mock"}})["id"];
  expect(200, "PATCH", "/admin/providers/" + id.get<std::string>(), admin_,
         {{"enabled", false}, {"api_key", kNewSecret}}, "X-Request-Id: audit-trace-1\r\n");
  auto other = tenant_id("other");
  expect(200, "PUT", "/admin/tenants/" + other + "/models", admin_,
         {{"all_models", false}, {"models", {"mock-chat"}}});

  auto page = expect(200, "GET", "/admin/audit?action=provider.update", admin_);
  ASSERT_EQ(page["data"].size(), 1u);
  const auto& entry = page["data"][0];
  EXPECT_EQ(entry["actor"]["email"], kAdminEmail);
  EXPECT_EQ(entry["target_type"], "provider");
  EXPECT_EQ(entry["target_id"], id);
  EXPECT_EQ(entry["request_id"], "audit-trace-1");
  EXPECT_EQ(entry["before"]["enabled"], true);
  EXPECT_EQ(entry["after"]["enabled"], false);
  EXPECT_EQ(entry["before"]["has_credentials"], false);
  EXPECT_EQ(entry["after"]["has_credentials"], true);
  EXPECT_FALSE(entry["created_at"].get<std::string>().empty());

  // Newest first, a page at a time.
  auto first = expect(200, "GET", "/admin/audit?limit=2", admin_);
  ASSERT_EQ(first["data"].size(), 2u);
  EXPECT_EQ(first["has_more"], true);
  EXPECT_EQ(first["data"][0]["action"], "tenant.models.update");
  auto rest = expect(200, "GET", "/admin/audit?limit=2&before=" + first["next_before"].dump(), admin_);
  ASSERT_EQ(rest["data"].size(), 1u);
  EXPECT_EQ(rest["data"][0]["action"], "provider.create");
  EXPECT_EQ(rest["data"][0]["before"], nullptr);
  EXPECT_EQ(rest["has_more"], false);
  EXPECT_EQ(rest["next_before"], nullptr);
  EXPECT_EQ(expect(400, "GET", "/admin/audit?limit=500", admin_)["error"]["param"], "limit");

  // A tenant's owner reads its entries; a member of another tenant gets 404, never data.
  auto owned = expect(200, "GET", "/user/tenants/" + other + "/audit", other_owner_);
  ASSERT_EQ(owned["data"].size(), 1u);
  EXPECT_EQ(owned["data"][0]["after"]["models"], json({"mock-chat"}));
  auto stranger = expect(404, "GET", "/user/tenants/" + other + "/audit", user_);
  EXPECT_FALSE(stranger.contains("data"));
  expect(403, "GET", "/user/tenants/" + tenant_id("acme") + "/audit", user_);
  EXPECT_FALSE(any_body_contains(kNewSecret));
}

}  // namespace
}  // namespace switchyard::testing
