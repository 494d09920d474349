#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace switchyard::postgres {

/// One numbered schema change, from migrations/NNNN_name.sql.
struct Migration {
  int version = 0;
  std::string name;
  std::string sql;
};

/// What a migrate run did.
struct MigrationReport {
  int previous_version = 0;
  int current_version = 0;
  /// "NNNN_name" of each migration this run applied, in order.
  std::vector<std::string> applied;
};

/// A migration that cannot or must not be applied; the message says which one and why.
class MigrationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The migrations compiled into this binary from migrations/, by ascending version.
const std::vector<Migration>& bundled_migrations();

/// Applies the bundled migrations the database lacks, each in its own transaction, recorded in
/// schema_migrations. Runs hold a Postgres advisory lock, so concurrent runs (two `migrate`, or several
/// `serve` starting together) apply each migration once. Blocking. Needs only ownership of the database.
/// Throws MigrationError, whose message names the migration and the reason, when an applied migration's
/// text has changed since, a migration older than the newest applied one is missing from the database, or
/// a migration fails (earlier ones stay applied); pqxx::broken_connection when the database cannot be
/// reached or is lost (a caller may start without it and migrate later).
MigrationReport migrate(const std::string& database_url);

/// migrate() with a given list, ascending by version.
MigrationReport migrate(const std::string& database_url, const std::vector<Migration>& migrations);

/// The newest applied version; 0 for a database never migrated. pqxx::broken_connection when unreachable.
int current_version(const std::string& database_url);

}  // namespace switchyard::postgres
