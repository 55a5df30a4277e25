// The health of one input slot (an entry's primary or backup for one
// stream name), judged on the loop's timers from what arrived and when:
// a stalled or vanished input is noticed when its time is up, not when its
// next packet finally comes. The state belongs to the slot, not to a
// connection, so an encoder that keeps reconnecting stays unhealthy until it
// has behaved for the clear time.
#pragma once

#include <cstdint>
#include <deque>

#include "failover/content_check.h"
#include "media/frame.h"

namespace lg::failover {

enum class Fault : uint8_t {
  None = 0,
  Disconnected,
  Stalled,
  NoKeyframe,
  BitrateCollapse,
  Black,
  Frozen,
  Silent,
};

// "disconnected", "stalled", "no keyframe", ...; "healthy" for None.
const char *fault_name(Fault fault);

struct HealthConfig {
  int64_t stall_ms = 1500;              // no media for this long
  int64_t keyframe_timeout_ms = 10000;  // 0: not checked
  // Bitrate over the last bitrate_window_ms below this share of its average
  // over the previous 10 windows; 0 turns the check off.
  double bitrate_collapse_ratio = 0;
  int64_t bitrate_window_ms = 1000;
  // A fault clears once its cause has been absent this long.
  int64_t clear_ms = 2000;
};

class Health {
 public:
  explicit Health(const HealthConfig &config) : config_(&config) {}

  // A connection started feeding the slot.
  void connected(int64_t now_us);
  void disconnected(int64_t now_us);
  void media(const media::Frame &frame, bool has_video, int64_t now_us);
  void content(ContentState state) { content_ = state; }

  // Re-evaluates the faults; call on the loop's timer and after events.
  void check(int64_t now_us);

  bool present() const { return present_; }
  bool healthy() const { return fault_ == Fault::None; }
  Fault fault() const { return fault_; }
  // Since when the slot has been healthy without a break; -1 if it is not.
  int64_t healthy_since_us() const { return healthy() ? healthy_since_us_ : -1; }
  int64_t last_media_us() const { return last_media_us_; }
  // What is wrong right now, before the clear time is applied.
  Fault cause(int64_t now_us) const;

 private:
  const HealthConfig *config_;
  bool present_ = false;
  bool ever_connected_ = false;  // a slot never used is not a failed one
  bool has_video_ = false;
  Fault fault_ = Fault::None;
  int64_t cause_gone_us_ = -1;  // when the fault's cause last disappeared
  int64_t healthy_since_us_ = 0;
  int64_t connected_us_ = 0;
  int64_t last_media_us_ = -1;
  int64_t last_keyframe_us_ = -1;
  ContentState content_;
  // Bytes per bitrate window, oldest first; the last one is filling.
  std::deque<uint64_t> windows_;
  int64_t window_start_us_ = -1;
};

}  // namespace lg::failover
