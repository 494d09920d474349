#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "binary_support.hpp"
#include "support/fake_upstream.hpp"
#include "support/test_env.hpp"

namespace switchyard::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kPassword = "correct horse battery";
constexpr const char* kPlatformUpstreamKey = "sk-platform-upstream-secret";

/// A gateway process seeded with two shared tenants and their members, the mock provider and an OpenAI-wire
/// provider pointing at a fake upstream: the portal and user APIs over real sockets, as the SPA and the
/// spec 004 clients use them.
class Portal : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(migrate_and_seed(database_.url(), seed_yaml()), "");
    serve_.emplace(database_.url(), test_redis_url(),
                   std::map<std::string, std::string>{{"SWITCHYARD_AUTH_LOGIN_FAILURES_PER_IP", "100000"}});
    ASSERT_TRUE(serve_->wait_for("/health", 200, 20s)) << serve_->process().output();
  }

  std::string seed_yaml() const {
    std::string users;
    for (const auto& [email, memberships] : std::vector<std::pair<std::string, std::string>>{
             {"root@example.com", ""},
             {"owner@example.com", "[{tenant: acme, role: owner}]"},
             {"admin@example.com", "[{tenant: acme, role: admin}]"},
             {"member@example.com", "[{tenant: acme, role: user}]"},
             {"viewer@example.com", "[{tenant: acme, role: viewer}]"},
             {"other@example.com", "[{tenant: beta, role: owner}]"}}) {
      users += "  - {email: " + email + ", password: \"" + kPassword + "\"" +
               (email == "root@example.com" ? ", admin: true" : "") +
               (memberships.empty() ? "" : ", memberships: " + memberships) + "}\n";
    }
    return "providers:\n"
           "  - {name: mock, type: mock}\n"
           "  - {name: upstream, type: openai, base_url: \"" +
           fake_.base_url() + "/v1\", api_key: " + kPlatformUpstreamKey +
           "}\n"
           "  - {name: keyless, type: openai, base_url: \"" +
           fake_.base_url() +
           "/v1\"}\n"
           "models:\n"
           "  - {alias: mock-chat, provider: mock, upstream_model: mock-chat, capabilities: [chat]}\n"
           "  - {alias: gpt-upstream, provider: upstream, upstream_model: gpt-4o-mini, capabilities: "
           "[chat]}\n"
           "  - {alias: gpt-keyless, provider: keyless, upstream_model: gpt-4o-mini, capabilities: [chat]}\n"
           "tenants:\n"
           "  - {name: acme, budget_usd: 100, rpm: 600, tpm: 100000, parallel: 10}\n"
           "  - {name: beta}\n"
           "users:\n" +
           users;
  }

  struct Answer {
    int status = 0;
    json body;
    RawResponse raw;
  };

  /// One call; `auth` is a full header line set ("Authorization: Bearer …\r\n" or "Cookie: …\r\n").
  Answer call(const std::string& method, const std::string& path, const std::string& auth,
              const json& body = nullptr) {
    std::string payload = body.is_null() ? "" : body.dump();
    auto response = http_request(serve_->port(), method, path, payload,
                                 auth + (payload.empty() ? "" : "Content-Type: application/json\r\n"));
    EXPECT_TRUE(response) << method << " " << path;
    if (!response) return {};
    auto parsed = json::parse(response->body, nullptr, false);
    return {response->status, parsed.is_discarded() ? json() : parsed, *response};
  }

  static std::string bearer(const std::string& token) { return "Authorization: Bearer " + token + "\r\n"; }

  /// A login token from POST /v1/users/login.
  std::string login(const std::string& email, const std::string& password = kPassword) {
    auto answer = call("POST", "/v1/users/login", "", {{"email", email}, {"password", password}});
    EXPECT_EQ(answer.status, 200) << answer.raw.body;
    return answer.body.value("token", "");
  }

  /// A user with a password, under an address no earlier run used: failed logins are counted in the shared
  /// Redis for 15 minutes, per address.
  std::string fresh_user(const std::string& label) {
    auto email = label + "-" + unique_suffix() + "@example.com";
    auto created = call("POST", "/admin/users", bearer(login("root@example.com")),
                        {{"email", email}, {"password", kPassword}});
    EXPECT_EQ(created.status, 201) << created.raw.body;
    return email;
  }

  static std::string unique_suffix() {
    std::random_device random;
    return std::to_string(random()) + std::to_string(random());
  }

  std::string tenant_id(const std::string& name) {
    pqxx::connection connection(database_.url());
    pqxx::nontransaction tx(connection);
    return tx.exec_params1("SELECT id FROM tenants WHERE name = $1", name)[0].as<std::string>();
  }

  std::string user_id(const std::string& email) {
    pqxx::connection connection(database_.url());
    pqxx::nontransaction tx(connection);
    return tx.exec_params1("SELECT id FROM users WHERE email = $1", email)[0].as<std::string>();
  }

  static json chat(const std::string& model) {
    return {{"model", model}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  }

  ScratchDatabase database_;
  FakeUpstream fake_;
  std::optional<ServeProcess> serve_;
};

std::string set_cookie_pair(const RawResponse& response, const std::string& name) {
  // The raw client keeps one value per header name; the fields are joined with ", " when repeated.
  auto header = response.header("set-cookie");
  auto at = header.find(name + "=");
  if (at == std::string::npos) return "";
  return header.substr(at, header.find(';', at) - at);
}

TEST_F(Portal, CookieSessionsNeedTheCsrfTokenToWriteAndEndAtLogout) {
  auto login = call("POST", "/auth/login", "", {{"email", "member@example.com"}, {"password", kPassword}});
  ASSERT_EQ(login.status, 200) << login.raw.body;
  auto session_cookie = set_cookie_pair(login.raw, "sy_session");
  auto csrf = login.body["csrf_token"].get<std::string>();
  ASSERT_FALSE(session_cookie.empty()) << login.raw.header("set-cookie");
  EXPECT_NE(login.raw.header("set-cookie").find("HttpOnly"), std::string::npos);
  EXPECT_NE(login.raw.header("set-cookie").find("SameSite=Lax"), std::string::npos);
  auto cookie = "Cookie: " + session_cookie + "\r\n";

  auto session = call("GET", "/auth/session", cookie);
  ASSERT_EQ(session.status, 200) << session.raw.body;
  EXPECT_EQ(session.body["user"]["email"], "member@example.com");
  EXPECT_EQ(session.body["csrf_token"], csrf);

  auto forged = call("PATCH", "/v1/users/me", cookie, {{"display_name", "Mallory"}});
  EXPECT_EQ(forged.status, 403) << forged.raw.body;
  EXPECT_EQ(forged.body["error"]["type"], "permission_error");
  auto wrong =
      call("PATCH", "/v1/users/me", cookie + "X-CSRF-Token: not-it\r\n", {{"display_name", "Mallory"}});
  EXPECT_EQ(wrong.status, 403);
  auto refused_logout = call("POST", "/auth/logout", cookie);
  EXPECT_EQ(refused_logout.status, 403);

  auto renamed =
      call("PATCH", "/v1/users/me", cookie + "X-CSRF-Token: " + csrf + "\r\n", {{"display_name", "Mia"}});
  ASSERT_EQ(renamed.status, 200) << renamed.raw.body;
  EXPECT_EQ(renamed.body["display_name"], "Mia");

  auto logout = call("POST", "/auth/logout", cookie + "X-CSRF-Token: " + csrf + "\r\n");
  EXPECT_EQ(logout.status, 204);
  EXPECT_NE(logout.raw.header("set-cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(call("GET", "/auth/session", cookie).status, 401);
  EXPECT_EQ(call("GET", "/v1/users/me", cookie).status, 401);
}

TEST_F(Portal, LoginTokensWorkAsBearersUntilLogout) {
  auto token = login("member@example.com");
  ASSERT_EQ(token.rfind("sys_", 0), 0u);
  auto me = call("GET", "/v1/users/me", bearer(token));
  ASSERT_EQ(me.status, 200) << me.raw.body;
  EXPECT_EQ(me.body["email"], "member@example.com");
  EXPECT_EQ(me.body.dump().find("$argon2"), std::string::npos);
  ASSERT_EQ(me.body["tenants"].size(), 2u);
  EXPECT_EQ(me.body["tenants"][0]["label"], "Personal");
  EXPECT_EQ(me.body["tenants"][1]["name"], "acme");

  // A bearer is not sent by a browser on its own: no CSRF token needed.
  auto renamed = call("PATCH", "/v1/users/me", bearer(token), {{"display_name", "Max"}});
  EXPECT_EQ(renamed.status, 200) << renamed.raw.body;
  EXPECT_EQ(call("POST", "/v1/users/logout", bearer(token)).status, 204);
  EXPECT_EQ(call("GET", "/v1/users/me", bearer(token)).status, 401);
  EXPECT_EQ(call("GET", "/v1/users/me", "").status, 401);
}

TEST_F(Portal, UnknownEmailAndWrongPasswordAreRefusedAlikeInWordsAndTime) {
  auto timed = [&](const std::string& email) {
    auto start = std::chrono::steady_clock::now();
    auto answer = call("POST", "/v1/users/login", "", {{"email", email}, {"password", "wrong password"}});
    return std::make_pair(answer, std::chrono::steady_clock::now() - start);
  };
  std::vector<std::chrono::steady_clock::duration> unknown_times;
  std::vector<std::chrono::steady_clock::duration> wrong_times;
  json unknown_body;
  json wrong_body;
  auto known = fresh_user("timed");
  for (int round = 0; round < 4; ++round) {
    auto [unknown, unknown_time] = timed("nobody-" + unique_suffix() + "@example.com");
    auto [wrong, wrong_time] = timed(known);
    ASSERT_EQ(unknown.status, 401);
    ASSERT_EQ(wrong.status, 401);
    unknown_body = unknown.body;
    wrong_body = wrong.body;
    unknown_times.push_back(unknown_time);
    wrong_times.push_back(wrong_time);
  }
  EXPECT_EQ(unknown_body, wrong_body);
  std::sort(unknown_times.begin(), unknown_times.end());
  std::sort(wrong_times.begin(), wrong_times.end());
  // Both pay one Argon2id check: the medians differ by far less than that check costs.
  auto unknown_median = unknown_times[2];
  auto wrong_median = wrong_times[2];
  EXPECT_GT(unknown_median * 2, wrong_median);
  EXPECT_GT(wrong_median * 2, unknown_median);
}

TEST_F(Portal, RepeatedFailuresOfOneAccountAreThrottled) {
  auto target = fresh_user("throttled");
  for (int attempt = 0; attempt < 10; ++attempt) {
    EXPECT_EQ(call("POST", "/v1/users/login", "", {{"email", target}, {"password", "guess"}}).status, 401);
  }
  auto throttled = call("POST", "/v1/users/login", "", {{"email", target}, {"password", kPassword}});
  EXPECT_EQ(throttled.status, 429) << throttled.raw.body;
  EXPECT_EQ(throttled.body["error"]["type"], "rate_limit_error");
  EXPECT_FALSE(throttled.raw.header("retry-after").empty());
  // Another account is not locked out by it.
  EXPECT_FALSE(login("owner@example.com").empty());
}

TEST_F(Portal, BadBodiesGetOpenAiShapedErrorsNamingTheField) {
  auto not_json =
      http_request(serve_->port(), "POST", "/v1/users/login", "{oops", "Content-Type: application/json\r\n");
  ASSERT_TRUE(not_json);
  EXPECT_EQ(not_json->status, 400);
  auto missing = call("POST", "/v1/users/login", "", {{"email", "member@example.com"}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body["error"]["param"], "password");
  auto wrong_type = call("POST", "/v1/users/login", "", {{"email", 42}, {"password", kPassword}});
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_EQ(wrong_type.body["error"]["param"], "email");
}

TEST_F(Portal, RegistrationNeedsAnInviteWhichWorksOnce) {
  auto refused =
      call("POST", "/v1/users/register", "", {{"email", "new@example.com"}, {"password", kPassword}});
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.body["error"]["param"], "invite_token");

  auto root = bearer(login("root@example.com"));
  auto invite =
      call("POST", "/admin/invites", root, {{"email", "new@example.com"}, {"tenant_id", tenant_id("acme")}});
  ASSERT_EQ(invite.status, 201) << invite.raw.body;
  auto token = invite.body["invite_token"].get<std::string>();

  auto elsewhere =
      call("POST", "/v1/users/register", "",
           {{"email", "intruder@example.com"}, {"password", kPassword}, {"invite_token", token}});
  EXPECT_EQ(elsewhere.status, 400) << "an invite for one address must not serve another";

  auto registered = call("POST", "/v1/users/register", "",
                         {{"email", "new@example.com"}, {"password", kPassword}, {"invite_token", token}});
  ASSERT_EQ(registered.status, 201) << registered.raw.body;
  EXPECT_EQ(registered.body["user"]["tenants"].size(), 2u) << "personal tenant plus the invite's";
  EXPECT_EQ(call("GET", "/v1/users/me", bearer(registered.body["token"])).status, 200);
  EXPECT_FALSE(login("new@example.com").empty());

  auto again = call("POST", "/v1/users/register", "",
                    {{"email", "new2@example.com"}, {"password", kPassword}, {"invite_token", token}});
  EXPECT_EQ(again.status, 400);
}

TEST_F(Portal, ReadTokensMayListButNotSpendAndRevokedTokensStopAtOnce) {
  auto session = bearer(login("member@example.com"));
  auto read_only = call("POST", "/v1/users/tokens", session,
                        {{"name", "dashboards"}, {"scopes", json::array({"read"})}, {"expires_days", 30}});
  ASSERT_EQ(read_only.status, 201) << read_only.raw.body;
  auto secret = read_only.body["token"].get<std::string>();
  EXPECT_FALSE(read_only.body["id"].get<std::string>().empty());
  EXPECT_FALSE(read_only.body["expires_at"].is_null());

  EXPECT_EQ(call("GET", "/v1/models", bearer(secret)).status, 200);
  auto spend = call("POST", "/v1/chat/completions", bearer(secret), chat("mock-chat"));
  EXPECT_EQ(spend.status, 403) << spend.raw.body;
  EXPECT_EQ(spend.body["error"]["type"], "permission_error");

  auto writer = call("POST", "/v1/users/tokens", session,
                     {{"name", "app"}, {"scopes", json::array({"read", "write"})}});
  ASSERT_EQ(writer.status, 201);
  auto writer_secret = writer.body["token"].get<std::string>();
  EXPECT_EQ(call("POST", "/v1/chat/completions", bearer(writer_secret), chat("mock-chat")).status, 200);

  auto listed = call("GET", "/v1/users/tokens", session);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body["data"].size(), 2u);
  EXPECT_EQ(listed.raw.body.find(secret), std::string::npos) << "secrets are shown once";
  EXPECT_EQ(listed.raw.body.find(writer_secret), std::string::npos);

  auto revoked = call("DELETE", "/v1/users/tokens/" + writer.body["id"].get<std::string>(), session);
  EXPECT_EQ(revoked.status, 200);
  auto deadline = std::chrono::steady_clock::now() + 1s;
  int status = 0;
  do {
    status = call("POST", "/v1/chat/completions", bearer(writer_secret), chat("mock-chat")).status;
  } while (status != 401 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(status, 401) << "a revoked token works no more within a second";

  EXPECT_EQ(
      call("POST", "/v1/users/tokens", session, {{"name", "x"}, {"scopes", json::array({"admin"})}}).status,
      400);
  EXPECT_EQ(call("POST", "/v1/users/tokens", session, {{"name", "x"}, {"expires_days", 0}}).status, 400);
}

TEST_F(Portal, KeysStayWithinTheTenantsCeilingAndViewersCreateNone) {
  auto acme = tenant_id("acme");
  auto member = bearer(login("member@example.com"));
  auto tenant = call("GET", "/user/tenants/" + acme, member);
  ASSERT_EQ(tenant.status, 200) << tenant.raw.body;
  EXPECT_EQ(tenant.body["key_ceilings"]["rpm"], 600);
  EXPECT_EQ(tenant.body["key_ceilings"]["budget_usd"], 100.0);

  auto above = call("POST", "/user/tenants/" + acme + "/keys", member, {{"name", "greedy"}, {"rpm", 601}});
  EXPECT_EQ(above.status, 400);
  EXPECT_EQ(above.body["error"]["param"], "rpm");
  auto unlimited =
      call("POST", "/user/tenants/" + acme + "/keys", member, {{"name", "greedy"}, {"budget_usd", nullptr}});
  EXPECT_EQ(unlimited.status, 201) << "absent or null caps inherit the tenant's: " << unlimited.raw.body;
  auto over_budget =
      call("POST", "/user/tenants/" + acme + "/keys", member, {{"name", "greedy"}, {"budget_usd", 100.01}});
  EXPECT_EQ(over_budget.status, 400);
  EXPECT_EQ(over_budget.body["error"]["param"], "budget_usd");

  auto created = call("POST", "/user/tenants/" + acme + "/keys", member,
                      {{"name", "ci"}, {"rpm", 60}, {"budget_usd", 5}, {"parallel", 2}});
  ASSERT_EQ(created.status, 201) << created.raw.body;
  auto secret = created.body["key"].get<std::string>();
  EXPECT_EQ(created.body["prefix"], secret.substr(0, 12));
  auto key_path = "/user/tenants/" + acme + "/keys/" + created.body["id"].get<std::string>();
  auto raised = call("PATCH", key_path, member, {{"rpm", 10000}});
  EXPECT_EQ(raised.status, 400);
  auto lowered = call("PATCH", key_path, member, {{"rpm", 30}});
  ASSERT_EQ(lowered.status, 200) << lowered.raw.body;
  EXPECT_EQ(lowered.body["rpm"], 30);
  EXPECT_EQ(lowered.body["budget_usd"], 5.0);
  auto chat_answer = call("POST", "/v1/chat/completions", bearer(secret), chat("mock-chat"));
  EXPECT_EQ(chat_answer.status, 200) << chat_answer.raw.body;
  EXPECT_EQ(chat_answer.raw.header("x-ratelimit-limit-requests"), "30");
  // Its use shows in the list once the usage row is written (behind the request, within seconds).
  auto last_used = [&] {
    auto listed = call("GET", "/user/tenants/" + acme + "/keys", member);
    for (const auto& key : listed.body["data"]) {
      if (key["id"] == created.body["id"]) return key["last_used_at"];
    }
    return json();
  };
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (last_used().is_null() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(last_used().is_string());

  auto viewer = bearer(login("viewer@example.com"));
  auto refused = call("POST", "/user/tenants/" + acme + "/keys", viewer, {{"name", "peek"}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.body["error"]["type"], "permission_error");
  EXPECT_EQ(call("GET", "/user/tenants/" + acme + "/keys", viewer).status, 200);

  // Members below admin see their own keys; admins see every key of the tenant.
  auto admin_list = call("GET", "/user/tenants/" + acme + "/keys", bearer(login("admin@example.com")));
  EXPECT_EQ(admin_list.body["data"].size(), 2u);
  EXPECT_EQ(call("GET", "/user/tenants/" + acme + "/keys", viewer).body["data"].size(), 0u);
}

TEST_F(Portal, AnotherTenantsDataIsNeverShown) {
  auto beta = tenant_id("beta");
  auto other = bearer(login("other@example.com"));
  auto beta_key = call("POST", "/user/tenants/" + beta + "/keys", other, {{"name", "beta-key"}});
  ASSERT_EQ(beta_key.status, 201);
  auto beta_key_path = "/user/tenants/" + beta + "/keys/" + beta_key.body["id"].get<std::string>();
  ASSERT_EQ(call("POST", "/user/tenants/" + beta + "/provider-keys", other,
                 {{"provider", "upstream"}, {"api_key", "sk-beta-own-provider-key"}})
                .status,
            201);

  for (const auto& email : {"owner@example.com", "viewer@example.com"}) {
    auto intruder = bearer(login(email));
    for (const auto& [method, path, body] : std::vector<std::tuple<std::string, std::string, json>>{
             {"GET", "/user/tenants/" + beta, nullptr},
             {"GET", "/user/tenants/" + beta + "/keys", nullptr},
             {"POST", "/user/tenants/" + beta + "/keys", {{"name", "mine-now"}}},
             {"PATCH", beta_key_path, {{"rpm", 1}}},
             {"DELETE", beta_key_path, nullptr},
             {"GET", "/user/tenants/" + beta + "/members", nullptr},
             {"POST", "/user/tenants/" + beta + "/members", {{"email", "x@example.com"}, {"role", "user"}}},
             {"PATCH",
              "/user/tenants/" + beta + "/members/" + user_id("other@example.com"),
              {{"role", "viewer"}}},
             {"DELETE", "/user/tenants/" + beta + "/members/" + user_id("other@example.com"), nullptr},
             {"GET", "/user/tenants/" + beta + "/provider-keys", nullptr},
             {"POST",
              "/user/tenants/" + beta + "/provider-keys",
              {{"provider", "upstream"}, {"api_key", "sk-x"}}},
             {"DELETE", "/user/tenants/" + beta + "/provider-keys/upstream", nullptr},
             {"GET", "/user/tenants/" + beta + "/audit", nullptr},
             {"GET", "/user/usage?tenant_ids=" + beta, nullptr},
             {"GET", "/user/usage/compare?tenant_ids=" + beta, nullptr},
             {"GET", "/admin/usage", nullptr},
             {"GET", "/admin/tenants", nullptr},
             {"GET", "/admin/users", nullptr}}) {
      auto answer = call(method, path, intruder, body);
      EXPECT_TRUE(answer.status == 404 || answer.status == 403)
          << email << " " << method << " " << path << " → " << answer.status << " " << answer.raw.body;
      EXPECT_EQ(answer.raw.body.find("beta-key"), std::string::npos) << path;
      EXPECT_EQ(answer.raw.body.find("other@example.com"), std::string::npos) << path;
      EXPECT_TRUE(answer.body.contains("error")) << path << " " << answer.raw.body;
    }
  }
  // Nothing changed in beta.
  auto keys = call("GET", "/user/tenants/" + beta + "/keys", other);
  ASSERT_EQ(keys.body["data"].size(), 1u);
  EXPECT_TRUE(keys.body["data"][0]["revoked_at"].is_null());
  EXPECT_TRUE(keys.body["data"][0]["rpm"].is_null());
  EXPECT_EQ(call("GET", "/user/tenants/" + beta + "/members", other).body["data"].size(), 1u);
  EXPECT_EQ(call("GET", "/user/tenants/" + beta + "/provider-keys", other).body["data"].size(), 1u);
}

TEST_F(Portal, MembershipsFollowTheRoleRules) {
  auto acme = tenant_id("acme");
  auto admin = bearer(login("admin@example.com"));
  auto owner = bearer(login("owner@example.com"));
  auto members = "/user/tenants/" + acme + "/members";

  auto invited = call("POST", members, admin,
                      {{"email", "newbie@example.com"}, {"role", "user"}, {"password", "a fine password"}});
  ASSERT_EQ(invited.status, 201) << invited.raw.body;
  EXPECT_EQ(invited.body["invited_by"]["email"], "admin@example.com");
  // The invite created the membership at once: the new user signs in and sees both tenants.
  auto newbie =
      call("POST", "/v1/users/login", "", {{"email", "newbie@example.com"}, {"password", "a fine password"}});
  ASSERT_EQ(newbie.status, 200);
  EXPECT_EQ(newbie.body["user"]["tenants"].size(), 2u);

  auto newbie_path = members + "/" + invited.body["user_id"].get<std::string>();
  EXPECT_EQ(call("PATCH", newbie_path, admin, {{"role", "owner"}}).status, 403) << "only owners grant owner";
  EXPECT_EQ(call("POST", members, admin, {{"email", "boss@example.com"}, {"role", "owner"}}).status, 403);
  EXPECT_EQ(call("PATCH", newbie_path, admin, {{"role", "viewer"}}).status, 200);
  auto owner_path = members + "/" + user_id("owner@example.com");
  EXPECT_EQ(call("PATCH", owner_path, admin, {{"role", "user"}}).status, 403) << "admins cannot touch owners";
  EXPECT_EQ(call("DELETE", owner_path, admin).status, 403);
  EXPECT_EQ(call("DELETE", owner_path, owner).status, 409) << "the last owner cannot leave";
  EXPECT_EQ(call("PATCH", owner_path, owner, {{"role", "admin"}}).status, 409) << "nor step down";

  auto promoted = call("PATCH", newbie_path, owner, {{"role", "owner"}});
  EXPECT_EQ(promoted.status, 200);
  EXPECT_EQ(call("DELETE", owner_path, owner).status, 204) << "with another owner, leaving is allowed";

  auto listed = call("GET", members, admin);
  ASSERT_EQ(listed.status, 200);
  bool saw_self = false;
  for (const auto& member : listed.body["data"]) {
    if (member["email"] == "admin@example.com") saw_self = member["is_self"].get<bool>();
    EXPECT_NE(member["email"], "owner@example.com");
  }
  EXPECT_TRUE(saw_self);
  EXPECT_EQ(call("POST", members, admin, {{"email", "newbie@example.com"}, {"role", "user"}}).status, 409);

  // Each change left an audit row naming who did what, with the request id.
  pqxx::connection connection(database_.url());
  pqxx::nontransaction tx(connection);
  auto audit = tx.exec_params(
      "SELECT action, before IS NOT NULL, after IS NOT NULL, request_id IS NOT NULL FROM audit_log "
      "WHERE tenant_id = $1 AND target_type = 'membership' ORDER BY id",
      acme);
  ASSERT_EQ(audit.size(), 4u);
  EXPECT_EQ(audit[0][0].as<std::string>(), "membership.create");
  EXPECT_EQ(audit[3][0].as<std::string>(), "membership.delete");
  EXPECT_TRUE(audit[1][1].as<bool>() && audit[1][2].as<bool>() && audit[1][3].as<bool>());
}

TEST_F(Portal, TheUsersOwnProviderKeyIsSentUpstreamElseThePlatforms) {
  auto session = bearer(login("member@example.com"));
  auto token = call("POST", "/v1/users/tokens", session, {{"name", "byok"}});
  ASSERT_EQ(token.status, 201);
  auto key = bearer(token.body["token"].get<std::string>());

  EXPECT_EQ(call("POST", "/v1/chat/completions", key, chat("gpt-keyless")).status, 403)
      << "no key anywhere for a provider that needs one";
  ASSERT_EQ(call("POST", "/v1/chat/completions", key, chat("gpt-upstream")).status, 200);
  EXPECT_EQ(fake_.requests().back().headers.find("Authorization"),
            std::string("Bearer ") + kPlatformUpstreamKey);

  const std::string own = "sk-member-own-key-0123456789";
  auto stored =
      call("POST", "/v1/users/provider-keys", session, {{"provider", "upstream"}, {"api_key", own}});
  ASSERT_EQ(stored.status, 201) << stored.raw.body;
  EXPECT_EQ(stored.body["masked_key"], "..." + own.substr(own.size() - 4));
  auto listed = call("GET", "/v1/users/provider-keys", session);
  EXPECT_EQ(listed.raw.body.find(own), std::string::npos);
  ASSERT_EQ(listed.body["data"].size(), 1u);
  EXPECT_EQ(call("POST", "/v1/users/provider-keys", session, {{"provider", "nope"}, {"api_key", own}}).status,
            404);

  auto sent_with = [&](const std::string& alias) {
    auto deadline = std::chrono::steady_clock::now() + 2s;
    std::string seen;
    do {
      if (call("POST", "/v1/chat/completions", key, chat(alias)).status == 200) {
        seen = std::string(fake_.requests().back().headers.find("Authorization").value_or(""));
      }
    } while (seen == "Bearer " + std::string(kPlatformUpstreamKey) &&
             std::chrono::steady_clock::now() < deadline);
    return seen;
  };
  EXPECT_EQ(sent_with("gpt-upstream"), "Bearer " + own) << "the user's own key wins within a second";

  EXPECT_EQ(call("DELETE", "/v1/users/provider-keys/upstream", session).status, 200);
  EXPECT_EQ(call("DELETE", "/v1/users/provider-keys/upstream", session).status, 404);
  auto deadline = std::chrono::steady_clock::now() + 2s;
  std::string seen;
  do {
    ASSERT_EQ(call("POST", "/v1/chat/completions", key, chat("gpt-upstream")).status, 200);
    seen = std::string(fake_.requests().back().headers.find("Authorization").value_or(""));
  } while (seen != "Bearer " + std::string(kPlatformUpstreamKey) &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(seen, "Bearer " + std::string(kPlatformUpstreamKey));
}

TEST_F(Portal, AdministratorsManageUsersAndTenants) {
  auto root = bearer(login("root@example.com"));
  auto member = bearer(login("member@example.com"));
  EXPECT_EQ(call("GET", "/admin/users", member).status, 403);

  auto tenant =
      call("POST", "/admin/tenants", root,
           {{"name", "gamma"}, {"budget_usd", 25}, {"rpm", 100}, {"owner_email", "member@example.com"}});
  ASSERT_EQ(tenant.status, 201) << tenant.raw.body;
  EXPECT_EQ(tenant.body["budget_usd"], 25.0);
  EXPECT_EQ(call("POST", "/admin/tenants", root, {{"name", "gamma"}}).status, 409);
  auto gamma = tenant.body["id"].get<std::string>();
  EXPECT_EQ(call("GET", "/user/tenants/" + gamma, member).body["role"], "owner");
  auto patched =
      call("PATCH", "/admin/tenants/" + gamma, root, {{"rpm", nullptr}, {"budget_period", "daily"}});
  ASSERT_EQ(patched.status, 200) << patched.raw.body;
  EXPECT_TRUE(patched.body["rpm"].is_null());
  EXPECT_EQ(patched.body["budget_period"], "daily");
  EXPECT_EQ(call("PATCH", "/admin/tenants/" + gamma, root, {{"budget_period", "hourly"}}).status, 400);

  auto temp = "temp-" + unique_suffix() + "@example.com";
  auto user = call("POST", "/admin/users", root, {{"email", temp}, {"password", kPassword}});
  ASSERT_EQ(user.status, 201) << user.raw.body;
  auto temp_session = login(temp);
  auto user_path = "/admin/users/" + user.body["id"].get<std::string>();
  EXPECT_EQ(call("PATCH", user_path, root, {{"disabled", true}}).status, 200);
  EXPECT_EQ(call("GET", "/v1/users/me", bearer(temp_session)).status, 401) << "disabling ends the sessions";
  EXPECT_EQ(
      call("POST", "/v1/users/login", "", {{"email", "temp@example.com"}, {"password", kPassword}}).status,
      401);
  EXPECT_EQ(call("DELETE", user_path, root).status, 204);
  EXPECT_EQ(call("GET", user_path, root).status, 404);
  EXPECT_EQ(call("DELETE", "/admin/tenants/" + gamma, root).status, 204);
  auto listed = call("GET", "/admin/users?limit=2", root);
  EXPECT_EQ(listed.body["data"].size(), 2u);
  EXPECT_EQ(call("GET", "/admin/users?limit=0", root).status, 400);
}

TEST_F(Portal, NoInvitationTakesOverAnExistingAccount) {
  auto root = bearer(login("root@example.com"));
  auto admin = bearer(login("admin@example.com"));
  // An account without a password, as single sign-on makes them.
  ASSERT_EQ(call("POST", "/admin/users", root, {{"email", "sso-only@example.com"}}).status, 201);
  auto invited = call("POST", "/user/tenants/" + tenant_id("acme") + "/members", admin,
                      {{"email", "sso-only@example.com"}, {"role", "user"}});
  ASSERT_EQ(invited.status, 201) << invited.raw.body;
  EXPECT_FALSE(invited.body.contains("invite_token"))
      << "an existing account gets no token to set its password";

  auto open_invite = call("POST", "/admin/invites", root, json::object());
  ASSERT_EQ(open_invite.status, 201);
  auto claimed = call("POST", "/v1/users/register", "",
                      {{"email", "sso-only@example.com"},
                       {"password", kPassword},
                       {"invite_token", open_invite.body["invite_token"]}});
  EXPECT_EQ(claimed.status, 409) << claimed.raw.body;
  EXPECT_EQ(call("POST", "/v1/users/login", "", {{"email", "sso-only@example.com"}, {"password", kPassword}})
                .status,
            401);

  // A member invited without a password, by the invitation that created them, chooses one.
  auto fresh = call("POST", "/user/tenants/" + tenant_id("acme") + "/members", admin,
                    {{"email", "brand-new@example.com"}, {"role", "viewer"}});
  ASSERT_EQ(fresh.status, 201);
  ASSERT_TRUE(fresh.body.contains("invite_token"));
  auto finished = call("POST", "/v1/users/register", "",
                       {{"email", "brand-new@example.com"},
                        {"password", kPassword},
                        {"invite_token", fresh.body["invite_token"]}});
  EXPECT_EQ(finished.status, 201) << finished.raw.body;
  EXPECT_FALSE(login("brand-new@example.com").empty());
}

TEST_F(Portal, ApiKeysReadTheAccountButCannotChangeIt) {
  auto session = bearer(login("root@example.com"));
  auto token = call("POST", "/v1/users/tokens", session, {{"name", "root-app"}});
  ASSERT_EQ(token.status, 201);
  auto key = bearer(token.body["token"].get<std::string>());
  EXPECT_EQ(call("GET", "/v1/users/me", key).status, 200);
  EXPECT_EQ(call("GET", "/v1/users/tokens", key).status, 200);
  auto minted = call("POST", "/v1/users/tokens", key, {{"name", "stronger"}});
  EXPECT_EQ(minted.status, 403) << minted.raw.body;
  EXPECT_EQ(call("PATCH", "/v1/users/me", key, {{"password", "a whole new password"}}).status, 403);
  EXPECT_EQ(call("GET", "/admin/users", key).status, 403) << "an administrator's key is not an administrator";
}

TEST_F(Portal, ADemotedMembersKeysStopSpendingAndAnOutsideAdministratorMakesTenantKeys) {
  auto acme = tenant_id("acme");
  auto member = bearer(login("member@example.com"));
  auto owner = bearer(login("owner@example.com"));
  auto created = call("POST", "/user/tenants/" + acme + "/keys", member, {{"name", "mine"}});
  ASSERT_EQ(created.status, 201);
  auto key = bearer(created.body["key"].get<std::string>());
  ASSERT_EQ(call("POST", "/v1/chat/completions", key, chat("mock-chat")).status, 200);
  ASSERT_EQ(call("PATCH", "/user/tenants/" + acme + "/members/" + user_id("member@example.com"), owner,
                 {{"role", "viewer"}})
                .status,
            200);
  auto deadline = std::chrono::steady_clock::now() + 1s;
  int status = 0;
  do {
    status = call("POST", "/v1/chat/completions", key, chat("mock-chat")).status;
  } while (status != 403 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(status, 403) << "a viewer's keys stop spending within a second";
  EXPECT_EQ(call("GET", "/v1/models", key).status, 200) << "and still read";

  auto root = bearer(login("root@example.com"));
  auto tenant_key = call("POST", "/user/tenants/" + acme + "/keys", root, {{"name", "ops"}});
  ASSERT_EQ(tenant_key.status, 201) << tenant_key.raw.body;
  EXPECT_TRUE(tenant_key.body["user_id"].is_null());
  EXPECT_EQ(call("POST", "/v1/chat/completions", bearer(tenant_key.body["key"].get<std::string>()),
                 chat("mock-chat"))
                .status,
            200);
}

TEST_F(Portal, PortalSignInTakesJsonOnly) {
  auto form = http_request(serve_->port(), "POST", "/auth/login",
                           "{\"email\":\"member@example.com\",\"password\":\"correct horse battery\"}",
                           "Content-Type: text/plain\r\n");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 415);
  EXPECT_EQ(form->header("set-cookie"), "");
}

}  // namespace
}  // namespace switchyard::testing
