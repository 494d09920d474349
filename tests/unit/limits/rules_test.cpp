#include "switchyard/limits/rules.hpp"

#include <gtest/gtest.h>

namespace switchyard::limits {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

system_clock::time_point at(year_month_day date, hours hour = 0h, minutes minute = 0min) {
  return sys_days(date) + hour + minute;
}

TEST(PeriodStart, DailyWeeklyMonthlyTotalInUtc) {
  auto now = at(2025y / March / 13, 17h, 45min);  // a Thursday
  EXPECT_EQ(period_start(BudgetPeriod::daily, now), at(2025y / March / 13));
  EXPECT_EQ(period_start(BudgetPeriod::weekly, now), at(2025y / March / 10));
  EXPECT_EQ(period_start(BudgetPeriod::monthly, now), at(2025y / March / 1));
  EXPECT_EQ(period_start(BudgetPeriod::total, now), system_clock::time_point{});
}

TEST(PeriodStart, WeeksStartOnMondayEvenOnSundayAndMonday) {
  EXPECT_EQ(period_start(BudgetPeriod::weekly, at(2025y / March / 16, 23h)), at(2025y / March / 10));
  EXPECT_EQ(period_start(BudgetPeriod::weekly, at(2025y / March / 17)), at(2025y / March / 17));
  EXPECT_EQ(period_start(BudgetPeriod::weekly, at(2025y / January / 1)), at(2024y / December / 30));
}

TEST(PeriodEnd, RollsOverMonthsAndYears) {
  EXPECT_EQ(period_end(BudgetPeriod::daily, at(2024y / February / 28)), at(2024y / February / 29));
  EXPECT_EQ(period_end(BudgetPeriod::weekly, at(2024y / December / 30)), at(2025y / January / 6));
  EXPECT_EQ(period_end(BudgetPeriod::monthly, at(2024y / December / 1)), at(2025y / January / 1));
  EXPECT_EQ(period_end(BudgetPeriod::monthly, at(2024y / February / 1)), at(2024y / March / 1));
  EXPECT_FALSE(period_end(BudgetPeriod::total, system_clock::time_point{}));
}

TEST(ResetDuration, WritesGoDurations) {
  EXPECT_EQ(reset_duration(0ms), "0s");
  EXPECT_EQ(reset_duration(-5ms), "0s");
  EXPECT_EQ(reset_duration(20ms), "20ms");
  EXPECT_EQ(reset_duration(1s), "1s");
  EXPECT_EQ(reset_duration(1500ms), "1.5s");
  EXPECT_EQ(reset_duration(1020ms), "1.02s");
  EXPECT_EQ(reset_duration(6min), "6m0s");
  EXPECT_EQ(reset_duration(60s), "1m0s");
  EXPECT_EQ(reset_duration(1h), "1h0m0s");
  EXPECT_EQ(reset_duration(1h + 2min + 3500ms), "1h2m3.5s");
}

std::string header(const std::vector<Header>& headers, const std::string& name) {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "(absent)";
}

TEST(RateLimitHeaders, PickTheScopeWithTheFewestRemaining) {
  ScopeUsage key{WindowUsage{100, 90, 30s}, std::nullopt};
  ScopeUsage tenant{WindowUsage{60, 10, 1s}, WindowUsage{1000, 400, 6min}};
  auto headers = rate_limit_headers(key, tenant);
  EXPECT_EQ(header(headers, "x-ratelimit-limit-requests"), "100");
  EXPECT_EQ(header(headers, "x-ratelimit-remaining-requests"), "10");
  EXPECT_EQ(header(headers, "x-ratelimit-reset-requests"), "30s");
  EXPECT_EQ(header(headers, "x-ratelimit-limit-tokens"), "1000");
  EXPECT_EQ(header(headers, "x-ratelimit-remaining-tokens"), "600");
  EXPECT_EQ(header(headers, "x-ratelimit-reset-tokens"), "6m0s");
}

TEST(RateLimitHeaders, TieGoesToTheSmallerLimitAndOverUseReadsZero) {
  ScopeUsage key{WindowUsage{10, 15, 1s}, std::nullopt};
  ScopeUsage tenant{WindowUsage{5, 5, 2s}, std::nullopt};
  auto headers = rate_limit_headers(key, tenant);
  EXPECT_EQ(header(headers, "x-ratelimit-limit-requests"), "5");
  EXPECT_EQ(header(headers, "x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(header(headers, "x-ratelimit-limit-tokens"), "(absent)");
}

TEST(RateLimitHeaders, NoneWithoutRateLimits) { EXPECT_TRUE(rate_limit_headers({}, {}).empty()); }

TEST(Refusals, RateLimitsAre429WithRetryAfterRoundedUp) {
  Refusal refusal{LimitKind::rpm, ScopeKind::tenant, 60, 1200ms};
  auto error = refusal_error(refusal);
  EXPECT_EQ(error.status(), 429);
  EXPECT_EQ(error.type(), "rate_limit_error");
  EXPECT_EQ(error.code(), "rate_limit_exceeded");
  EXPECT_NE(std::string(error.what()).find("tenant allows 60 requests per minute"), std::string::npos);
  EXPECT_EQ(retry_after_header(refusal)->second, "2");
  EXPECT_EQ(retry_after_header({LimitKind::parallel, ScopeKind::key, 3, 0ms})->second, "1");
}

TEST(Refusals, BudgetIs402WithoutRetryAfter) {
  Refusal refusal{LimitKind::budget, ScopeKind::key, 1000, 0ms};
  auto error = refusal_error(refusal);
  EXPECT_EQ(error.status(), 402);
  EXPECT_EQ(error.type(), "insufficient_quota");
  EXPECT_EQ(error.code(), "budget_exceeded");
  EXPECT_NE(std::string(error.what()).find("API key"), std::string::npos);
  EXPECT_FALSE(retry_after_header(refusal));
}

}  // namespace
}  // namespace switchyard::limits
