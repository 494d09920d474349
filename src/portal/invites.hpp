#pragma once

#include <optional>
#include <pqxx/transaction>
#include <string>

#include "switchyard/identity/roles.hpp"

namespace switchyard::portal {

/// A new invitation token for POST /v1/users/register, valid `days`; only its hash is kept. With an email,
/// only that address may use it; with a tenant, registering joins it with `role`; with `account`, it lets its
/// holder choose the password of that user, who was created without one by the same invitation.
std::string create_invite(pqxx::work& tx, const std::optional<std::string>& email,
                          const std::optional<std::string>& tenant_id, identity::Role role,
                          const std::string& created_by, int days,
                          const std::optional<std::string>& account = std::nullopt);

}  // namespace switchyard::portal
