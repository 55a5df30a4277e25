// Content health of live inputs: black video, frozen video and audio
// silence, the faults an encoder keeps "healthy" at the transport level
// while viewers see nothing. Only what the checks need is decoded (video
// keyframes, which decode on their own; audio frames while silence is
// checked), on one worker thread behind a bounded queue, so the loop thread
// never decodes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "media/frame.h"

namespace lg::failover {

struct ContentConfig {
  bool black = false;
  // A picture is black when at least black_pixel_ratio of its luma samples
  // are at or below black_luma (0..1 of the nominal range, 16..235 for
  // limited-range video).
  double black_luma = 0.10;
  double black_pixel_ratio = 0.98;
  int64_t black_after_ms = 2000;

  bool frozen = false;
  // Frozen when the mean absolute luma difference between consecutive
  // checked pictures stays at or below frozen_difference (0..1 of 255).
  double frozen_difference = 0.001;
  int64_t frozen_after_ms = 4000;

  bool silence = false;
  double silence_dbfs = -60.0;  // RMS over all channels
  int64_t silence_after_ms = 3000;

  // At most this many keyframes a second are decoded per input.
  double max_video_checks_per_s = 2.0;
  // Queued but not yet checked; over it, frames are skipped (and counted).
  size_t queue_bytes = 8 * 1024 * 1024;

  bool any() const { return black || frozen || silence; }
};

// One input's content state; a flag is set once its condition has held for
// its configured time, in the input's media time.
struct ContentState {
  bool black = false;
  bool frozen = false;
  bool silent = false;
  bool operator==(const ContentState &) const = default;
  bool any() const { return black || frozen || silent; }
};

class ContentChecker {
 public:
  // `report(input, state)` is called from the worker thread whenever an
  // input's state changes.
  using Report = std::function<void(uint64_t input, ContentState state)>;

  ContentChecker(ContentConfig config, Report report);
  ~ContentChecker();
  ContentChecker(const ContentChecker &) = delete;
  ContentChecker &operator=(const ContentChecker &) = delete;

  const ContentConfig &config() const { return config_; }

  // Any thread (in practice the loop thread). Calls for an input id are
  // made in order: open, frames (and reopen on new parameters), close.
  void open(uint64_t input, const media::VideoParams &video, const media::AudioParams &audio);
  void frame(uint64_t input, const media::Frame &frame);
  void close(uint64_t input);

  // Frames skipped because the queue was full.
  uint64_t skipped() const;
  // Blocks until everything queued so far has been checked (for tests).
  void drain();

 private:
  struct Job;
  struct Input;
  void run();

  ContentConfig config_;
  Report report_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::unique_ptr<Job>> jobs_;
  size_t queued_bytes_ = 0;
  uint64_t skipped_ = 0;
  bool busy_ = false;
  bool stopping_ = false;
  std::map<uint64_t, int64_t> last_video_check_us_;    // input -> media time, for rate limiting
  std::map<uint64_t, std::unique_ptr<Input>> inputs_;  // worker thread only
  std::thread worker_;
};

}  // namespace lg::failover
