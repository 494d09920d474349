#include "switchyard/core/money.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace switchyard {
namespace {

TEST(Money, ParsesDecimalUsdExactly) {
  EXPECT_EQ(parse_usd("10"), 10'000'000);
  EXPECT_EQ(parse_usd("0.15"), 150'000);
  EXPECT_EQ(parse_usd("0.000001"), 1);
  EXPECT_EQ(parse_usd(".5"), 500'000);
  EXPECT_EQ(parse_usd("1.2500000"), 1'250'000);
}

TEST(Money, RefusesWhatIsNotAPlainAmount) {
  for (const char* text : {"", ".", "-1", "1e3", "0.0000001", "abc", "1,5", "9223372036854775807"}) {
    EXPECT_FALSE(parse_usd(text).has_value()) << text;
  }
}

TEST(Money, ReadsJsonNumbersThroughTheirShortestSpelling) {
  EXPECT_EQ(usd_from_json(nlohmann::json(0.1)), 100'000);
  EXPECT_EQ(usd_from_json(nlohmann::json(4.23)), 4'230'000);
  EXPECT_EQ(usd_from_json(nlohmann::json(25)), 25'000'000);
  EXPECT_EQ(usd_from_json(nlohmann::json("7.5")), 7'500'000);
  EXPECT_EQ(usd_from_json(nlohmann::json(1e-06)), 1);
  EXPECT_FALSE(usd_from_json(nlohmann::json(-1)).has_value());
  EXPECT_FALSE(usd_from_json(nlohmann::json(-0.5)).has_value());
  EXPECT_FALSE(usd_from_json(nlohmann::json(true)).has_value());
  EXPECT_FALSE(usd_from_json(nlohmann::json::array()).has_value());
}

TEST(Money, FormatsWithoutTrailingZeros) {
  EXPECT_EQ(format_usd(1), "0.000001");
  EXPECT_EQ(format_usd(10'000'000), "10");
  EXPECT_EQ(format_usd(150'000), "0.15");
  EXPECT_DOUBLE_EQ(usd_number(4'230'000), 4.23);
}

}  // namespace
}  // namespace switchyard
