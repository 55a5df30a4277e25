// The event loop of one server: a libuv loop running on a thread of its own,
// with a queue through which any thread hands work to it.
#pragma once

#include <uv.h>

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace lg::core {

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop &) = delete;
  Loop &operator=(const Loop &) = delete;

  uv_loop_t *uv() { return &loop_; }

  // Starts the loop thread. `on_start` runs on it before anything else.
  void start(std::function<void()> on_start = {});
  // Runs `fn` on the loop thread and returns at once. Work posted after
  // stop() has begun is dropped.
  void post(std::function<void()> fn);
  // Runs `fn` on the loop thread and waits for it; runs it inline when
  // called on the loop thread (so it is safe from inside callbacks).
  void call(const std::function<void()> &fn);
  // Runs `on_stop` on the loop thread (it must close every handle it owns),
  // lets the loop drain, and joins the thread. Call from another thread.
  void stop(std::function<void()> on_stop = {});
  // Like stop(), but from the loop thread itself: the thread finishes
  // after the current callback returns and then runs `finally`, detached.
  void stop_from_loop(std::function<void()> on_stop, std::function<void()> finally);

  bool in_loop_thread() const { return std::this_thread::get_id() == thread_id_.load(); }
  bool running() const { return running_.load(); }

 private:
  static void on_async(uv_async_t *handle);
  void drain();
  void run_thread(std::function<void()> on_start);

  uv_loop_t loop_{};
  uv_async_t async_{};
  std::mutex mutex_;
  std::deque<std::function<void()>> queue_;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  std::atomic<bool> running_{false};
  bool stopping_ = false;  // guarded by mutex_
  std::function<void()> finally_;
};

}  // namespace lg::core
