#include "pack/stream_output.h"
#include "core/clock.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "pack/files.h"

namespace lg::pack {

namespace {

constexpr size_t kMaxPlaylistBytes = 16 * 1024 * 1024;
// A timestamp step larger than this, either way, is a jump of the
// encoder's clock rather than a gap in the stream.
constexpr int64_t kJumpUs = 10'000'000;

bool same_params(const media::VideoParams &a, const media::VideoParams &b) {
  return a.codec == b.codec && a.config == b.config && a.width == b.width && a.height == b.height;
}

bool same_params(const media::AudioParams &a, const media::AudioParams &b) {
  return a.codec == b.codec && a.config == b.config && a.sample_rate == b.sample_rate &&
         a.channels == b.channels;
}

std::map<std::string, std::string> parse_state(const std::string &text) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    const size_t eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

template <typename T>
T state_number(const std::map<std::string, std::string> &state, const std::string &key) {
  T value{};
  auto it = state.find(key);
  if (it == state.end()) return value;
  std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
  return value;
}

// A segment's frame rate measured from millisecond timestamps is a little
// off; snap it to the common rate it stands for.
double nominal_rate(double measured) {
  for (double rate : {23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0, 120.0}) {
    if (std::abs(measured - rate) < rate * 0.004) return rate;
  }
  return std::round(measured * 1000) / 1000;
}

}  // namespace

StreamOutput::StreamOutput(const OutputConfig &config, std::string entry_id,
                           std::string stream_name)
    : config_(config),
      entry_id_(std::move(entry_id)),
      stream_name_(std::move(stream_name)),
      dir_(config.media_dir + "/" + entry_id_ + "/hls/" + stream_name_),
      playlist_(static_cast<int>((config.segment_target_us + 999999) / 1000000)),
      recorder_(config.media_dir + "/" + entry_id_ + "/recordings/" + stream_name_,
                config.recording_rotate_us, config.recording_retry_ms) {}

std::string StreamOutput::recordings_dir() const {
  return config_.media_dir + "/" + entry_id_ + "/recordings/" + stream_name_;
}

Format StreamOutput::effective_format() const {
  // Apple's HLS takes HEVC and AV1 in fragmented MP4 only.
  if (video_.codec == media::Codec::HEVC || video_.codec == media::Codec::AV1) {
    return Format::Fmp4;
  }
  return config_.format;
}

void StreamOutput::restore(int64_t now_ms) {
  std::string text;
  const int min_target = playlist_.target_duration_s();
  std::optional<MediaPlaylist> parsed;
  for (const char *name : {"/dvr.m3u8", "/live.m3u8"}) {
    if (read_file(dir_ + name, text, kMaxPlaylistBytes)) {
      parsed = MediaPlaylist::parse(text, min_target);
      if (parsed) break;
    }
  }
  if (!parsed) return;
  playlist_ = std::move(*parsed);
  while (!playlist_.empty() && !file_exists(dir_ + "/" + playlist_.segments().front().uri)) {
    playlist_.pop_front();
  }
  playlist_.mark_discontinuity();
  end_at_ms_ = now_ms;  // not live: ended, unless a publish resumes it
  if (read_file(dir_ + "/state", text, 64 * 1024)) {
    const auto state = parse_state(text);
    timeline_end_us_ = state_number<int64_t>(state, "timeline_end_us");
    next_init_ = state_number<uint64_t>(state, "next_init");
    summary_.peak_bps = state_number<uint64_t>(state, "peak_bps");
    total_bytes_ = state_number<uint64_t>(state, "total_bytes");
    total_us_ = state_number<int64_t>(state, "total_us");
    summary_.average_bps = total_us_ > 0 ? total_bytes_ * 8000000 / total_us_ : 0;
    summary_.has_video = state_number<int>(state, "has_video") != 0;
    summary_.has_audio = state_number<int>(state, "has_audio") != 0;
    summary_.width = state_number<int>(state, "width");
    summary_.height = state_number<int>(state, "height");
    summary_.frame_rate = state_number<int>(state, "frame_rate_milli") / 1000.0;
    if (auto it = state.find("video_codec"); it != state.end()) summary_.video_codec = it->second;
    if (auto it = state.find("audio_codec"); it != state.end()) summary_.audio_codec = it->second;
  }
  // Segment files a crash left outside the playlists.
  for (const char *ext : {".ts", ".m4s"}) {
    for (uint64_t n : numbered_files(dir_, ext)) {
      const std::string uri = std::to_string(n) + ext;
      const auto &segs = playlist_.segments();
      if (std::none_of(segs.begin(), segs.end(), [&](const Segment &s) { return s.uri == uri; })) {
        remove_file(dir_ + "/" + uri);
      }
    }
  }
  evict(now_ms);
}

void StreamOutput::set_outputs(bool dvr, bool recording, int64_t now_ms,
                               std::vector<OutputEvent> &events) {
  const bool dvr_changed = dvr != dvr_;
  dvr_ = dvr;
  if (dvr_changed && !dvr_) {
    remove_file(dir_ + "/dvr.m3u8");
    evict(now_ms);
  }
  if (recording_ && !recording) {
    std::vector<OutputEvent> rec;
    recorder_.end(rec);
    adopt(rec, events);
  } else if (!recording_ && recording && live_) {
    last_broadcast_ = recorder_.begin(now_ms);
    segment_new_file_ = true;
  }
  recording_ = recording;
}

void StreamOutput::start(const media::VideoParams &video, const media::AudioParams &audio,
                         int64_t now_ms) {
  live_ = true;
  ended_ = false;
  end_at_ms_ = 0;
  waiting_for_keyframe_ = true;
  have_offset_ = false;
  last_video_dts_us_ = -1;
  last_audio_dts_us_ = -1;
  // The same encoder settings again: the muxer (and an fMP4 init segment)
  // carries on, and players see no discontinuity.
  if (!muxer_ || !same_params(video, video_) || !same_params(audio, audio_)) {
    video_ = video;
    audio_ = audio;
    new_params_ = true;
  }
  if (recording_) {
    last_broadcast_ = recorder_.begin(now_ms);
    segment_new_file_ = true;
  }
}

void StreamOutput::params(const media::VideoParams &video, const media::AudioParams &audio) {
  if (same_params(video, video_) && same_params(audio, audio_)) return;
  video_ = video;
  audio_ = audio;
  new_params_ = true;
}

bool StreamOutput::open_muxer(std::vector<OutputEvent> &events) {
  std::string error;
  const Format format = effective_format();
  auto muxer = Muxer::create(format, video_, audio_, error);
  if (!muxer) {
    storage_error("", "cannot package stream '" + stream_name_ + "': " + error, events);
    return false;
  }
  if (muxer_ && !playlist_.empty()) playlist_.mark_discontinuity();
  muxer_ = std::move(muxer);
  muxer_format_ = format;
  new_params_ = false;
  segment_new_file_ = true;
  if (format == Format::Fmp4) {
    init_uri_ = fmt::format("init-{}.mp4", next_init_++);
    init_written_ = false;
  } else {
    init_uri_.clear();
  }
  summary_.has_video = muxer_->has_video();
  summary_.has_audio = muxer_->has_audio();
  summary_.video_codec = muxer_->has_video() ? video_.codec_string() : "";
  summary_.audio_codec = muxer_->has_audio() ? audio_.codec_string() : "";
  summary_.width = video_.width;
  summary_.height = video_.height;
  summary_.frame_rate = 0;  // measured again for the new parameters
  return true;
}

void StreamOutput::frame(const media::Frame &frame, int64_t arrival_us, int64_t now_ms,
                         std::vector<OutputEvent> &events) {
  if (!live_) return;
  const bool has_video = video_.codec != media::Codec::Unknown;
  const bool is_video = frame.track == media::TrackType::Video;
  if (is_video && !has_video) return;  // no parameters to package it with
  if (waiting_for_keyframe_) {
    // A segment, and so the stream, starts with a keyframe.
    if (has_video && !(is_video && frame.keyframe)) return;
    waiting_for_keyframe_ = false;
  }
  if (!have_offset_) {
    const bool continues = !playlist_.empty() || timeline_end_us_ > 0;
    offset_us_ = (continues ? timeline_end_us_ : 0) - frame.dts_us;
    have_offset_ = true;
    // Program date-time never goes back, even after a publish that ran
    // faster than real time.
    wall_anchor_ms_ = std::max(wall_anchor_ms_, now_ms - (frame.dts_us + offset_us_) / 1000);
    session_start_us_ = frame.dts_us + offset_us_;
  }
  int64_t dts = frame.dts_us + offset_us_;
  const int64_t last_dts = std::max(last_video_dts_us_, last_audio_dts_us_);
  if (in_segment_ && last_dts >= 0 && (dts > last_dts + kJumpUs || dts + kJumpUs < last_dts)) {
    // The encoder's clock jumped: the output runs on from where it was,
    // and the playlists mark a discontinuity from the next segment on.
    int64_t target = track_end_us(is_video);
    if (target < 0) target = std::max(track_end_us(true), track_end_us(false));
    offset_us_ += target - dts;
    dts = target;
    jumped_ = true;
  }
  // A frame from before the session's first keyframe (MPEG-TS over SRT
  // often delivers an audio frame of that time just after it) has no place
  // on the timeline: it would go back behind everything packaged so far,
  // below zero at the very start.
  if (dts < session_start_us_) return;
  const int64_t pts = frame.pts_us + offset_us_;

  const bool cut_point = has_video ? (is_video && frame.keyframe) : true;
  if (cut_point) {
    const bool due = !in_segment_ || new_params_ || !muxer_ || jumped_ ||
                     dts - segment_start_us_ >= config_.segment_target_us;
    if (due) {
      if (in_segment_) close_segment(dts, arrival_us, now_ms, events);
      if (jumped_) playlist_.mark_discontinuity();
      jumped_ = false;
      if ((new_params_ || !muxer_) && !open_muxer(events)) return;
      open_segment_file();
      muxer_->begin_segment();
      segment_start_us_ = dts;
      segment_video_frames_ = 0;
      in_segment_ = true;
    }
  }
  if (!in_segment_ || !muxer_) return;
  const int64_t duration_us = is_video ? frame_gap_us_ : audio_frame_us();
  std::string error;
  if (!muxer_->write(frame, dts, pts, duration_us, error)) return;
  if (is_video) {
    ++segment_video_frames_;
    if (last_video_dts_us_ >= 0 && dts > last_video_dts_us_ && dts - last_video_dts_us_ < 1000000) {
      frame_gap_us_ = dts - last_video_dts_us_;
    }
    last_video_dts_us_ = dts;
  } else {
    last_audio_dts_us_ = dts;
    if (!has_video) frame_gap_us_ = audio_frame_us();
  }
}

int64_t StreamOutput::audio_frame_us() const {
  if (audio_.sample_rate <= 0) return 0;
  const int64_t samples = audio_.codec == media::Codec::MP3 ? 1152 : 1024;
  return samples * 1000000 / audio_.sample_rate;
}

int64_t StreamOutput::track_end_us(bool video) const {
  const int64_t last = video ? last_video_dts_us_ : last_audio_dts_us_;
  if (last < 0) return -1;
  return last + (video ? frame_gap_us_ : audio_frame_us());
}

void StreamOutput::open_segment_file() {
  const bool fmp4 = muxer_format_ == Format::Fmp4;
  std::string error;
  // A failure here shows as the file's, when the segment closes.
  make_dirs(dir_, error);
  segment_file_.open(
      fmt::format("{}/{}{}", dir_, playlist_.next_sequence(), fmp4 ? ".m4s" : ".ts"));
  // The segment goes to disk as libavformat fills its I/O buffer, never
  // whole in memory.
  muxer_->set_sink([this](std::span<const uint8_t> bytes) { segment_file_.write(bytes); });
}

void StreamOutput::close_segment(int64_t end_us, int64_t arrival_us, int64_t now_ms,
                                 std::vector<OutputEvent> &events) {
  in_segment_ = false;
  muxer_->flush();
  const uint64_t size = segment_file_.size();
  if (size == 0 && !segment_file_.failed()) {
    segment_file_.close();  // nothing was muxed: no segment
    return;
  }
  const int64_t duration_us = std::max<int64_t>(end_us - segment_start_us_, 1000);
  const bool fmp4 = muxer_format_ == Format::Fmp4;
  const std::string path = segment_file_.path();
  const std::string uri = path.substr(dir_.size() + 1);
  std::string error;
  if ((fmp4 && !init_written_ &&
       !write_atomically(dir_ + "/" + init_uri_, muxer_->init_segment(), error)) ||
      !segment_file_.commit(error)) {
    segment_file_.close();
    storage_error(path, error, events);
    playlist_.mark_discontinuity();  // the segment is missing from the timeline
    timeline_end_us_ = end_us;
    // The next segment comes from a new muxer, whose continuity counters
    // are marked as starting afresh, and starts a new recording file: no
    // reader sees the hole as corrupt data.
    muxer_.reset();
    return;
  }
  if (fmp4) init_written_ = true;
  if (storage_failed_) storage_failed_ = false;

  Segment s;
  s.duration_us = duration_us;
  s.uri = uri;
  s.map_uri = fmp4 ? init_uri_ : std::string();
  s.program_time_ms = wall_anchor_ms_ + segment_start_us_ / 1000;
  s.bytes = size;
  const uint64_t sequence = playlist_.append(std::move(s)).sequence;
  summary_.peak_bps = std::max<uint64_t>(summary_.peak_bps, size * 8000000ULL / duration_us);
  total_bytes_ += size;
  total_us_ += duration_us;
  summary_.average_bps = total_bytes_ * 8000000ULL / static_cast<uint64_t>(total_us_);
  if (summary_.has_video && segment_video_frames_ >= 2) {
    // FRAME-RATE is the highest rate of any segment (RFC 8216 4.3.4.2);
    // a short last segment measures low.
    summary_.frame_rate =
        std::max(summary_.frame_rate, nominal_rate(static_cast<double>(segment_video_frames_) *
                                                   1e6 / static_cast<double>(duration_us)));
  }
  timeline_end_us_ = end_us;
  evict(now_ms);
  write_playlists(events);
  write_state();

  OutputEvent e;
  e.type = OutputEventType::Segment;
  e.entry_id = entry_id_;
  e.stream_name = stream_name_;
  e.path = path;
  e.sequence = sequence;
  e.duration_ms = duration_us / 1000;
  e.bytes = size;
  e.latency_us = core::steady_us() - arrival_us;
  events.push_back(std::move(e));

  if (recording_ && recorder_.active()) {
    std::vector<OutputEvent> rec;
    recorder_.append(segment_file_.fd(), size, muxer_->init_segment(), duration_us,
                     segment_new_file_, now_ms, muxer_format_, rec);
    segment_new_file_ = false;
    adopt(rec, events);
  }
  segment_file_.close();
}

void StreamOutput::write_playlists(std::vector<OutputEvent> &events) {
  std::string error;
  if (!make_dirs(dir_, error) ||
      !write_atomically(dir_ + "/live.m3u8", playlist_.render(config_.live_segments, ended_),
                        error) ||
      (dvr_ && !write_atomically(dir_ + "/dvr.m3u8", playlist_.render(0, ended_), error))) {
    playlists_stale_ = true;
    storage_error(dir_, error, events);
    return;
  }
  playlists_stale_ = false;
}

void StreamOutput::write_state() {
  const std::string text = fmt::format(
      "timeline_end_us={}\nnext_init={}\npeak_bps={}\ntotal_bytes={}\ntotal_us={}\n"
      "has_video={}\nhas_audio={}\nwidth={}\nheight={}\nframe_rate_milli={}\n"
      "video_codec={}\naudio_codec={}\n",
      timeline_end_us_, next_init_, summary_.peak_bps, total_bytes_, total_us_,
      summary_.has_video ? 1 : 0, summary_.has_audio ? 1 : 0, summary_.width, summary_.height,
      static_cast<int>(summary_.frame_rate * 1000), summary_.video_codec, summary_.audio_codec);
  std::string error;
  // Only a restart needs it: a failure is not reported, and tick() retries.
  state_stale_ = !write_atomically(dir_ + "/state", text, error);
}

void StreamOutput::evict(int64_t now_ms) {
  const int64_t window_ms = config_.dvr_window_us / 1000;
  // Players may still fetch a segment for one live-playlist length after it
  // leaves every playlist.
  const int64_t grace_ms =
      static_cast<int64_t>(config_.live_segments + 1) * playlist_.target_duration_s() * 1000;
  while (playlist_.segments().size() > config_.live_segments) {
    const Segment &front = playlist_.segments().front();
    const bool past_window = !dvr_ ||
                             playlist_.duration_us() - front.duration_us >= config_.dvr_window_us ||
                             front.program_time_ms + front.duration_us / 1000 < now_ms - window_ms;
    if (!past_window) break;
    Segment gone = playlist_.pop_front();
    doomed_.emplace_back(now_ms + grace_ms, dir_ + "/" + gone.uri);
    const bool map_unused =
        !gone.map_uri.empty() &&
        (playlist_.empty() || playlist_.segments().front().map_uri != gone.map_uri);
    if (map_unused && gone.map_uri != init_uri_) {
      doomed_.emplace_back(now_ms + grace_ms, dir_ + "/" + gone.map_uri);
    }
  }
}

void StreamOutput::tick(int64_t now_ms, std::vector<OutputEvent> &events) {
  const size_t before = playlist_.segments().size();
  evict(now_ms);
  const bool ending = !live_ && !ended_ && end_at_ms_ > 0 && now_ms >= end_at_ms_;
  if (ending) ended_ = true;
  if ((ending || playlists_stale_ || playlist_.segments().size() != before) && !playlist_.empty()) {
    write_playlists(events);
  }
  if (state_stale_ && !playlist_.empty()) write_state();
  while (!doomed_.empty() && doomed_.front().first <= now_ms) {
    remove_file(doomed_.front().second);
    doomed_.pop_front();
  }
}

std::optional<std::string> StreamOutput::stop(int64_t now_ms, std::vector<OutputEvent> &events) {
  if (in_segment_ && muxer_) {
    // The segment ends where its last frame of either track does.
    close_segment(std::max(track_end_us(true), track_end_us(false)), core::steady_us(), now_ms,
                  events);
  }
  live_ = false;
  have_offset_ = false;
  end_at_ms_ = now_ms + config_.end_after_ms;
  std::optional<std::string> finished;
  if (recorder_.active()) {
    finished = recorder_.broadcast_dir();
    std::vector<OutputEvent> rec;
    recorder_.end(rec);
    adopt(rec, events);
    if (!file_exists(*finished + "/0.ts") && !file_exists(*finished + "/0.mp4")) finished.reset();
  }
  return finished;
}

void StreamOutput::adopt(std::vector<OutputEvent> &recorder_events,
                         std::vector<OutputEvent> &events) const {
  for (auto &e : recorder_events) {
    e.entry_id = entry_id_;
    e.stream_name = stream_name_;
    events.push_back(std::move(e));
  }
}

void StreamOutput::storage_error(std::string path, std::string reason,
                                 std::vector<OutputEvent> &events) {
  if (storage_failed_) return;  // one event per failure, not one per segment
  storage_failed_ = true;
  OutputEvent e;
  e.type = OutputEventType::StorageError;
  e.entry_id = entry_id_;
  e.stream_name = stream_name_;
  e.path = std::move(path);
  e.status = LG_E_IO;
  e.reason = std::move(reason);
  events.push_back(std::move(e));
}

HlsInfo StreamOutput::info() const {
  HlsInfo info;
  info.live = live_;
  info.dvr = dvr_;
  info.recording = recording_;
  info.format = muxer_ ? muxer_format_ : effective_format();
  const auto &segs = playlist_.segments();
  if (!segs.empty()) {
    info.first_sequence = segs.front().sequence;
    info.last_sequence = segs.back().sequence;
    info.window_start_unix_ms = segs.front().program_time_ms;
  }
  info.segment_count = static_cast<uint32_t>(segs.size());
  info.window_us = playlist_.duration_us();
  info.peak_bandwidth_bps = summary_.peak_bps;
  info.broadcast = last_broadcast_;
  return info;
}

}  // namespace lg::pack
