#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/logging.hpp"
#include "switchyard/http/message.hpp"

namespace switchyard::http {

/// What a handler gets: the request, its path parameters, its id and its log.
struct RequestContext {
  Request& request;
  PathParams params;
  RequestLog log;
  std::string tenant;  ///< set once the caller is known, for the access log
};

/// Cancelled (terminal cancellation) when the client disconnects before the handler answered.
using Handler = std::function<boost::asio::awaitable<Response>(RequestContext&)>;

/// Maps method and path to a handler. Patterns are literal segments and `{name}` parameters
/// (`/v1/models/{id}`); a trailing slash is optional on both sides. Built at start-up, read-only after.
class Router {
 public:
  struct Route {
    std::string method;
    std::string pattern;
    Handler handler;
    std::size_t index;  ///< position in routes(), for per-route state kept elsewhere
  };

  struct Match {
    enum class Kind { found, not_found, method_not_allowed };
    Kind kind = Kind::not_found;
    const Route* route = nullptr;
    PathParams params;
    std::string allow;  ///< for method_not_allowed: the methods the path does answer, comma-separated
  };

  /// A GET route answers HEAD too.
  void add(std::string method, std::string pattern, Handler handler);
  /// Answers GET and HEAD requests that no route matches (the SPA's files).
  void set_fallback(Handler handler);

  Match match(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }
  const Route* fallback() const { return fallback_ ? &*fallback_ : nullptr; }

 private:
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> segments_;  // per route: the pattern split at '/'
  std::optional<Route> fallback_;
};

}  // namespace switchyard::http
