#pragma once
// Bounded concurrency for collectors: a fixed set of worker threads; a task may spawn subtasks
// and wait on them, and a waiting thread runs queued tasks meanwhile, so nested fan-out (regions
// -> pages -> keys) never deadlocks and never exceeds the bound.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace hsmproof {

class TaskPool {
 public:
  explicit TaskPool(std::size_t workers);
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  [[nodiscard]] std::size_t size() const { return workers_.size(); }

  class Group;

 private:
  friend class Group;
  using Task = std::function<void()>;
  void push(Task task);
  bool run_one();  // runs one queued task if any; false when the queue is empty
  void worker_loop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// A set of tasks to wait for together. Exceptions escaping a task are rethrown by wait().
class TaskPool::Group {
 public:
  explicit Group(TaskPool& pool) : pool_(pool), state_(std::make_shared<State>()) {}
  ~Group() { wait_no_throw(); }
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  void spawn(std::function<void()> task);
  void wait();

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    std::size_t pending = 0;
    std::exception_ptr first_error;
  };
  void wait_no_throw();

  TaskPool& pool_;
  std::shared_ptr<State> state_;
};

// Runs fn(i) for i in [0, count) on the pool and waits.
void parallel_for(TaskPool& pool, std::size_t count, const std::function<void(std::size_t)>& fn);

}  // namespace hsmproof
