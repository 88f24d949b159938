#include "core/task_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <stdexcept>

namespace hsmproof {
namespace {

TEST(TaskPool, NestedFanOutCompletesWithOneWorker) {
  // One worker and three levels of nesting: only "help while waiting" makes this finish.
  TaskPool pool(1);
  std::atomic<int> leaves{0};
  parallel_for(pool, 4, [&](std::size_t) {
    parallel_for(pool, 4, [&](std::size_t) {
      parallel_for(pool, 4, [&](std::size_t) { leaves.fetch_add(1); });
    });
  });
  EXPECT_EQ(leaves.load(), 64);
}

TEST(TaskPool, ConcurrencyNeverExceedsWorkersPlusWaiter) {
  TaskPool pool(3);
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  parallel_for(pool, 200, [&](std::size_t) {
    const int now = running.fetch_add(1) + 1;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    running.fetch_sub(1);
  });
  EXPECT_LE(peak.load(), 4);
  EXPECT_GE(peak.load(), 1);
}

TEST(TaskPool, ExceptionInTaskIsRethrownByWait) {
  TaskPool pool(2);
  TaskPool::Group group(pool);
  group.spawn([] { throw std::runtime_error("boom"); });
  group.spawn([] {});
  EXPECT_THROW(group.wait(), std::runtime_error);
}

}  // namespace
}  // namespace hsmproof
