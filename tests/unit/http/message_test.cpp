#include "switchyard/http/message.hpp"

#include <gtest/gtest.h>

#include "switchyard/core/error.hpp"
#include "switchyard/http/request_id.hpp"

namespace switchyard::http {
namespace {

TEST(PercentDecode, DecodesAndRejectsMalformedEscapes) {
  EXPECT_EQ(percent_decode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(percent_decode("%2e%2E"), "..");
  EXPECT_EQ(percent_decode("plain+text"), "plain+text");
  EXPECT_EQ(percent_decode("bad%"), std::nullopt);
  EXPECT_EQ(percent_decode("bad%2"), std::nullopt);
  EXPECT_EQ(percent_decode("bad%g1"), std::nullopt);
}

TEST(Request, PathAndQueryParameters) {
  Request request;
  request.target = "/v1/files?limit=20&after=file%5F1&purpose=fine+tune&empty=";
  EXPECT_EQ(request.path(), "/v1/files");
  EXPECT_EQ(request.query_param("limit"), "20");
  EXPECT_EQ(request.query_param("after"), "file_1");
  EXPECT_EQ(request.query_param("purpose"), "fine tune");
  EXPECT_EQ(request.query_param("empty"), "");
  EXPECT_EQ(request.query_param("missing"), std::nullopt);
}

TEST(Headers, FindIsCaseInsensitiveAndSetReplaces) {
  Headers headers;
  headers.add("Content-Type", "text/plain");
  headers.add("X-Thing", "1");
  headers.add("x-thing", "2");
  EXPECT_EQ(headers.find("content-type"), "text/plain");
  headers.set("X-THING", "3");
  EXPECT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers.find("x-thing"), "3");
}

TEST(Response, ErrorsHaveOpenAIsShape) {
  auto response = Response::error(ApiError::invalid_request("messages is required", "messages"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.headers.find("Content-Type"), "application/json");
  EXPECT_EQ(
      response.body,
      R"({"error":{"code":null,"message":"messages is required","param":"messages","type":"invalid_request_error"}})");
}

TEST(RequestId, SaneIdsAreKeptAndNewOnesLookRight) {
  EXPECT_TRUE(is_sane_request_id("abc-123_x.y:z"));
  EXPECT_TRUE(is_sane_request_id(std::string(128, 'a')));
  EXPECT_FALSE(is_sane_request_id(""));
  EXPECT_FALSE(is_sane_request_id(std::string(129, 'a')));
  EXPECT_FALSE(is_sane_request_id("has space"));
  EXPECT_FALSE(is_sane_request_id("new\nline"));
  auto id = new_request_id();
  EXPECT_EQ(id.rfind("req_", 0), 0u);
  EXPECT_EQ(id.size(), 28u);
  EXPECT_TRUE(is_sane_request_id(id));
  EXPECT_NE(id, new_request_id());
}

}  // namespace
}  // namespace switchyard::http
