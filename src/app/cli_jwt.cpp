#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "cli.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/jwt_orgs/store.hpp"
#include "switchyard/jwt_orgs/token.hpp"

namespace switchyard::app {
namespace {

constexpr std::int64_t kDefaultTtlSeconds = 3600;
constexpr std::int64_t kMaxTtlSeconds = 366LL * 24 * 3600;

int mint(const Config& config, const VerbArguments& args) {
  auto tenant_argument = args.option("--tenant");
  if (!tenant_argument || args.positional.size() != 1) {
    throw UsageError("usage: switchyard jwt mint --tenant TENANT [--ttl-s N] [--private-key FILE]");
  }
  auto ttl = kDefaultTtlSeconds;
  if (auto text = args.option("--ttl-s")) ttl = count_argument(*text, "--ttl-s");
  if (ttl == 0 || ttl > kMaxTtlSeconds)
    throw UsageError("--ttl-s must be between 1 and " + std::to_string(kMaxTtlSeconds));

  crypto::MasterKey master_key(config.master_key);
  auto connection = open_database(config);
  pqxx::work tx(connection);
  auto tenant = find_tenant(tx, *tenant_argument);
  auto key = jwt_orgs::load_tenant_key(tx, master_key, tenant.id);
  tx.commit();
  if (!key) {
    throw std::runtime_error("tenant " + tenant.name +
                             " accepts no JWTs: set a key with `switchyard tenant jwt`");
  }
  auto private_key = args.option("--private-key");
  if (key->algorithm == jwt_orgs::Algorithm::rs256) {
    if (!private_key) throw UsageError("tenant " + tenant.name + " uses RS256: give its --private-key FILE");
    key->material = read_text_file(*private_key);
  } else if (private_key) {
    throw UsageError("tenant " + tenant.name + " uses HS256: --private-key is for RS256 tenants");
  }
  auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  nlohmann::json claims = {
      {"org_id", tenant.id}, {"org_name", tenant.name}, {"iat", now.count()}, {"exp", now.count() + ttl}};
  std::cout << jwt_orgs::mint_token(claims, *key) << "\n";
  return 0;
}

}  // namespace

int jwt_command(const Config& config, const std::vector<std::string>& arguments) {
  auto verb = arguments.empty() ? std::string() : arguments.front();
  if (verb == "mint")
    return mint(config, split_arguments(arguments, {"--tenant", "--ttl-s", "--private-key"}));
  throw UsageError("usage: switchyard jwt mint --tenant TENANT [--ttl-s N] [--private-key FILE]");
}

}  // namespace switchyard::app
