#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/transaction>
#include <string>

/// The tenant object of the portal and admin APIs.
namespace switchyard::portal {

/// {id, name, label, kind, budget_usd, budget_period, rpm, tpm, parallel, all_models, spent_usd (this budget
/// period), remaining_usd, key_ceilings, member_count, created_at}, plus `role` when `user_id` is a member.
std::optional<nlohmann::json> load_tenant_json(pqxx::work& tx, const std::string& tenant_id,
                                               const std::optional<std::string>& user_id);

/// Every tenant (`user_id` nullopt: for administrators) or the user's, personal first.
nlohmann::json load_tenants_json(pqxx::work& tx, const std::optional<std::string>& member_id);

}  // namespace switchyard::portal
