#pragma once

#include <map>
#include <optional>
#include <pqxx/connection>
#include <pqxx/transaction>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "switchyard/core/config.hpp"

/// The management verbs (`tenant`, `user`, `key`, `jwt`): spec 002's scripts, run against the database with
/// the master key like `seed`. Each prints JSON or a plain table and returns 0; a UsageError means exit 2,
/// any other exception exit 1.
namespace switchyard::app {

/// A command line that cannot be right: main prints its one line and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A verb's arguments: positionals, `--name value` (or `--name=value`) options and bare `--flag`s.
struct VerbArguments {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  std::set<std::string> flags;

  std::optional<std::string> option(const std::string& name) const;
  bool flag(const std::string& name) const { return flags.contains(name); }
};

/// Splits `arguments`; an option not in `valued` or `flags` is a UsageError, as is a missing value.
VerbArguments split_arguments(const std::vector<std::string>& arguments, const std::set<std::string>& valued,
                              const std::set<std::string>& flags = {});

/// A non-negative whole number given as `what`; UsageError otherwise.
std::int64_t count_argument(const std::string& text, const std::string& what);

/// The whole of a file; std::runtime_error when it cannot be read.
std::string read_text_file(const std::string& path);

/// A connection to the configured database, refused when its schema is not current.
pqxx::connection open_database(const Config& config);

struct TenantRef {
  std::string id;
  std::string name;
};

/// The tenant a TENANT argument names: its id or its name. Throws std::runtime_error when there is none.
TenantRef find_tenant(pqxx::work& tx, const std::string& id_or_name);

/// The rows `query` returns for the tenant TENANT names ($1 is its id), in a transaction of their own.
pqxx::result rows_of_tenant(const Config& config, const std::string& tenant, const char* query);

/// Rows as a plain table: a header line, then the rows, columns padded to line up.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

int tenant_command(const Config& config, const std::vector<std::string>& arguments);
int user_command(const Config& config, const std::vector<std::string>& arguments);
int key_command(const Config& config, const std::vector<std::string>& arguments);
int jwt_command(const Config& config, const std::vector<std::string>& arguments);

}  // namespace switchyard::app
