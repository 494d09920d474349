#include "switchyard/http/router.hpp"

#include <stdexcept>

namespace switchyard::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = path.starts_with('/') ? 1 : 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    auto end = slash == std::string_view::npos ? path.size() : slash;
    segments.push_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (!segments.empty() && segments.back().empty()) segments.pop_back();  // the optional trailing slash
  return segments;
}

bool is_parameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

/// The parameters when `path` fits `pattern`, else nullopt.
std::optional<PathParams> fit(const std::vector<std::string>& pattern,
                              const std::vector<std::string_view>& path) {
  if (pattern.size() != path.size()) return std::nullopt;
  PathParams params;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    auto decoded = percent_decode(path[i]);
    if (!decoded) return std::nullopt;
    if (is_parameter(pattern[i])) {
      if (decoded->empty()) return std::nullopt;
      params.emplace(pattern[i].substr(1, pattern[i].size() - 2), std::move(*decoded));
    } else if (*decoded != pattern[i]) {
      return std::nullopt;
    }
  }
  return params;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  if (!pattern.starts_with('/')) throw std::invalid_argument("route pattern must start with '/': " + pattern);
  std::vector<std::string> segments;
  for (auto segment : split_path(pattern)) segments.emplace_back(segment);
  routes_.push_back({std::move(method), std::move(pattern), std::move(handler), routes_.size()});
  segments_.push_back(std::move(segments));
}

void Router::set_fallback(Handler handler) {
  fallback_ = Route{"GET", "(static)", std::move(handler), routes_.size()};
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  auto segments = split_path(path);
  Match result;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    auto params = fit(segments_[i], segments);
    if (!params) continue;
    const Route& route = routes_[i];
    if (route.method == method || (method == "HEAD" && route.method == "GET")) {
      result.kind = Match::Kind::found;
      result.route = &route;
      result.params = std::move(*params);
      return result;
    }
    result.kind = Match::Kind::method_not_allowed;
    if (result.allow.find(route.method) == std::string::npos) {
      result.allow += (result.allow.empty() ? "" : ", ") + route.method;
      if (route.method == "GET") result.allow += ", HEAD";
    }
  }
  if (result.kind == Match::Kind::not_found && fallback_ && (method == "GET" || method == "HEAD")) {
    result.kind = Match::Kind::found;
    result.route = &*fallback_;
  }
  return result;
}

}  // namespace switchyard::http
