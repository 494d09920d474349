#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/transaction>
#include <string>
#include <vector>

#include "switchyard/reports/usage_query.hpp"

/// Usage reports from usage_records, bucketed by the days of a time zone. Postgres knows every zone and
/// its daylight-saving rules, so the window, the day boundaries and their UTC offsets all come from it.
namespace switchyard::reports {

/// A tenant a report may show, as the caller knows it.
struct ReportTenant {
  std::string id;  ///< lower-case UUID
  std::string label;
};

/// The tenants one caller may see.
struct ReportScope {
  std::vector<ReportTenant> tenants;  ///< in the order reports list them
  /// Whether tenants without usage in the window are listed when the query names none. Off for an
  /// administrator's scope of every tenant, where most would be noise.
  bool list_idle_tenants = true;
};

/// The scope of every tenant, labelled with its name, for administrators.
ReportScope every_tenant(pqxx::work& tx);

/// Builds the usage reports. Thread-safe: it only caches the time-zone names Postgres confirmed.
class UsageReports {
 public:
  /// `GET /user/usage` and `/admin/usage`: `{period, timezone, start, end, totals, points, tenants, models}`
  /// over the scope's tenants (those the query names), restricted to the query's model aliases.
  /// Throws ApiError 404 tenant_not_found for a tenant id outside the scope, 400 for an unknown zone.
  /// `now` stands in for the clock in tests.
  nlohmann::json summary(pqxx::work& tx, const UsageQuery& query, const ReportScope& scope,
                         std::optional<Instant> now = std::nullopt);

  /// `GET /user/usage/compare` and `/admin/usage/compare`: `{period, timezone, start, end, series}` with a
  /// series per named tenant (every tenant of the scope when the query names neither tenants nor models)
  /// and one per named model alias over those tenants. Throws as summary() does.
  nlohmann::json compare(pqxx::work& tx, const UsageQuery& query, const ReportScope& scope,
                         std::optional<Instant> now = std::nullopt);

 private:
  /// Postgres' spelling of `name` (matched without regard to case); 400 `timezone` when it has none.
  std::string canonical_zone(pqxx::work& tx, const std::string& name);

  std::mutex mutex_;
  std::map<std::string, std::string> zones_;  // lower-case name -> Postgres' spelling
};

}  // namespace switchyard::reports
