#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/config.hpp"

namespace switchyard::oidc {

/// What the issuer's roles let a user do here.
struct RoleDecision {
  std::vector<std::string> roles;  ///< as the claim lists them
  bool allowed = false;            ///< allowed_roles is empty or shares a role with `roles`
  bool admin = false;              ///< admin_roles shares a role with `roles`
};

/// The roles in `claim` of `claims`: a string is one role, an array lists them (non-strings skipped). A
/// dotted name (`realm_access.roles`) walks into nested objects when no claim has the dotted name itself.
/// Missing or of another type: none.
std::vector<std::string> roles_from_claims(const nlohmann::json& claims, std::string_view claim);

/// Applies `settings.role_claim`, `allowed_roles` and `admin_roles` to a verified token's claims.
RoleDecision decide_roles(const nlohmann::json& claims, const OidcSettings& settings);

}  // namespace switchyard::oidc
