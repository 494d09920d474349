#include "switchyard/reports/usage_query.hpp"

#include <algorithm>
#include <cstdio>

#include "switchyard/core/error.hpp"
#include "switchyard/core/ids.hpp"
#include "switchyard/http/message.hpp"

namespace switchyard::reports {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;

/// Reads `count` decimal digits at `pos`, advancing it; nullopt when any is not a digit.
std::optional<int> digits(std::string_view text, std::size_t& pos, std::size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += count;
  return value;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

std::optional<seconds> parse_offset(std::string_view text, std::size_t& pos) {
  if (pos >= text.size()) return std::nullopt;
  char sign = text[pos++];
  if (sign == 'Z' || sign == 'z') return seconds{0};
  if (sign != '+' && sign != '-' && sign != ' ') return std::nullopt;
  auto hh = digits(text, pos, 2);
  if (!hh || !expect(text, pos, ':')) return std::nullopt;
  auto mm = digits(text, pos, 2);
  if (!mm || *hh > 23 || *mm > 59) return std::nullopt;
  seconds offset = hours{*hh} + minutes{*mm};
  return sign == '-' ? -offset : offset;
}

std::string trimmed(std::string_view text) {
  auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

/// The items of a comma list, trimmed, without empties or repeats, in the order first written.
std::vector<std::string> comma_list(std::string_view text, const char* param) {
  std::vector<std::string> items;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = trimmed(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty() || std::find(items.begin(), items.end(), item) != items.end()) continue;
    items.push_back(std::move(item));
  }
  if (items.size() > kMaxListItems) {
    throw ApiError::invalid_request(
        std::string(param) + " names more than " + std::to_string(kMaxListItems) + " items.", param);
  }
  return items;
}

std::vector<std::string> tenant_id_list(std::string_view text) {
  auto ids = comma_list(text, "tenant_ids");
  for (auto& id : ids) {
    if (!is_uuid(id))
      throw ApiError::invalid_request("tenant_ids: '" + id + "' is not a UUID.", "tenant_ids");
    std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return std::tolower(c); });
  }
  // Spelling the same id in two cases made two items above.
  std::vector<std::string> unique;
  for (auto& id : ids) {
    if (std::find(unique.begin(), unique.end(), id) == unique.end()) unique.push_back(std::move(id));
  }
  return unique;
}

std::vector<std::string> model_alias_list(std::string_view text) {
  auto aliases = comma_list(text, "model_aliases");
  for (const auto& alias : aliases) {
    if (alias.size() > 256)
      throw ApiError::invalid_request("model_aliases: an alias is too long.", "model_aliases");
  }
  return aliases;
}

/// Zone names as the tz database spells them (`America/Argentina/Buenos_Aires`, `Etc/GMT+5`); the
/// database decides which exist.
bool plausible_zone_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '_' || c == '-' || c == '+';
  });
}

Instant instant_param(const http::Request& request, const char* name) {
  auto text = request.query_param(name).value_or("");
  auto instant = parse_rfc3339(text);
  if (!instant) {
    throw ApiError::invalid_request(
        std::string(name) + " must be an RFC 3339 date-time with an offset, such as 2025-11-01T00:00:00Z.",
        name);
  }
  return *instant;
}

}  // namespace

std::optional<Instant> parse_rfc3339(std::string_view text) {
  std::size_t pos = 0;
  auto year = digits(text, pos, 4);
  if (!year || !expect(text, pos, '-')) return std::nullopt;
  auto month = digits(text, pos, 2);
  if (!month || !expect(text, pos, '-')) return std::nullopt;
  auto day = digits(text, pos, 2);
  if (!day || !(expect(text, pos, 'T') || expect(text, pos, 't'))) return std::nullopt;
  auto hour = digits(text, pos, 2);
  if (!hour || !expect(text, pos, ':')) return std::nullopt;
  auto minute = digits(text, pos, 2);
  if (!minute || !expect(text, pos, ':')) return std::nullopt;
  auto second = digits(text, pos, 2);
  if (!second) return std::nullopt;

  std::chrono::year_month_day date{std::chrono::year{*year},
                                   std::chrono::month{static_cast<unsigned>(*month)},
                                   std::chrono::day{static_cast<unsigned>(*day)}};
  // 60 is a leap second, which RFC 3339 allows; it counts as the next second's start.
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;

  microseconds fraction{0};
  if (expect(text, pos, '.')) {
    std::size_t first = pos;
    long scale = 100'000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += microseconds{(text[pos] - '0') * scale};
      scale /= 10;
      ++pos;
    }
    if (pos == first) return std::nullopt;
  }
  auto offset = parse_offset(text, pos);
  if (!offset || pos != text.size()) return std::nullopt;

  auto local = std::chrono::sys_days{date} + hours{*hour} + minutes{*minute} + seconds{*second} + fraction;
  Instant instant{local - *offset};
  // No usage predates the epoch, and Postgres has no year 0 that an early date and an offset could reach.
  if (instant < Instant{}) return std::nullopt;
  return instant;
}

std::string format_rfc3339(Instant instant, std::chrono::seconds offset, bool utc_as_z) {
  auto local = instant + offset;
  auto day = std::chrono::floor<days>(local);
  std::chrono::year_month_day date{day};
  std::chrono::hh_mm_ss<microseconds> time{local - day};

  char buffer[64];
  int written =
      std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02ld:%02ld:%02ld", static_cast<int>(date.year()),
                    static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                    static_cast<long>(time.hours().count()), static_cast<long>(time.minutes().count()),
                    static_cast<long>(time.seconds().count()));
  std::string out(buffer, static_cast<std::size_t>(written));
  if (auto micros = time.subseconds().count(); micros != 0) {
    std::snprintf(buffer, sizeof buffer, ".%06ld", static_cast<long>(micros));
    out += buffer;
  }
  if (offset.count() == 0 && utc_as_z) return out + "Z";
  auto magnitude = offset.count() < 0 ? -offset : offset;
  std::snprintf(buffer, sizeof buffer, "%c%02ld:%02ld", offset.count() < 0 ? '-' : '+',
                static_cast<long>(magnitude.count() / 3600),
                static_cast<long>(magnitude.count() % 3600 / 60));
  return out + buffer;
}

std::string_view period_name(const UsageWindow& window) {
  if (window.custom()) return "custom";
  return window.period == Period::last_7_days ? "7d" : "30d";
}

int period_days(Period period) { return period == Period::last_7_days ? 7 : 30; }

std::int64_t cents_from_micros(Micros micros) { return (micros + 5'000) / 10'000; }

UsageQuery parse_usage_query(const http::Request& request) {
  UsageQuery query;
  if (auto period = request.query_param("period"); period && !period->empty()) {
    if (*period == "7d") {
      query.window.period = Period::last_7_days;
    } else if (*period == "30d") {
      query.window.period = Period::last_30_days;
    } else {
      throw ApiError::invalid_request("period must be 7d or 30d.", "period");
    }
  }
  if (auto zone = request.query_param("timezone"); zone && !zone->empty()) {
    if (!plausible_zone_name(*zone)) {
      throw ApiError::invalid_request("timezone must name a time zone, such as America/New_York.",
                                      "timezone");
    }
    query.window.timezone = *zone;
  }

  bool has_start = request.query_param("start").has_value();
  bool has_end = request.query_param("end").has_value();
  if (has_start != has_end) {
    const char* missing = has_start ? "end" : "start";
    throw ApiError::invalid_request("start and end go together: " + std::string(missing) + " is missing.",
                                    missing);
  }
  if (has_start) {
    auto start = instant_param(request, "start");
    auto end = instant_param(request, "end");
    if (end <= start) throw ApiError::invalid_request("end must be after start.", "end");
    if (end - start > kMaxCustomRange) {
      throw ApiError::invalid_request("start and end may be at most 180 days apart.", "end");
    }
    query.window.start = start;
    query.window.end = end;
  }

  query.tenant_ids = tenant_id_list(request.query_param("tenant_ids").value_or(""));
  query.model_aliases = model_alias_list(request.query_param("model_aliases").value_or(""));
  return query;
}

}  // namespace switchyard::reports
