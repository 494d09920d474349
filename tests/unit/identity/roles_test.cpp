#include "switchyard/identity/roles.hpp"

#include <gtest/gtest.h>

namespace switchyard::identity {
namespace {

TEST(Roles, ParseAndNameRoundTrip) {
  for (auto role : {Role::viewer, Role::user, Role::admin, Role::owner}) {
    EXPECT_EQ(parse_role(role_name(role)), role);
  }
  EXPECT_FALSE(parse_role("Owner").has_value());
  EXPECT_FALSE(parse_role("").has_value());
}

TEST(Roles, OnlyAdminsAndOwnersManage) {
  EXPECT_FALSE(may_manage_members(Role::viewer));
  EXPECT_FALSE(may_manage_members(Role::user));
  EXPECT_TRUE(may_manage_members(Role::admin));
}

TEST(Roles, AdminsEditNonOwnerRolesOnly) {
  EXPECT_TRUE(may_change_role(Role::admin, Role::user, Role::viewer));
  EXPECT_TRUE(may_change_role(Role::admin, std::nullopt, Role::admin));
  EXPECT_TRUE(may_change_role(Role::admin, Role::viewer, std::nullopt));
  EXPECT_FALSE(may_change_role(Role::admin, Role::user, Role::owner));
  EXPECT_FALSE(may_change_role(Role::admin, Role::owner, Role::admin));
  EXPECT_FALSE(may_change_role(Role::admin, Role::owner, std::nullopt));
  EXPECT_FALSE(may_change_role(Role::admin, std::nullopt, Role::owner));
}

TEST(Roles, OnlyOwnersGrantOrRemoveOwner) {
  EXPECT_TRUE(may_change_role(Role::owner, Role::admin, Role::owner));
  EXPECT_TRUE(may_change_role(Role::owner, Role::owner, Role::user));
  EXPECT_TRUE(may_change_role(Role::owner, std::nullopt, Role::owner));
}

TEST(Roles, MembersBelowAdminChangeNothing) {
  EXPECT_FALSE(may_change_role(Role::user, Role::viewer, Role::user));
  EXPECT_FALSE(may_change_role(Role::viewer, std::nullopt, Role::viewer));
}

}  // namespace
}  // namespace switchyard::identity
