#include "tenants_json.hpp"

#include "fields.hpp"
#include "switchyard/core/money.hpp"

namespace switchyard::portal {
namespace {

/// Spend is summed over the budget's current period (UTC boundaries, as the gateway counts it).
std::string tenant_query(const std::string& where) {
  return "SELECT t.id, t.name, t.kind, t.budget_micros, t.rpm, t.tpm, t.parallel, t.budget_period, "
         "t.all_models, "
         "(SELECT COALESCE(sum(u.cost_micros), 0)::bigint FROM usage_records u WHERE u.tenant_id = t.id AND "
         "u.created_at >= CASE t.budget_period WHEN 'total' THEN '-infinity'::timestamptz ELSE "
         "date_trunc(CASE t.budget_period WHEN 'daily' THEN 'day' WHEN 'weekly' THEN 'week' ELSE 'month' "
         "END, "
         "now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' END), "
         "(SELECT count(*) FROM memberships m WHERE m.tenant_id = t.id), " +
         rfc3339_sql("t.created_at") +
         ", (SELECT role FROM memberships m WHERE m.tenant_id = t.id AND m.user_id::text = $1) "
         "FROM tenants t WHERE " +
         where + " ORDER BY t.kind = 'personal' DESC, t.name";
}

nlohmann::json tenant_json(const pqxx::row& row) {
  auto kind = row[2].as<std::string>();
  auto limits = limits_at(row, 3);
  auto spent = row[9].as<Micros>();
  nlohmann::json tenant{
      {"id", row[0].as<std::string>()},
      {"object", "tenant"},
      {"name", row[1].as<std::string>()},
      {"label", kind == "personal" ? "Personal" : row[1].as<std::string>()},
      {"kind", kind},
      {"budget_period", row[7].as<std::string>()},
      {"all_models", row[8].as<bool>()},
      {"spent_usd", usd_number(spent)},
      {"remaining_usd", limits.budget_micros
                            ? nlohmann::json(usd_number(std::max<Micros>(0, *limits.budget_micros - spent)))
                            : nlohmann::json(nullptr)},
      {"key_ceilings", limits_json(limits)},
      {"member_count", row[10].as<std::int64_t>()},
      {"created_at", row[11].as<std::string>()},
      {"role", text_or_null(row[12])}};
  tenant.update(limits_json(limits));
  return tenant;
}

}  // namespace

std::optional<nlohmann::json> load_tenant_json(pqxx::work& tx, const std::string& tenant_id,
                                               const std::optional<std::string>& user_id) {
  auto rows = tx.exec_params(tenant_query("t.id::text = $2"), user_id.value_or(""), tenant_id);
  if (rows.empty()) return std::nullopt;
  return tenant_json(rows[0]);
}

nlohmann::json load_tenants_json(pqxx::work& tx, const std::optional<std::string>& member_id) {
  auto rows =
      member_id ? tx.exec_params(tenant_query("EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = t.id "
                                              "AND m.user_id::text = $1)"),
                                 *member_id)
                : tx.exec_params(tenant_query("true"), std::string());
  auto data = nlohmann::json::array();
  for (const auto& row : rows) data.push_back(tenant_json(row));
  return {{"object", "list"}, {"data", std::move(data)}};
}

}  // namespace switchyard::portal
