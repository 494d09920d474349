#include <gtest/gtest.h>

#include "switchyard/store/migrations.hpp"

namespace switchyard::postgres {
namespace {

TEST(PostgresMigrations, BundledAreAscendingFromOne) {
  const auto& migrations = bundled_migrations();
  ASSERT_FALSE(migrations.empty());
  EXPECT_EQ(migrations.front().version, 1);
  EXPECT_EQ(migrations.front().name, "initial");
  for (std::size_t i = 1; i < migrations.size(); ++i) {
    EXPECT_LT(migrations[i - 1].version, migrations[i].version);
  }
}

TEST(PostgresMigrations, BundledCarryTheFilesText) {
  const auto& initial = bundled_migrations().front();
  EXPECT_NE(initial.sql.find("CREATE TABLE tenants"), std::string::npos);
  EXPECT_NE(initial.sql.find("CREATE TABLE usage_records"), std::string::npos);
}

TEST(PostgresMigrations, RefusesAListOutOfOrderBeforeConnecting) {
  std::vector<Migration> list{{2, "b", "SELECT 1"}, {1, "a", "SELECT 1"}};
  try {
    migrate("postgresql://127.0.0.1:1/none", list);
    FAIL() << "expected MigrationError";
  } catch (const MigrationError& e) {
    EXPECT_NE(std::string(e.what()).find("ascending"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace switchyard::postgres
