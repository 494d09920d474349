#include "switchyard/oidc/roles.hpp"

#include <gtest/gtest.h>

namespace switchyard::oidc {
namespace {

using nlohmann::json;
using Roles = std::vector<std::string>;

TEST(OidcRoles, ReadsAStringOrAnArrayOfStrings) {
  json claims = {{"groups", {"a", 7, "b", nullptr}}, {"role", "admin"}, {"weird", {{"x", 1}}}};
  EXPECT_EQ(roles_from_claims(claims, "groups"), (Roles{"a", "b"}));
  EXPECT_EQ(roles_from_claims(claims, "role"), (Roles{"admin"}));
  EXPECT_TRUE(roles_from_claims(claims, "weird").empty());
  EXPECT_TRUE(roles_from_claims(claims, "missing").empty());
  EXPECT_TRUE(roles_from_claims(claims, "").empty());
}

TEST(OidcRoles, FollowsDottedPathsUnlessTheDottedNameIsAClaim) {
  json claims = {{"realm_access", {{"roles", {"gw-user"}}}}, {"a.b", "literal"}, {"a", {{"b", "nested"}}}};
  EXPECT_EQ(roles_from_claims(claims, "realm_access.roles"), (Roles{"gw-user"}));
  EXPECT_EQ(roles_from_claims(claims, "a.b"), (Roles{"literal"}));
  EXPECT_TRUE(roles_from_claims(claims, "realm_access.roles.more").empty());
  EXPECT_TRUE(roles_from_claims(claims, "realm_access.missing").empty());
}

TEST(OidcRoles, AnyRoleIsAllowedWhenNoneIsRequired) {
  OidcSettings settings;
  EXPECT_TRUE(decide_roles(json::object(), settings).allowed);
  EXPECT_FALSE(decide_roles(json::object(), settings).admin);
}

TEST(OidcRoles, ARequiredRoleMustBeHeld) {
  OidcSettings settings;
  settings.role_claim = "groups";
  settings.allowed_roles = {"gw-user", "gw-admin"};
  settings.admin_roles = {"gw-admin"};
  auto user = decide_roles(json{{"groups", {"staff", "gw-user"}}}, settings);
  EXPECT_TRUE(user.allowed);
  EXPECT_FALSE(user.admin);
  auto admin = decide_roles(json{{"groups", "gw-admin"}}, settings);
  EXPECT_TRUE(admin.allowed);
  EXPECT_TRUE(admin.admin);
  auto outsider = decide_roles(json{{"groups", {"staff"}}}, settings);
  EXPECT_FALSE(outsider.allowed);
  EXPECT_EQ(outsider.roles, (Roles{"staff"}));
  EXPECT_FALSE(decide_roles(json{{"roles", {"gw-user"}}}, settings).allowed);
}

}  // namespace
}  // namespace switchyard::oidc
