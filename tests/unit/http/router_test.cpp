#include "switchyard/http/router.hpp"

#include <gtest/gtest.h>

namespace switchyard::http {
namespace {

Handler noop() {
  return [](RequestContext&) -> boost::asio::awaitable<Response> { co_return Response{}; };
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router.add("GET", "/v1/models", noop());
    router.add("GET", "/v1/models/{id}", noop());
    router.add("POST", "/v1/models/{id}/load", noop());
    router.add("DELETE", "/v1/files/{file_id}", noop());
    router.add("GET", "/v1/files/{file_id}", noop());
    router.add("POST", "/api/llm/generate/", noop());
  }
  Router router;
};

TEST_F(RouterTest, LiteralRoutesMatch) {
  auto match = router.match("GET", "/v1/models");
  ASSERT_EQ(match.kind, Router::Match::Kind::found);
  EXPECT_EQ(match.route->pattern, "/v1/models");
}

TEST_F(RouterTest, ParametersAreCapturedAndDecoded) {
  auto match = router.match("GET", "/v1/models/org%2Fgpt-4o");
  ASSERT_EQ(match.kind, Router::Match::Kind::found);
  EXPECT_EQ(match.route->pattern, "/v1/models/{id}");
  EXPECT_EQ(match.params.at("id"), "org/gpt-4o");

  match = router.match("POST", "/v1/models/abc/load");
  ASSERT_EQ(match.kind, Router::Match::Kind::found);
  EXPECT_EQ(match.params.at("id"), "abc");
}

TEST_F(RouterTest, TrailingSlashIsOptionalBothWays) {
  EXPECT_EQ(router.match("GET", "/v1/models/").kind, Router::Match::Kind::found);
  EXPECT_EQ(router.match("POST", "/api/llm/generate").kind, Router::Match::Kind::found);
  EXPECT_EQ(router.match("POST", "/api/llm/generate/").kind, Router::Match::Kind::found);
}

TEST_F(RouterTest, UnknownPathsAreNotFound) {
  EXPECT_EQ(router.match("GET", "/v1/nothing").kind, Router::Match::Kind::not_found);
  EXPECT_EQ(router.match("GET", "/v1/models/a/b/c").kind, Router::Match::Kind::not_found);
  EXPECT_EQ(router.match("GET", "/v1/models//load").kind, Router::Match::Kind::not_found);
  EXPECT_EQ(router.match("GET", "/v1/models/%zz").kind, Router::Match::Kind::not_found);
}

TEST_F(RouterTest, WrongMethodListsTheAllowedOnes) {
  auto match = router.match("PUT", "/v1/files/f1");
  ASSERT_EQ(match.kind, Router::Match::Kind::method_not_allowed);
  EXPECT_EQ(match.allow, "DELETE, GET, HEAD");
  match = router.match("GET", "/api/llm/generate/");
  ASSERT_EQ(match.kind, Router::Match::Kind::method_not_allowed);
  EXPECT_EQ(match.allow, "POST");
}

TEST_F(RouterTest, HeadFollowsGet) {
  EXPECT_EQ(router.match("HEAD", "/v1/models").kind, Router::Match::Kind::found);
  EXPECT_EQ(router.match("HEAD", "/api/llm/generate/").kind, Router::Match::Kind::method_not_allowed);
}

TEST_F(RouterTest, FallbackServesOnlyGetAndHeadOfUnknownPaths) {
  router.set_fallback(noop());
  auto match = router.match("GET", "/dashboard/usage");
  ASSERT_EQ(match.kind, Router::Match::Kind::found);
  EXPECT_EQ(match.route, router.fallback());
  EXPECT_EQ(router.match("POST", "/dashboard").kind, Router::Match::Kind::not_found);
  EXPECT_EQ(router.match("GET", "/v1/models").route->pattern, "/v1/models");
}

TEST(RouterPatterns, PatternsMustBeAbsolute) {
  EXPECT_THROW(Router().add("GET", "v1/x", noop()), std::invalid_argument);
}

}  // namespace
}  // namespace switchyard::http
