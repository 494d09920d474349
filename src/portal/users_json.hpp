#pragma once

#include <nlohmann/json.hpp>
#include <pqxx/transaction>
#include <string>

/// The user object of the user APIs.
namespace switchyard::portal {

/// {id, email, display_name, is_admin, disabled, personal_tenant_id, created_at, last_login_at}; nullopt
/// when there is no such user.
std::optional<nlohmann::json> load_user_json(pqxx::work& tx, const std::string& user_id);

/// Every tenant the user belongs to: [{id, name, label, kind, role}], personal first.
nlohmann::json load_memberships_json(pqxx::work& tx, const std::string& user_id);

}  // namespace switchyard::portal
