#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "support/child_process.hpp"
#include "support/raw_http.hpp"
#include "support/temp_dir.hpp"

namespace switchyard::testing {

/// The switchyard binary under test, built beside the tests.
inline const std::string kBinary = SWITCHYARD_BINARY;

/// base64 of 32 bytes: a master key for tests only.
inline const std::string kTestMasterKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Runs `switchyard migrate` and then `switchyard seed` with `seed_yaml` on the database at `database_url`,
/// as an operator would. Returns "" on success, else what failed and the binary's output.
std::string migrate_and_seed(const std::string& database_url, const std::string& seed_yaml);

/// `switchyard serve` on a free port, with the given database and Redis.
class ServeProcess {
 public:
  ServeProcess(const std::string& database_url, const std::string& redis_url,
               std::map<std::string, std::string> extra_env = {});

  /// Polls `target` until it answers `status`, for at most `within`.
  bool wait_for(const std::string& target, int status, std::chrono::milliseconds within);
  std::optional<RawResponse> get(const std::string& target) const {
    return http_request(port_, "GET", target);
  }
  std::uint16_t port() const { return port_; }
  ChildProcess& process() { return *process_; }

 private:
  std::uint16_t port_;
  TempDir data_dir_;
  std::optional<ChildProcess> process_;
};

}  // namespace switchyard::testing
