#include "failover/health.h"

#include <numeric>

namespace lg::failover {

namespace {
constexpr size_t kAverageWindows = 10;
}

const char *fault_name(Fault fault) {
  switch (fault) {
    case Fault::None:
      return "healthy";
    case Fault::Disconnected:
      return "disconnected";
    case Fault::Stalled:
      return "stalled";
    case Fault::NoKeyframe:
      return "no keyframe";
    case Fault::BitrateCollapse:
      return "bitrate collapse";
    case Fault::Black:
      return "black video";
    case Fault::Frozen:
      return "frozen video";
    case Fault::Silent:
      return "audio silence";
  }
  return "unknown";
}

void Health::connected(int64_t now_us) {
  present_ = true;
  ever_connected_ = true;
  connected_us_ = now_us;
  // A slot that never failed is healthy from its connection on; one that
  // did must first pass the clear time.
  if (fault_ == Fault::None) healthy_since_us_ = now_us;
  last_media_us_ = -1;
  last_keyframe_us_ = -1;
  content_ = {};
  windows_.clear();
  window_start_us_ = -1;
  check(now_us);
}

void Health::disconnected(int64_t now_us) {
  present_ = false;
  check(now_us);
}

void Health::media(const media::Frame &frame, bool has_video, int64_t now_us) {
  has_video_ = has_video;
  last_media_us_ = now_us;
  if (frame.track == media::TrackType::Video && frame.keyframe) last_keyframe_us_ = now_us;
  if (config_->bitrate_collapse_ratio > 0) {
    const int64_t window_us = config_->bitrate_window_ms * 1000;
    if (window_start_us_ < 0) {
      window_start_us_ = now_us;
      windows_.push_back(0);
    }
    while (now_us - window_start_us_ >= window_us) {
      window_start_us_ += window_us;
      windows_.push_back(0);
      if (windows_.size() > kAverageWindows + 1) windows_.pop_front();
    }
    windows_.back() += frame.size;
  }
}

Fault Health::cause(int64_t now_us) const {
  if (!present_) return ever_connected_ ? Fault::Disconnected : Fault::None;
  const int64_t stall_us = config_->stall_ms * 1000;
  const int64_t since = last_media_us_ >= 0 ? last_media_us_ : connected_us_;
  if (now_us - since >= stall_us) return Fault::Stalled;
  if (config_->keyframe_timeout_ms > 0 && has_video_) {
    const int64_t key_since = last_keyframe_us_ >= 0 ? last_keyframe_us_ : connected_us_;
    if (now_us - key_since >= config_->keyframe_timeout_ms * 1000) return Fault::NoKeyframe;
  }
  if (config_->bitrate_collapse_ratio > 0 && windows_.size() == kAverageWindows + 1) {
    // The window before the filling one, against the ten before it.
    const uint64_t recent = windows_[kAverageWindows - 1];
    const uint64_t earlier =
        std::accumulate(windows_.begin(), windows_.begin() + kAverageWindows - 1, uint64_t{0}) +
        recent;
    const double average = static_cast<double>(earlier) / kAverageWindows;
    if (average > 0 && static_cast<double>(recent) < average * config_->bitrate_collapse_ratio) {
      return Fault::BitrateCollapse;
    }
  }
  if (content_.black) return Fault::Black;
  if (content_.frozen) return Fault::Frozen;
  if (content_.silent) return Fault::Silent;
  return Fault::None;
}

void Health::check(int64_t now_us) {
  const Fault now = cause(now_us);
  if (now != Fault::None) {
    fault_ = now;
    cause_gone_us_ = -1;
    return;
  }
  if (fault_ == Fault::None) return;
  if (cause_gone_us_ < 0) cause_gone_us_ = now_us;
  if (now_us - cause_gone_us_ >= config_->clear_ms * 1000) {
    fault_ = Fault::None;
    healthy_since_us_ = now_us;
  }
}

}  // namespace lg::failover
