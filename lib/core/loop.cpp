#include "core/loop.h"

#include <pthread.h>
#include <signal.h>

#include <future>
#include <stdexcept>

namespace lg::core {

Loop::Loop() {
  if (uv_loop_init(&loop_) != 0) throw std::runtime_error("uv_loop_init failed");
  uv_async_init(&loop_, &async_, &Loop::on_async);
  async_.data = this;
}

Loop::~Loop() {
  if (thread_.joinable()) stop();
  if (!uv_is_closing(reinterpret_cast<uv_handle_t *>(&async_))) {
    uv_close(reinterpret_cast<uv_handle_t *>(&async_), nullptr);
  }
  // Close whatever is left so uv_loop_close can succeed.
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

void Loop::start(std::function<void()> on_start) {
  running_ = true;
  thread_ = std::thread([this, fn = std::move(on_start)]() mutable { run_thread(std::move(fn)); });
}

void Loop::run_thread(std::function<void()> on_start) {
  thread_id_ = std::this_thread::get_id();
  // A peer that closes while we write (a TLS close_notify, a reply) must
  // cost an EPIPE, not the host process: SIGPIPE goes to the writing
  // thread, and this one never wants it, whatever the host does with it.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  if (on_start) on_start();
  uv_run(&loop_, UV_RUN_DEFAULT);
  running_ = false;
  // A stop requested from inside a callback ends here, on this thread.
  if (finally_) {
    auto fn = std::move(finally_);
    fn();
  }
}

void Loop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    queue_.push_back(std::move(fn));
  }
  uv_async_send(&async_);
}

void Loop::call(const std::function<void()> &fn) {
  if (in_loop_thread() || !running_) {
    fn();
    return;
  }
  std::promise<void> done;
  auto future = done.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    queue_.push_back([&] {
      fn();
      done.set_value();
    });
  }
  uv_async_send(&async_);
  future.wait();
}

void Loop::on_async(uv_async_t *handle) {
  static_cast<Loop *>(handle->data)->drain();
}

void Loop::drain() {
  std::deque<std::function<void()>> work;
  {
    std::lock_guard lock(mutex_);
    work.swap(queue_);
  }
  for (auto &fn : work) fn();
}

void Loop::stop(std::function<void()> on_stop) {
  if (!thread_.joinable()) {
    if (on_stop) on_stop();
    return;
  }
  std::promise<void> done;
  auto future = done.get_future();
  {
    std::lock_guard lock(mutex_);
    queue_.push_back([&, fn = std::move(on_stop)] {
      if (fn) fn();
      uv_close(reinterpret_cast<uv_handle_t *>(&async_), nullptr);
      done.set_value();
    });
    stopping_ = true;
  }
  uv_async_send(&async_);
  future.wait();
  thread_.join();
}

void Loop::stop_from_loop(std::function<void()> on_stop, std::function<void()> finally) {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  if (on_stop) on_stop();
  uv_close(reinterpret_cast<uv_handle_t *>(&async_), nullptr);
  finally_ = std::move(finally);
  thread_.detach();
}

}  // namespace lg::core
