#include <gtest/gtest.h>

#include "switchyard/store/redis_client.hpp"

namespace switchyard::redis {
namespace {

using namespace std::string_literals;

TEST(RedisScript, Sha1IsWhatRedisNamesTheScript) {
  // `redis-cli SCRIPT LOAD "return 1"` answers this name.
  Script script("return 1");
  EXPECT_EQ(script.source(), "return 1");
  EXPECT_EQ(script.sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

TEST(RedisScript, Sha1OfEmptySource) {
  EXPECT_EQ(Script("").sha1(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(RedisScript, Sha1CoversEveryByte) {
  EXPECT_NE(Script("return 1").sha1(), Script("return 1 ").sha1());
  EXPECT_EQ(Script("return '\0'"s).sha1().size(), 40u);
}

}  // namespace
}  // namespace switchyard::redis
