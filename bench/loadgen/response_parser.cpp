#include "response_parser.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <numeric>
#include <utility>

namespace switchyard::bench {
namespace {

// Responses worth measuring have small heads; a larger one means we are not talking to an HTTP server.
constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::size_t kMaxLine = 4096;

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

void ResponseParser::reset() {
  state_ = State::headers;
  framing_ = Framing::until_close;
  chunk_step_ = ChunkStep::size_line;
  status_ = 0;
  keep_alive_ = true;
  remaining_ = 0;
  head_.clear();
  line_.clear();
  body_.clear();
  error_.clear();
}

void ResponseParser::fail(std::string message) {
  state_ = State::failed;
  error_ = std::move(message);
}

std::size_t ResponseParser::feed(std::string_view bytes) {
  std::size_t used = 0;
  if (state_ == State::headers) {
    // The head may end in an earlier piece: search only where "\r\n\r\n" can still start.
    const std::size_t from = head_.size() < 3 ? 0 : head_.size() - 3;
    head_.append(bytes);
    const auto end = head_.find("\r\n\r\n", from);
    if (end == std::string::npos) {
      if (head_.size() > kMaxHead) fail("response head larger than 64 KiB");
      return bytes.size();
    }
    used = bytes.size() - (head_.size() - (end + 4));
    head_.resize(end + 4);
    finish_headers();
    bytes.remove_prefix(used);
  }
  if (state_ != State::body) return used;
  switch (framing_) {
    case Framing::length: {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size()));
      body_.append(bytes.substr(0, n));
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::complete;
      return used + n;
    }
    case Framing::chunked:
      return used + feed_chunked(bytes);
    case Framing::until_close:
      body_.append(bytes);
      return used + bytes.size();
  }
  return used;
}

void ResponseParser::finish_headers() {
  std::string_view head = head_;
  const auto line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 200 OK": the code is the three digits after the first space.
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return fail("not an HTTP status line");
  const auto code = status_line.substr(9, 3);
  auto [p, ec] = std::from_chars(code.data(), code.data() + code.size(), status_);
  if (ec != std::errc() || p != code.data() + code.size()) return fail("bad status code");
  keep_alive_ = status_line.substr(0, 8) != "HTTP/1.0";

  bool has_length = false;
  bool chunked = false;
  std::uint64_t length = 0;
  head.remove_prefix(line_end + 2);
  while (!head.empty()) {
    const auto end = head.find("\r\n");
    const std::string_view line = head.substr(0, end);
    head.remove_prefix(end == std::string_view::npos ? head.size() : end + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      auto [q, lec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (lec != std::errc() || q != value.data() + value.size()) return fail("bad Content-Length");
      has_length = true;
    } else if (iequals(name, "transfer-encoding")) {
      chunked = value.size() >= 7 && iequals(value.substr(value.size() - 7), "chunked");
    } else if (iequals(name, "connection")) {
      if (iequals(value, "close")) keep_alive_ = false;
      if (iequals(value, "keep-alive")) keep_alive_ = true;
    }
  }
  state_ = State::body;
  if (status_ == 204 || status_ == 304 || (status_ >= 100 && status_ < 200)) {
    state_ = State::complete;
  } else if (chunked) {
    framing_ = Framing::chunked;
  } else if (has_length) {
    framing_ = Framing::length;
    remaining_ = length;
    if (length == 0) state_ = State::complete;
  } else {
    framing_ = Framing::until_close;
    keep_alive_ = false;
  }
}

std::pair<std::size_t, bool> ResponseParser::take_line(std::string_view bytes) {
  const auto nl = bytes.find('\n');
  if (nl == std::string_view::npos) {
    line_.append(bytes);
    return {bytes.size(), false};
  }
  line_.append(bytes.substr(0, nl));
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  return {nl + 1, true};
}

std::size_t ResponseParser::feed_chunked(std::string_view bytes) {
  std::size_t used = 0;
  while (used < bytes.size() && state_ == State::body) {
    const std::string_view rest = bytes.substr(used);
    switch (chunk_step_) {
      case ChunkStep::size_line:
      case ChunkStep::trailers: {
        auto [n, whole] = take_line(rest);
        used += n;
        if (!whole) {
          if (line_.size() > kMaxLine) fail("chunk line longer than 4 KiB");
          break;
        }
        const std::string line = std::exchange(line_, {});
        if (chunk_step_ == ChunkStep::trailers) {
          if (line.empty()) state_ = State::complete;
          break;
        }
        // Chunk extensions (";name=value") are allowed and ignored.
        const std::string_view size = trim(std::string_view(line).substr(0, line.find(';')));
        auto [p, ec] = std::from_chars(size.data(), size.data() + size.size(), remaining_, 16);
        if (size.empty() || ec != std::errc() || p != size.data() + size.size()) {
          fail("bad chunk size '" + line + "'");
          break;
        }
        chunk_step_ = remaining_ == 0 ? ChunkStep::trailers : ChunkStep::data;
        break;
      }
      case ChunkStep::data: {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
        body_.append(rest.substr(0, n));
        remaining_ -= n;
        used += n;
        if (remaining_ == 0) chunk_step_ = ChunkStep::data_end;
        break;
      }
      case ChunkStep::data_end: {
        auto [n, whole] = take_line(rest);
        used += n;
        if (!whole) break;
        if (!line_.empty()) fail("chunk data longer than its size");
        chunk_step_ = ChunkStep::size_line;
        break;
      }
    }
  }
  return used;
}

void ResponseParser::on_eof() {
  if (state_ == State::body && framing_ == Framing::until_close) {
    state_ = State::complete;
  } else if (state_ == State::headers || state_ == State::body) {
    fail("connection closed before the response ended");
  }
}

bool has_first_event(std::string_view body) { return body.find("data:") != std::string_view::npos; }

bool has_done_event(std::string_view body) { return body.find("data: [DONE]") != std::string_view::npos; }

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  // The epsilon keeps 99.9% of 1000 at rank 999: in binary floating point it comes out a hair above.
  const double exact = p / 100.0 * static_cast<double>(sorted.size());
  const auto rank = static_cast<std::size_t>(std::ceil(exact - 1e-9));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

LatencySummary summarize(std::vector<std::int64_t> samples_ns) {
  LatencySummary s;
  if (samples_ns.empty()) return s;
  std::sort(samples_ns.begin(), samples_ns.end());
  const double sum = std::accumulate(samples_ns.begin(), samples_ns.end(), 0.0,
                                     [](double acc, std::int64_t v) { return acc + static_cast<double>(v); });
  s.count = samples_ns.size();
  s.mean_us = sum / static_cast<double>(s.count) / 1000.0;
  s.p50_us = static_cast<double>(percentile(samples_ns, 50)) / 1000.0;
  s.p99_us = static_cast<double>(percentile(samples_ns, 99)) / 1000.0;
  s.p999_us = static_cast<double>(percentile(samples_ns, 99.9)) / 1000.0;
  s.max_us = static_cast<double>(samples_ns.back()) / 1000.0;
  return s;
}

}  // namespace switchyard::bench
