#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::postgres {
namespace {

using std::chrono::seconds;

TEST(PostgresConnectionString, AddsQueryToUriWithoutOne) {
  auto out = connection_string("postgresql://u:p@127.0.0.1:5432/db", seconds{3});
  EXPECT_EQ(out,
            "postgresql://u:p@127.0.0.1:5432/db?connect_timeout=3&keepalives_idle=5&keepalives_interval=2"
            "&keepalives_count=3&tcp_user_timeout=10000&fallback_application_name=switchyard");
}

TEST(PostgresConnectionString, ExtendsAnExistingQuery) {
  auto out = connection_string("postgres://h/db?sslmode=disable", seconds{3});
  EXPECT_EQ(out.rfind("postgres://h/db?sslmode=disable&connect_timeout=3&", 0), 0u) << out;
}

TEST(PostgresConnectionString, KeepsWhatTheUriSets) {
  auto out = connection_string("postgresql://h/db?connect_timeout=30&keepalives_idle=60", seconds{3});
  EXPECT_NE(out.find("connect_timeout=30"), std::string::npos);
  EXPECT_EQ(out.find("connect_timeout=3&"), std::string::npos) << out;
  EXPECT_EQ(out.find("keepalives_idle=5"), std::string::npos) << out;
  EXPECT_NE(out.find("keepalives_interval=2"), std::string::npos);
}

TEST(PostgresConnectionString, DoesNotMistakeAPasswordForAParameter) {
  auto out = connection_string("postgresql://u:connect_timeout=9@h/db", seconds{4});
  EXPECT_NE(out.find("?connect_timeout=4"), std::string::npos) << out;
}

TEST(PostgresConnectionString, AppendsToKeywordForm) {
  auto out = connection_string("host=127.0.0.1 dbname=db", seconds{2});
  EXPECT_EQ(out.rfind("host=127.0.0.1 dbname=db connect_timeout=2 keepalives_idle=5 ", 0), 0u) << out;
}

TEST(PostgresConnectionString, ReadsQuotedKeywordValues) {
  auto out = connection_string("password='a connect_timeout=1 \\' b' connect_timeout = 7", seconds{2});
  EXPECT_EQ(out.find("connect_timeout=2"), std::string::npos) << out;
  EXPECT_NE(out.find("keepalives_idle=5"), std::string::npos) << out;
}

TEST(PostgresConnectionString, EmptyUsesLibpqDefaultsPlusOurs) {
  EXPECT_EQ(connection_string("", seconds{2}).rfind("connect_timeout=2 ", 0), 0u);
}

TEST(PostgresConnectionString, IsIdempotent) {
  for (std::string url : {"postgresql://h/db", "postgresql://h/db?sslmode=disable", "host=h dbname=db"}) {
    auto once = connection_string(url, seconds{3});
    EXPECT_EQ(connection_string(once, seconds{9}), once);
  }
}

TEST(PostgresConnectionString, ZeroTimeoutWouldMeanForeverSoIsRaised) {
  EXPECT_NE(connection_string("postgresql://h/db", seconds{0}).find("connect_timeout=1"), std::string::npos);
}

}  // namespace
}  // namespace switchyard::postgres
