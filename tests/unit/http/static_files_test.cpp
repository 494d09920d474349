#include "switchyard/http/static_files.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "switchyard/core/error.hpp"

namespace switchyard::http {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("switchyard-static-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_ / "root/assets");
    write(base_ / "root/index.html", "<html>app</html>");
    write(base_ / "root/assets/app-1234.js", "console.log(1)");
    write(base_ / "root/logo.svg", "<svg/>");
    write(base_ / "secret.txt", "outside");
    fs::create_symlink(base_ / "secret.txt", base_ / "root/leak.txt");
    fs::create_directory_symlink(base_, base_ / "root/up");
    files_.emplace(base_ / "root");
  }
  void TearDown() override { fs::remove_all(base_); }

  static void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

  Response get(const std::string& target) {
    Request request;
    request.method = "GET";
    request.target = target;
    return files_->serve(request);
  }

  fs::path base_;
  std::optional<StaticFiles> files_;
};

TEST_F(StaticFilesTest, ServesFilesWithTheirTypesAndCaching) {
  auto js = get("/assets/app-1234.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "console.log(1)");
  EXPECT_EQ(js.headers.find("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.headers.find("Cache-Control"), "public, max-age=31536000, immutable");

  auto index = get("/");
  EXPECT_EQ(index.body, "<html>app</html>");
  EXPECT_EQ(index.headers.find("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.headers.find("Cache-Control"), "no-cache");
  EXPECT_EQ(get("/logo.svg").headers.find("Content-Type"), "image/svg+xml");
}

TEST_F(StaticFilesTest, ClientSideRoutesGetIndexHtml) {
  EXPECT_EQ(get("/usage").body, "<html>app</html>");
  EXPECT_EQ(get("/tenants/123/members?tab=x").body, "<html>app</html>");
}

TEST_F(StaticFilesTest, MissingFilesAndApiPathsAre404) {
  EXPECT_THROW(get("/missing.js"), ApiError);
  EXPECT_THROW(get("/v1/unknown"), ApiError);
  EXPECT_THROW(get("/admin/nothing"), ApiError);
}

TEST_F(StaticFilesTest, NothingOutsideTheRootIsReachable) {
  for (const char* path :
       {"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/assets/../../secret.txt", "/leak.txt",
        "/up/secret.txt", "/up/root/index.html/../../secret.txt", "//etc/passwd", "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt", "/assets/..%5c..%5csecret.txt", "/index.html%00.js"}) {
    EXPECT_EQ(files_->resolve(path), std::nullopt) << path;
  }
  EXPECT_EQ(files_->resolve("etc/passwd"), std::nullopt);
}

TEST_F(StaticFilesTest, EtagAnswers304) {
  auto first = get("/logo.svg");
  auto etag = first.headers.find("ETag");
  ASSERT_TRUE(etag);
  Request again;
  again.method = "GET";
  again.target = "/logo.svg";
  again.headers.add("If-None-Match", std::string(*etag));
  auto second = files_->serve(again);
  EXPECT_EQ(second.status, 304);
  EXPECT_TRUE(second.body.empty());
}

TEST(StaticFilesRoot, AMissingRootServesNothing) {
  StaticFiles files("/nonexistent/switchyard/web");
  EXPECT_EQ(files.resolve("/index.html"), std::nullopt);
}

}  // namespace
}  // namespace switchyard::http
