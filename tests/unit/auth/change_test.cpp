#include <gtest/gtest.h>

#include "switchyard/auth/changes.hpp"

namespace switchyard::auth {
namespace {

TEST(ParseChange, Key) {
  auto change = parse_change("key:" + std::string(62, '0') + "aF");
  ASSERT_TRUE(change);
  EXPECT_EQ(change->kind, Change::Kind::api_key);
  ASSERT_EQ(change->subject.size(), 32u);
  EXPECT_EQ(change->subject.back(), '\xaf');
}

TEST(ParseChange, TenantUserCatalog) {
  auto tenant = parse_change("tenant:6f1c0c7e-0000-4000-8000-000000000001");
  ASSERT_TRUE(tenant);
  EXPECT_EQ(tenant->kind, Change::Kind::tenant);
  EXPECT_EQ(tenant->subject, "6f1c0c7e-0000-4000-8000-000000000001");
  auto user = parse_change("user:u1");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->kind, Change::Kind::user);
  auto catalog = parse_change("catalog");
  ASSERT_TRUE(catalog);
  EXPECT_EQ(catalog->kind, Change::Kind::catalog);
}

TEST(ParseChange, RefusesWhatItDoesNotKnow) {
  EXPECT_FALSE(parse_change(""));
  EXPECT_FALSE(parse_change("tenant:"));
  EXPECT_FALSE(parse_change("key:abc"));
  EXPECT_FALSE(parse_change("key:" + std::string(64, 'g')));
  EXPECT_FALSE(parse_change("session:123"));
}

}  // namespace
}  // namespace switchyard::auth
