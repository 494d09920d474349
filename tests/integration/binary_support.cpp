#include "binary_support.hpp"

#include <filesystem>
#include <fstream>
#include <thread>

#include "support/test_env.hpp"

namespace switchyard::testing {

ServeProcess::ServeProcess(const std::string& database_url, const std::string& redis_url,
                           std::map<std::string, std::string> extra_env)
    : port_(free_port()), data_dir_("switchyard-data") {
  std::map<std::string, std::string> env = {
      {"SWITCHYARD_DATABASE_URL", database_url},
      {"SWITCHYARD_REDIS_URL", redis_url},
      {"SWITCHYARD_MASTER_KEY", kTestMasterKey},
      {"SWITCHYARD_LISTEN", "127.0.0.1:" + std::to_string(port_)},
      // A data dir of its own: a process replays the spool files that dead processes left in its data dir
      // into its own database, and every test has a database of its own.
      {"SWITCHYARD_DATA_DIR", data_dir_.path().string()},
      {"SWITCHYARD_SERVER_THREADS", "2"},
  };
  for (auto& [name, value] : extra_env) env[name] = value;
  process_.emplace(kBinary, std::vector<std::string>{"serve"}, env);
}

bool ServeProcess::wait_for(const std::string& target, int status, std::chrono::milliseconds within) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      auto response = get(target);
      if (response && response->status == status) return true;
    } catch (const std::runtime_error&) {
      // not listening yet
    }
    if (process_->wait(std::chrono::milliseconds(0))) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string migrate_and_seed(const std::string& database_url, const std::string& seed_yaml) {
  std::map<std::string, std::string> env = {{"SWITCHYARD_DATABASE_URL", database_url},
                                            {"SWITCHYARD_MASTER_KEY", kTestMasterKey}};
  auto migrated = run_to_end(kBinary, {"migrate"}, env);
  if (migrated.status != 0) return "migrate failed: " + migrated.output;
  TempDir dir;
  auto seed = dir.path() / "seed.yaml";
  std::ofstream(seed) << seed_yaml;
  auto seeded = run_to_end(kBinary, {"seed", seed.string()}, env);
  if (seeded.status != 0) return "seed failed: " + seeded.output;
  return "";
}

}  // namespace switchyard::testing
