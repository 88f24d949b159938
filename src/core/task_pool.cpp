#include "core/task_pool.h"

#include <chrono>
#include <utility>

namespace hsmproof {

TaskPool::TaskPool(std::size_t workers) {
  if (workers == 0) workers = 1;
  workers_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

TaskPool::~TaskPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void TaskPool::push(Task task) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

bool TaskPool::run_one() {
  Task task;
  {
    std::lock_guard lock(mutex_);
    if (queue_.empty()) return false;
    task = std::move(queue_.front());
    queue_.pop_front();
  }
  task();
  return true;
}

void TaskPool::worker_loop() {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void TaskPool::Group::spawn(std::function<void()> task) {
  {
    std::lock_guard lock(state_->mutex);
    ++state_->pending;
  }
  pool_.push([state = state_, task = std::move(task)] {
    try {
      task();
    } catch (...) {
      std::lock_guard lock(state->mutex);
      if (!state->first_error) state->first_error = std::current_exception();
    }
    std::lock_guard lock(state->mutex);
    if (--state->pending == 0) state->cv.notify_all();
  });
}

void TaskPool::Group::wait_no_throw() {
  for (;;) {
    {
      std::lock_guard lock(state_->mutex);
      if (state_->pending == 0) return;
    }
    // Help instead of blocking: this is what keeps nested waits from deadlocking.
    if (pool_.run_one()) continue;
    std::unique_lock lock(state_->mutex);
    state_->cv.wait_for(lock, std::chrono::milliseconds(2), [this] { return state_->pending == 0; });
  }
}

void TaskPool::Group::wait() {
  wait_no_throw();
  std::exception_ptr error;
  {
    std::lock_guard lock(state_->mutex);
    error = std::exchange(state_->first_error, nullptr);
  }
  if (error) std::rethrow_exception(error);
}

void parallel_for(TaskPool& pool, std::size_t count, const std::function<void(std::size_t)>& fn) {
  TaskPool::Group group(pool);
  for (std::size_t i = 0; i < count; ++i) group.spawn([&fn, i] { fn(i); });
  group.wait();
}

}  // namespace hsmproof
