#include "switchyard/reports/usage_query.hpp"

#include <gtest/gtest.h>

#include "switchyard/core/error.hpp"
#include "switchyard/http/message.hpp"

namespace switchyard::reports {
namespace {

using namespace std::chrono;

UsageQuery parse(const std::string& query) {
  http::Request request;
  request.method = "GET";
  request.target = "/user/usage?" + query;
  return parse_usage_query(request);
}

/// The ApiError parsing `query` throws; fails the test when it throws none.
ApiError rejection(const std::string& query) {
  try {
    parse(query);
  } catch (const ApiError& error) {
    return error;
  }
  ADD_FAILURE() << "no error for " << query;
  return ApiError::internal("none");
}

Instant utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return Instant{sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss}};
}

TEST(UsageQuery, DefaultsToThirtyDaysInUtcWithNoFilters) {
  auto query = parse("");
  EXPECT_EQ(query.window.period, Period::last_30_days);
  EXPECT_EQ(query.window.timezone, "UTC");
  EXPECT_FALSE(query.window.custom());
  EXPECT_TRUE(query.tenant_ids.empty());
  EXPECT_TRUE(query.model_aliases.empty());
  EXPECT_EQ(period_name(query.window), "30d");
}

TEST(UsageQuery, ReadsSevenDaysAndTheZone) {
  auto query = parse("period=7d&timezone=America%2FNew_York");
  EXPECT_EQ(query.window.period, Period::last_7_days);
  EXPECT_EQ(period_days(query.window.period), 7);
  EXPECT_EQ(query.window.timezone, "America/New_York");
  EXPECT_EQ(period_name(query.window), "7d");
}

TEST(UsageQuery, RefusesOtherPeriodsNamingPeriod) {
  for (const char* bad : {"period=1d", "period=30", "period=7D", "period=90d"}) {
    auto error = rejection(bad);
    EXPECT_EQ(error.status(), 400) << bad;
    EXPECT_EQ(error.type(), "invalid_request_error");
    EXPECT_EQ(error.param(), "period") << bad;
  }
}

TEST(UsageQuery, RefusesZoneNamesThatCannotBeZonesNamingTimezone) {
  for (const char* bad : {"timezone=Europe%2FBerlin%3B%20DROP", "timezone=%27UTC%27", "timezone=a%20b"}) {
    EXPECT_EQ(rejection(bad).param(), "timezone") << bad;
  }
  EXPECT_EQ(rejection("timezone=" + std::string(65, 'A')).param(), "timezone");
}

TEST(UsageQuery, ReadsACustomRangeWithOffsets) {
  auto query = parse("start=2025-11-01T00:00:00-04:00&end=2025-11-08T00:00:00Z&period=7d");
  ASSERT_TRUE(query.window.custom());
  EXPECT_EQ(*query.window.start, utc(2025, 11, 1, 4));
  EXPECT_EQ(*query.window.end, utc(2025, 11, 8));
  EXPECT_EQ(period_name(query.window), "custom");
}

TEST(UsageQuery, StartAndEndGoTogether) {
  EXPECT_EQ(rejection("start=2025-11-01T00:00:00Z").param(), "end");
  EXPECT_EQ(rejection("end=2025-11-01T00:00:00Z").param(), "start");
}

TEST(UsageQuery, RefusesMalformedInstantsNamingTheParameter) {
  EXPECT_EQ(rejection("start=2025-11-01&end=2025-11-02T00:00:00Z").param(), "start");
  EXPECT_EQ(rejection("start=2025-11-01T00:00:00Z&end=yesterday").param(), "end");
  EXPECT_EQ(rejection("start=2025-11-01T00:00:00&end=2025-11-02T00:00:00Z").param(), "start");
  EXPECT_EQ(rejection("start=&end=2025-11-02T00:00:00Z").param(), "start");
}

TEST(UsageQuery, EndMustComeAfterStart) {
  EXPECT_EQ(rejection("start=2025-11-02T00:00:00Z&end=2025-11-02T00:00:00Z").param(), "end");
  EXPECT_EQ(rejection("start=2025-11-02T00:00:00Z&end=2025-11-01T00:00:00Z").param(), "end");
}

TEST(UsageQuery, AllowsExactlyOneHundredEightyDaysAndNotASecondMore) {
  auto query = parse("start=2025-01-01T00:00:00Z&end=2025-06-30T00:00:00Z");
  EXPECT_EQ(*query.window.end - *query.window.start, days{180});
  auto error = rejection("start=2025-01-01T00:00:00Z&end=2025-06-30T00:00:01Z");
  EXPECT_EQ(error.status(), 400);
  EXPECT_EQ(error.param(), "end");
  // The offsets count: these are 180 days and one hour apart.
  EXPECT_EQ(rejection("start=2025-01-01T00:00:00%2B01:00&end=2025-06-30T00:00:00Z").param(), "end");
}

TEST(UsageQuery, ReadsTenantIdsAsLowerCaseUuidsWithoutRepeats) {
  auto query = parse(
      "tenant_ids=0B6E3D1C-1111-4222-8333-944455556666,%20aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee,,"
      "0b6e3d1c-1111-4222-8333-944455556666");
  ASSERT_EQ(query.tenant_ids.size(), 2u);
  EXPECT_EQ(query.tenant_ids[0], "0b6e3d1c-1111-4222-8333-944455556666");
  EXPECT_EQ(query.tenant_ids[1], "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
}

TEST(UsageQuery, RefusesTenantIdsThatAreNotUuidsNamingTenantIds) {
  for (const char* bad : {"tenant_ids=1", "tenant_ids=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeeg",
                          "tenant_ids=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee,x'--",
                          "tenant_ids=aaaaaaaabbbb-cccc-dddd-eeeeeeeeeeee0"}) {
    auto error = rejection(bad);
    EXPECT_EQ(error.status(), 400) << bad;
    EXPECT_EQ(error.param(), "tenant_ids") << bad;
  }
}

TEST(UsageQuery, ReadsModelAliasesInOrderWithoutRepeats) {
  auto query = parse("model_aliases=gpt-4o-mini,claude%2Chaiku,gpt-4o-mini,%20local%20");
  // An encoded comma still separates: the list is split after decoding.
  std::vector<std::string> expected{"gpt-4o-mini", "claude", "haiku", "local"};
  EXPECT_EQ(query.model_aliases, expected);
  EXPECT_EQ(parse("model_aliases=a,,b").model_aliases.size(), 2u);
}

TEST(UsageQuery, RefusesListsLongerThanTheLimit) {
  std::string aliases = "model_aliases=";
  for (std::size_t i = 0; i <= kMaxListItems; ++i) aliases += "m" + std::to_string(i) + ",";
  EXPECT_EQ(rejection(aliases).param(), "model_aliases");
}

TEST(Rfc3339, ReadsZuluOffsetsAndFractions) {
  EXPECT_EQ(parse_rfc3339("2025-11-02T06:30:00Z"), utc(2025, 11, 2, 6, 30));
  EXPECT_EQ(parse_rfc3339("2025-11-02t06:30:00z"), utc(2025, 11, 2, 6, 30));
  EXPECT_EQ(parse_rfc3339("2025-11-02T01:30:00-05:00"), utc(2025, 11, 2, 6, 30));
  EXPECT_EQ(parse_rfc3339("2025-11-02T12:00:00+05:30"), utc(2025, 11, 2, 6, 30));
  EXPECT_EQ(parse_rfc3339("2025-11-02T06:30:00.25Z"), utc(2025, 11, 2, 6, 30) + milliseconds{250});
  EXPECT_EQ(parse_rfc3339("2025-11-02T06:30:00.1234567Z"), utc(2025, 11, 2, 6, 30) + microseconds{123456});
  EXPECT_EQ(parse_rfc3339("2024-02-29T00:00:00Z"), utc(2024, 2, 29));
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), Instant{});
  EXPECT_EQ(parse_rfc3339("9999-12-31T23:59:59Z"), utc(9999, 12, 31, 23, 59, 59));
}

TEST(Rfc3339, ReadsASpaceBeforeTheOffsetAsAPlus) {
  EXPECT_EQ(parse_rfc3339("2025-11-02T07:30:00 01:00"), utc(2025, 11, 2, 6, 30));
}

TEST(Rfc3339, RefusesWhatIsNotOne) {
  for (const char* bad :
       {"", "2025-11-02", "2025-11-02T06:30Z", "2025-11-02T06:30:00", "2025-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z", "2025-11-31T00:00:00Z", "2025-11-02T24:00:00Z", "2025-11-02T06:60:00Z",
        "2025-11-02T06:30:00+5:00", "2025-11-02T06:30:00+24:00", "2025-11-02T06:30:00.Z",
        "2025-11-02T06:30:00Zjunk", "2025-11-02 06:30:00Z", "+2025-11-02T06:30:00Z", "0000-01-01T00:00:00Z",
        "1970-01-01T00:00:00+00:01", "1969-12-31T23:59:59Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

TEST(Rfc3339, FormatsAtAnOffset) {
  auto instant = utc(2025, 11, 1, 4);
  EXPECT_EQ(format_rfc3339(instant, -hours{4}), "2025-11-01T00:00:00-04:00");
  EXPECT_EQ(format_rfc3339(instant, hours{0}), "2025-11-01T04:00:00+00:00");
  EXPECT_EQ(format_rfc3339(instant, hours{0}, true), "2025-11-01T04:00:00Z");
  EXPECT_EQ(format_rfc3339(instant, hours{5} + minutes{45}), "2025-11-01T09:45:00+05:45");
  EXPECT_EQ(format_rfc3339(instant + microseconds{5}, -minutes{30}), "2025-11-01T03:30:00.000005-00:30");
  EXPECT_EQ(format_rfc3339(utc(1970, 1, 1), -hours{5}), "1969-12-31T19:00:00-05:00");
}

TEST(Rfc3339, FormatThenParseIsTheSameInstant) {
  auto instant = utc(2025, 3, 9, 7, 15, 42) + microseconds{987654};
  for (seconds offset :
       {seconds{-hours{5}}, seconds{0}, seconds{hours{9}}, seconds{hours{13} + minutes{45}}}) {
    EXPECT_EQ(parse_rfc3339(format_rfc3339(instant, offset)), instant);
  }
}

TEST(Cents, RoundsHalfACentUp) {
  EXPECT_EQ(cents_from_micros(0), 0);
  EXPECT_EQ(cents_from_micros(4'999), 0);
  EXPECT_EQ(cents_from_micros(5'000), 1);
  EXPECT_EQ(cents_from_micros(14'999), 1);
  EXPECT_EQ(cents_from_micros(15'000), 2);
  EXPECT_EQ(cents_from_micros(4'230'000), 423);
  EXPECT_EQ(cents_from_micros(4'225'000), 423);
  EXPECT_EQ(cents_from_micros(4'224'999), 422);
}

}  // namespace
}  // namespace switchyard::reports
