#include "support/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace switchyard::testing {

RawConnection::RawConnection(std::uint16_t port, std::chrono::milliseconds timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
}

RawConnection::~RawConnection() { ::close(fd_); }

bool RawConnection::send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<RawResponse> RawConnection::read_response(bool head_request) {
  auto fill = [this] {
    char chunk[16384];
    auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return std::nullopt;
  }
  RawResponse response;
  std::string head = buffer_.substr(0, header_end);
  buffer_.erase(0, header_end + 4);
  auto line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  response.status = std::stoi(status_line.substr(9, 3));
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto next = head.find("\r\n", pos);
    if (next == std::string::npos) next = head.size();
    std::string line = head.substr(pos, next - pos);
    auto colon = line.find(':');
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    // Repeated fields (Set-Cookie) are kept joined, as RFC 9110 §5.3 combines them.
    auto& kept = response.headers[name];
    kept = kept.empty() ? value : kept + ", " + value;
    pos = next + 2;
  }
  if (response.status == 100) return read_response(head_request);
  if (head_request) return response;
  if (response.header("transfer-encoding") == "chunked") {
    for (;;) {
      std::size_t size_end;
      while ((size_end = buffer_.find("\r\n")) == std::string::npos) {
        if (!fill()) return std::nullopt;
      }
      std::size_t size = std::stoul(buffer_.substr(0, size_end), nullptr, 16);
      while (buffer_.size() < size_end + 2 + size + 2) {
        if (!fill()) return std::nullopt;
      }
      response.body += buffer_.substr(size_end + 2, size);
      buffer_.erase(0, size_end + 2 + size + 2);
      if (size == 0) break;
    }
  } else if (auto length = response.headers.find("content-length"); length != response.headers.end()) {
    std::size_t want = std::stoul(length->second);
    while (buffer_.size() < want) {
      if (!fill()) return std::nullopt;
    }
    response.body = buffer_.substr(0, want);
    buffer_.erase(0, want);
  } else if (response.status != 204 && response.status != 304) {
    while (fill()) {
    }
    response.body = std::move(buffer_);
    buffer_.clear();
  }
  return response;
}

bool RawConnection::closed_by_peer(std::chrono::milliseconds within) {
  return read_within(within, [] { return false; }) == ReadEnd::closed;
}

bool RawConnection::wait_for(std::string_view text, std::chrono::milliseconds within) {
  return read_within(within, [&] { return buffer_.find(text) != std::string::npos; }) == ReadEnd::found;
}

RawConnection::ReadEnd RawConnection::read_within(std::chrono::milliseconds within,
                                                  const std::function<bool()>& found) {
  auto deadline = std::chrono::steady_clock::now() + within;
  for (;;) {
    if (found()) return ReadEnd::found;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return ReadEnd::timed_out;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return ReadEnd::timed_out;
    char chunk[4096];
    auto n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n <= 0) return ReadEnd::closed;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::optional<RawResponse> http_request(std::uint16_t port, const std::string& method,
                                        const std::string& target, const std::string& body,
                                        const std::string& extra_headers) {
  RawConnection connection(port);
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                        extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  if (!connection.send(request)) return std::nullopt;
  return connection.read_response(method == "HEAD");
}

}  // namespace switchyard::testing
