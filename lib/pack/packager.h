// The packager: turns every live output of a server (one per stream name,
// fed by its primary or backup input) into HLS, DVR windows and
// recordings, and cuts clips. Frames reach it on the loop thread and
// are queued (bounded, without copying payloads) to one output thread that
// does all muxing and file work; clips are remuxed on a second thread so a
// long clip never delays live segments. Events go back through `emit`,
// which the owner forwards to the loop thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "auth/store.h"
#include "failover/selector.h"
#include "pack/output.h"
#include "pack/stream_output.h"

namespace lg::pack {

struct ClipRequest {
  std::string entry_id;
  std::string stream_name;
  std::string broadcast;  // empty: the newest
  int64_t start_ms = 0;
  int64_t end_ms = -1;
};

class Packager {
 public:
  using Emit = std::function<void(OutputEvent)>;
  using Log = std::function<void(lg_log_level, std::string)>;

  // `store` must outlive the packager. `emit` and `log` are called from the
  // output threads.
  Packager(OutputConfig config, auth::Store &store, Emit emit, Log log);
  ~Packager();
  Packager(const Packager &) = delete;
  Packager &operator=(const Packager &) = delete;

  // Starts the threads, which first read back what earlier runs left.
  void start();
  // Stops the threads after the queued work is done (live streams are
  // closed as if they had stopped).
  void stop();

  // Loop thread: the continuous output of each stream name, whichever
  // input feeds it.
  void on_output_start(const failover::Output &out);
  void on_output_params(const failover::Output &out);
  void on_output_frame(const failover::Output &out, const media::Frame &frame);
  void on_output_stop(const failover::Output &out);

  // Any thread.
  lg_status set_outputs(const std::string &entry_id, bool dvr, bool recording);
  lg_status request_clip(const ClipRequest &request, uint64_t &clip_id, std::string &error);
  lg_status hls_info(const std::string &entry_id, const std::string &stream_name, HlsInfo &out);
  // Frames dropped because the output threads fell behind, over all streams
  // since the start.
  uint64_t frames_dropped() const { return dropped_total_.load(); }

 private:
  struct StartJob {
    std::string entry_id, stream_name;
    media::VideoParams video;
    media::AudioParams audio;
  };
  struct ParamsJob {
    std::string key;
    media::VideoParams video;
    media::AudioParams audio;
  };
  struct FrameJob {
    std::string key;
    media::Frame frame;
    int64_t arrival_us;
  };
  struct StopJob {
    std::string key;
  };
  struct OutputsJob {
    std::string entry_id;
    bool dvr, recording;
  };
  using Job = std::variant<StartJob, ParamsJob, FrameJob, StopJob, OutputsJob>;

  struct ClipJob {
    uint64_t id;
    std::string entry_id, stream_name;
    std::string broadcast_dir;
    std::string output;
    int64_t start_ms, end_ms;
  };

  // What the loop thread keeps per open output.
  struct Session {
    std::string key;
    bool has_video = false;
    bool dropping = false;  // over the queue limit: until the next keyframe
  };

  static std::string key_of(const std::string &entry, const std::string &stream);
  // Frames wait for the output thread's next turn; other jobs (`urgent`)
  // wake it at once.
  void push(Job job, size_t bytes, bool urgent);
  void run();
  void run_clips();
  void handle(Job &job, int64_t now_ms);
  void restore_all(int64_t now_ms);
  StreamOutput &output_for(const std::string &entry, const std::string &stream);
  void update_master(const std::string &entry_id, bool force = false);
  void publish_info(const StreamOutput &out);
  void send(std::vector<OutputEvent> &events);
  void queue_clip(ClipJob job);

  OutputConfig config_;
  auth::Store &store_;
  Emit emit_;
  Log log_;

  // Loop thread only: output id -> its session.
  std::map<uint64_t, Session> sessions_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<Job, size_t>> jobs_;
  size_t queued_bytes_ = 0;
  bool stopping_ = false;
  bool idle_ = false;    // the output thread waits to be woken
  bool urgent_ = false;  // a job that should not wait for the gathering

  // Output thread only.
  std::map<std::string, std::unique_ptr<StreamOutput>> outputs_;
  std::map<std::string, std::string> masters_;  // entry -> last master text
  std::set<std::string> stale_masters_;         // entries whose master write failed

  std::mutex info_mutex_;
  std::map<std::string, HlsInfo> info_;  // key -> snapshot for hls_info()
  std::map<std::string, uint64_t> dropped_;
  std::atomic<uint64_t> dropped_total_{0};

  std::mutex clip_mutex_;
  std::condition_variable clip_wake_;
  std::deque<ClipJob> clips_;
  bool clips_stopping_ = false;
  std::atomic<uint64_t> next_clip_id_;

  std::thread worker_;
  std::thread clipper_;
};

}  // namespace lg::pack
