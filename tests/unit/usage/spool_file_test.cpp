#include "spool_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/temp_dir.hpp"

namespace switchyard::usage {
namespace {

class SpoolFileTest : public ::testing::Test {
 protected:
  switchyard::testing::TempDir temp_{"switchyard-spool"};
  const std::filesystem::path& dir_ = temp_.path();
};

TEST_F(SpoolFileTest, AppendsAndReadsWholeLines) {
  auto file = SpoolFile::create(dir_ / "usage-a.jsonl");
  file.append("one\ntwo\n");
  file.append("three\n");
  EXPECT_EQ(file.size(), 14u);
  EXPECT_EQ(file.read_lines(0, 1 << 20), "one\ntwo\nthree\n");
  EXPECT_EQ(file.read_lines(0, 9), "one\ntwo\n") << "cut at the last newline within the limit";
  EXPECT_EQ(file.read_lines(8, 9), "three\n");
  EXPECT_EQ(file.read_lines(0, 2), "one\n") << "a line longer than the limit still comes whole";
  EXPECT_EQ(file.read_lines(14, 9), "");
}

TEST_F(SpoolFileTest, ALockedFileCannotBeClaimedUntilItsHolderCloses) {
  auto path = dir_ / "usage-b.jsonl";
  {
    auto file = SpoolFile::create(path);
    file.append("x\n");
    EXPECT_FALSE(SpoolFile::try_claim(path)) << "its owner is alive";
  }
  auto claimed = SpoolFile::try_claim(path);
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->size(), 2u);
  EXPECT_FALSE(SpoolFile::try_claim(path)) << "one replayer at a time";
  claimed->remove();
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(SpoolFile::try_claim(path));
}

TEST_F(SpoolFileTest, CreateRefusesAnExistingName) {
  auto path = dir_ / "usage-c.jsonl";
  auto file = SpoolFile::create(path);
  EXPECT_THROW(SpoolFile::create(path), std::system_error);
}

}  // namespace
}  // namespace switchyard::usage
