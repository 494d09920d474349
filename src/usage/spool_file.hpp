#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard::usage {

/// One spool file, open and held under an exclusive flock(2) for as long as this object lives: the lock
/// tells other processes sharing the data directory that its owner is alive (or that another process is
/// replaying it). The kernel drops the lock when the process dies, which is how orphans are recognised.
/// Not thread-safe.
class SpoolFile {
 public:
  /// A new, empty file at `path`, which must not exist; fsyncs its folder so the name survives a crash.
  /// Throws std::system_error.
  static SpoolFile create(const std::filesystem::path& path);
  /// Opens and locks an existing file; nullopt when another open file holds the lock, or when the file
  /// was removed or replaced meanwhile (another process replayed it first).
  static std::optional<SpoolFile> try_claim(const std::filesystem::path& path);

  SpoolFile(SpoolFile&& other) noexcept;
  SpoolFile& operator=(SpoolFile&& other) noexcept;
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;
  ~SpoolFile();

  /// Appends `text` and fsyncs. On failure the file is cut back to its former size, so no torn line
  /// stays behind, and std::system_error is thrown.
  void append(std::string_view text);

  /// Whole lines from `offset` on, at most `max_bytes` (more only when one line is longer), plus the rest
  /// of the file at its end even without a final newline. Empty at the end of the file.
  std::string read_lines(std::uint64_t offset, std::size_t max_bytes) const;

  std::uint64_t size() const { return size_; }
  /// Last modification time, for replaying the oldest files first.
  std::timespec modified() const;
  const std::filesystem::path& path() const { return path_; }

  /// Unlinks the file, still holding its lock so that nobody else replays it meanwhile, then closes it.
  void remove();

 private:
  SpoolFile(int fd, std::filesystem::path path, std::uint64_t size);

  int fd_ = -1;
  std::filesystem::path path_;
  std::uint64_t size_ = 0;
};

}  // namespace switchyard::usage
