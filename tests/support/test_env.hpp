#pragma once

#include <cstdint>
#include <string>

#include "support/temp_dir.hpp"

namespace switchyard::testing {

/// The Postgres and Redis that scripts/test started: SWITCHYARD_TEST_DATABASE_URL (a role that may create
/// databases) and SWITCHYARD_TEST_REDIS_URL. Fails the test when either is missing.
std::string test_database_admin_url();
std::string test_redis_url();

/// A loopback TCP port that was free a moment ago.
std::uint16_t free_port();

/// A database of its own for one test, dropped at the end.
class ScratchDatabase {
 public:
  ScratchDatabase();
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::string url_;
};

/// A private Postgres or Redis server that a test may stop and start (scripts/lib/services.sh).
class ManagedService {
 public:
  enum class Kind { postgres, redis };
  explicit ManagedService(Kind kind);
  ~ManagedService();
  ManagedService(const ManagedService&) = delete;
  ManagedService& operator=(const ManagedService&) = delete;

  void start();
  void stop();
  /// postgresql://… of a role owning database `switchyard`, or redis://127.0.0.1:PORT.
  const std::string& url() const { return url_; }
  std::uint16_t port() const { return port_; }

 private:
  Kind kind_;
  TempDir dir_;
  std::uint16_t port_;
  std::string url_;
  bool running_ = false;
};

}  // namespace switchyard::testing
