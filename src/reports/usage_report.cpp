#include "switchyard/reports/usage_report.hpp"

#include <algorithm>
#include <limits>
#include <pqxx/pqxx>

#include "switchyard/core/error.hpp"
#include "switchyard/store/sql_text.hpp"

namespace switchyard::reports {
namespace {

using std::chrono::microseconds;
using std::chrono::seconds;

namespace sql {

constexpr const char* kZone = R"(
SELECT name FROM pg_timezone_names WHERE lower(name) = lower($1) ORDER BY name = $1 DESC, name LIMIT 1)";

// The window: [start, end) when given ($2, $3), else the last $5 local days up to today ($4's date),
// from the first day's local midnight to tomorrow's. Answers the first local day, how many days, and the
// window's instants with the zone's UTC offset at each.
constexpr const char* kWindow = R"(
WITH input AS (SELECT $2::timestamptz AS given_start, $3::timestamptz AS given_end,
                      ($4::timestamptz AT TIME ZONE $1::text)::date AS today, $5::int AS period_days),
days AS (
  SELECT CASE WHEN given_start IS NULL THEN today - (period_days - 1)
              ELSE (given_start AT TIME ZONE $1::text)::date END AS first_day,
         -- A custom window's last day is the one its final microsecond falls on.
         CASE WHEN given_start IS NULL THEN today + 1
              ELSE ((given_end - interval '1 microsecond') AT TIME ZONE $1::text)::date + 1 END AS after_day,
         given_start, given_end
  FROM input),
bounds AS (
  SELECT first_day, after_day,
         coalesce(given_start, first_day::timestamp AT TIME ZONE $1::text) AS start_at,
         coalesce(given_end, after_day::timestamp AT TIME ZONE $1::text) AS end_at
  FROM days)
SELECT to_char(first_day, 'YYYY-MM-DD'), after_day - first_day,
       (extract(epoch FROM start_at) * 1000000)::bigint, (extract(epoch FROM end_at) * 1000000)::bigint,
       extract(epoch FROM (start_at AT TIME ZONE $1::text) - (start_at AT TIME ZONE 'UTC'))::int,
       extract(epoch FROM (end_at AT TIME ZONE $1::text) - (end_at AT TIME ZONE 'UTC'))::int
FROM bounds)";

// Every local day of the window, with the instant of its midnight and the offset there.
constexpr const char* kDays = R"(
SELECT (extract(epoch FROM midnight) * 1000000)::bigint,
       extract(epoch FROM day::timestamp - (midnight AT TIME ZONE 'UTC'))::int
FROM (SELECT day, day::timestamp AT TIME ZONE $1::text AS midnight
      FROM (SELECT $2::date + i AS day FROM generate_series(0, $3::int - 1) AS i) AS local_days) AS days
ORDER BY day)";

// Sums per tenant, alias and local day. The tenant list and the time range keep the scan on
// usage_records_tenant_time_idx.
constexpr const char* kCells = R"(
SELECT tenant_id::text, model_alias, (created_at AT TIME ZONE $1::text)::date - $2::date,
       (array_agg(provider ORDER BY created_at DESC) FILTER (WHERE provider IS NOT NULL))[1],
       (extract(epoch FROM max(created_at)) * 1000000)::bigint,
       count(*), sum(prompt_tokens)::bigint, sum(completion_tokens)::bigint, sum(cost_micros)::bigint
FROM usage_records
WHERE tenant_id = ANY($3::uuid[]) AND created_at >= $4::timestamptz AND created_at < $5::timestamptz
  AND (NOT $6::boolean OR model_alias = ANY($7::text[]))
GROUP BY 1, 2, 3)";

constexpr const char* kEveryTenant = "SELECT id::text, name FROM tenants ORDER BY name, id";

}  // namespace sql

struct Counts {
  std::int64_t requests = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  Micros cost_micros = 0;

  void add(const Counts& other) {
    requests += other.requests;
    prompt_tokens += other.prompt_tokens;
    completion_tokens += other.completion_tokens;
    cost_micros += other.cost_micros;
  }
};

struct LocalDay {
  Instant midnight;
  seconds offset;
};

struct ResolvedWindow {
  std::string zone;
  std::string first_day;  ///< YYYY-MM-DD
  Instant start;
  Instant end;
  seconds start_offset;
  seconds end_offset;
  std::vector<LocalDay> days;
};

struct Cell {
  std::string tenant_id;
  std::string model_alias;
  std::size_t day = 0;
  std::optional<std::string> provider;  ///< of the latest request in the cell
  std::int64_t last_at = 0;             ///< that request's instant, in microseconds
  Counts counts;
};

/// One line of a chart: totals and a point per day.
struct Series {
  explicit Series(std::size_t days) : points(days) {}

  void add(const Cell& cell) {
    total.add(cell.counts);
    points[cell.day].add(cell.counts);
    if (cell.provider && cell.last_at >= provider_at) {
      provider = cell.provider;
      provider_at = cell.last_at;
    }
  }

  Counts total;
  std::vector<Counts> points;
  std::optional<std::string> provider;
  std::int64_t provider_at = std::numeric_limits<std::int64_t>::min();
};

using Param = std::optional<std::string>;

pqxx::result run(pqxx::work& tx, const char* statement, const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  return tx.exec_params(statement, pqxx::prepare::make_dynamic_params(values));
}

std::string utc_text(Instant instant) { return format_rfc3339(instant, seconds{0}, true); }

Instant instant_of(const pqxx::field& micros) { return Instant{microseconds{micros.as<std::int64_t>()}}; }

std::vector<std::string> ids_of(const std::vector<ReportTenant>& tenants) {
  std::vector<std::string> ids;
  ids.reserve(tenants.size());
  for (const auto& tenant : tenants) ids.push_back(tenant.id);
  return ids;
}

ResolvedWindow resolve_window(pqxx::work& tx, const UsageWindow& window, std::string zone,
                              std::optional<Instant> now) {
  auto given = [](const std::optional<Instant>& instant) {
    return instant ? Param(utc_text(*instant)) : std::nullopt;
  };
  // 'now' is Postgres' word for the transaction's start.
  Param clock = now ? Param(utc_text(*now)) : Param("now");
  auto bounds =
      run(tx, sql::kWindow,
          {zone, given(window.start), given(window.end), clock, std::to_string(period_days(window.period))});
  const auto& row = bounds.at(0);
  ResolvedWindow resolved{.zone = std::move(zone),
                          .first_day = row[0].as<std::string>(),
                          .start = instant_of(row[2]),
                          .end = instant_of(row[3]),
                          .start_offset = seconds{row[4].as<int>()},
                          .end_offset = seconds{row[5].as<int>()},
                          .days = {}};
  auto day_count = row[1].as<int>();
  for (const auto& day :
       run(tx, sql::kDays, {resolved.zone, resolved.first_day, std::to_string(day_count)})) {
    resolved.days.push_back({instant_of(day[0]), seconds{day[1].as<int>()}});
  }
  return resolved;
}

/// Usage of `tenants` in the window, only of `aliases` unless that is empty.
std::vector<Cell> load_cells(pqxx::work& tx, const ResolvedWindow& window,
                             const std::vector<ReportTenant>& tenants,
                             const std::vector<std::string>& aliases) {
  std::vector<Cell> cells;
  if (tenants.empty()) return cells;
  auto result =
      run(tx, sql::kCells,
          {window.zone, window.first_day, postgres::text_array(ids_of(tenants)), utc_text(window.start),
           utc_text(window.end), aliases.empty() ? "false" : "true", postgres::text_array(aliases)});
  for (const auto& row : result) {
    auto day = row[2].as<long>();
    // The range filter keeps every row inside the window's days; this guards the index all the same.
    if (day < 0 || static_cast<std::size_t>(day) >= window.days.size()) continue;
    cells.push_back({.tenant_id = row[0].as<std::string>(),
                     .model_alias = row[1].as<std::string>(),
                     .day = static_cast<std::size_t>(day),
                     .provider = row[3].is_null() ? std::nullopt : Param(row[3].as<std::string>()),
                     .last_at = row[4].as<std::int64_t>(),
                     .counts = {row[5].as<std::int64_t>(), row[6].as<std::int64_t>(),
                                row[7].as<std::int64_t>(), row[8].as<std::int64_t>()}});
  }
  return cells;
}

/// The tenants the query names, each of which must be in the scope: one that is not answers exactly as
/// one that does not exist, so the answer tells nothing about other tenants.
std::vector<ReportTenant> named_tenants(const ReportScope& scope, const std::vector<std::string>& ids) {
  std::vector<ReportTenant> named;
  for (const auto& id : ids) {
    auto found = std::find_if(scope.tenants.begin(), scope.tenants.end(),
                              [&id](const ReportTenant& tenant) { return tenant.id == id; });
    if (found == scope.tenants.end()) {
      throw ApiError(404, "invalid_request_error", "tenant_not_found", "No such tenant.", "tenant_ids");
    }
    named.push_back(*found);
  }
  return named;
}

double usd_of(std::int64_t cents) { return static_cast<double>(cents) / 100.0; }

/// `{requests, tokens, cost_cents, cost_usd}`, with the prompt/completion split when `split`.
nlohmann::json counts_json(const Counts& counts, bool split) {
  auto cents = cents_from_micros(counts.cost_micros);
  nlohmann::json out = {{"requests", counts.requests},
                        {"tokens", counts.prompt_tokens + counts.completion_tokens},
                        {"cost_cents", cents},
                        {"cost_usd", usd_of(cents)}};
  if (split) {
    out["prompt_tokens"] = counts.prompt_tokens;
    out["completion_tokens"] = counts.completion_tokens;
  }
  return out;
}

nlohmann::json points_json(const ResolvedWindow& window, const Series& series, bool split) {
  auto points = nlohmann::json::array();
  for (std::size_t i = 0; i < window.days.size(); ++i) {
    auto point = counts_json(series.points[i], split);
    point["date"] = format_rfc3339(window.days[i].midnight, window.days[i].offset);
    points.push_back(std::move(point));
  }
  return points;
}

nlohmann::json window_json(const UsageQuery& query, const ResolvedWindow& window) {
  return {{"period", period_name(query.window)},
          {"timezone", window.zone},
          {"start", format_rfc3339(window.start, window.start_offset)},
          {"end", format_rfc3339(window.end, window.end_offset)}};
}

nlohmann::json nullable(const std::optional<std::string>& text) {
  return text ? nlohmann::json(*text) : nlohmann::json(nullptr);
}

}  // namespace

ReportScope every_tenant(pqxx::work& tx) {
  ReportScope scope{.tenants = {}, .list_idle_tenants = false};
  for (const auto& row : tx.exec(sql::kEveryTenant)) {
    scope.tenants.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
  }
  return scope;
}

std::string UsageReports::canonical_zone(pqxx::work& tx, const std::string& name) {
  std::string key = name;
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  {
    std::lock_guard lock(mutex_);
    if (auto found = zones_.find(key); found != zones_.end()) return found->second;
  }
  // pg_timezone_names reads the zone files on every call (tens of milliseconds), hence the cache.
  auto result = run(tx, sql::kZone, {name});
  if (result.empty()) {
    throw ApiError::invalid_request(
        "Unknown time zone '" + name + "'; use an IANA name such as Europe/Berlin.", "timezone");
  }
  auto canonical = result[0][0].as<std::string>();
  std::lock_guard lock(mutex_);
  zones_.emplace(std::move(key), canonical);
  return canonical;
}

nlohmann::json UsageReports::summary(pqxx::work& tx, const UsageQuery& query, const ReportScope& scope,
                                     std::optional<Instant> now) {
  auto tenants = query.tenant_ids.empty() ? scope.tenants : named_tenants(scope, query.tenant_ids);
  auto window = resolve_window(tx, query.window, canonical_zone(tx, query.window.timezone), now);
  auto cells = load_cells(tx, window, tenants, query.model_aliases);

  auto days = window.days.size();
  Series overall(days);
  std::map<std::string, Series> by_tenant;
  std::map<std::string, Series> by_model;
  for (const auto& cell : cells) {
    overall.add(cell);
    by_tenant.try_emplace(cell.tenant_id, days).first->second.add(cell);
    by_model.try_emplace(cell.model_alias, days).first->second.add(cell);
  }

  auto tenant_list = nlohmann::json::array();
  for (const auto& tenant : tenants) {
    auto found = by_tenant.find(tenant.id);
    bool idle = found == by_tenant.end();
    if (idle && query.tenant_ids.empty() && !scope.list_idle_tenants) continue;
    tenant_list.push_back({{"id", tenant.id},
                           {"label", tenant.label},
                           {"totals", counts_json(idle ? Counts{} : found->second.total, true)}});
  }

  // Named aliases are listed in the order named, used or not; otherwise every alias used, by name.
  for (const auto& alias : query.model_aliases) by_model.try_emplace(alias, days);
  std::vector<std::string> aliases = query.model_aliases;
  if (aliases.empty()) {
    for (const auto& [alias, series] : by_model) aliases.push_back(alias);
  }
  auto model_list = nlohmann::json::array();
  for (const auto& alias : aliases) {
    const auto& series = by_model.at(alias);
    model_list.push_back({{"alias", alias},
                          {"provider", nullable(series.provider)},
                          {"totals", counts_json(series.total, true)}});
  }

  auto out = window_json(query, window);
  out["totals"] = counts_json(overall.total, true);
  out["points"] = points_json(window, overall, true);
  out["tenants"] = std::move(tenant_list);
  out["models"] = std::move(model_list);
  return out;
}

nlohmann::json UsageReports::compare(pqxx::work& tx, const UsageQuery& query, const ReportScope& scope,
                                     std::optional<Instant> now) {
  bool tenants_named = !query.tenant_ids.empty();
  auto tenants = tenants_named ? named_tenants(scope, query.tenant_ids) : scope.tenants;
  bool tenant_series = tenants_named || query.model_aliases.empty();
  auto window = resolve_window(tx, query.window, canonical_zone(tx, query.window.timezone), now);
  // Tenant series count every model, so the aliases narrow the scan only when there are none.
  auto cells =
      load_cells(tx, window, tenants, tenant_series ? std::vector<std::string>{} : query.model_aliases);

  auto days = window.days.size();
  std::map<std::string, Series> by_tenant;
  std::map<std::string, Series> by_model;
  for (const auto& alias : query.model_aliases) by_model.try_emplace(alias, days);
  for (const auto& cell : cells) {
    by_tenant.try_emplace(cell.tenant_id, days).first->second.add(cell);
    if (auto found = by_model.find(cell.model_alias); found != by_model.end()) found->second.add(cell);
  }

  auto series = nlohmann::json::array();
  auto add_series = [&](const char* kind, const std::string& id, const std::string& label,
                        const Series& data) {
    series.push_back({{"kind", kind},
                      {"id", id},
                      {"label", label},
                      {"provider", nullable(data.provider)},
                      {"totals", counts_json(data.total, false)},
                      {"points", points_json(window, data, false)}});
  };
  if (tenant_series) {
    Series idle(days);
    for (const auto& tenant : tenants) {
      auto found = by_tenant.find(tenant.id);
      if (found == by_tenant.end() && !tenants_named && !scope.list_idle_tenants) continue;
      auto data = found == by_tenant.end() ? idle : found->second;
      // A tenant's line spans several providers: the field is there for the shape, and null.
      data.provider.reset();
      add_series("tenant", tenant.id, tenant.label, data);
    }
  }
  for (const auto& alias : query.model_aliases) add_series("model", alias, alias, by_model.at(alias));

  auto out = window_json(query, window);
  out["series"] = std::move(series);
  return out;
}

}  // namespace switchyard::reports
