// The loop's cross-thread calls. State that only the loop thread touches is
// kept in plain variables here on purpose: under ThreadSanitizer (LG_TSAN)
// these tests fail if post(), call() or stop() stop ordering the work they
// hand over with the threads that handed it.
#include "core/loop.h"

#include <catch2/catch.hpp>
#include <memory>
#include <thread>
#include <vector>

using lg::core::Loop;

TEST_CASE("work posted from several threads runs on the loop thread, in order per thread",
          "[core][loop]") {
  Loop loop;
  loop.start();
  constexpr int kThreads = 4;
  constexpr int kPosts = 500;
  // Loop thread only, like every connection's state.
  std::vector<std::vector<int>> seen(kThreads);
  bool off_loop = false;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPosts; ++i) {
        // What a worker hands over: data written here, read there.
        auto payload = std::make_shared<int>(i);
        loop.post([&, t, payload] {
          if (!loop.in_loop_thread()) off_loop = true;
          seen[t].push_back(*payload);
        });
      }
    });
  }
  for (auto &p : posters) p.join();
  std::vector<std::vector<int>> result;
  loop.call([&] { result = seen; });
  loop.stop();
  CHECK_FALSE(off_loop);
  for (const auto &per_thread : result) {
    REQUIRE(per_thread.size() == kPosts);
    for (int i = 0; i < kPosts; ++i) CHECK(per_thread[i] == i);
  }
}

TEST_CASE("call() sees what the loop wrote and the loop sees what the caller wrote",
          "[core][loop]") {
  Loop loop;
  loop.start();
  int counter = 0;  // loop thread, and callers only inside call()
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) loop.call([&] { ++counter; });
    });
  }
  for (int i = 0; i < 200; ++i) loop.post([&] { ++counter; });
  for (auto &c : callers) c.join();
  int total = 0;
  loop.call([&] { total = counter; });
  CHECK(total == 800);
  // stop() runs its closure on the loop thread and joins it: what the loop
  // wrote last is ours afterwards.
  loop.stop([&] { counter += 1; });
  CHECK(counter == 801);
}

TEST_CASE("posting while the loop stops is dropped, never raced", "[core][loop]") {
  for (int round = 0; round < 20; ++round) {
    Loop loop;
    loop.start();
    int ran = 0;  // loop thread only until stop() has joined it
    std::thread poster([&] {
      for (int i = 0; i < 200; ++i) loop.post([&] { ++ran; });
    });
    loop.stop();
    poster.join();
    CHECK(ran <= 200);
  }
}
