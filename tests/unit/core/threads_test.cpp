#include "switchyard/core/threads.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <thread>

namespace switchyard {
namespace {

int own_nice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())); }

TEST(BackgroundThread, RunsBelowTheLoopsWithoutTouchingOtherThreads) {
  int before = own_nice();
  int background = before;
  std::thread worker([&background] {
    run_as_background_thread();
    background = own_nice();
  });
  worker.join();
  EXPECT_GE(background, 10) << "the background thread kept the loops' priority";
  EXPECT_GE(background, before) << "a background thread never gains priority";
  EXPECT_EQ(own_nice(), before) << "only the calling thread changes";
}

}  // namespace
}  // namespace switchyard
