#include "switchyard/store/migrations.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string_view>

#include "embedded_migrations.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::postgres {
namespace {

/// Any fixed number works, as long as every Switchyard process migrating a database takes the same one.
constexpr std::int64_t kMigrationLockKey = 0x5377'6974'6368'7964;  // "Switchyd"
constexpr std::chrono::seconds kConnectTimeout{10};

constexpr std::string_view kCreateVersionTable = R"(
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,  -- SHA-256 of the file's text, hex
    applied_at  timestamptz NOT NULL DEFAULT now()
  ))";

std::string label(int version, const std::string& name) {
  auto digits = std::to_string(version);
  return std::string(digits.size() < 4 ? 4 - digits.size() : 0, '0') + digits + "_" + name;
}

/// SHA-256 of the text with CRLF read as LF, so that a checkout's line endings do not count as a change.
std::string checksum(std::string_view sql) {
  std::string text;
  text.reserve(sql.size());
  for (std::size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '\r' && i + 1 < sql.size() && sql[i + 1] == '\n') continue;
    text += sql[i];
  }
  return crypto::hex(crypto::sha256(text));
}

std::unique_ptr<pqxx::connection> connect(const std::string& database_url) {
  auto connection = std::make_unique<pqxx::connection>(connection_string(database_url, kConnectTimeout));
  // A migration may rewrite a large table, and the lock may be held by another run doing so: no deadline,
  // whatever the role's default. The notices of IF NOT EXISTS are noise.
  connection->set_variable("statement_timeout", "0");
  connection->set_variable("client_min_messages", "warning");
  return connection;
}

/// Holds the migration advisory lock while it lives. Session-level, so it spans the migrations'
/// transactions; the server releases it by itself if this process dies.
class MigrationLock {
 public:
  explicit MigrationLock(pqxx::connection& connection) : connection_(connection) {
    pqxx::nontransaction(connection_)
        .exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")");
  }
  ~MigrationLock() {
    try {
      pqxx::nontransaction(connection_)
          .exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
    } catch (const std::exception&) {
      // The connection is gone, and the lock with it.
    }
  }
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

 private:
  pqxx::connection& connection_;
};

struct AppliedMigration {
  std::string name;
  std::string checksum;
};

std::map<int, AppliedMigration> applied_migrations(pqxx::connection& connection) {
  std::map<int, AppliedMigration> applied;
  pqxx::nontransaction tx(connection);
  for (const auto& row : tx.exec("SELECT version, name, checksum FROM schema_migrations")) {
    applied[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
  }
  return applied;
}

void check_order(const std::vector<Migration>& migrations) {
  int previous = 0;
  for (const auto& migration : migrations) {
    if (migration.version <= previous) {
      throw MigrationError("migration " + label(migration.version, migration.name) +
                           ": versions must be positive and ascending");
    }
    previous = migration.version;
  }
}

MigrationReport apply(pqxx::connection& connection, const std::vector<Migration>& migrations) {
  MigrationLock lock(connection);
  pqxx::nontransaction(connection).exec(std::string(kCreateVersionTable));
  auto applied = applied_migrations(connection);

  MigrationReport report;
  report.previous_version = applied.empty() ? 0 : applied.rbegin()->first;
  report.current_version = report.previous_version;
  for (const auto& migration : migrations) {
    auto name = label(migration.version, migration.name);
    auto sum = checksum(migration.sql);
    if (auto found = applied.find(migration.version); found != applied.end()) {
      if (found->second.checksum != sum) {
        throw MigrationError("migration " + name +
                             " was changed after it was applied to this database: restore " +
                             "its original text and put the change in a new migration");
      }
      continue;
    }
    if (migration.version < report.current_version) {
      throw MigrationError("migration " + name + " is not applied, but the newer " +
                           label(report.current_version, applied.at(report.current_version).name) +
                           " is: give it a version above every applied one");
    }
    pqxx::work tx(connection);
    try {
      tx.exec(migration.sql);
    } catch (const pqxx::sql_error& e) {
      throw MigrationError("migration " + name + " failed: " + e.what());
    }
    tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                   migration.version, migration.name, sum);
    tx.commit();
    applied[migration.version] = {migration.name, sum};
    report.applied.push_back(name);
    report.current_version = migration.version;
  }
  return report;
}

}  // namespace

const std::vector<Migration>& bundled_migrations() {
  static const std::vector<Migration> kMigrations = [] {
    std::vector<Migration> list;
    for (const auto& embedded : detail::embedded_migrations()) {
      list.push_back({embedded.version, std::string(embedded.name), std::string(embedded.sql)});
    }
    return list;
  }();
  return kMigrations;
}

MigrationReport migrate(const std::string& database_url) {
  return migrate(database_url, bundled_migrations());
}

MigrationReport migrate(const std::string& database_url, const std::vector<Migration>& migrations) {
  check_order(migrations);
  auto connection = connect(database_url);
  return apply(*connection, migrations);
}

int current_version(const std::string& database_url) {
  auto connection = connect(database_url);
  pqxx::nontransaction tx(*connection);
  if (tx.exec("SELECT to_regclass('schema_migrations') IS NULL")[0][0].as<bool>()) return 0;
  return tx.exec("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0].as<int>();
}

}  // namespace switchyard::postgres
