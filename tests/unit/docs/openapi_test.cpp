#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace switchyard {
namespace {

/// `/user/tenants/{tenant_id}/keys` → `/user/tenants/{}/keys`: parameter names may differ between code and
/// docs.
std::string shape_of(const std::string& path) {
  static const std::regex kParameter{"\\{[^}]*\\}"};
  auto shape = std::regex_replace(path, kParameter, "{}");
  if (shape.size() > 1 && shape.back() == '/') shape.pop_back();
  return shape;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

/// Every `router.add("METHOD", "/path", …)` with a literal path in src/.
std::set<std::pair<std::string, std::string>> routes_in_code() {
  static const std::regex kRoute{"add\\(\\s*\"(GET|POST|PUT|PATCH|DELETE)\",\\s*\"(/[^\"]*)\""};
  std::set<std::pair<std::string, std::string>> routes;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::filesystem::path(SWITCHYARD_SOURCE_DIR) / "src")) {
    if (entry.path().extension() != ".cpp") continue;
    std::ifstream file(entry.path());
    std::stringstream text;
    text << file.rdbuf();
    auto content = text.str();
    for (std::sregex_iterator it(content.begin(), content.end(), kRoute), end; it != end; ++it) {
      routes.emplace(lower((*it)[1]), shape_of((*it)[2]));
    }
  }
  return routes;
}

TEST(OpenApi, DescribesEveryRouteTheServerAnswers) {
  auto document = YAML::LoadFile(std::string(SWITCHYARD_SOURCE_DIR) + "/docs/openapi.yaml");
  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& path : document["paths"]) {
    for (const auto& operation : path.second) {
      documented.emplace(operation.first.as<std::string>(), shape_of(path.first.as<std::string>()));
    }
  }
  auto routes = routes_in_code();
  EXPECT_GT(routes.size(), 20u) << "the route pattern no longer matches how routes are added";
  for (const auto& [method, path] : routes) {
    EXPECT_TRUE(documented.count({method, path}))
        << method << " " << path << " is missing from docs/openapi.yaml";
  }
}

}  // namespace
}  // namespace switchyard
