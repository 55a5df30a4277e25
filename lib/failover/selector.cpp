#include "failover/selector.h"

#include <algorithm>
#include <cstring>
#include <map>

namespace lg::failover {

namespace {

// Enough output frames to recognise a backup that lags or leads by a few
// seconds as the same stream.
constexpr size_t kHistoryFrames = 600;
// Matches needed, and the share of overlapping frames that must match,
// before two inputs count as one encoder's output: static pictures make
// identical small frames, so a single match proves nothing.
constexpr size_t kMinMatches = 3;
constexpr double kMinMatchShare = 0.9;
// How far an input carrying the output's own frames may lag and still be
// waited for, rather than taken as another stream.
constexpr int64_t kMaxFailoverLagUs = 2'000'000;
constexpr int64_t kMaxPlannedLagUs = 500'000;
// How long a backup that could open an output waits for the primary.
constexpr int64_t kStartGraceUs = 1'000'000;
// A standby input keeps the media of the last stall time and this much more.
constexpr int64_t kStandbyMarginUs = 1'000'000;

// A frame's fingerprint, to recognise the same coded frame on two inputs:
// its size and its first and last bytes (slice headers and entropy-coded
// data differ between any two frames), so the cost does not grow with the
// bitrate. Eight bytes at a time through a multiply-xorshift mix (every
// frame of every input is hashed, on the loop thread): payloads are
// compared, not defended against.
uint64_t hash_of(std::span<const uint8_t> data) {
  constexpr size_t kEdge = 256;
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ data.size();
  auto mix = [&h](std::span<const uint8_t> part) {
    size_t i = 0;
    for (; i + 8 <= part.size(); i += 8) {
      uint64_t word;
      std::memcpy(&word, part.data() + i, 8);
      h = (h ^ word) * 0xff51afd7ed558ccdULL;
      h ^= h >> 32;
    }
    for (; i < part.size(); ++i) h = (h ^ part[i]) * 0x100000001b3ULL;
  };
  if (data.size() <= 2 * kEdge) {
    mix(data);
  } else {
    mix(data.first(kEdge));
    mix(data.last(kEdge));
  }
  return h;
}

int track_index(const media::Frame &f) {
  return f.track == media::TrackType::Video ? 0 : 1;
}

}  // namespace

const char *switch_kind_name(SwitchKind kind) {
  switch (kind) {
    case SwitchKind::Failover:
      return "failover";
    case SwitchKind::SwitchBack:
      return "switch back";
    case SwitchKind::Manual:
      return "manual";
    case SwitchKind::Resume:
      return "resume";
  }
  return "unknown";
}

Selector::Selector(const FailoverConfig &config, Sink &sink, std::string entry_id,
                   std::string stream_name, uint64_t &output_ids)
    : config_(config),
      sink_(sink),
      slots_{Slot(config.health), Slot(config.health)},
      output_ids_(output_ids) {
  out_.entry_id = std::move(entry_id);
  out_.stream_name = std::move(stream_name);
}

bool Selector::cut_point(const Slot &s, const media::Frame &frame) {
  // Without video every audio frame stands on its own.
  if (s.video.codec == media::Codec::Unknown) return true;
  return frame.track == media::TrackType::Video && frame.keyframe;
}

bool Selector::ready(const Slot &s) {
  return s.present() && s.buffer_keyframes > 0;
}

void Selector::clear_buffer(Slot &s) {
  s.buffer.clear();
  s.buffer_bytes = 0;
  s.buffer_keyframes = 0;
}

void Selector::connect(Role role, uint64_t session_id, int64_t now_us) {
  Slot &s = slot(role);
  s.session_id = session_id;
  s.video = {};
  s.audio = {};
  clear_buffer(s);
  s.health.connected(now_us);
  if (pending_ == role) pending_.reset();
}

void Selector::disconnect(Role role, int64_t now_us) {
  Slot &s = slot(role);
  if (!s.present()) return;
  s.session_id = 0;
  clear_buffer(s);
  s.health.disconnected(now_us);
  if (pending_ == role) pending_.reset();
  if (active_ == role) {
    // Noticed at once, not at the next timer.
    if (!usable_after(role, now_us)) {
      leave_backup(now_us);
      active_.reset();
      waiting_since_us_ = now_us;
    }
  }
}

void Selector::content(Role role, ContentState state, int64_t now_us) {
  slot(role).health.content(state);
  check(now_us);
}

void Selector::buffer(Slot &s, const media::Frame &frame, int64_t now_us) {
  const bool cut = cut_point(s, frame);
  if (cut) ++s.buffer_keyframes;
  s.buffer.push_back({frame, hash_of(frame.data()), now_us});
  s.buffer_bytes += frame.size;
  // What arrived within the stall time and a margin stays, since an aligned
  // switch after a stall continues from the frame after the last one sent;
  // and at least the latest cut point, where any other switch starts.
  auto pop = [&] {
    if (cut_point(s, s.buffer.front().frame)) --s.buffer_keyframes;
    s.buffer_bytes -= s.buffer.front().frame.size;
    s.buffer.pop_front();
  };
  const int64_t keep_us = config_.health.stall_ms * 1000 + kStandbyMarginUs;
  while (s.buffer.size() > 1 && now_us - s.buffer.front().arrival_us > keep_us) {
    if (s.buffer_keyframes == 1 && cut_point(s, s.buffer.front().frame)) break;
    pop();
  }
  const bool has_video = s.video.codec != media::Codec::Unknown;
  while (s.buffer_bytes > config_.input_buffer_bytes && s.buffer.size() > 1) {
    // Over the limit: keep at least the latest cut point.
    if (has_video && s.buffer_keyframes <= 1 && cut_point(s, s.buffer.front().frame)) break;
    pop();
  }
}

void Selector::frame(Role role, const media::VideoParams &video, const media::AudioParams &audio,
                     const media::Frame &frame, int64_t now_us) {
  Slot &s = slot(role);
  if (!s.present()) return;
  const bool changed = video.codec != s.video.codec || video.config != s.video.config ||
                       audio.codec != s.audio.codec || audio.config != s.audio.config;
  if (changed) {
    // Cut points are counted by whether there is video: a buffer kept
    // under the other rule would be miscounted.
    if ((video.codec == media::Codec::Unknown) != (s.video.codec == media::Codec::Unknown)) {
      clear_buffer(s);
    }
    s.video = video;
    s.audio = audio;
    if (active_ == role && open_) {
      out_.video = video;
      out_.audio = audio;
      sink_.output_params(out_);
    }
  }
  s.health.media(frame, s.video.codec != media::Codec::Unknown, now_us);
  if (active_ == role) {
    // The active input goes straight out. It keeps a buffer only while the
    // other input is there, so that it can take over again at once after a
    // switch; a stream without a backup buffers nothing.
    if (slot(other(role)).present()) {
      buffer(s, frame, now_us);
      emit(s, frame, s.buffer.back().hash, now_us);
    } else {
      emit(s, frame, hash_of(frame.data()), now_us);
    }
    return;
  }
  buffer(s, frame, now_us);
  const bool cut = cut_point(s, frame);

  if (!open_) {
    // The first input to offer a starting point opens the output, except
    // that a backup gives the primary a moment: an encoder pushing to both
    // connects them at about the same time.
    if (!ready(s)) return;
    if (role == Role::Backup) {
      if (backup_ready_us_ < 0) backup_ready_us_ = now_us;
      if (now_us - backup_ready_us_ < kStartGraceUs) return;
    }
    open(role, now_us);
    return;
  }
  if (!cut) return;
  if (!active_) {
    activate(role, SwitchKind::Resume, Fault::None, now_us);
    return;
  }
  if (pending_ == role) activate(role, pending_kind_, Fault::None, now_us);
}

std::optional<int64_t> Selector::aligned_offset(const Slot &s) const {
  if (history_.empty()) return std::nullopt;
  const bool video = s.video.codec != media::Codec::Unknown;
  // Candidate offsets (output dts - input dts) of frames whose payloads
  // were already sent, by the number of frames that vote for them.
  std::map<int64_t, size_t> votes;
  for (const auto &b : s.buffer) {
    if ((b.frame.track == media::TrackType::Video) != video) continue;
    auto [lo, hi] = history_index_.equal_range(b.hash);
    for (auto it = lo; it != hi; ++it) ++votes[it->second - b.frame.dts_us];
  }
  const auto best = std::max_element(
      votes.begin(), votes.end(), [](const auto &a, const auto &b) { return a.second < b.second; });
  if (best == votes.end() || best->second < kMinMatches) return std::nullopt;
  const int64_t offset = best->first;
  // Every frame that falls inside the history under this offset must be
  // the one sent there, or nearly all: otherwise the inputs only share
  // some identical frames.
  const int64_t first = history_.front().first, last = history_.back().first;
  size_t overlapping = 0;
  for (const auto &b : s.buffer) {
    if ((b.frame.track == media::TrackType::Video) != video) continue;
    const int64_t out = b.frame.dts_us + offset;
    if (out >= first && out <= last) ++overlapping;
  }
  if (static_cast<double>(best->second) < kMinMatchShare * static_cast<double>(overlapping)) {
    return std::nullopt;
  }
  return offset;
}

void Selector::emit(Slot &s, const media::Frame &frame, uint64_t hash, int64_t now_us) {
  media::Frame f = frame;
  f.dts_us += s.offset_us;
  f.pts_us += s.offset_us;
  const int t = track_index(f);
  if (last_dts_[t] >= 0 && f.dts_us <= last_dts_[t]) {
    ++stats_.frames_overlap;
    return;
  }
  if (t == 0 && last_dts_[0] >= 0 && f.dts_us - last_dts_[0] < 1000000) {
    video_gap_us_ = f.dts_us - last_dts_[0];
  }
  const bool identifying = (t == 0) == (s.video.codec != media::Codec::Unknown);
  if (unreported_ && identifying) report_switch(f.dts_us, now_us);
  last_dts_[t] = f.dts_us;
  if (t == 0) max_video_pts_ = std::max(max_video_pts_, f.pts_us);
  last_emit_us_ = now_us;
  if (identifying) {
    history_.emplace_back(f.dts_us, hash);
    history_index_.emplace(hash, f.dts_us);
    if (history_.size() > kHistoryFrames) {
      const auto [dts, h] = history_.front();
      auto [lo, hi] = history_index_.equal_range(h);
      for (auto it = lo; it != hi; ++it) {
        if (it->second == dts) {
          history_index_.erase(it);
          break;
        }
      }
      history_.pop_front();
    }
  }
  ++stats_.frames_out;
  sink_.output_frame(out_, f);
}

void Selector::open(Role role, int64_t now_us) {
  Slot &s = slot(role);
  open_ = true;
  backup_ready_us_ = -1;
  active_ = role;
  waiting_since_us_ = -1;
  pending_.reset();
  out_.id = ++output_ids_;
  out_.video = s.video;
  out_.audio = s.audio;
  out_.active = role;
  out_.session_id = s.session_id;
  last_dts_[0] = last_dts_[1] = -1;
  max_video_pts_ = -1;
  last_emit_us_ = -1;
  history_.clear();
  history_index_.clear();
  // The output's timeline is the first input's own.
  s.offset_us = 0;
  if (role == Role::Backup) backup_since_us_ = now_us;
  sink_.output_start(out_);
  auto start = std::find_if(s.buffer.begin(), s.buffer.end(),
                            [&](const Buffered &b) { return cut_point(s, b.frame); });
  for (auto it = start; it != s.buffer.end(); ++it) emit(s, it->frame, it->hash, now_us);
  clear_buffer(s);
}

void Selector::report_switch(int64_t first_dts, int64_t now_us) {
  SwitchEvent e = *unreported_;
  unreported_.reset();
  e.gap_ms = gap_from_us_ >= 0 ? (now_us - gap_from_us_) / 1000 : 0;
  if (e.aligned && first_dts >= 0 && gap_from_dts_ >= 0) {
    // Beyond one frame interval (with room for millisecond timestamps that
    // step 33 and 34 ms), frames the new input never had.
    const int64_t interval = video_gap_us_;
    const int64_t step = first_dts - gap_from_dts_;
    e.lost_ms = step > interval + interval / 2 ? (step - interval) / 1000 : 0;
  }
  stats_.has_last = true;
  stats_.last = e;
  if (e.kind != SwitchKind::Resume) stats_.max_gap_ms = std::max(stats_.max_gap_ms, e.gap_ms);
  sink_.output_switch(out_, e);
}

void Selector::close() {
  if (!open_) return;
  if (unreported_) report_switch(-1, last_emit_us_);
  open_ = false;
  active_.reset();
  pending_.reset();
  waiting_since_us_ = -1;
  sink_.output_stop(out_);
}

void Selector::leave_backup(int64_t now_us) {
  if (active_ == Role::Backup && backup_since_us_ >= 0) {
    stats_.backup_us += now_us - backup_since_us_;
    backup_since_us_ = -1;
  }
}

bool Selector::activate(Role role, SwitchKind kind, Fault fault, int64_t now_us) {
  Slot &s = slot(role);
  if (!ready(s)) return false;
  const bool planned = kind == SwitchKind::SwitchBack || kind == SwitchKind::Manual;
  const bool has_video = s.video.codec != media::Codec::Unknown;
  const int64_t last = last_dts_[has_video ? 0 : 1];

  if (unreported_) report_switch(-1, now_us);
  SwitchEvent e;
  e.kind = kind;
  e.from = active_.value_or(out_.active);
  e.to = role;
  e.fault = fault;

  auto start = s.buffer.end();
  auto offset = aligned_offset(s);
  // The same frames, but late: the output waits for them (no frame twice,
  // none lost) only as long as a viewer would barely notice. A failover
  // accepts more, since its alternative repeats that much media; a planned
  // switch, whose active input is fine, accepts less.
  const int64_t max_lag_us = planned ? kMaxPlannedLagUs : kMaxFailoverLagUs;
  if (offset && last - (s.buffer.back().frame.dts_us + *offset) > max_lag_us) offset.reset();
  if (offset) {
    // The same stream: go on right after the last frame sent.
    s.offset_us = *offset;
    e.aligned = true;
    start = s.buffer.begin();
  } else {
    // Another encoder: start at its latest keyframe, one frame interval
    // after the last frame sent.
    for (auto it = s.buffer.end(); it != s.buffer.begin();) {
      --it;
      if (cut_point(s, it->frame)) {
        start = it;
        break;
      }
    }
    const int64_t step = has_video ? video_gap_us_ : 1000;
    s.offset_us = (last >= 0 ? last + step : 0) - start->frame.dts_us;
    if (has_video && max_video_pts_ >= 0) {
      // Nor may its first picture show before one already shown (B-frames
      // put a sent picture's pts past its dts).
      s.offset_us = std::max(s.offset_us, max_video_pts_ + step - start->frame.pts_us);
    }
    e.lost_ms = last_emit_us_ >= 0 ? (start->arrival_us - last_emit_us_) / 1000 : 0;
  }

  leave_backup(now_us);
  // Later switches compare inputs with what this one sends: the frames
  // before it came from another input, and matching an input's own earlier
  // frames would splice it onto pictures its next frames do not follow.
  history_.clear();
  history_index_.clear();
  active_ = role;
  pending_.reset();
  waiting_since_us_ = -1;
  if (role == Role::Backup) backup_since_us_ = now_us;
  out_.active = role;
  out_.session_id = s.session_id;
  if (kind == SwitchKind::Resume) {
    ++stats_.resumes;
  } else {
    ++stats_.switches;
  }
  stats_.last_switch_us = now_us;
  // Reported with the first frame the new input sends out, when the gap
  // viewers saw is known (an aligned input may still be catching up); the
  // stats show it at once, with the gap so far.
  e.gap_ms = last_emit_us_ >= 0 ? (now_us - last_emit_us_) / 1000 : 0;
  stats_.has_last = true;
  stats_.last = e;
  if (kind != SwitchKind::Resume) stats_.max_gap_ms = std::max(stats_.max_gap_ms, e.gap_ms);
  unreported_ = e;
  gap_from_us_ = last_emit_us_;
  gap_from_dts_ = last;
  if (s.video.codec != out_.video.codec || s.video.config != out_.video.config ||
      s.audio.codec != out_.audio.codec || s.audio.config != out_.audio.config) {
    out_.video = s.video;
    out_.audio = s.audio;
    sink_.output_params(out_);
  }
  for (auto it = start; it != s.buffer.end(); ++it) emit(s, it->frame, it->hash, now_us);
  clear_buffer(s);
  return true;
}

bool Selector::usable_after(Role failed, int64_t now_us) {
  const Role to = other(failed);
  Slot &s = slot(to);
  if (!ready(s)) return false;
  s.health.check(now_us);
  // A healthy standby takes over; one still inside its clear time does too
  // when the active input is gone or silent on the wire, since nothing
  // would reach viewers otherwise.
  const Fault failed_fault = slot(failed).health.fault();
  const bool dead = failed_fault == Fault::Disconnected || failed_fault == Fault::Stalled;
  if (!s.health.healthy() && !(dead && s.health.cause(now_us) == Fault::None)) return false;
  return activate(to, SwitchKind::Failover, failed_fault, now_us);
}

bool Selector::request(Role role) {
  if (!slot(role).present()) return false;
  if (active_ == role) {
    pending_.reset();
    return true;
  }
  if (!open_) return true;  // the output opens on whichever comes first
  pending_ = role;
  pending_kind_ = SwitchKind::Manual;
  return true;
}

void Selector::check(int64_t now_us) {
  for (auto &s : slots_) s.health.check(now_us);
  if (!open_) return;
  if (!active_) {
    // Waiting for an input to come back; a buffered starting point is
    // taken at once.
    for (Role r : {Role::Primary, Role::Backup}) {
      // Only an input that is delivering: a stalled one's buffer is stale.
      const Slot &s = slot(r);
      if (s.present() && s.health.cause(now_us) == Fault::None &&
          activate(r, SwitchKind::Resume, Fault::None, now_us)) {
        return;
      }
    }
    // An input that is there and sending is waited for (its next keyframe)
    // whatever the window; the window is for inputs to come back.
    const bool coming = std::any_of(std::begin(slots_), std::end(slots_), [&](const Slot &s) {
      return s.present() && s.health.cause(now_us) == Fault::None;
    });
    if (!coming && now_us - waiting_since_us_ >= config_.reconnect_window_ms * 1000) close();
    return;
  }
  const Role active = *active_;
  Slot &a = slot(active);
  // The active input is left for what is wrong with it now; one still in
  // its clear time after a reconnect, but sound, stays.
  if (a.health.cause(now_us) != Fault::None) {
    usable_after(active, now_us);
    return;
  }
  if (pending_) {
    const Slot &target = slot(*pending_);
    if (!target.present() ||
        (pending_kind_ == SwitchKind::SwitchBack && !target.health.healthy())) {
      pending_.reset();
    }
    return;
  }
  if (config_.policy == Policy::Auto && active == Role::Backup) {
    const Slot &p = slot(Role::Primary);
    const int64_t since = p.health.healthy_since_us();
    if (p.present() && since >= 0 && now_us - since >= config_.switch_back_ms * 1000) {
      pending_ = Role::Primary;
      pending_kind_ = SwitchKind::SwitchBack;
    }
  }
}

SelectorStats Selector::stats(int64_t now_us) const {
  SelectorStats s = stats_;
  s.open = open_;
  s.has_active = active_.has_value();
  s.active = out_.active;
  for (int i = 0; i < 2; ++i) {
    s.present[i] = slots_[i].present();
    s.fault[i] = slots_[i].health.fault();
  }
  if (active_ == Role::Backup && backup_since_us_ >= 0) s.backup_us += now_us - backup_since_us_;
  return s;
}

}  // namespace lg::failover
