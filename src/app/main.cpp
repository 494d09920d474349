#include <cstdio>
#include <iostream>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "cli.hpp"
#include "serve.hpp"
#include "switchyard/core/config.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/core/logging.hpp"
#include "switchyard/seed/seed.hpp"
#include "switchyard/store/migrations.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace {

using namespace switchyard;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage = R"(Usage: switchyard COMMAND [--config FILE]

Commands:
  serve            run the gateway: the /v1 API, the portal API and the portal
  migrate          apply the schema migrations the database lacks
  seed FILE        upsert the providers, models, tenants, users and API keys FILE declares
  tenant create NAME [--budget-usd X] [--rpm N] [--tpm N] [--parallel N]
                   add a shared tenant (an organisation) and print its id
  tenant list      list the tenants, their limits and JWT algorithm
  tenant jwt TENANT (--hs256-secret SECRET | --hs256-generate | --rs256-public-key FILE | --off)
                   set the key the tenant's JWTs are verified with (or accept none)
  user create TENANT EXTERNAL_ID
                   make the tenant's user that X-User-ID EXTERNAL_ID names; print its internal id
  user list TENANT list the tenant's users
  key create TENANT PROVIDER API_KEY [--user-id ID]
                   store a provider key of the tenant (or of one of its users), replacing any
  key list TENANT  list the tenant's and its users' provider keys, masked
  key delete TENANT PROVIDER [--user-id ID]
                   delete one of them
  jwt mint --tenant TENANT [--ttl-s N] [--private-key FILE]
                   print a token of the tenant (HS256 with its secret; RS256 with the private key given)
  --version        print the version
  --help           print this help

TENANT is a tenant's id or name; ID is a user's internal id or X-User-ID. The management verbs need
SWITCHYARD_DATABASE_URL and SWITCHYARD_MASTER_KEY only, print JSON or a table, and exit 0 on success, 2 on a
bad command line, 1 on failure.

Settings come from the YAML file given with --config, then from SWITCHYARD_* environment variables
(SWITCHYARD_DATABASE_URL, SWITCHYARD_REDIS_URL, SWITCHYARD_MASTER_KEY, SWITCHYARD_LISTEN,
SWITCHYARD_DATA_DIR, ...): see config/switchyard.example.yaml.
)";

struct Invocation {
  std::string command;
  std::vector<std::string> arguments;
  std::optional<std::string> config_file;
};

/// The command line, or nullopt after printing what is wrong with it.
std::optional<Invocation> parse_arguments(int argc, char** argv) {
  Invocation invocation;
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--config" || argument == "-c") {
      if (i + 1 >= argc) {
        std::cerr << "switchyard: --config needs a FILE\n";
        return std::nullopt;
      }
      invocation.config_file = argv[++i];
    } else if (argument.rfind("--config=", 0) == 0) {
      invocation.config_file = argument.substr(9);
    } else if (invocation.command.empty()) {
      invocation.command = argument;
    } else {
      invocation.arguments.push_back(argument);
    }
  }
  return invocation;
}

int migrate_command(const Config& config) {
  auto report =
      postgres::migrate(postgres::connection_string(config.database.url, config.database.connect_timeout));
  if (report.applied.empty()) {
    std::cout << "schema is up to date at version " << report.current_version << "\n";
  } else {
    for (const auto& name : report.applied) std::cout << "applied " << name << "\n";
    std::cout << "schema migrated from version " << report.previous_version << " to "
              << report.current_version << "\n";
  }
  return 0;
}

int seed_command(const Config& config, const std::string& file) {
  auto plan = seed::parse_seed_file(file);
  auto url = postgres::connection_string(config.database.url, config.database.connect_timeout);
  auto latest = postgres::bundled_migrations().back().version;
  if (postgres::current_version(url) < latest) {
    std::cerr << "switchyard: the database schema is not current: run `switchyard migrate` first\n";
    return kExitFailure;
  }
  pqxx::connection connection(url);
  auto result = seed::apply_seed(connection, plan, crypto::MasterKey(config.master_key));
  std::cout << "seeded " << file << "\n" << seed::to_string(result);
  return 0;
}

int run(const Invocation& invocation) {
  const auto& command = invocation.command;
  auto env = process_environment();
  if (command == "serve" && invocation.arguments.empty()) {
    return app::serve(
        load_config(invocation.config_file, env, {.database = true, .redis = true, .master_key = true}));
  }
  if (command == "migrate" && invocation.arguments.empty()) {
    return migrate_command(load_config(invocation.config_file, env, {.database = true}));
  }
  if (command == "seed" && invocation.arguments.size() == 1) {
    return seed_command(load_config(invocation.config_file, env, {.database = true, .master_key = true}),
                        invocation.arguments.front());
  }
  using Verb = int (*)(const Config&, const std::vector<std::string>&);
  static const std::vector<std::pair<std::string, Verb>> kManagementVerbs = {{"tenant", app::tenant_command},
                                                                             {"user", app::user_command},
                                                                             {"key", app::key_command},
                                                                             {"jwt", app::jwt_command}};
  for (const auto& [name, verb] : kManagementVerbs) {
    if (command == name) {
      return verb(load_config(invocation.config_file, env, {.database = true, .master_key = true}),
                  invocation.arguments);
    }
  }
  std::cerr << "switchyard: unknown command line\n" << kUsage;
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  auto invocation = parse_arguments(argc, argv);
  if (!invocation) return kExitUsage;
  if (invocation->command == "--version" || invocation->command == "version") {
    std::cout << "switchyard " << SWITCHYARD_VERSION << "\n";
    return 0;
  }
  if (invocation->command == "--help" || invocation->command == "-h" || invocation->command == "help" ||
      invocation->command.empty()) {
    (invocation->command.empty() ? std::cerr : std::cout) << kUsage;
    return invocation->command.empty() ? kExitUsage : 0;
  }
  try {
    return run(*invocation);
  } catch (const app::UsageError& error) {
    std::cerr << "switchyard: " << error.what() << "\n";
    return kExitUsage;
  } catch (const ConfigError& error) {
    std::cerr << "switchyard: " << error.what() << "\n";
    return kExitUsage;
  } catch (const seed::SeedError& error) {
    std::cerr << "switchyard: seed refused: " << error.what() << "\n";
    return kExitFailure;
  } catch (const postgres::MigrationError& error) {
    std::cerr << "switchyard: migration failed: " << error.what() << "\n";
    return kExitFailure;
  } catch (const std::exception& error) {
    std::cerr << "switchyard: " << error.what() << "\n";
    return kExitFailure;
  }
}
