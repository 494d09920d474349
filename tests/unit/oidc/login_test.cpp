#include "switchyard/oidc/login.hpp"

#include <gtest/gtest.h>

#include <map>

#include "switchyard/core/crypto.hpp"
#include "switchyard/http/message.hpp"

namespace switchyard::oidc {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

crypto::MasterKey key(char fill = 'k') {
  return crypto::MasterKey(std::string(crypto::MasterKey::kSize, fill));
}

std::map<std::string, std::string> query_of(const std::string& url) {
  http::Request request;
  request.target = url.substr(url.find('/', url.find("//") + 2));
  std::map<std::string, std::string> fields;
  for (const char* name : {"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
                           "code_challenge", "code_challenge_method", "tenant"}) {
    if (auto value = request.query_param(name)) fields[name] = *value;
  }
  return fields;
}

TEST(Pkce, VerifierIsLongRandomAndUnreserved) {
  auto verifier = new_pkce_verifier();
  EXPECT_EQ(verifier.size(), 43u);
  EXPECT_TRUE(is_valid_pkce_verifier(verifier));
  EXPECT_NE(verifier, new_pkce_verifier());
}

TEST(Pkce, VerifierRulesFollowRfc7636) {
  EXPECT_TRUE(is_valid_pkce_verifier(std::string(43, 'a')));
  EXPECT_TRUE(is_valid_pkce_verifier(std::string(128, '~')));
  EXPECT_FALSE(is_valid_pkce_verifier(std::string(42, 'a')));
  EXPECT_FALSE(is_valid_pkce_verifier(std::string(129, 'a')));
  EXPECT_FALSE(is_valid_pkce_verifier(std::string(42, 'a') + "+"));
  EXPECT_FALSE(is_valid_pkce_verifier(std::string(42, 'a') + "/"));
  EXPECT_TRUE(is_valid_pkce_verifier("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-._~"));
}

TEST(Pkce, ChallengeMatchesRfc7636AppendixB) {
  EXPECT_EQ(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(AuthorizationUrl, EncodesEveryValue) {
  EXPECT_EQ(percent_encode("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
  AuthorizationRequest request{"https://idp.example.com/authorize",
                               "my client",
                               "https://gw.example.com/auth/oidc/callback",
                               "openid email",
                               "st&te",
                               "n=nce",
                               "chal"};
  auto url = authorization_url(request);
  EXPECT_EQ(url.rfind("https://idp.example.com/authorize?response_type=code&", 0), 0u) << url;
  EXPECT_NE(url.find("redirect_uri=https%3A%2F%2Fgw.example.com%2Fauth%2Foidc%2Fcallback"),
            std::string::npos);
  auto query = query_of(url);
  EXPECT_EQ(query["client_id"], "my client");
  EXPECT_EQ(query["redirect_uri"], "https://gw.example.com/auth/oidc/callback");
  EXPECT_EQ(query["scope"], "openid email");
  EXPECT_EQ(query["state"], "st&te");
  EXPECT_EQ(query["nonce"], "n=nce");
  EXPECT_EQ(query["code_challenge"], "chal");
  EXPECT_EQ(query["code_challenge_method"], "S256");
}

TEST(AuthorizationUrl, KeepsTheEndpointsOwnQuery) {
  AuthorizationRequest request{"https://idp.example.com/auth?tenant=acme", "c", "r", "openid", "s", "n", "x"};
  auto url = authorization_url(request);
  EXPECT_EQ(url.rfind("https://idp.example.com/auth?tenant=acme&response_type=code&", 0), 0u) << url;
  EXPECT_EQ(query_of(url)["tenant"], "acme");
}

TEST(ReturnPath, OnlySameSitePathsAreKept) {
  EXPECT_EQ(safe_return_path(std::nullopt), "/");
  EXPECT_EQ(safe_return_path(""), "/");
  EXPECT_EQ(safe_return_path("/usage?period=7d#x"), "/usage?period=7d#x");
  EXPECT_EQ(safe_return_path("/"), "/");
  EXPECT_EQ(safe_return_path("//evil.example.com/x"), "/");
  EXPECT_EQ(safe_return_path("/\\evil.example.com"), "/");
  EXPECT_EQ(safe_return_path("https://evil.example.com"), "/");
  EXPECT_EQ(safe_return_path("usage"), "/");
  EXPECT_EQ(safe_return_path("/a\r\nSet-Cookie: x=y"), "/");
  EXPECT_EQ(safe_return_path("/a b"), "/");
}

TEST(RedirectUri, ConfiguredThenPublicUrlThenListenAddress) {
  OidcSettings oidc;
  ServerConfig server;
  ListenAddress listen{"127.0.0.1", 8090};
  EXPECT_EQ(redirect_uri_for(oidc, server, listen), "http://127.0.0.1:8090/auth/oidc/callback");
  listen.host = "::1";
  EXPECT_EQ(redirect_uri_for(oidc, server, listen), "http://[::1]:8090/auth/oidc/callback");
  server.public_url = "https://gw.example.com";
  EXPECT_EQ(redirect_uri_for(oidc, server, listen), "https://gw.example.com/auth/oidc/callback");
  oidc.redirect_uri = "https://sso.example.com/cb";
  EXPECT_EQ(redirect_uri_for(oidc, server, listen), "https://sso.example.com/cb");
}

TEST(PendingLogin, IsFreshAndRandom) {
  auto now = Clock::now();
  auto a = new_pending_login("/keys", now);
  auto b = new_pending_login("//evil", now);
  EXPECT_EQ(a.return_to, "/keys");
  EXPECT_EQ(b.return_to, "/");
  EXPECT_NE(a.state, b.state);
  EXPECT_NE(a.nonce, b.nonce);
  EXPECT_NE(a.state, a.nonce);
  EXPECT_TRUE(is_valid_pkce_verifier(a.verifier));
  EXPECT_GE(a.state.size(), 43u);
}

TEST(PendingLogin, SealedCookieOpensUnderTheSameKeyOnly) {
  auto now = Clock::now();
  auto login = new_pending_login("/usage", now);
  auto sealed = seal_pending_login(login, key());
  EXPECT_EQ(sealed.find(login.state), std::string::npos);
  EXPECT_EQ(sealed.find(login.verifier), std::string::npos);
  auto opened = open_pending_login(sealed, key(), now + 5s);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->state, login.state);
  EXPECT_EQ(opened->nonce, login.nonce);
  EXPECT_EQ(opened->verifier, login.verifier);
  EXPECT_EQ(opened->return_to, "/usage");
  EXPECT_FALSE(open_pending_login(sealed, key('x'), now));
  auto altered = sealed;
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(open_pending_login(altered, key(), now));
  EXPECT_FALSE(open_pending_login("", key(), now));
  EXPECT_FALSE(open_pending_login("%%%", key(), now));
  // Sealed for another purpose under the same key.
  EXPECT_FALSE(open_pending_login(crypto::base64url_encode(key().encrypt("{}", "provider:x")), key(), now));
  EXPECT_FALSE(open_pending_login(crypto::base64url_encode(key().encrypt("{}", "oidc-login")), key(), now));
}

TEST(PendingLogin, ExpiresAfterTenMinutes) {
  auto now = Clock::now();
  auto sealed = seal_pending_login(new_pending_login(std::nullopt, now), key());
  EXPECT_TRUE(open_pending_login(sealed, key(), now + 599s));
  EXPECT_FALSE(open_pending_login(sealed, key(), now + 601s));
  EXPECT_FALSE(open_pending_login(sealed, key(), now - 120s));
}

TEST(PendingLogin, CookieIsHttpOnlyLaxAndScopedToTheCallback) {
  EXPECT_EQ(pending_login_cookie("abc", false),
            "sy_oidc=abc; Max-Age=600; Path=/auth/oidc; HttpOnly; SameSite=Lax");
  EXPECT_EQ(pending_login_cookie("abc", true),
            "sy_oidc=abc; Max-Age=600; Path=/auth/oidc; HttpOnly; SameSite=Lax; Secure");
  EXPECT_EQ(clear_pending_login_cookie(false),
            "sy_oidc=; Max-Age=0; Path=/auth/oidc; HttpOnly; SameSite=Lax");
}

}  // namespace
}  // namespace switchyard::oidc
