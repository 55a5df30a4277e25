// RTMP timestamps are 32-bit milliseconds that wrap after 49.7 days and may
// step back slightly between interleaved tracks; this turns them into one
// 64-bit timeline per track.
#pragma once

#include <cstdint>

namespace lg::ingest {

class TimestampExtender {
 public:
  // Returns the 64-bit millisecond time of a 32-bit RTMP timestamp.
  int64_t extend(uint32_t ts) {
    if (!have_last_) {
      have_last_ = true;
      last_raw_ = ts;
      extended_ = ts;
      return extended_;
    }
    // The signed difference takes wrap-around and small reorderings alike.
    int32_t delta = static_cast<int32_t>(ts - last_raw_);
    last_raw_ = ts;
    extended_ += delta;
    return extended_;
  }

 private:
  bool have_last_ = false;
  uint32_t last_raw_ = 0;
  int64_t extended_ = 0;
};

}  // namespace lg::ingest
