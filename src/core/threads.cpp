#include "switchyard/core/threads.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

namespace switchyard {

namespace {
/// Far enough below the loops' nice 0 that the scheduler favours them, not so far that background work
/// starves on a busy machine.
constexpr int kBackgroundNice = 10;
}  // namespace

void run_as_background_thread() {
  // On Linux a thread has a nice value of its own, set through its thread id. A process started at a
  // lower priority still keeps its own.
  auto self = static_cast<id_t>(gettid());
  errno = 0;
  int current = getpriority(PRIO_PROCESS, self);
  if (errno != 0 || current >= kBackgroundNice) return;
  static_cast<void>(setpriority(PRIO_PROCESS, self, kBackgroundNice));
}

}  // namespace switchyard
