#pragma once

#include <optional>
#include <string_view>

/// Membership roles and the rules of spec 000 about who may change what. Pure.
namespace switchyard::identity {

/// Ordered by what a member may do: each role may do everything the ones before it may.
enum class Role { viewer, user, admin, owner };

std::optional<Role> parse_role(std::string_view text);
std::string_view role_name(Role role);

/// Whether a member may invite, edit and remove members, and manage the tenant's provider keys.
bool may_manage_members(Role role);
/// Whether `actor` may move a member from `from` to `to` (a new member has no `from`): admins edit
/// non-owner roles only; granting or taking away owner is for owners.
bool may_change_role(Role actor, std::optional<Role> from, std::optional<Role> to);

}  // namespace switchyard::identity
