#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::http {

/// One Server-Sent Event: its `event:` type (empty means "message") and its joined `data:` lines.
struct SseEvent {
  std::string type;
  std::string data;
};

/// An incremental decoder of the WHATWG event-stream format (small enough to write here): bytes go in as the
/// network delivers them, whole events come out. Accepts CRLF, LF and lone CR line ends, also when a CRLF
/// is split across two pieces; ignores comments, `id` and `retry`. Memory is bounded by `max_event_bytes`:
/// a longer event is a protocol error (std::length_error), never unbounded growth.
class SseDecoder {
 public:
  explicit SseDecoder(std::size_t max_event_bytes = 1 << 20) : max_event_bytes_(max_event_bytes) {}

  /// Decodes `bytes`; appends each completed event to `out`.
  void feed(std::string_view bytes, std::vector<SseEvent>& out);
  /// Whether an event was begun and not finished (the stream ended mid-event).
  bool mid_event() const { return !line_.empty() || !data_.empty() || !type_.empty(); }

 private:
  void take_line(std::vector<SseEvent>& out);

  std::size_t max_event_bytes_;
  std::string line_;
  std::string data_;
  std::string type_;
  bool has_data_ = false;
  bool after_cr_ = false;
};

/// `data: <payload>\n\n`: one event as the gateway writes it (payloads never contain raw newlines).
std::string sse_data(std::string_view payload);

}  // namespace switchyard::http
