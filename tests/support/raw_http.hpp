#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard::testing {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names lower-cased; repeated fields joined with ", "
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto found = headers.find(lower_name);
    return found == headers.end() ? "" : found->second;
  }
};

/// A blocking HTTP/1.1 client on a plain socket, for tests that need to misbehave on the wire
/// (trickle bytes, hold connections, send oversized headers).
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  /// False when the peer has closed or reset the connection.
  bool send(const std::string& bytes);
  /// Reads one response (Content-Length or close-delimited; header only for a HEAD request); nullopt
  /// when the connection ends first.
  std::optional<RawResponse> read_response(bool head_request = false);
  /// True when the server closed the connection (EOF or reset) within the timeout.
  bool closed_by_peer(std::chrono::milliseconds within);
  /// Reads until `text` has arrived: true, or false when `within` passes or the connection ends first.
  bool wait_for(std::string_view text, std::chrono::milliseconds within);

 private:
  enum class ReadEnd { found, timed_out, closed };
  /// Reads into the buffer until `found()` holds, `within` passes or the peer closes.
  ReadEnd read_within(std::chrono::milliseconds within, const std::function<bool()>& found);

  int fd_ = -1;
  std::string buffer_;
};

/// Sends one request on a new connection and reads the answer.
std::optional<RawResponse> http_request(std::uint16_t port, const std::string& method,
                                        const std::string& target, const std::string& body = {},
                                        const std::string& extra_headers = {});

}  // namespace switchyard::testing
