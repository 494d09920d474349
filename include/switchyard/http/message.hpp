#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard {
class ApiError;
}

namespace switchyard::http {

/// Header fields in arrival order; names compare case-insensitively.
class Headers {
 public:
  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  /// Replaces every field of that name with one.
  void set(std::string_view name, std::string value);
  std::optional<std::string_view> find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name).has_value(); }

  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }
  std::size_t size() const { return fields_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

bool iequals(std::string_view a, std::string_view b);

struct Request {
  std::string method;
  std::string target;  ///< as sent: path and query, still percent-encoded
  Headers headers;
  std::string body;
  std::string remote_address;

  std::string_view path() const;
  std::string_view query() const;
  /// The first value of a query parameter, percent-decoded.
  std::optional<std::string> query_param(std::string_view name) const;
};

/// Where a streamed body goes, piece by piece.
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  /// Sends one piece now and waits until the client's socket took it (a slow client slows the producer).
  /// False once the client is gone: the producer should stop.
  virtual boost::asio::awaitable<bool> write(std::string_view piece) = 0;
};

/// Produces a body while it is sent (Server-Sent Events). Cancelled (terminal cancellation of its
/// coroutine) when the client disconnects, even while it waits for something other than a write.
using BodyProducer = std::function<boost::asio::awaitable<void>(BodyWriter&)>;

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  /// When set, the body is streamed with chunked transfer-encoding instead of `body`.
  BodyProducer stream;
  /// Close the connection after this response (protocol errors, draining).
  bool close = false;

  static Response json(int status, std::string body);
  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response error(const ApiError& error);
};

/// Percent-decodes `text` ('+' stays '+'); nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text);

/// Path parameters captured by the router, by name.
using PathParams = std::map<std::string, std::string, std::less<>>;

}  // namespace switchyard::http
