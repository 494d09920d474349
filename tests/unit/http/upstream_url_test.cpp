#include <gtest/gtest.h>

#include "switchyard/http/upstream_client.hpp"

namespace switchyard::http {
namespace {

TEST(UpstreamUrl, ParsesSchemeHostPortAndTarget) {
  auto url = UpstreamUrl::parse("https://api.openai.com/v1/chat/completions?api-version=2024-10-21");
  ASSERT_TRUE(url.has_value());
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "api.openai.com");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/v1/chat/completions?api-version=2024-10-21");
  EXPECT_EQ(url->host_header(), "api.openai.com");

  url = UpstreamUrl::parse("HTTP://127.0.0.1:8080");
  ASSERT_TRUE(url.has_value());
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->host_header(), "127.0.0.1:8080");
}

TEST(UpstreamUrl, Ipv6LiteralsLoseTheirBracketsButKeepThemInHost) {
  auto url = UpstreamUrl::parse("http://[::1]:11434/api/chat#fragment");
  ASSERT_TRUE(url.has_value());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 11434);
  EXPECT_EQ(url->target, "/api/chat");
  EXPECT_EQ(url->host_header(), "[::1]:11434");
}

TEST(UpstreamUrl, RejectsWhatItCannotSend) {
  EXPECT_FALSE(UpstreamUrl::parse("ftp://example.com/"));
  EXPECT_FALSE(UpstreamUrl::parse("/v1/chat/completions"));
  EXPECT_FALSE(UpstreamUrl::parse("https://user:secret@example.com/"));
  EXPECT_FALSE(UpstreamUrl::parse("http://example.com:0/"));
  EXPECT_FALSE(UpstreamUrl::parse("http://example.com:70000/"));
  EXPECT_FALSE(UpstreamUrl::parse("http:///path"));
  EXPECT_FALSE(UpstreamUrl::parse("https://exa mple.com/"));
  EXPECT_FALSE(UpstreamUrl::parse(""));
}

}  // namespace
}  // namespace switchyard::http
