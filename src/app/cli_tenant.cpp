#include <iostream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "cli.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/money.hpp"
#include "switchyard/jwt_orgs/store.hpp"

namespace switchyard::app {
namespace {

using nlohmann::json;

/// Random HS256 secrets: 256 bits, the size of the hash (RFC 7518 §3.2).
constexpr std::size_t kGeneratedSecretBytes = 32;
constexpr std::size_t kMinSecretBytes = 32;

std::optional<std::string> count_option(const VerbArguments& args, const std::string& name) {
  auto text = args.option(name);
  if (!text) return std::nullopt;
  return std::to_string(count_argument(*text, name));
}

int create_tenant(const Config& config, const VerbArguments& args) {
  if (args.positional.size() != 2)
    throw UsageError("usage: switchyard tenant create NAME [--budget-usd X] ...");
  const auto& name = args.positional[1];
  std::optional<std::string> budget;
  if (auto usd = args.option("--budget-usd")) {
    auto micros = parse_usd(*usd);
    if (!micros)
      throw UsageError("--budget-usd must be an amount in USD such as 25 or 0.50, not \"" + *usd + "\"");
    budget = std::to_string(*micros);
  }
  auto connection = open_database(config);
  pqxx::work tx(connection);
  auto taken = tx.exec_params("SELECT 1 FROM tenants WHERE name = $1", name);
  if (!taken.empty()) throw std::runtime_error("a tenant named \"" + name + "\" exists already");
  auto row = tx.exec_params1(
      "INSERT INTO tenants (kind, name, budget_micros, rpm, tpm, parallel) "
      "VALUES ('shared', $1, $2::bigint, $3::integer, $4::bigint, $5::integer) RETURNING id",
      name, budget, count_option(args, "--rpm"), count_option(args, "--tpm"),
      count_option(args, "--parallel"));
  tx.commit();
  json out = {{"id", row[0].as<std::string>()}, {"name", name}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

std::string or_dash(const pqxx::field& field) { return field.is_null() ? "-" : field.as<std::string>(); }

int list_tenants(const Config& config, const VerbArguments& args) {
  if (args.positional.size() != 1) throw UsageError("usage: switchyard tenant list");
  auto connection = open_database(config);
  pqxx::work tx(connection);
  auto rows = tx.exec(
      "SELECT t.id, t.name, t.kind, t.budget_micros, t.rpm, t.tpm, t.parallel, j.algorithm "
      "FROM tenants t LEFT JOIN tenant_jwt_settings j ON j.tenant_id = t.id ORDER BY t.name");
  std::vector<std::vector<std::string>> table;
  for (const auto& row : rows) {
    table.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                     row[3].is_null() ? "-" : format_usd(row[3].as<Micros>()), or_dash(row[4]),
                     or_dash(row[5]), or_dash(row[6]), or_dash(row[7])});
  }
  print_table({"ID", "NAME", "KIND", "BUDGET_USD", "RPM", "TPM", "PARALLEL", "JWT"}, table);
  return 0;
}

int set_tenant_jwt(const Config& config, const VerbArguments& args) {
  constexpr const char* kUsageLine =
      "usage: switchyard tenant jwt TENANT (--hs256-secret SECRET | --hs256-generate | --rs256-public-key "
      "FILE | "
      "--off)";
  auto chosen = args.options.size() + args.flags.size();
  if (args.positional.size() != 2 || chosen != 1) throw UsageError(kUsageLine);
  std::optional<jwt_orgs::TokenKey> key;
  std::optional<std::string> generated;
  if (auto secret = args.option("--hs256-secret")) {
    if (secret->size() < kMinSecretBytes) throw UsageError("--hs256-secret must be at least 32 bytes long");
    key = jwt_orgs::TokenKey{jwt_orgs::Algorithm::hs256, *secret};
  } else if (args.flag("--hs256-generate")) {
    generated = crypto::random_token(kGeneratedSecretBytes);
    key = jwt_orgs::TokenKey{jwt_orgs::Algorithm::hs256, *generated};
  } else if (auto file = args.option("--rs256-public-key")) {
    key = jwt_orgs::TokenKey{jwt_orgs::Algorithm::rs256, read_text_file(*file)};
    try {
      jwt_orgs::check_public_key(key->material);
    } catch (const std::invalid_argument& error) {
      throw UsageError(*file + ": " + error.what());
    }
  }
  crypto::MasterKey master_key(config.master_key);
  auto connection = open_database(config);
  pqxx::work tx(connection);
  auto tenant = find_tenant(tx, args.positional[1]);
  jwt_orgs::store_tenant_key(tx, master_key, tenant.id, key);
  tx.commit();
  json out = {{"tenant_id", tenant.id},
              {"tenant", tenant.name},
              {"algorithm", key ? json(jwt_orgs::algorithm_name(key->algorithm)) : json(nullptr)}};
  // Shown this once: only its ciphertext is kept.
  if (generated) out["hs256_secret"] = *generated;
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

int tenant_command(const Config& config, const std::vector<std::string>& arguments) {
  auto verb = arguments.empty() ? std::string() : arguments.front();
  if (verb == "create") {
    return create_tenant(config,
                         split_arguments(arguments, {"--budget-usd", "--rpm", "--tpm", "--parallel"}));
  }
  if (verb == "list") return list_tenants(config, split_arguments(arguments, {}));
  if (verb == "jwt") {
    return set_tenant_jwt(config, split_arguments(arguments, {"--hs256-secret", "--rs256-public-key"},
                                                  {"--hs256-generate", "--off"}));
  }
  throw UsageError("usage: switchyard tenant (create NAME [options] | list | jwt TENANT ...)");
}

}  // namespace switchyard::app
