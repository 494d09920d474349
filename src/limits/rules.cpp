#include "switchyard/limits/rules.hpp"

#include <fmt/format.h>

namespace switchyard::limits {

namespace {

using std::chrono::days;
using std::chrono::system_clock;

std::string_view scope_name(ScopeKind kind) { return kind == ScopeKind::key ? "API key" : "tenant"; }

void add_trio(std::vector<Header>& headers, const std::string& unit, const std::optional<WindowUsage>& key,
              const std::optional<WindowUsage>& tenant) {
  const WindowUsage* tightest = nullptr;
  for (const auto* usage : {key ? &*key : nullptr, tenant ? &*tenant : nullptr}) {
    if (usage == nullptr) continue;
    if (tightest == nullptr || usage->remaining() < tightest->remaining() ||
        (usage->remaining() == tightest->remaining() && usage->limit < tightest->limit)) {
      tightest = usage;
    }
  }
  if (tightest == nullptr) return;
  headers.emplace_back("x-ratelimit-limit-" + unit, std::to_string(tightest->limit));
  headers.emplace_back("x-ratelimit-remaining-" + unit, std::to_string(tightest->remaining()));
  headers.emplace_back("x-ratelimit-reset-" + unit, reset_duration(tightest->reset));
}

}  // namespace

system_clock::time_point period_start(BudgetPeriod period, system_clock::time_point now) {
  auto today = std::chrono::floor<days>(now);
  switch (period) {
    case BudgetPeriod::daily:
      return today;
    case BudgetPeriod::weekly: {
      // ISO weeks start on Monday; the epoch was a Thursday.
      auto since_monday = (std::chrono::weekday(today) - std::chrono::Monday).count();
      return today - days(since_monday);
    }
    case BudgetPeriod::monthly: {
      std::chrono::year_month_day date(today);
      return std::chrono::sys_days(date.year() / date.month() / 1);
    }
    case BudgetPeriod::total:
      break;
  }
  return system_clock::time_point{};
}

std::optional<system_clock::time_point> period_end(BudgetPeriod period, system_clock::time_point start) {
  auto day = std::chrono::floor<days>(start);
  switch (period) {
    case BudgetPeriod::daily:
      return day + days(1);
    case BudgetPeriod::weekly:
      return day + days(7);
    case BudgetPeriod::monthly: {
      std::chrono::year_month_day date(day);
      return std::chrono::sys_days((date.year() / date.month() / 1) + std::chrono::months(1));
    }
    case BudgetPeriod::total:
      break;
  }
  return std::nullopt;
}

std::string reset_duration(std::chrono::milliseconds duration) {
  auto ms = duration.count();
  if (ms <= 0) return "0s";
  if (ms < 1000) return fmt::format("{}ms", ms);
  std::string text;
  auto hours = ms / 3'600'000;
  auto minutes = ms / 60'000 % 60;
  if (hours > 0) text += fmt::format("{}h", hours);
  if (hours > 0 || minutes > 0) text += fmt::format("{}m", minutes);
  text += fmt::format("{}", ms / 1000 % 60);
  if (auto fraction = ms % 1000; fraction != 0) {
    auto digits = fmt::format("{:03}", fraction);
    digits.erase(digits.find_last_not_of('0') + 1);
    text += "." + digits;
  }
  return text + "s";
}

std::vector<Header> rate_limit_headers(const ScopeUsage& key, const ScopeUsage& tenant) {
  std::vector<Header> headers;
  add_trio(headers, "requests", key.requests, tenant.requests);
  add_trio(headers, "tokens", key.tokens, tenant.tokens);
  return headers;
}

ApiError refusal_error(const Refusal& refusal) {
  auto scope = scope_name(refusal.scope);
  if (refusal.limit == LimitKind::budget) {
    return {402, "insufficient_quota", "budget_exceeded",
            fmt::format("The {}'s budget is spent for this period.", scope)};
  }
  auto seconds = retry_after_header(refusal)->second;
  std::string what;
  switch (refusal.limit) {
    case LimitKind::parallel:
      what = fmt::format("{} requests in flight at once", refusal.value);
      break;
    case LimitKind::rpm:
      what = fmt::format("{} requests per minute", refusal.value);
      break;
    case LimitKind::tpm:
      what = fmt::format("{} tokens per minute", refusal.value);
      break;
    case LimitKind::budget:
      break;
  }
  return {
      429, "rate_limit_error", "rate_limit_exceeded",
      fmt::format("Rate limit reached: the {} allows {}. Please try again in {}s.", scope, what, seconds)};
}

std::optional<Header> retry_after_header(const Refusal& refusal) {
  if (refusal.limit == LimitKind::budget) return std::nullopt;
  auto seconds = std::max<std::int64_t>(1, (refusal.retry_after.count() + 999) / 1000);
  return Header{"retry-after", std::to_string(seconds)};
}

bool is_limited(const Limits& limits) {
  return limits.budget_micros || limits.rpm || limits.tpm || limits.parallel;
}

}  // namespace switchyard::limits
