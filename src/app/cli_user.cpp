#include <iostream>
#include <pqxx/pqxx>

#include "cli.hpp"
#include "switchyard/jwt_orgs/authenticator.hpp"
#include "switchyard/jwt_orgs/store.hpp"

namespace switchyard::app {
namespace {

int create_user(const Config& config, const VerbArguments& args) {
  if (args.positional.size() != 3) throw UsageError("usage: switchyard user create TENANT EXTERNAL_ID");
  std::string external_id;
  try {
    // The same rules as the X-User-ID header, so that the user made here is the one requests name.
    external_id = jwt_orgs::external_user_id(args.positional[2]);
  } catch (const ApiError& error) {
    throw UsageError(std::string("EXTERNAL_ID: ") + error.what());
  }
  auto connection = open_database(config);
  pqxx::work tx(connection);
  auto tenant = find_tenant(tx, args.positional[1]);
  auto user_id = jwt_orgs::ensure_user(tx, tenant.id, external_id);
  tx.commit();
  std::cout << user_id << "\n";
  return 0;
}

int list_users(const Config& config, const VerbArguments& args) {
  if (args.positional.size() != 2) throw UsageError("usage: switchyard user list TENANT");
  auto rows = rows_of_tenant(config, args.positional[1],
                             "SELECT u.id, m.role, j.external_id, u.email, u.disabled FROM memberships m "
                             "JOIN users u ON u.id = m.user_id LEFT JOIN jwt_users j ON j.user_id = u.id "
                             "WHERE m.tenant_id = $1::uuid ORDER BY COALESCE(j.external_id, u.email)");
  std::vector<std::vector<std::string>> table;
  for (const auto& row : rows) {
    bool jwt_user = !row[2].is_null();
    table.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                     jwt_user ? row[2].as<std::string>() : "-", jwt_user ? "-" : row[3].as<std::string>(),
                     row[4].as<bool>() ? "disabled" : "active"});
  }
  print_table({"ID", "ROLE", "EXTERNAL_ID", "EMAIL", "STATUS"}, table);
  return 0;
}

}  // namespace

int user_command(const Config& config, const std::vector<std::string>& arguments) {
  auto verb = arguments.empty() ? std::string() : arguments.front();
  if (verb == "create") return create_user(config, split_arguments(arguments, {}));
  if (verb == "list") return list_users(config, split_arguments(arguments, {}));
  throw UsageError("usage: switchyard user (create TENANT EXTERNAL_ID | list TENANT)");
}

}  // namespace switchyard::app
