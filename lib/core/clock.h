// The two clocks everything is timed by: the steady clock for intervals
// (detection, latency) and the wall clock for what users see (Unix ms).
#pragma once

#include <chrono>
#include <cstdint>

namespace lg::core {

inline int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace lg::core
