#include <gtest/gtest.h>

#include <limits>
#include <set>

#include "switchyard/usage/usage_record.hpp"

namespace switchyard::usage {
namespace {

constexpr Micros kDollar = 1'000'000;

Prices at(Micros input, Micros output = 0, std::optional<Micros> cached = std::nullopt) {
  Prices prices;
  prices.input_per_mtok = input;
  prices.output_per_mtok = output;
  prices.cached_input_per_mtok = cached;
  return prices;
}

TEST(CostMicros, OneTokenAtOneDollarPerMillionIsExactlyOneMicroDollar) {
  auto prices = at(kDollar, kDollar);
  EXPECT_EQ(cost_micros(prices, 1, 0, 0), 1);
  EXPECT_EQ(cost_micros(prices, 0, 1, 0), 1);
  EXPECT_EQ(cost_micros(prices, 1'000'000, 0, 0), kDollar);
}

TEST(CostMicros, SumsInputAndOutputExactly) {
  auto prices = at(2'500'000, 10'000'000);  // $2.50 and $10 per Mtok
  EXPECT_EQ(cost_micros(prices, 1234, 567, 0), 3085 + 5670);
  EXPECT_EQ(cost_micros(prices, 0, 0, 0), 0);
}

TEST(CostMicros, RoundsTheSumOnceToTheNearestMicroDollarHalvesUp) {
  auto prices = at(150'000, 600'000);           // $0.15 and $0.60 per Mtok
  EXPECT_EQ(cost_micros(prices, 1, 0, 0), 0);   // 0.15
  EXPECT_EQ(cost_micros(prices, 3, 0, 0), 0);   // 0.45
  EXPECT_EQ(cost_micros(prices, 4, 0, 0), 1);   // 0.6
  EXPECT_EQ(cost_micros(prices, 10, 0, 0), 2);  // 1.5: the half goes up
  EXPECT_EQ(cost_micros(prices, 0, 1, 0), 1);   // 0.6
  // Rounded once, not per part: 0.45 + 0.45 is 1, where rounding each part first would give 0.
  EXPECT_EQ(cost_micros(at(150'000, 150'000), 3, 3, 0), 1);
  // 0.5 exactly rounds up, 0.499999 down.
  EXPECT_EQ(cost_micros(at(500'000), 1, 0, 0), 1);
  EXPECT_EQ(cost_micros(at(499'999), 1, 0, 0), 0);
  EXPECT_EQ(cost_micros(at(1'500'000), 1, 0, 0), 2);
}

TEST(CostMicros, CachedTokensUseTheCachedPriceWhenSetElseTheInputPrice) {
  auto prices = at(2'000'000, 8'000'000, 500'000);
  // 600 uncached at $2 (1200) + 400 cached at $0.50 (200) + 100 completion at $8 (800).
  EXPECT_EQ(cost_micros(prices, 1000, 100, 400), 2200);
  prices.cached_input_per_mtok.reset();
  EXPECT_EQ(cost_micros(prices, 1000, 100, 400), 2800);
  prices.cached_input_per_mtok = 0;
  EXPECT_EQ(cost_micros(prices, 1000, 0, 1000), 0);
}

TEST(CostMicros, ToleratesWhatAProviderMightReport) {
  auto prices = at(kDollar, kDollar, 0);
  EXPECT_EQ(cost_micros(prices, 10, 0, 50), 0) << "cached beyond prompt counts as all of prompt";
  EXPECT_EQ(cost_micros(prices, -5, -5, -5), 0);
  EXPECT_EQ(cost_micros(at(-kDollar), 10, 0, 0), 0);
}

TEST(CostMicros, LargeCountsStayExactAndExtremesSaturate) {
  auto prices = at(60'000'000, 120'000'000);
  EXPECT_EQ(cost_micros(prices, 1'000'000'000, 1'000'000'000, 0), 180'000LL * kDollar);
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(cost_micros(at(kMax, kMax), kMax, kMax, 0), kMax);
  EXPECT_EQ(cost_micros(at(kDollar), kMax, 0, 0), kMax);
}

TEST(UsageId, IsAVersion4UuidAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = new_usage_id();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[8], '-');
    EXPECT_EQ(id[14], '4');
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RequestOutcome, RoundTripsItsText) {
  for (auto outcome : {RequestOutcome::completed, RequestOutcome::failed, RequestOutcome::cancelled}) {
    EXPECT_EQ(parse_request_outcome(to_string(outcome)), outcome);
  }
  EXPECT_FALSE(parse_request_outcome("done"));
}

}  // namespace
}  // namespace switchyard::usage
