// Everything one stream name of one entry turns into: HLS segments cut at
// keyframes, its live and DVR playlists, and its recording. Runs on the
// packager's thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "media/frame.h"
#include "pack/muxer.h"
#include "pack/output.h"
#include "pack/playlist.h"
#include "record/recorder.h"

namespace lg::pack {

// What the master playlist needs to know of one stream name.
struct StreamSummary {
  bool has_video = false;
  bool has_audio = false;
  std::string video_codec;  // RFC 6381
  std::string audio_codec;
  int width = 0;
  int height = 0;
  double frame_rate = 0;
  uint64_t peak_bps = 0;
  uint64_t average_bps = 0;
  bool operator==(const StreamSummary &) const = default;
};

class StreamOutput {
 public:
  StreamOutput(const OutputConfig &config, std::string entry_id, std::string stream_name);

  // Reads back the playlists and state a previous run left on disk; the
  // next segment continues its media sequence after a discontinuity.
  void restore(int64_t now_ms);

  void set_outputs(bool dvr, bool recording, int64_t now_ms, std::vector<OutputEvent> &events);
  // A publish starts feeding this stream.
  void start(const media::VideoParams &video, const media::AudioParams &audio, int64_t now_ms);
  void params(const media::VideoParams &video, const media::AudioParams &audio);
  // `arrival_us`: steady clock when the frame reached the server.
  void frame(const media::Frame &frame, int64_t arrival_us, int64_t now_ms,
             std::vector<OutputEvent> &events);
  // The publish ended: the last segment is closed, the recording file too.
  // Returns the finished broadcast's folder if it recorded anything.
  std::optional<std::string> stop(int64_t now_ms, std::vector<OutputEvent> &events);
  // Applies the DVR window, deletes files whose grace time has passed, and
  // writes again playlists and state that a failed write (a full disk) left
  // stale, so that they catch up (EXT-X-ENDLIST too) once there is space.
  void tick(int64_t now_ms, std::vector<OutputEvent> &events);

  bool live() const { return live_; }
  bool dvr() const { return dvr_; }
  const StreamSummary &summary() const { return summary_; }
  bool has_segments() const { return !playlist_.empty(); }
  HlsInfo info() const;
  const std::string &entry_id() const { return entry_id_; }
  const std::string &stream_name() const { return stream_name_; }
  std::string recordings_dir() const;
  // The folder of the current or last broadcast, or empty.
  const std::string &last_broadcast() const { return last_broadcast_; }

 private:
  bool open_muxer(std::vector<OutputEvent> &events);
  void open_segment_file();
  void close_segment(int64_t end_us, int64_t arrival_us, int64_t now_ms,
                     std::vector<OutputEvent> &events);
  void write_playlists(std::vector<OutputEvent> &events);
  void write_state();
  void evict(int64_t now_ms);
  // Recorder events, which know no entry or stream, named and passed on.
  void adopt(std::vector<OutputEvent> &recorder_events, std::vector<OutputEvent> &events) const;
  void storage_error(std::string path, std::string reason, std::vector<OutputEvent> &events);
  Format effective_format() const;
  int64_t audio_frame_us() const;  // 0 when unknown
  // Where a track's next frame would start; -1 before its first frame.
  int64_t track_end_us(bool video) const;

  const OutputConfig &config_;
  std::string entry_id_;
  std::string stream_name_;
  std::string dir_;  // {media_dir}/{entry}/hls/{stream}
  bool dvr_ = true;
  bool recording_ = true;

  MediaPlaylist playlist_;
  // The segment being written; before the muxer, which writes into it.
  PendingFile segment_file_;
  std::unique_ptr<Muxer> muxer_;
  Format muxer_format_ = Format::Ts;
  media::VideoParams video_;
  media::AudioParams audio_;
  bool new_params_ = false;
  uint64_t next_init_ = 0;
  std::string init_uri_;
  bool init_written_ = false;

  bool live_ = false;
  bool ended_ = false;     // the playlists carry EXT-X-ENDLIST
  int64_t end_at_ms_ = 0;  // when they will, after a stop
  bool waiting_for_keyframe_ = true;
  // Output timeline: out = in + offset_us_, chosen at a session's first
  // frame so that it continues after everything already packaged.
  bool have_offset_ = false;
  int64_t offset_us_ = 0;
  int64_t timeline_end_us_ = 0;   // where the next session's output starts
  int64_t session_start_us_ = 0;  // the output time of this session's first frame
  int64_t wall_anchor_ms_ = 0;    // wall clock of output time 0
  int64_t last_video_dts_us_ = -1;
  int64_t last_audio_dts_us_ = -1;
  int64_t frame_gap_us_ = 40000;  // a video frame's duration, measured

  bool jumped_ = false;  // the input clock jumped inside the open segment
  bool in_segment_ = false;
  uint64_t segment_video_frames_ = 0;
  int64_t segment_start_us_ = 0;
  bool segment_new_file_ = false;  // the recording starts a new file with it
  bool storage_failed_ = false;
  // A playlist or state write failed: tick() tries again.
  bool playlists_stale_ = false;
  bool state_stale_ = false;

  std::deque<std::pair<int64_t, std::string>> doomed_;  // (delete at ms, path)
  StreamSummary summary_;
  uint64_t total_bytes_ = 0;
  int64_t total_us_ = 0;
  uint64_t video_frames_in_window_ = 0;
  int64_t video_window_start_us_ = -1;

  record::Recorder recorder_;
  std::string last_broadcast_;
};

}  // namespace lg::pack
