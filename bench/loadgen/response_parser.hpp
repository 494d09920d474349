#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard::bench {

/// Incremental HTTP/1.1 response parser for the load generator: status line, Content-Length, chunked
/// or close-delimited bodies. Not thread-safe; one per connection, reset() between responses.
class ResponseParser {
 public:
  enum class State { headers, body, complete, failed };

  /// Consumes bytes and returns how many belong to this response (the rest starts the next one).
  std::size_t feed(std::string_view bytes);
  /// The peer closed the connection: completes a close-delimited body, fails anything else unfinished.
  void on_eof();
  void reset();
  /// Forgets the decoded body kept so far: a stream held open for minutes must not grow memory.
  void discard_body() { body_.clear(); }

  State state() const { return state_; }
  int status() const { return status_; }
  bool keep_alive() const { return keep_alive_; }
  /// The body decoded so far, without chunk framing.
  const std::string& body() const { return body_; }
  const std::string& error() const { return error_; }

 private:
  enum class Framing { length, chunked, until_close };
  enum class ChunkStep { size_line, data, data_end, trailers };

  void fail(std::string message);
  void finish_headers();
  std::size_t feed_chunked(std::string_view bytes);
  // Appends to line_ until CRLF; returns the bytes consumed and whether a whole line is in line_.
  std::pair<std::size_t, bool> take_line(std::string_view bytes);

  State state_ = State::headers;
  Framing framing_ = Framing::until_close;
  ChunkStep chunk_step_ = ChunkStep::size_line;
  int status_ = 0;
  bool keep_alive_ = true;
  std::uint64_t remaining_ = 0;
  std::string head_;
  std::string line_;
  std::string body_;
  std::string error_;
};

/// Whether a decoded server-sent-events body holds its first event, and the stream's end marker.
bool has_first_event(std::string_view body);
bool has_done_event(std::string_view body);

/// Latency figures in microseconds over a set of samples in nanoseconds (nearest-rank percentiles).
struct LatencySummary {
  std::size_t count = 0;
  double mean_us = 0;
  double p50_us = 0;
  double p99_us = 0;
  double p999_us = 0;
  double max_us = 0;
};
LatencySummary summarize(std::vector<std::int64_t> samples_ns);
/// The nearest-rank percentile (0 < p <= 100) of sorted samples; 0 for none.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p);

}  // namespace switchyard::bench
