// Test support: child processes with hard timeouts, temporary folders, test
// media made by ffmpeg, and a server wrapper that records its events.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "livegate/livegate.h"

namespace lgtest {

using namespace std::chrono_literals;

// How many times longer every deadline below is: LG_TEST_TIME_SCALE if set,
// else 4 in a ThreadSanitizer build (which runs 5-15 times slower), else 1.
// Only deadlines stretch; what a test asserts stays the same.
int time_scale();
inline std::chrono::milliseconds scaled(std::chrono::milliseconds timeout) {
  return timeout * time_scale();
}

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A child process; killed (SIGKILL) and reaped when destroyed.
class Process {
 public:
  // stdout and stderr go to files in `log_dir` (or /dev/null if empty).
  Process(std::vector<std::string> argv, const std::string &log_path = "");
  ~Process();
  Process(const Process &) = delete;
  Process &operator=(const Process &) = delete;

  pid_t pid() const { return pid_; }
  // Waits for exit; returns the exit code, 128+signal if killed, or nullopt
  // on timeout (scaled()).
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int sig);
  std::string output() const;  // the log file's contents

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string log_path_;
};

// Runs to completion (or kills at the timeout); returns the exit code.
int run(std::vector<std::string> argv, std::chrono::milliseconds timeout,
        std::string *output = nullptr);

bool have_program(const std::string &name);
bool have_gst_element(const std::string &name);

struct Source {
  std::string path;
  int video_frames = 0;
  int audio_frames = 0;
};
// Test media at `path` (the container follows its extension): 320x240 at
// 30 fps with `video_codec` (libx264, libx265), 1 s GOP, AAC, `seconds` long.
Source make_source(const std::string &path, int seconds, const std::string &video_codec);
// A test FLV (H.264 + AAC) made once per process and cached: 320x240 at
// 30 fps, 1 s GOP, `seconds` long.
const Source &test_source(int seconds = 4);
// Counts frames of one stream ("v:0" or "a:0") with ffprobe -count_frames.
int count_frames(const std::string &path, const std::string &stream);

// Records everything a server reports.
struct Events {
  struct Start {
    uint64_t session_id;
    std::string entry_id, stream_name, remote, encoder, metadata, video_codec, audio_codec;
    lg_role role;
    int width, height, sample_rate, channels;
    lg_codec vcodec, acodec;
  };
  struct Reject {
    lg_status status;
    std::string reason, entry_id, stream_name;
  };
  struct Stop {
    uint64_t session_id;
    std::string entry_id, stream_name, reason;
    lg_status status;
    lg_session_stats stats;
  };
  struct FrameRec {
    uint64_t session_id;
    lg_track_type track;
    int64_t dts_us, pts_us;
    bool key;
    size_t size;
  };
  std::vector<Start> starts;
  std::vector<Reject> rejects;
  std::vector<Stop> stops;
  std::vector<FrameRec> frames;
  struct Output {
    lg_output_event_type type;
    std::string entry_id, stream_name, path, reason;
    uint64_t sequence, bytes, clip_id;
    int64_t duration_ms, latency_us;
    lg_status status;
  };
  std::vector<Output> outputs;
  struct Failover {
    std::string entry_id, stream_name;
    lg_switch_kind kind;
    lg_role from, to;
    lg_input_fault fault;
    bool aligned;
    int64_t gap_ms, lost_ms;
    size_t output_frames;  // how many output frames had gone out before it
  };
  std::vector<Failover> failovers;
  // The continuous output of every stream name, in order.
  struct OutFrame {
    std::string stream_name;
    lg_track_type track;
    int64_t dts_us, pts_us;
    bool key;
    uint64_t hash;  // of the payload
  };
  std::vector<OutFrame> output_frames;
  std::vector<lg_auth_request> auth;  // pointers inside are not kept
  std::vector<std::string> auth_tokens;
};

// One session's frames of one track, in arrival order.
std::vector<Events::FrameRec> frames_of(const Events &ev, uint64_t session, lg_track_type track);
// What a user checks of a received stream, whatever the protocol: every
// frame of `src`, rising timestamps, a keyframe first, the right duration.
void check_complete(const Events &ev, uint64_t session, const Source &src);

class TestServer {
 public:
  explicit TestServer(std::function<void(lg_server_options &)> tweak = {},
                      std::function<void(lg_server_callbacks &)> tweak_callbacks = {});
  ~TestServer();

  lg_server *get() { return server_; }
  int port() const { return port_; }
  lg_entry create_entry(const char *name = "test");
  // The single-URL form ffmpeg publishes to, for this server's port.
  std::string ffmpeg_url(const lg_entry &e, lg_role role = LG_ROLE_PRIMARY,
                         const char *stream = "1", const char *token = nullptr);
  // The single-URL form of any scheme (RTMPS, SRT: ?streamid= percent-encoded)
  // for this server's listener of that scheme.
  std::string url_for(lg_scheme scheme, const lg_entry &e, lg_role role = LG_ROLE_PRIMARY,
                      const char *stream = "1", const char *token = nullptr);
  // The SRT stream id of an entry.
  std::string srt_stream_id(const lg_entry &e, lg_role role = LG_ROLE_PRIMARY,
                            const char *stream = "1", const char *token = nullptr);
  int port_of(lg_protocol protocol);
  std::string data_dir() const { return dir_.file("data"); }
  // The Server + Stream Key form an OBS-like encoder uses.
  std::pair<std::string, std::string> obs_url(const lg_entry &e, lg_role role = LG_ROLE_PRIMARY,
                                              const char *stream = "1");

  // Waits until `pred(events)` holds (checked under the lock on every event),
  // or the timeout (scaled()).
  bool wait_for(const std::function<bool(const Events &)> &pred,
                std::chrono::milliseconds timeout = 30s);
  Events snapshot();
  std::string log_text();

  // Hooks for a test, set from any thread at any time (run on the loop
  // thread, under no lock).
  void set_on_start_hook(std::function<void(const lg_publish_info *)> hook);
  void set_on_authorize_hook(std::function<void(const lg_auth_request *)> hook);

 private:
  static void cb_start(void *user, const lg_publish_info *info);
  static void cb_reject(void *user, const lg_reject_info *info);
  static void cb_stop(void *user, const lg_publish_info *info, const lg_session_stats *stats,
                      lg_status status, const char *reason);
  static void cb_frame(void *user, const lg_publish_info *info, const lg_frame *frame);
  static void cb_authorize(void *user, const lg_auth_request *request);
  static void cb_output(void *user, const lg_output_event *event);
  static void cb_failover(void *user, const lg_failover_event *event);
  static void cb_output_frame(void *user, const char *entry_id, const char *stream_name,
                              const lg_frame *frame);
  static void cb_log(void *user, lg_log_level level, const char *message);

  TempDir dir_;
  lg_server *server_ = nullptr;
  int port_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
  Events events_;
  std::string log_;
  std::function<void(const lg_publish_info *)> on_start_hook_;      // under mutex_
  std::function<void(const lg_auth_request *)> on_authorize_hook_;  // under mutex_
};

}  // namespace lgtest
