#include "switchyard/identity/audit.hpp"

#include "switchyard/identity/caller.hpp"

namespace switchyard::identity {
namespace {

std::optional<std::string> json_or_null(const nlohmann::json& value) {
  if (value.is_null()) return std::nullopt;
  return value.dump();
}

std::optional<std::string> nonempty(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

}  // namespace

void record_audit(pqxx::work& tx, const Caller& actor, const std::string& request_id,
                  const AuditEntry& entry) {
  std::optional<std::string> key_id;
  if (actor.key) key_id = actor.key->key_id;
  tx.exec_params(
      "INSERT INTO audit_log (actor_user_id, actor_api_key_id, tenant_id, action, target_type, target_id, "
      "before, after, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9)",
      nonempty(actor.user_id), key_id, entry.tenant_id, entry.action, nonempty(entry.target_type),
      nonempty(entry.target_id), json_or_null(entry.before), json_or_null(entry.after), nonempty(request_id));
}

}  // namespace switchyard::identity
