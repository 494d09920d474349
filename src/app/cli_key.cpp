#include <iostream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "cli.hpp"
#include "switchyard/auth/provider_keys.hpp"
#include "switchyard/core/crypto.hpp"

namespace switchyard::app {
namespace {

using nlohmann::json;

/// The provider a PROVIDER argument names: its name or its id.
std::string find_provider(pqxx::work& tx, const std::string& name_or_id) {
  auto rows = tx.exec_params("SELECT id FROM providers WHERE name = $1 OR id::text = lower($1)", name_or_id);
  if (rows.empty()) throw std::runtime_error("no provider has the name or id \"" + name_or_id + "\"");
  return rows[0][0].as<std::string>();
}

/// The member of the tenant that `--user-id` names: its internal id, or the X-User-ID of one of the tenant's
/// JWT users.
std::string find_member(pqxx::work& tx, const TenantRef& tenant, const std::string& id) {
  auto rows = tx.exec_params(
      "SELECT m.user_id FROM memberships m LEFT JOIN jwt_users j ON j.user_id = m.user_id "
      "WHERE m.tenant_id = $1::uuid AND (m.user_id::text = lower($2) OR j.external_id = $2) "
      "ORDER BY m.user_id::text = lower($2) DESC",
      tenant.id, id);
  if (rows.empty()) throw std::runtime_error("tenant " + tenant.name + " has no user \"" + id + "\"");
  return rows[0][0].as<std::string>();
}

/// What `key create` and `key delete` name: TENANT PROVIDER [--user-id ID].
struct KeyTarget {
  TenantRef tenant;
  std::string provider_id;
  auth::ProviderKeyOwner owner = auth::ProviderKeyOwner::tenant;
  std::string owner_id;
  bool users() const { return owner == auth::ProviderKeyOwner::user; }
};

KeyTarget target_of(pqxx::work& tx, const VerbArguments& args) {
  KeyTarget target{find_tenant(tx, args.positional[1]),
                   find_provider(tx, args.positional[2]),
                   auth::ProviderKeyOwner::tenant,
                   {}};
  target.owner_id = target.tenant.id;
  if (auto user = args.option("--user-id")) {
    target.owner = auth::ProviderKeyOwner::user;
    target.owner_id = find_member(tx, target.tenant, *user);
  }
  return target;
}

int create_key(const Config& config, const VerbArguments& args) {
  if (args.positional.size() != 4) {
    throw UsageError("usage: switchyard key create TENANT PROVIDER API_KEY [--user-id ID]");
  }
  const auto& secret = args.positional[3];
  if (secret.empty()) throw UsageError("API_KEY must not be empty");
  crypto::MasterKey master_key(config.master_key);
  auto connection = open_database(config);
  pqxx::work tx(connection);
  auto target = target_of(tx, args);
  bool users = target.users();
  auto masked = auth::store_own_provider_key(tx, master_key, target.provider_id, target.owner,
                                             target.owner_id, secret, std::nullopt);
  tx.commit();
  json out = {{"tenant_id", target.tenant.id},
              {"provider", args.positional[2]},
              {"owner", users ? "user" : "tenant"},
              {"user_id", users ? json(target.owner_id) : json(nullptr)},
              {"key", masked}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

int list_keys(const Config& config, const VerbArguments& args) {
  if (args.positional.size() != 2) throw UsageError("usage: switchyard key list TENANT");
  auto rows = rows_of_tenant(
      config, args.positional[1],
      "SELECT p.name, k.user_id, j.external_id, k.masked_suffix, k.updated_at FROM provider_keys k "
      "JOIN providers p ON p.id = k.provider_id LEFT JOIN jwt_users j ON j.user_id = k.user_id "
      "WHERE k.tenant_id = $1::uuid "
      "   OR k.user_id IN (SELECT user_id FROM memberships WHERE tenant_id = $1::uuid) "
      "ORDER BY p.name, k.user_id NULLS FIRST");
  std::vector<std::vector<std::string>> table;
  for (const auto& row : rows) {
    bool users = !row[1].is_null();
    table.push_back({row[0].as<std::string>(), users ? "user" : "tenant",
                     users ? row[1].as<std::string>() : "-",
                     row[2].is_null() ? "-" : row[2].as<std::string>(), row[3].as<std::string>(),
                     row[4].as<std::string>()});
  }
  print_table({"PROVIDER", "OWNER", "USER_ID", "EXTERNAL_ID", "KEY", "UPDATED_AT"}, table);
  return 0;
}

int delete_key(const Config& config, const VerbArguments& args) {
  if (args.positional.size() != 3)
    throw UsageError("usage: switchyard key delete TENANT PROVIDER [--user-id ID]");
  auto connection = open_database(config);
  pqxx::work tx(connection);
  auto target = target_of(tx, args);
  bool users = target.users();
  auto deleted = tx.exec_params(std::string("DELETE FROM provider_keys WHERE provider_id = $1::uuid AND ") +
                                    (users ? "user_id" : "tenant_id") + " = $2::uuid",
                                target.provider_id, target.owner_id);
  if (deleted.affected_rows() == 0) {
    throw std::runtime_error("there is no such key of " +
                             std::string(users ? "user " + target.owner_id : "tenant " + target.tenant.name) +
                             " for provider " + args.positional[2]);
  }
  tx.commit();
  json out = {{"deleted", true}, {"provider", args.positional[2]}, {"owner", users ? "user" : "tenant"}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

int key_command(const Config& config, const std::vector<std::string>& arguments) {
  auto verb = arguments.empty() ? std::string() : arguments.front();
  if (verb == "create") return create_key(config, split_arguments(arguments, {"--user-id"}));
  if (verb == "list") return list_keys(config, split_arguments(arguments, {}));
  if (verb == "delete") return delete_key(config, split_arguments(arguments, {"--user-id"}));
  throw UsageError(
      "usage: switchyard key (create TENANT PROVIDER API_KEY [--user-id ID] | list TENANT | "
      "delete TENANT PROVIDER [--user-id ID])");
}

}  // namespace switchyard::app
