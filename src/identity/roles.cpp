#include "switchyard/identity/roles.hpp"

namespace switchyard::identity {

std::optional<Role> parse_role(std::string_view text) {
  if (text == "owner") return Role::owner;
  if (text == "admin") return Role::admin;
  if (text == "user") return Role::user;
  if (text == "viewer") return Role::viewer;
  return std::nullopt;
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::owner:
      return "owner";
    case Role::admin:
      return "admin";
    case Role::user:
      return "user";
    case Role::viewer:
      return "viewer";
  }
  return "viewer";
}

bool may_manage_members(Role role) { return role >= Role::admin; }

bool may_change_role(Role actor, std::optional<Role> from, std::optional<Role> to) {
  if (!may_manage_members(actor)) return false;
  bool touches_owner = from == Role::owner || to == Role::owner;
  return !touches_owner || actor == Role::owner;
}

}  // namespace switchyard::identity
