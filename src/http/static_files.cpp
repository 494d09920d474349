#include "switchyard/http/static_files.hpp"

#include <sys/stat.h>

#include <array>
#include <fstream>
#include <sstream>
#include <utility>

#include "switchyard/core/error.hpp"

namespace switchyard::http {
namespace {

constexpr std::array<std::string_view, 5> kApiPrefixes = {"/v1/", "/api/", "/user/", "/admin/", "/auth/"};

bool is_client_route(std::string_view path) {
  for (auto prefix : kApiPrefixes) {
    if (path.starts_with(prefix) || path == prefix.substr(0, prefix.size() - 1)) return false;
  }
  auto last = path.substr(path.rfind('/') + 1);
  return last.find('.') == std::string_view::npos;
}

/// Vite puts content-hashed names under assets/: they never change, so clients may keep them for good.
std::string cache_control_for(const std::filesystem::path& relative) {
  if (relative.extension() == ".html") return "no-cache";
  if (!relative.empty() && *relative.begin() == "assets") return "public, max-age=31536000, immutable";
  return "public, max-age=3600";
}

std::optional<std::string> read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  return std::move(content).str();
}

}  // namespace

std::string_view content_type_for(const std::filesystem::path& file) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 18> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"},
      {".wasm", "application/wasm"},
  }};
  auto extension = file.extension().string();
  for (auto [known, type] : kTypes) {
    if (extension == known) return type;
  }
  return "application/octet-stream";
}

StaticFiles::StaticFiles(const std::filesystem::path& root) {
  std::error_code error;
  auto canonical = std::filesystem::canonical(root, error);
  if (!error && std::filesystem::is_directory(canonical)) root_ = canonical;
}

std::optional<std::filesystem::path> StaticFiles::resolve(std::string_view request_path) const {
  if (!root_ || !request_path.starts_with('/')) return std::nullopt;
  auto decoded = percent_decode(request_path);
  if (!decoded || decoded->find('\0') != std::string::npos || decoded->find('\\') != std::string::npos) {
    return std::nullopt;
  }
  std::filesystem::path relative;
  std::string_view rest(*decoded);
  while (!rest.empty()) {
    auto slash = rest.find('/');
    auto segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") return std::nullopt;
    relative /= std::string(segment);
  }
  if (relative.empty()) relative = "index.html";

  // canonical() follows symlinks, so a link that leads out of the root fails the prefix check below.
  std::error_code error;
  auto file = std::filesystem::canonical(*root_ / relative, error);
  if (error) return std::nullopt;
  auto [root_end, file_it] = std::mismatch(root_->begin(), root_->end(), file.begin(), file.end());
  if (root_end != root_->end()) return std::nullopt;
  if (!std::filesystem::is_regular_file(file, error)) return std::nullopt;
  return file;
}

Response StaticFiles::serve(const Request& request) const {
  auto path = request.path();
  auto file = resolve(path);
  if (!file && is_client_route(path)) file = resolve("/index.html");
  if (!file) throw ApiError(404, "invalid_request_error", "not_found", "No such file: " + std::string(path));

  struct stat info {};
  if (::stat(file->c_str(), &info) != 0) throw ApiError::not_found("No such file: " + std::string(path));
  std::string etag = "\"" + std::to_string(info.st_size) + "-" + std::to_string(info.st_mtim.tv_sec) + "." +
                     std::to_string(info.st_mtim.tv_nsec) + "\"";
  auto relative = std::filesystem::relative(*file, *root_);

  Response response;
  response.headers.add("Cache-Control", cache_control_for(relative));
  response.headers.add("ETag", etag);
  response.headers.add("X-Content-Type-Options", "nosniff");
  if (request.headers.find("If-None-Match") == etag) {
    response.status = 304;
    return response;
  }
  auto content = read_file(*file);
  if (!content) throw ApiError::not_found("No such file: " + std::string(path));
  response.headers.add("Content-Type", std::string(content_type_for(*file)));
  response.body = std::move(*content);
  return response;
}

}  // namespace switchyard::http
