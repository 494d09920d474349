#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/tenancy.hpp"

namespace switchyard::http {
struct Request;
}

/// The query parameters of the usage APIs (`/user/usage`, `/admin/usage` and their `/compare`), read and
/// checked before any database work. Pure.
namespace switchyard::reports {

using Instant = std::chrono::sys_time<std::chrono::microseconds>;

/// The last 7 or 30 days of the caller's time zone, today included.
enum class Period { last_7_days, last_30_days };

/// The time a report covers: a period ending today, or the instants [start, end) when both are given.
struct UsageWindow {
  Period period = Period::last_30_days;
  std::string timezone = "UTC";  ///< as written; the database checks that it names a zone
  std::optional<Instant> start;
  std::optional<Instant> end;

  bool custom() const { return start.has_value(); }
};

struct UsageQuery {
  UsageWindow window;
  std::vector<std::string> tenant_ids;     ///< lower-case UUIDs, no repeats; empty: no filter
  std::vector<std::string> model_aliases;  ///< no repeats; empty: no filter
};

inline constexpr std::chrono::days kMaxCustomRange{180};
/// Ids or aliases one list may name: a chart with more series than this is unreadable anyway.
inline constexpr std::size_t kMaxListItems = 100;

/// `period` (7d or 30d, default 30d), `timezone` (default UTC), `start` + `end` (RFC 3339, both or
/// neither, end after start, at most kMaxCustomRange apart), `tenant_ids` and `model_aliases` (comma
/// lists). Throws ApiError 400 invalid_request_error naming the offending parameter.
UsageQuery parse_usage_query(const http::Request& request);

/// An RFC 3339 date-time with `Z` or a numeric offset (`2025-11-01T00:00:00.5-04:00`) from 1970 on; nullopt
/// otherwise.
/// A space where the offset's sign belongs is read as `+`: an unencoded `+` in a query string arrives so.
std::optional<Instant> parse_rfc3339(std::string_view text);

/// `instant` as RFC 3339 at the UTC offset `offset` (`2025-11-01T00:00:00-04:00`), or with `Z` when the
/// offset is zero and `utc_as_z` is set. Microseconds appear only when there are any.
std::string format_rfc3339(Instant instant, std::chrono::seconds offset, bool utc_as_z = false);

/// What a response's `period` says: "7d", "30d", or "custom" for a start/end window.
std::string_view period_name(const UsageWindow& window);
int period_days(Period period);

/// Whole cents of `micros` (>= 0), half a cent rounded up.
std::int64_t cents_from_micros(Micros micros);

}  // namespace switchyard::reports
