#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "binary_support.hpp"
#include "support/fake_oidc_provider.hpp"
#include "support/fake_upstream.hpp"
#include "support/io_thread.hpp"
#include "support/test_env.hpp"
#include "switchyard/http/upstream_client.hpp"
#include "switchyard/oidc/issuer.hpp"
#include "switchyard/oidc/login.hpp"

namespace switchyard::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kClientId = "switchyard-test";
constexpr const char* kClientSecret = "idp-secret: with & odd characters";

/// One answer, with every Set-Cookie header (RawResponse keeps only the last of a name).
struct Reply {
  int status = 0;
  std::string location;
  std::vector<std::string> set_cookies;
  std::string body;

  /// The value a Set-Cookie header gives `name`, or nullopt when none sets it.
  std::optional<std::string> cookie(const std::string& name) const {
    for (const auto& header : set_cookies) {
      if (header.rfind(name + "=", 0) == 0)
        return header.substr(name.size() + 1, header.find(';') - name.size() - 1);
    }
    return std::nullopt;
  }
};

Reply http_get(std::uint16_t port, const std::string& target, const std::string& cookies = {}) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::address_v4::loopback(), port});
  timeval timeout{15, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
  request.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port));
  request.set(bhttp::field::user_agent, "oidc-test");
  if (!cookies.empty()) request.set(bhttp::field::cookie, cookies);
  bhttp::write(socket, request);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
  bhttp::read(socket, buffer, response);
  Reply reply{static_cast<int>(response.result_int()),
              std::string(response[bhttp::field::location]),
              {},
              response.body()};
  for (const auto& field : response) {
    if (field.name() == bhttp::field::set_cookie) reply.set_cookies.emplace_back(field.value());
  }
  return reply;
}

/// The path and query of an absolute http URL on 127.0.0.1, and its port.
std::pair<std::uint16_t, std::string> split_url(const std::string& url) {
  auto host = url.find("127.0.0.1:");
  auto slash = url.find('/', host);
  return {static_cast<std::uint16_t>(std::stoi(url.substr(host + 10, slash - host - 10))), url.substr(slash)};
}

/// What the fake issuer's authorize endpoint redirects to for `authorize_url`.
std::string approve(const std::string& authorize_url) {
  auto [port, target] = split_url(authorize_url);
  auto reply = http_get(port, target);
  EXPECT_EQ(reply.status, 302) << reply.body;
  return reply.location;
}

std::string query_value(const std::string& url, const std::string& name) {
  http::Request request;
  request.target = split_url(url).second;
  return request.query_param(name).value_or("");
}

/// The real binary with OIDC on, pointed at a fake identity provider, on a scratch database.
class OidcSignIn : public ::testing::Test {
 protected:
  void SetUp() override { start(idp_.issuer()); }

  void start(const std::string& issuer) {
    std::map<std::string, std::string> env = {
        {"SWITCHYARD_OIDC_ISSUER", issuer},
        {"SWITCHYARD_OIDC_CLIENT_ID", kClientId},
        {"SWITCHYARD_OIDC_CLIENT_SECRET", kClientSecret},
        {"SWITCHYARD_OIDC_ALLOWED_ROLES", "gateway-users,gateway-admins"},
        {"SWITCHYARD_OIDC_ADMIN_ROLES", "gateway-admins"}};
    serve_.emplace(database_.url(), test_redis_url(), env);
    ASSERT_TRUE(serve_->wait_for("/health", 200, 20s)) << serve_->process().output();
  }

  /// A sign-in up to the issuer's redirect back: the login answer and the callback URL.
  struct Started {
    Reply login;
    std::string pending_cookie;
    std::string callback_url;
  };

  Started begin(const std::string& login_target = "/auth/oidc/login") {
    Started started;
    started.login = http_get(serve_->port(), login_target);
    EXPECT_EQ(started.login.status, 302) << started.login.body;
    started.pending_cookie = started.login.cookie("sy_oidc").value_or("");
    EXPECT_FALSE(started.pending_cookie.empty());
    started.callback_url = approve(started.login.location);
    return started;
  }

  Reply finish(const Started& started, const std::optional<std::string>& pending_cookie = std::nullopt) {
    auto cookie = pending_cookie.value_or(started.pending_cookie);
    return http_get(serve_->port(), split_url(started.callback_url).second,
                    cookie.empty() ? "" : "sy_oidc=" + cookie);
  }

  Reply sign_in(const std::string& login_target = "/auth/oidc/login") { return finish(begin(login_target)); }

  std::int64_t count(const std::string& sql) {
    pqxx::connection connection(database_.url());
    pqxx::nontransaction tx(connection);
    return tx.exec1(sql)[0].as<std::int64_t>();
  }

  /// Refused: back to the login page with `code`, the pending cookie cleared, and no session anywhere.
  void expect_refused(const Reply& reply, const std::string& code) {
    EXPECT_EQ(reply.status, 302);
    EXPECT_EQ(reply.location, "/login?error=" + code);
    EXPECT_FALSE(reply.cookie("sy_session"));
    EXPECT_EQ(reply.cookie("sy_oidc"), "");
    EXPECT_EQ(count("SELECT count(*) FROM sessions"), 0);
  }

  FakeOidcProvider idp_{kClientId, kClientSecret};
  ScratchDatabase database_;
  std::optional<ServeProcess> serve_;
};

TEST_F(OidcSignIn, LoginRedirectsToTheIssuerWithPkceStateAndNonce) {
  auto login = http_get(serve_->port(), "/auth/oidc/login?return_to=/usage");
  ASSERT_EQ(login.status, 302);
  EXPECT_EQ(login.location.rfind(idp_.issuer() + "/authorize?", 0), 0u) << login.location;
  EXPECT_EQ(query_value(login.location, "client_id"), kClientId);
  EXPECT_EQ(query_value(login.location, "response_type"), "code");
  EXPECT_EQ(query_value(login.location, "redirect_uri"),
            "http://127.0.0.1:" + std::to_string(serve_->port()) + "/auth/oidc/callback");
  EXPECT_EQ(query_value(login.location, "scope"), "openid email profile");
  EXPECT_EQ(query_value(login.location, "code_challenge_method"), "S256");
  EXPECT_EQ(query_value(login.location, "code_challenge").size(), 43u);
  EXPECT_GE(query_value(login.location, "state").size(), 43u);
  EXPECT_GE(query_value(login.location, "nonce").size(), 43u);
  ASSERT_EQ(login.set_cookies.size(), 1u);
  const auto& cookie = login.set_cookies[0];
  for (const char* attribute : {"HttpOnly", "SameSite=Lax", "Path=/auth/oidc", "Max-Age=600"}) {
    EXPECT_NE(cookie.find(attribute), std::string::npos) << attribute << " in " << cookie;
  }
  EXPECT_EQ(cookie.find("Secure"), std::string::npos);
  // The cookie is sealed: neither the state nor anything else shows through.
  EXPECT_EQ(cookie.find(query_value(login.location, "state")), std::string::npos);
  EXPECT_EQ(idp_.discovery_fetches(), 1);
}

TEST_F(OidcSignIn, FirstLoginCreatesTheUserTheirTenantAndASession) {
  auto reply = sign_in("/auth/oidc/login?return_to=/usage%3Fperiod%3D7d");
  ASSERT_EQ(reply.status, 302) << reply.body;
  EXPECT_EQ(reply.location, "/usage?period=7d");
  auto session = reply.cookie("sy_session");
  ASSERT_TRUE(session);
  EXPECT_TRUE(reply.cookie("sy_csrf"));
  EXPECT_EQ(reply.cookie("sy_oidc"), "");

  auto me = http_get(serve_->port(), "/v1/users/me", "sy_session=" + *session);
  ASSERT_EQ(me.status, 200) << me.body;
  auto user = json::parse(me.body);
  EXPECT_EQ(user["email"], "ada@example.com");
  EXPECT_EQ(user["display_name"], "Ada Lovelace");
  EXPECT_EQ(http_get(serve_->port(), "/v1/users/me").status, 401);

  EXPECT_EQ(
      count("SELECT count(*) FROM users WHERE email = 'ada@example.com' AND oidc_subject = 'fake-user-1' "
            "AND password_hash IS NULL AND NOT is_admin"),
      1);
  EXPECT_EQ(count("SELECT count(*) FROM users u JOIN tenants t ON t.id = u.personal_tenant_id "
                  "WHERE u.email = 'ada@example.com' AND t.kind = 'personal'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM sessions WHERE method = 'oidc' AND user_agent = 'oidc-test'"), 1);

  // The second sign-in finds the same user; the issuer's key set was fetched once.
  ASSERT_TRUE(sign_in().cookie("sy_session"));
  EXPECT_EQ(count("SELECT count(*) FROM users"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM tenants WHERE kind = 'personal'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM sessions"), 2);
  EXPECT_EQ(idp_.jwks_fetches(), 1);
  EXPECT_TRUE(idp_.token_refusals().empty());
}

TEST_F(OidcSignIn, Es256TokensAndAdminRolesAreHonoured) {
  idp_.set_signing_key(oidc::KeyType::ec_p256);
  idp_.set_user(
      {.subject = "root-1", .email = "root@example.com", .name = "Root", .roles = {"gateway-admins"}});
  auto reply = sign_in();
  ASSERT_TRUE(reply.cookie("sy_session")) << reply.location;
  EXPECT_EQ(reply.location, "/");
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE email = 'root@example.com' AND is_admin"), 1);
}

TEST_F(OidcSignIn, OnlyAVerifiedEmailLinksToAnExistingLocalAccount) {
  {
    pqxx::connection connection(database_.url());
    pqxx::nontransaction tx(connection);
    tx.exec0("INSERT INTO users (email) VALUES ('local@example.com')");
  }
  idp_.set_user({.subject = "claims-1",
                 .email = "local@example.com",
                 .name = "Claimer",
                 .roles = {"gateway-users"},
                 .email_verified = false});
  expect_refused(sign_in(), "sso_failed");
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE oidc_subject IS NOT NULL"), 0);

  idp_.set_user({.subject = "owner-1",
                 .email = "local@example.com",
                 .name = "Owner",
                 .roles = {"gateway-users"},
                 .email_verified = true});
  EXPECT_TRUE(sign_in().cookie("sy_session"));
  EXPECT_EQ(
      count("SELECT count(*) FROM users WHERE email = 'local@example.com' AND oidc_subject = 'owner-1'"), 1);
}

TEST_F(OidcSignIn, AUserWithoutARequiredRoleIsRefusedAfterASuccessfulSso) {
  idp_.set_user({.subject = "x-1", .email = "guest@example.com", .name = "Guest", .roles = {"staff"}});
  expect_refused(sign_in(), "sso_role_required");
  EXPECT_EQ(count("SELECT count(*) FROM users"), 0);
  EXPECT_EQ(idp_.token_requests(), 1);  // the issuer did sign the user in
}

TEST_F(OidcSignIn, BadIdTokensAreRefused) {
  for (auto flaw : {TokenFlaw::wrong_audience, TokenFlaw::expired, TokenFlaw::foreign_key,
                    TokenFlaw::wrong_issuer, TokenFlaw::wrong_nonce, TokenFlaw::alg_none}) {
    SCOPED_TRACE(static_cast<int>(flaw));
    idp_.set_flaw(flaw);
    expect_refused(sign_in(), "sso_failed");
  }
  EXPECT_EQ(count("SELECT count(*) FROM users"), 0);
  EXPECT_TRUE(idp_.token_refusals().empty());  // the issuer answered every time: our checks refused
  auto log = serve_->process().output();
  EXPECT_NE(log.find("wrong_audience"), std::string::npos);
  EXPECT_NE(log.find("(expired)"), std::string::npos);
  EXPECT_NE(log.find("bad_signature"), std::string::npos);
  EXPECT_NE(log.find("unsupported_algorithm"), std::string::npos);
  idp_.set_flaw(TokenFlaw::none);
  EXPECT_TRUE(sign_in().cookie("sy_session"));
}

TEST_F(OidcSignIn, AMismatchedOrReplayedStateIsRefused) {
  auto first = begin();
  auto second = begin();
  // The second sign-in's code and state with the first one's cookie.
  expect_refused(finish(second, first.pending_cookie), "sso_failed");
  // No cookie at all, and a cookie that is not ours.
  expect_refused(finish(first, ""), "sso_failed");
  expect_refused(finish(first, "forged" + first.pending_cookie.substr(6)), "sso_failed");
  EXPECT_EQ(idp_.token_requests(), 0);  // refused before the code was spent

  auto done = finish(first);
  ASSERT_TRUE(done.cookie("sy_session"));
  // The same callback again: the issuer will not take the code twice.
  auto replay = finish(first);
  EXPECT_EQ(replay.location, "/login?error=sso_failed");
  EXPECT_FALSE(replay.cookie("sy_session"));
  EXPECT_EQ(count("SELECT count(*) FROM sessions"), 1);
  EXPECT_EQ(idp_.token_refusals(), std::vector<std::string>{"unknown or used code"});
}

TEST_F(OidcSignIn, AnErrorFromTheIssuerIsRefused) {
  auto started = begin();
  auto state = query_value(started.callback_url, "state");
  auto reply =
      http_get(serve_->port(), "/auth/oidc/callback?error=access_denied&state=" + oidc::percent_encode(state),
               "sy_oidc=" + started.pending_cookie);
  expect_refused(reply, "sso_failed");
}

TEST_F(OidcSignIn, MethodsSayOidcIsOn) {
  auto methods = http_get(serve_->port(), "/auth/methods");
  ASSERT_EQ(methods.status, 200);
  EXPECT_EQ(json::parse(methods.body),
            (json{{"password", true}, {"oidc", {{"enabled", true}, {"login_url", "/auth/oidc/login"}}}}));
}

TEST(OidcOff, RoutesAnswer404AndMethodsSaySo) {
  ScratchDatabase database;
  ServeProcess serve(database.url(), test_redis_url());
  ASSERT_TRUE(serve.wait_for("/health", 200, 20s)) << serve.process().output();
  auto methods = http_get(serve.port(), "/auth/methods");
  ASSERT_EQ(methods.status, 200);
  EXPECT_EQ(json::parse(methods.body)["oidc"]["enabled"], false);
  EXPECT_EQ(http_get(serve.port(), "/auth/oidc/login").status, 404);
  EXPECT_EQ(http_get(serve.port(), "/auth/oidc/callback?code=x&state=y").status, 404);
}

TEST(OidcIssuerDown, LoginAnswers502AtOnce) {
  ScratchDatabase database;
  ServeProcess serve(database.url(), test_redis_url(),
                     {{"SWITCHYARD_OIDC_ISSUER", "http://127.0.0.1:" + std::to_string(free_port())},
                      {"SWITCHYARD_OIDC_CLIENT_ID", kClientId}});
  ASSERT_TRUE(serve.wait_for("/health", 200, 20s)) << serve.process().output();
  auto started = std::chrono::steady_clock::now();
  auto login = http_get(serve.port(), "/auth/oidc/login");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(login.status, 502);
  EXPECT_EQ(json::parse(login.body)["error"]["code"], "sso_unavailable");
  EXPECT_TRUE(login.set_cookies.empty());
}

/// The issuer client alone, against the fake identity provider.
class OidcIssuer : public ::testing::Test {
 protected:
  OidcSettings settings(const std::string& issuer) const {
    OidcSettings s;
    s.issuer = issuer;
    s.client_id = kClientId;
    s.client_secret = kClientSecret;
    return s;
  }

  /// Runs the authorization at the fake (as a browser would) and exchanges the code; the raw ID token.
  std::string id_token(oidc::Issuer& issuer, const std::string& nonce) {
    auto verifier = oidc::new_pkce_verifier();
    auto discovery = loop_.run(issuer.discovery());
    oidc::AuthorizationRequest request{
        discovery.authorization_endpoint, kClientId, "http://127.0.0.1:1/cb", "openid", "st", nonce,
        oidc::pkce_challenge(verifier)};
    auto code = query_value(approve(oidc::authorization_url(request)), "code");
    return loop_.run(issuer.exchange_code(code, "http://127.0.0.1:1/cb", verifier));
  }

  std::optional<oidc::Refusal> refusal(oidc::Issuer& issuer, const std::string& token) {
    try {
      loop_.run(issuer.verify(token, "nonce-1"));
      return std::nullopt;
    } catch (const oidc::TokenRefused& refused) {
      return refused.refusal();
    }
  }

  FakeOidcProvider idp_{kClientId, kClientSecret};
  http::UpstreamClient upstream_;
  IoThread loop_;
};

TEST_F(OidcIssuer, DiscoveryIsFetchedOnceAndMustNameTheIssuer) {
  oidc::Issuer issuer(upstream_, settings(idp_.issuer()));
  EXPECT_EQ(loop_.run(issuer.discovery()).token_endpoint, idp_.issuer() + "/token");
  EXPECT_EQ(loop_.run(issuer.discovery()).jwks_uri, idp_.issuer() + "/jwks");
  EXPECT_EQ(idp_.discovery_fetches(), 1);

  oidc::Issuer impostor(upstream_, settings(idp_.issuer() + "/"));
  EXPECT_THROW(loop_.run(impostor.discovery()), oidc::IssuerUnavailable);
}

TEST_F(OidcIssuer, AnUnknownKidRefetchesTheKeys) {
  oidc::Issuer issuer(upstream_, settings(idp_.issuer()), {.jwks_refetch_interval = 0ms});
  EXPECT_EQ(refusal(issuer, id_token(issuer, "nonce-1")), std::nullopt);
  EXPECT_EQ(refusal(issuer, id_token(issuer, "nonce-1")), std::nullopt);
  EXPECT_EQ(idp_.jwks_fetches(), 1);  // known kids use the cached set
  idp_.rotate_keys();
  EXPECT_EQ(refusal(issuer, id_token(issuer, "nonce-1")), std::nullopt);
  EXPECT_EQ(idp_.jwks_fetches(), 2);
}

TEST_F(OidcIssuer, AnUnknownKidRefetchesTheKeysAtMostOncePerInterval) {
  // The default interval, a minute: far longer than this test.
  oidc::Issuer issuer(upstream_, settings(idp_.issuer()));
  EXPECT_EQ(refusal(issuer, id_token(issuer, "nonce-1")), std::nullopt);
  idp_.rotate_keys();
  auto rotated = id_token(issuer, "nonce-1");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(refusal(issuer, rotated), oidc::Refusal::unknown_key);
  EXPECT_EQ(idp_.jwks_fetches(), 1);
}

TEST_F(OidcIssuer, UsesClientSecretPostWhenThatIsAllTheIssuerOffers) {
  idp_.set_auth_methods({"client_secret_post"});
  oidc::Issuer issuer(upstream_, settings(idp_.issuer()));
  EXPECT_EQ(refusal(issuer, id_token(issuer, "nonce-1")), std::nullopt);
  EXPECT_TRUE(idp_.token_refusals().empty());

  auto wrong = settings(idp_.issuer());
  wrong.client_secret = "guess";
  oidc::Issuer intruder(upstream_, wrong);
  EXPECT_THROW(id_token(intruder, "nonce-1"), oidc::TokenRefused);
  EXPECT_EQ(idp_.token_refusals(), std::vector<std::string>{"client authentication failed"});
}

TEST_F(OidcIssuer, AnIssuerThatNeverAnswersFailsByTheDeadline) {
  FakeUpstream silent;
  silent.set_scenario(FakeScenario::never_answers);
  oidc::Issuer issuer(upstream_, settings(silent.base_url()), {.connect = 500ms, .total = 500ms});
  auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(loop_.run(issuer.discovery()), oidc::IssuerUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

}  // namespace
}  // namespace switchyard::testing
