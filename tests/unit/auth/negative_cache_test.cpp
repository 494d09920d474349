#include "auth/negative_cache.hpp"

#include <gtest/gtest.h>

#include <string>

namespace switchyard::auth::detail {
namespace {

using namespace std::chrono_literals;
using Clock = NegativeCache::Clock;

TEST(NegativeCache, RemembersUntilExpiry) {
  NegativeCache cache(10);
  auto now = Clock::now();
  cache.insert("a", now + 5s);
  EXPECT_TRUE(cache.contains("a", now));
  EXPECT_TRUE(cache.contains("a", now + 4s));
  EXPECT_FALSE(cache.contains("a", now + 5s));
  EXPECT_EQ(cache.size(), 0u) << "an expired entry is dropped when seen";
  EXPECT_FALSE(cache.contains("b", now));
}

TEST(NegativeCache, AFloodOfKeysStaysWithinTheBound) {
  NegativeCache cache(100);
  auto now = Clock::now();
  for (int i = 0; i < 100'000; ++i) cache.insert("key-" + std::to_string(i), now + 1h);
  EXPECT_EQ(cache.size(), 100u);
  EXPECT_TRUE(cache.contains("key-99999", now)) << "the newest are kept";
  EXPECT_FALSE(cache.contains("key-0", now)) << "the oldest go first";
}

TEST(NegativeCache, ReinsertingMakesAnEntryTheNewest) {
  NegativeCache cache(2);
  auto now = Clock::now();
  cache.insert("a", now + 1h);
  cache.insert("b", now + 1h);
  cache.insert("a", now + 1h);
  cache.insert("c", now + 1h);
  EXPECT_TRUE(cache.contains("a", now));
  EXPECT_FALSE(cache.contains("b", now));
  EXPECT_TRUE(cache.contains("c", now));
}

TEST(NegativeCache, EraseAndClear) {
  NegativeCache cache(10);
  auto now = Clock::now();
  cache.insert("a", now + 1h);
  cache.insert("b", now + 1h);
  cache.erase("a");
  cache.erase("missing");
  EXPECT_FALSE(cache.contains("a", now));
  EXPECT_EQ(cache.size(), 1u);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
}

TEST(NegativeCache, ZeroCapacityKeepsNothing) {
  NegativeCache cache(0);
  cache.insert("a", Clock::now() + 1h);
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace switchyard::auth::detail
