#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include "switchyard/http/message.hpp"

namespace switchyard::http {

/// The portal SPA's files, served from one directory and never from outside it.
class StaticFiles {
 public:
  /// A missing directory is allowed: every path then answers 404.
  explicit StaticFiles(const std::filesystem::path& root);

  /// The file a request path names, or nullopt when it escapes the root (`..`, `%2e%2e`, absolute paths,
  /// symlinks pointing out), is malformed, or names no regular file.
  std::optional<std::filesystem::path> resolve(std::string_view request_path) const;

  /// GET or HEAD: the file with its content type, caching headers and ETag (304 on a match);
  /// `index.html` for client-side routes (paths without a file extension outside the API prefixes).
  Response serve(const Request& request) const;

 private:
  std::optional<std::filesystem::path> root_;
};

/// The Content-Type for a file name, by extension.
std::string_view content_type_for(const std::filesystem::path& file);

}  // namespace switchyard::http
