#include "spool_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace switchyard::usage {
namespace {

[[noreturn]] void fail(const char* what, const std::filesystem::path& path) {
  throw std::system_error(errno, std::generic_category(), std::string(what) + " " + path.string());
}

void fsync_folder(const std::filesystem::path& folder) {
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("open", folder);
  int status = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (status != 0) fail("fsync", folder);
}

}  // namespace

SpoolFile::SpoolFile(int fd, std::filesystem::path path, std::uint64_t size)
    : fd_(fd), path_(std::move(path)), size_(size) {}

SpoolFile SpoolFile::create(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) fail("create", path);
  SpoolFile file(fd, path, 0);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) fail("lock", path);
  fsync_folder(path.parent_path());
  return file;
}

std::optional<SpoolFile> SpoolFile::try_claim(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  SpoolFile file(fd, path, 0);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return std::nullopt;
  // Whoever held the lock before may have replayed and unlinked the file (or a new one took its name).
  struct stat opened {};
  struct stat named {};
  if (::fstat(fd, &opened) != 0 || ::stat(path.c_str(), &named) != 0 || opened.st_ino != named.st_ino ||
      opened.st_dev != named.st_dev) {
    return std::nullopt;
  }
  file.size_ = static_cast<std::uint64_t>(opened.st_size);
  return file;
}

SpoolFile::SpoolFile(SpoolFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), size_(other.size_) {}

SpoolFile& SpoolFile::operator=(SpoolFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    size_ = other.size_;
  }
  return *this;
}

SpoolFile::~SpoolFile() {
  if (fd_ >= 0) ::close(fd_);
}

void SpoolFile::append(std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (done == text.size() && ::fsync(fd_) == 0) {
    size_ += text.size();
    return;
  }
  int saved = errno;
  (void)::ftruncate(fd_, static_cast<off_t>(size_));
  errno = saved;
  fail("append to", path_);
}

std::string SpoolFile::read_lines(std::uint64_t offset, std::size_t max_bytes) const {
  std::string text;
  for (;;) {
    auto start = text.size();
    text.resize(start + max_bytes);
    std::size_t got = 0;
    while (got < max_bytes) {
      auto n =
          ::pread(fd_, text.data() + start + got, max_bytes - got, static_cast<off_t>(offset + start + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("read", path_);
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    text.resize(start + got);
    if (got < max_bytes) return text;  // the end of the file
    if (auto last = text.rfind('\n'); last != std::string::npos) {
      text.resize(last + 1);
      return text;
    }
  }
}

std::timespec SpoolFile::modified() const {
  struct stat info {};
  if (::fstat(fd_, &info) != 0) return {};
  return info.st_mtim;
}

void SpoolFile::remove() {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) fail("remove", path_);
  ::close(fd_);
  fd_ = -1;
}

}  // namespace switchyard::usage
