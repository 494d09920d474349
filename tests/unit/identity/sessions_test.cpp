#include "switchyard/identity/sessions.hpp"

#include <gtest/gtest.h>

#include "switchyard/identity/caller.hpp"

namespace switchyard::identity {
namespace {

http::Request request_with(std::initializer_list<std::pair<std::string, std::string>> headers) {
  http::Request request;
  for (const auto& [name, value] : headers) request.headers.add(name, value);
  return request;
}

TEST(Cookies, FindsANamedCookieAmongSeveralHeaders) {
  auto request = request_with({{"Cookie", "theme=dark; sy_session=sys_abc"}, {"cookie", "sy_csrf = xyz "}});
  EXPECT_EQ(cookie_value(request, kSessionCookie), "sys_abc");
  EXPECT_EQ(cookie_value(request, kCsrfCookie), "xyz");
  EXPECT_FALSE(cookie_value(request, "missing").has_value());
  EXPECT_FALSE(cookie_value(request_with({{"Cookie", "xsy_session=1"}}), kSessionCookie).has_value());
}

TEST(Cookies, SessionCookieIsHttpOnlyAndLaxAndCsrfCookieReadable) {
  NewSession session{"id", "sys_token", "csrf", std::chrono::system_clock::now() + std::chrono::hours(1)};
  http::Headers headers;
  set_session_cookies(headers, session, true);
  std::vector<std::string> cookies;
  for (const auto& [name, value] : headers) cookies.push_back(value);
  ASSERT_EQ(cookies.size(), 2u);
  EXPECT_EQ(cookies[0].rfind("sy_session=sys_token;", 0), 0u);
  EXPECT_NE(cookies[0].find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookies[0].find("SameSite=Lax"), std::string::npos);
  EXPECT_NE(cookies[0].find("Secure"), std::string::npos);
  EXPECT_EQ(cookies[1].rfind("sy_csrf=csrf;", 0), 0u);
  EXPECT_EQ(cookies[1].find("HttpOnly"), std::string::npos);
}

TEST(Cookies, ClearingExpiresBoth) {
  http::Headers headers;
  clear_session_cookies(headers, false);
  for (const auto& [name, value] : headers) {
    EXPECT_NE(value.find("Max-Age=0"), std::string::npos) << value;
    EXPECT_EQ(value.find("Secure"), std::string::npos) << value;
  }
}

TEST(Cookies, SecureBehindHttpsOnly) {
  EXPECT_TRUE(wants_secure_cookies(request_with({}), "https://gw.example.com"));
  EXPECT_FALSE(wants_secure_cookies(request_with({}), "http://127.0.0.1:8090"));
  EXPECT_FALSE(wants_secure_cookies(request_with({}), ""));
  EXPECT_TRUE(wants_secure_cookies(request_with({{"X-Forwarded-Proto", "HTTPS"}}), ""));
}

TEST(SessionTokens, AreToldApartFromApiKeys) {
  EXPECT_TRUE(is_session_token("sys_abc"));
  EXPECT_FALSE(is_session_token("sk-sy-abc"));
  EXPECT_FALSE(is_session_token("sy"));
}

}  // namespace
}  // namespace switchyard::identity
