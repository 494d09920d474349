#include "switchyard/http/sse.hpp"

#include <stdexcept>

namespace switchyard::http {

void SseDecoder::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  for (char c : bytes) {
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') continue;  // the LF of a CRLF whose CR ended the line already
    }
    if (c == '\r' || c == '\n') {
      after_cr_ = c == '\r';
      take_line(out);
      continue;
    }
    line_ += c;
    if (line_.size() + data_.size() > max_event_bytes_) {
      throw std::length_error("server-sent event larger than " + std::to_string(max_event_bytes_) + " bytes");
    }
  }
}

void SseDecoder::take_line(std::vector<SseEvent>& out) {
  std::string line = std::move(line_);
  line_.clear();
  if (line.empty()) {
    if (has_data_) {
      if (!data_.empty() && data_.back() == '\n') data_.pop_back();
      out.push_back({std::move(type_), std::move(data_)});
    }
    data_.clear();
    type_.clear();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;
  auto colon = line.find(':');
  std::string_view field = std::string_view(line).substr(0, colon);
  std::string_view value =
      colon == std::string::npos ? std::string_view{} : std::string_view(line).substr(colon + 1);
  if (value.starts_with(' ')) value.remove_prefix(1);
  if (field == "data") {
    data_ += value;
    data_ += '\n';
    has_data_ = true;
  } else if (field == "event") {
    type_ = value;
  }
}

std::string sse_data(std::string_view payload) {
  std::string event;
  event.reserve(payload.size() + 8);
  event += "data: ";
  event += payload;
  event += "\n\n";
  return event;
}

}  // namespace switchyard::http
