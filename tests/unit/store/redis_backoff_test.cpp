#include <gtest/gtest.h>

#include "store/redis/backoff.hpp"

namespace switchyard::redis {
namespace {

using std::chrono::milliseconds;

TEST(RedisBackoff, DoublesFromOneHundredMilliseconds) {
  EXPECT_EQ(reconnect_delay(1, milliseconds(5'000), 1.0), milliseconds(100));
  EXPECT_EQ(reconnect_delay(2, milliseconds(5'000), 1.0), milliseconds(200));
  EXPECT_EQ(reconnect_delay(3, milliseconds(5'000), 1.0), milliseconds(400));
  EXPECT_EQ(reconnect_delay(6, milliseconds(5'000), 1.0), milliseconds(3'200));
}

TEST(RedisBackoff, StopsAtTheCap) {
  EXPECT_EQ(reconnect_delay(7, milliseconds(5'000), 1.0), milliseconds(5'000));
  EXPECT_EQ(reconnect_delay(40, milliseconds(5'000), 1.0), milliseconds(5'000));
  EXPECT_EQ(reconnect_delay(4'000'000'000u, milliseconds(5'000), 1.0), milliseconds(5'000));
}

TEST(RedisBackoff, CapBelowTheFirstDelayWins) {
  EXPECT_EQ(reconnect_delay(1, milliseconds(30), 1.0), milliseconds(30));
  EXPECT_EQ(reconnect_delay(1, milliseconds(0), 1.0), milliseconds(0));
  EXPECT_EQ(reconnect_delay(1, milliseconds(-5), 1.0), milliseconds(0));
}

TEST(RedisBackoff, JitterScalesTheDelay) {
  EXPECT_EQ(reconnect_delay(1, milliseconds(5'000), 0.5), milliseconds(50));
  EXPECT_EQ(reconnect_delay(7, milliseconds(5'000), 0.75), milliseconds(3'750));
}

TEST(RedisBackoff, JitterOutsideTheUnitIntervalIsClamped) {
  EXPECT_EQ(reconnect_delay(1, milliseconds(5'000), 3.0), milliseconds(100));
  EXPECT_EQ(reconnect_delay(1, milliseconds(5'000), -1.0), milliseconds(0));
}

TEST(RedisBackoff, ZeroFailuresIsTheFirstDelay) {
  EXPECT_EQ(reconnect_delay(0, milliseconds(5'000), 1.0), milliseconds(100));
}

}  // namespace
}  // namespace switchyard::redis
