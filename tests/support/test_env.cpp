#include "support/test_env.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <pqxx/pqxx>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/child_process.hpp"

namespace switchyard::testing {
namespace {

std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string(name) + " is not set: run the tests through scripts/test");
  }
  return value;
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 12; ++i) out += kHex[rng() % 16];
  return out;
}

/// Replaces the database name in a postgresql:// URL.
std::string with_database(const std::string& url, const std::string& database) {
  auto scheme_end = url.find("://");
  auto path = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  auto query = url.find('?', path == std::string::npos ? 0 : path);
  std::string base = path == std::string::npos ? url.substr(0, query) : url.substr(0, path);
  std::string tail = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + database + tail;
}

/// Runs scripts/lib/services.sh; returns the last line it printed (the service's URL for the start verbs).
std::string run_services(const std::vector<std::string>& arguments) {
  auto script = std::string(SWITCHYARD_SOURCE_DIR) + "/scripts/lib/services.sh";
  auto result = run_to_end(script, arguments);
  if (result.status != 0)
    throw std::runtime_error(script + " " + arguments.front() + " failed:\n" + result.output);
  auto output = result.output;
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  auto last_line = output.rfind('\n');
  return last_line == std::string::npos ? output : output.substr(last_line + 1);
}

}  // namespace

std::string test_database_admin_url() { return required_env("SWITCHYARD_TEST_DATABASE_URL"); }
std::string test_redis_url() { return required_env("SWITCHYARD_TEST_REDIS_URL"); }

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

ScratchDatabase::ScratchDatabase() : name_("sy_test_" + random_suffix()) {
  auto admin = test_database_admin_url();
  pqxx::connection connection{admin};
  pqxx::nontransaction tx{connection};
  tx.exec0("CREATE DATABASE " + tx.quote_name(name_));
  url_ = with_database(admin, name_);
}

ScratchDatabase::~ScratchDatabase() {
  // FORCE may not end an autovacuum worker (it belongs to the superuser) that happens to be in the
  // database: such a worker is short-lived, so try again for a while.
  std::string last_error;
  for (int attempt = 0; attempt < 50; ++attempt) {
    try {
      pqxx::connection connection{test_database_admin_url()};
      pqxx::nontransaction tx{connection};
      tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
      return;
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "dropping " << name_ << ": " << last_error;
}

// The directory's name matters: scripts/test stops servers a crashed test left in switchyard-test-* dirs.
ManagedService::ManagedService(Kind kind) : kind_(kind), dir_("switchyard-test"), port_(free_port()) {
  start();
}

ManagedService::~ManagedService() {
  try {
    if (running_) stop();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stopping the service in " << dir_.path() << ": " << e.what();
  }
}

void ManagedService::start() {
  url_ = run_services({kind_ == Kind::postgres ? "postgres-start" : "redis-start", dir_.path().string(),
                       std::to_string(port_)});
  running_ = true;
}

void ManagedService::stop() {
  run_services({kind_ == Kind::postgres ? "postgres-stop" : "redis-stop", dir_.path().string()});
  running_ = false;
}

}  // namespace switchyard::testing
