#include "users_json.hpp"

#include "fields.hpp"

namespace switchyard::portal {

std::optional<nlohmann::json> load_user_json(pqxx::work& tx, const std::string& user_id) {
  auto rows = tx.exec_params(
      "SELECT id, email, display_name, is_admin, disabled, personal_tenant_id, " + rfc3339_sql("created_at") +
          ", " + rfc3339_sql("last_login_at") +
          ", password_hash IS NOT NULL, oidc_issuer IS NOT NULL FROM users WHERE id::text = $1",
      user_id);
  if (rows.empty()) return std::nullopt;
  const auto& row = rows[0];
  return nlohmann::json{
      {"id", row[0].as<std::string>()},
      {"object", "user"},
      {"email", row[1].as<std::string>()},
      {"display_name", row[2].as<std::string>()},
      {"is_admin", row[3].as<bool>()},
      {"disabled", row[4].as<bool>()},
      {"personal_tenant_id", text_or_null(row[5])},
      {"created_at", row[6].as<std::string>()},
      {"last_login_at", text_or_null(row[7])},
      {"has_password", row[8].as<bool>()},
      {"sso", row[9].as<bool>()},
  };
}

nlohmann::json load_memberships_json(pqxx::work& tx, const std::string& user_id) {
  auto rows = tx.exec_params(
      "SELECT t.id, t.name, t.kind, m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id "
      "WHERE m.user_id = $1 ORDER BY t.kind = 'personal' DESC, t.name",
      user_id);
  auto out = nlohmann::json::array();
  for (const auto& row : rows) {
    auto kind = row[2].as<std::string>();
    out.push_back({{"id", row[0].as<std::string>()},
                   {"name", row[1].as<std::string>()},
                   {"label", kind == "personal" ? "Personal" : row[1].as<std::string>()},
                   {"kind", kind},
                   {"role", row[3].as<std::string>()}});
  }
  return out;
}

}  // namespace switchyard::portal
