#include "switchyard/oidc/roles.hpp"

#include <algorithm>

namespace switchyard::oidc {
namespace {

using nlohmann::json;

/// The claim named `claim`, or the nested value its dotted path leads to.
const json* find_claim(const json& claims, std::string_view claim) {
  if (!claims.is_object()) return nullptr;
  if (auto whole = claims.find(claim); whole != claims.end()) return &*whole;
  const json* at = &claims;
  while (!claim.empty()) {
    auto dot = claim.find('.');
    auto name = claim.substr(0, dot);
    claim = dot == std::string_view::npos ? std::string_view{} : claim.substr(dot + 1);
    if (!at->is_object()) return nullptr;
    auto next = at->find(name);
    if (next == at->end()) return nullptr;
    at = &*next;
  }
  return at;
}

bool shares_one(const std::vector<std::string>& roles, const std::vector<std::string>& wanted) {
  return std::any_of(roles.begin(), roles.end(), [&](const std::string& role) {
    return std::find(wanted.begin(), wanted.end(), role) != wanted.end();
  });
}

}  // namespace

std::vector<std::string> roles_from_claims(const json& claims, std::string_view claim) {
  std::vector<std::string> roles;
  const json* value = claim.empty() ? nullptr : find_claim(claims, claim);
  if (value == nullptr) return roles;
  if (value->is_string()) {
    roles.push_back(value->get<std::string>());
  } else if (value->is_array()) {
    for (const auto& role : *value) {
      if (role.is_string()) roles.push_back(role.get<std::string>());
    }
  }
  return roles;
}

RoleDecision decide_roles(const json& claims, const OidcSettings& settings) {
  RoleDecision decision;
  decision.roles = roles_from_claims(claims, settings.role_claim);
  decision.allowed = settings.allowed_roles.empty() || shares_one(decision.roles, settings.allowed_roles);
  decision.admin = shares_one(decision.roles, settings.admin_roles);
  return decision;
}

}  // namespace switchyard::oidc
