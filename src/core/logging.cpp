#include "switchyard/core/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <mutex>
#include <nlohmann/json.hpp>

namespace switchyard {
namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool is_secret_field(std::string_view name) {
  static constexpr std::array<std::string_view, 9> kMarkers = {"key",       "secret",        "token",
                                                               "password",  "authorization", "credential",
                                                               "auth_code", "cookie",        "signature"};
  auto lower = lowercase(name);
  return std::any_of(kMarkers.begin(), kMarkers.end(),
                     [&](std::string_view marker) { return lower.find(marker) != std::string::npos; });
}

void mask_secrets(nlohmann::json& value) {
  if (value.is_object()) {
    for (auto& [field, child] : value.items()) {
      // Token counts ("max_tokens", "prompt_tokens") are numbers, never secrets.
      if (is_secret_field(field) && child.is_string()) {
        child = "[redacted]";
      } else {
        mask_secrets(child);
      }
    }
  } else if (value.is_array()) {
    for (auto& child : value) mask_secrets(child);
  }
}

/// Standard output for a service manager or a file: lines are gathered and written in batches (at 64 KiB,
/// every second, at once for warnings and errors, and when the process ends) rather than one write() each,
/// which at full load costs a system call per request. A terminal keeps spdlog's line-by-line sink.
class BatchedStdoutSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ~BatchedStdoutSink() override {
    std::lock_guard lock(mutex_);
    flush_();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    pending_.append(formatted.data(), formatted.size());
    if (pending_.size() >= kBatchBytes || message.level >= spdlog::level::warn) flush_();
  }

  void flush_() override {
    std::size_t written = 0;
    while (written < pending_.size()) {
      auto n = ::write(STDOUT_FILENO, pending_.data() + written, pending_.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // nowhere to write: logging must not stop the server
      written += static_cast<std::size_t>(n);
    }
    pending_.clear();
  }

 private:
  static constexpr std::size_t kBatchBytes = 64 << 10;
  std::string pending_;
};

}  // namespace

void configure_logging(LogLevel level) {
  if (::isatty(STDOUT_FILENO) == 0) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("", std::make_shared<BatchedStdoutSink>()));
    spdlog::flush_every(std::chrono::seconds(1));
  }
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  switch (level) {
    case LogLevel::debug:
      spdlog::set_level(spdlog::level::debug);
      break;
    case LogLevel::info:
      spdlog::set_level(spdlog::level::info);
      break;
    case LogLevel::warning:
      spdlog::set_level(spdlog::level::warn);
      break;
    case LogLevel::error:
      spdlog::set_level(spdlog::level::err);
      break;
  }
}

bool is_secret_header(std::string_view name) {
  auto lower = lowercase(name);
  return lower == "authorization" || lower == "proxy-authorization" || lower == "cookie" ||
         lower == "set-cookie" || lower == "x-api-key" || lower == "api-key" || lower == "x-openai-key" ||
         lower.find("token") != std::string::npos || lower.find("secret") != std::string::npos;
}

std::string loggable_body(std::string_view body, std::string_view content_type, std::size_t max_bytes) {
  if (body.empty()) return "(empty)";
  if (lowercase(content_type).find("json") == std::string::npos) {
    return "(" + std::to_string(body.size()) + " bytes of " +
           std::string(content_type.empty() ? "?" : content_type) + ")";
  }
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return "(" + std::to_string(body.size()) + " bytes of malformed JSON)";
  mask_secrets(parsed);
  auto text = parsed.dump();
  if (text.size() > max_bytes)
    text = text.substr(0, max_bytes) + "…(" + std::to_string(text.size()) + " bytes)";
  return text;
}

}  // namespace switchyard
