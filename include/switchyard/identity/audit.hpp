#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/transaction>
#include <string>

namespace switchyard::identity {
struct Caller;

/// One administrative or owner action, as the audit log keeps it.
struct AuditEntry {
  std::string action;       ///< e.g. "api_key.create", "membership.update", "provider.delete"
  std::string target_type;  ///< e.g. "api_key", "membership", "provider"
  std::string target_id;
  std::optional<std::string> tenant_id;
  nlohmann::json before;  ///< null when the target is new; never a secret
  nlohmann::json after;   ///< null when the target is gone; never a secret
};

/// Writes `entry` in `tx`, so it lands if and only if the change it describes does.
void record_audit(pqxx::work& tx, const Caller& actor, const std::string& request_id,
                  const AuditEntry& entry);

}  // namespace switchyard::identity
