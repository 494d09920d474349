#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "switchyard/core/config.hpp"

namespace switchyard {

/// Sets the process-wide log level and line format (spdlog's default logger, standard output). When standard
/// output is not a terminal, lines are written in batches: at 64 KiB, every second, at once for warnings and
/// errors, and at exit.
void configure_logging(LogLevel level);

/// Log lines of one request: each carries the request's id, so that one grep finds them all.
class RequestLog {
 public:
  explicit RequestLog(std::string request_id) : request_id_(std::move(request_id)) {}

  const std::string& request_id() const { return request_id_; }
  bool debug_enabled() const { return spdlog::should_log(spdlog::level::debug); }

  template <class... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) const {
    write(spdlog::level::debug, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) const {
    write(spdlog::level::info, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) const {
    write(spdlog::level::warn, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) const {
    write(spdlog::level::err, format, std::forward<Args>(args)...);
  }

 private:
  template <class... Args>
  void write(spdlog::level::level_enum level, fmt::format_string<Args...> format, Args&&... args) const {
    if (!spdlog::should_log(level)) return;
    spdlog::log(level, "request_id={} {}", request_id_, fmt::format(format, std::forward<Args>(args)...));
  }

  std::string request_id_;
};

/// Secrets never reach a log line: header values and JSON fields that carry credentials are masked.
bool is_secret_header(std::string_view name);
/// The body as it may be logged: JSON with secret fields masked, cut to `max_bytes`; other bodies by size
/// only.
std::string loggable_body(std::string_view body, std::string_view content_type, std::size_t max_bytes = 4096);

}  // namespace switchyard
