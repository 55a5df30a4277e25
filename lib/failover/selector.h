// One stream name of one entry: its primary and backup inputs in, one
// continuous output out. The selector decides which input feeds the output,
// switches at keyframes, and maps every input's timestamps onto the
// output's timeline so that what comes out keeps rising whatever happened
// upstream: a failover, a switch back, an encoder that reconnected.
//
// Sans-I/O: the caller passes the time and drives check() from a timer;
// everything the output does reaches the Sink synchronously.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

#include "failover/health.h"
#include "media/frame.h"
#include "url/endpoint.h"

namespace lg::failover {

using url::Role;

enum class Policy : uint8_t {
  Auto,    // back to the primary once it has been healthy for switch_back_ms
  Manual,  // back only when the host asks
  Sticky,  // stay on whichever input took over
};

struct FailoverConfig {
  HealthConfig health;
  Policy policy = Policy::Auto;
  int64_t switch_back_ms = 10000;
  // The output stays open this long for an input to come back after the
  // last one left: a reconnecting encoder continues the same broadcast.
  int64_t reconnect_window_ms = 10000;
  // A standby input keeps what arrived within the stall time and a second
  // more, and at least back to its latest keyframe, within this many bytes.
  // The active input keeps them only while a standby is there.
  size_t input_buffer_bytes = 32 * 1024 * 1024;
  ContentConfig content;
};

enum class SwitchKind : uint8_t {
  Failover,    // the active input failed
  SwitchBack,  // the policy returned to the primary
  Manual,      // the host asked
  Resume,      // the output had no input and one (re)connected
};

const char *switch_kind_name(SwitchKind kind);

struct SwitchEvent {
  SwitchKind kind = SwitchKind::Failover;
  Role from = Role::Primary;
  Role to = Role::Backup;
  Fault fault = Fault::None;  // Failover: what was wrong with `from`
  // Both inputs carried the same frames at the same times (one encoder
  // pushing to both): the output went on with the first frame not yet
  // sent. Otherwise it went on from the new input's latest keyframe.
  bool aligned = false;
  // Wall time the output went without a frame across the switch, up to the
  // new input's first frame (the event is sent with it).
  int64_t gap_ms = 0;
  // Media the output skipped: exact when aligned (beyond one frame
  // interval), estimated from arrival times otherwise (negative: repeated).
  int64_t lost_ms = 0;
};

// The output as its consumers see it.
struct Output {
  uint64_t id = 0;  // one per opening; never reused by a selector
  std::string entry_id;
  std::string stream_name;
  media::VideoParams video;
  media::AudioParams audio;
  Role active = Role::Primary;
  uint64_t session_id = 0;  // the active input's connection
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void output_start(const Output &) = 0;
  virtual void output_params(const Output &) = 0;
  virtual void output_frame(const Output &, const media::Frame &) = 0;
  virtual void output_stop(const Output &) = 0;
  virtual void output_switch(const Output &, const SwitchEvent &) = 0;
};

struct SelectorStats {
  bool open = false;
  bool has_active = false;
  Role active = Role::Primary;
  bool present[2] = {false, false};
  Fault fault[2] = {Fault::None, Fault::None};
  uint64_t switches = 0;  // failovers, switch-backs and manual switches
  uint64_t resumes = 0;
  bool has_last = false;
  SwitchEvent last;
  int64_t last_switch_us = 0;  // steady clock
  int64_t backup_us = 0;       // time on the backup, the current stretch included
  int64_t max_gap_ms = 0;
  uint64_t frames_out = 0;
  uint64_t frames_overlap = 0;  // dropped: at or before what was already sent
};

class Selector {
 public:
  // `output_ids` numbers the outputs of every selector sharing it.
  Selector(const FailoverConfig &config, Sink &sink, std::string entry_id, std::string stream_name,
           uint64_t &output_ids);

  // An input connected for `role`. Its parameters may be empty until its
  // first frame.
  void connect(Role role, uint64_t session_id, int64_t now_us);
  void disconnect(Role role, int64_t now_us);
  void frame(Role role, const media::VideoParams &video, const media::AudioParams &audio,
             const media::Frame &frame, int64_t now_us);
  void content(Role role, ContentState state, int64_t now_us);
  // Timers: health, switch-back, the reconnect window.
  void check(int64_t now_us);
  // The host asks for `role` (for a drill, say): taken at its next keyframe.
  // False if that input is absent.
  bool request(Role role);

  // No input and no open output: the selector can go.
  bool idle() const { return !open_ && !slots_[0].present() && !slots_[1].present(); }
  SelectorStats stats(int64_t now_us) const;

 private:
  struct Buffered {
    media::Frame frame;
    uint64_t hash;
    int64_t arrival_us;
  };
  struct Slot {
    explicit Slot(const HealthConfig &config) : health(config) {}
    bool present() const { return session_id != 0; }
    uint64_t session_id = 0;
    Health health;
    media::VideoParams video;
    media::AudioParams audio;
    std::deque<Buffered> buffer;
    size_t buffer_bytes = 0;
    size_t buffer_keyframes = 0;
    int64_t offset_us = 0;  // output = input + offset, while active
  };

  Slot &slot(Role role) { return slots_[role == Role::Primary ? 0 : 1]; }
  static Role other(Role role) { return role == Role::Primary ? Role::Backup : Role::Primary; }
  static bool cut_point(const Slot &s, const media::Frame &frame);
  void buffer(Slot &s, const media::Frame &frame, int64_t now_us);
  static void clear_buffer(Slot &s);
  static bool ready(const Slot &s);
  // Makes `role` the active input; false if it cannot start yet.
  bool activate(Role role, SwitchKind kind, Fault fault, int64_t now_us);
  std::optional<int64_t> aligned_offset(const Slot &s) const;
  void emit(Slot &s, const media::Frame &frame, uint64_t hash, int64_t now_us);
  void open(Role role, int64_t now_us);
  // Sends the switch event once the new input's first frame goes out
  // (`first_dts`; -1 when it never did).
  void report_switch(int64_t first_dts, int64_t now_us);
  void close();
  void leave_backup(int64_t now_us);
  bool usable_after(Role failed, int64_t now_us);

  const FailoverConfig &config_;
  Sink &sink_;
  Slot slots_[2];
  uint64_t &output_ids_;
  Output out_;
  bool open_ = false;
  std::optional<Role> active_;
  int64_t waiting_since_us_ = -1;  // open with no active input
  int64_t backup_ready_us_ = -1;   // not open: since when the backup could open it
  std::optional<Role> pending_;    // a planned switch, at the input's next cut point
  SwitchKind pending_kind_ = SwitchKind::SwitchBack;

  int64_t last_dts_[2] = {-1, -1};  // per track (video, audio), output timeline
  int64_t max_video_pts_ = -1;
  int64_t video_gap_us_ = 33333;  // the output's frame interval, measured
  int64_t last_emit_us_ = -1;     // steady clock of the last frame sent
  // The last frames sent of the track that identifies a stream (video, or
  // audio when there is none): output dts and payload hash.
  std::deque<std::pair<int64_t, uint64_t>> history_;
  std::unordered_multimap<uint64_t, int64_t> history_index_;

  std::optional<SwitchEvent> unreported_;
  int64_t gap_from_us_ = -1;   // when the last frame before it went out
  int64_t gap_from_dts_ = -1;  // and its dts

  SelectorStats stats_;
  int64_t backup_since_us_ = -1;
};

}  // namespace lg::failover
