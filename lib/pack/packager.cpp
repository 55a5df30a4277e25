#include "pack/packager.h"
#include "core/clock.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "auth/token.h"
#include "pack/files.h"
#include "record/clip.h"

namespace lg::pack {

namespace {

constexpr size_t kFrameOverhead = 160;  // a queued job's own size, roughly
constexpr size_t kMaxPendingClips = 64;
// How long frames wait for the output thread's next turn at most: a
// playlist is late by as much, next to segments of seconds.
constexpr auto kGather = std::chrono::milliseconds(10);

// A stream name or broadcast as a single, safe path component.
bool is_path_component(const std::string &s) {
  if (s.empty() || s.size() > 128 || s[0] == '.') return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Bandwidth in the master playlist moves in steps, so that the playlist is
// not rewritten for every small change of the peak.
uint64_t quantized(uint64_t bps) {
  constexpr uint64_t kStep = 64000;
  return (bps + kStep - 1) / kStep * kStep;
}

}  // namespace

Packager::Packager(OutputConfig config, auth::Store &store, Emit emit, Log log)
    : config_(std::move(config)),
      store_(store),
      emit_(std::move(emit)),
      log_(std::move(log)),
      next_clip_id_(static_cast<uint64_t>(core::unix_ms())) {}

Packager::~Packager() {
  stop();
}

std::string Packager::key_of(const std::string &entry, const std::string &stream) {
  return entry + "/" + stream;
}

void Packager::start() {
  if (worker_.joinable()) return;
  worker_ = std::thread([this] { run(); });
  clipper_ = std::thread([this] { run_clips(); });
}

void Packager::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  {
    std::lock_guard lock(clip_mutex_);
    clips_stopping_ = true;
  }
  clip_wake_.notify_all();
  if (clipper_.joinable()) clipper_.join();
}

void Packager::push(Job job, size_t bytes, bool urgent) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    jobs_.emplace_back(std::move(job), bytes);
    queued_bytes_ += bytes;
    const bool now = urgent || queued_bytes_ > config_.queue_bytes / 4;
    urgent_ = urgent_ || now;
    wake = now || idle_;
    idle_ = false;
  }
  if (wake) wake_.notify_one();
}

void Packager::on_output_start(const failover::Output &out) {
  Session s;
  s.key = key_of(out.entry_id, out.stream_name);
  s.has_video = out.video.codec != media::Codec::Unknown;
  sessions_[out.id] = s;
  push(StartJob{out.entry_id, out.stream_name, out.video, out.audio}, kFrameOverhead, true);
}

void Packager::on_output_params(const failover::Output &out) {
  auto it = sessions_.find(out.id);
  if (it == sessions_.end()) return;
  it->second.has_video = out.video.codec != media::Codec::Unknown;
  push(ParamsJob{it->second.key, out.video, out.audio}, kFrameOverhead, true);
}

void Packager::on_output_frame(const failover::Output &out, const media::Frame &frame) {
  auto it = sessions_.find(out.id);
  if (it == sessions_.end()) return;
  Session &s = it->second;
  const size_t bytes = frame.size + kFrameOverhead;
  const bool resume_point =
      !s.has_video || (frame.track == media::TrackType::Video && frame.keyframe);
  bool drop = false;
  {
    std::lock_guard lock(mutex_);
    if (s.dropping && (!resume_point || queued_bytes_ > config_.queue_bytes / 2)) {
      drop = true;
    } else if (queued_bytes_ + bytes > config_.queue_bytes) {
      drop = true;
      s.dropping = true;
    } else {
      s.dropping = false;
    }
  }
  if (drop) {
    std::lock_guard lock(info_mutex_);
    ++dropped_[s.key];
    ++dropped_total_;
    return;
  }
  push(FrameJob{s.key, frame, core::steady_us()}, bytes, false);
}

void Packager::on_output_stop(const failover::Output &out) {
  auto it = sessions_.find(out.id);
  if (it == sessions_.end()) return;
  push(StopJob{it->second.key}, kFrameOverhead, true);
  sessions_.erase(it);
}

lg_status Packager::set_outputs(const std::string &entry_id, bool dvr, bool recording) {
  const lg_status rc = store_.set_outputs(entry_id, dvr, recording);
  if (rc == LG_OK) push(OutputsJob{entry_id, dvr, recording}, kFrameOverhead, true);
  return rc;
}

lg_status Packager::hls_info(const std::string &entry_id, const std::string &stream_name,
                             HlsInfo &out) {
  std::lock_guard lock(info_mutex_);
  auto it = info_.find(key_of(entry_id, stream_name));
  if (it == info_.end()) return LG_E_NOT_FOUND;
  out = it->second;
  if (auto d = dropped_.find(it->first); d != dropped_.end()) out.frames_dropped = d->second;
  return LG_OK;
}

lg_status Packager::request_clip(const ClipRequest &request, uint64_t &clip_id,
                                 std::string &error) {
  if (!auth::is_valid_entry_id(request.entry_id) || !is_path_component(request.stream_name) ||
      (!request.broadcast.empty() && !is_path_component(request.broadcast))) {
    error = "malformed entry id, stream name or broadcast";
    return LG_E_INVALID_ARG;
  }
  if (request.start_ms < 0 || (request.end_ms != -1 && request.end_ms <= request.start_ms)) {
    error = "the clip's range is empty or negative";
    return LG_E_INVALID_ARG;
  }
  const std::string streams =
      config_.media_dir + "/" + request.entry_id + "/recordings/" + request.stream_name;
  std::string broadcast = request.broadcast;
  if (broadcast.empty()) {
    const auto all = subdirectories(streams);
    if (all.empty()) {
      error = "nothing recorded for " + request.entry_id + " stream '" + request.stream_name + "'";
      return LG_E_NOT_FOUND;
    }
    broadcast = all.back();
  }
  const std::string dir = streams + "/" + broadcast;
  if (numbered_files(dir, ".ts").empty() && numbered_files(dir, ".mp4").empty()) {
    error = "no recording " + broadcast + " for " + request.entry_id + " stream '" +
            request.stream_name + "'";
    return LG_E_NOT_FOUND;
  }
  ClipJob job;
  job.id = ++next_clip_id_;
  job.entry_id = request.entry_id;
  job.stream_name = request.stream_name;
  job.broadcast_dir = dir;
  job.output =
      config_.media_dir + "/" + request.entry_id + "/clips/" + std::to_string(job.id) + ".mp4";
  job.start_ms = request.start_ms;
  job.end_ms = request.end_ms;
  {
    std::lock_guard lock(clip_mutex_);
    if (clips_.size() >= kMaxPendingClips) {
      error = "too many clips pending";
      return LG_E_LIMIT;
    }
  }
  clip_id = job.id;
  queue_clip(std::move(job));
  return LG_OK;
}

void Packager::queue_clip(ClipJob job) {
  {
    std::lock_guard lock(clip_mutex_);
    if (clips_stopping_) return;
    clips_.push_back(std::move(job));
  }
  clip_wake_.notify_one();
}

StreamOutput &Packager::output_for(const std::string &entry, const std::string &stream) {
  auto &slot = outputs_[key_of(entry, stream)];
  if (!slot) slot = std::make_unique<StreamOutput>(config_, entry, stream);
  return *slot;
}

void Packager::send(std::vector<OutputEvent> &events) {
  for (auto &e : events) {
    if (e.type == OutputEventType::StorageError) {
      log_(LG_LOG_ERROR,
           "output of " + e.entry_id + " stream '" + e.stream_name + "': " + e.reason);
    }
    emit_(std::move(e));
  }
  events.clear();
}

void Packager::publish_info(const StreamOutput &out) {
  std::lock_guard lock(info_mutex_);
  info_[key_of(out.entry_id(), out.stream_name())] = out.info();
}

void Packager::restore_all(int64_t now_ms) {
  for (const auto &entry : subdirectories(config_.media_dir)) {
    if (!auth::is_valid_entry_id(entry)) continue;
    auth::Entry stored;
    const bool known = store_.get_entry(entry, stored) == LG_OK;
    for (const auto &stream : subdirectories(config_.media_dir + "/" + entry + "/hls")) {
      if (!is_path_component(stream)) continue;
      StreamOutput &out = output_for(entry, stream);
      std::vector<OutputEvent> ignored;
      if (known) out.set_outputs(stored.dvr, stored.recording, now_ms, ignored);
      out.restore(now_ms);
      publish_info(out);
    }
    for (const char *name : {"master.m3u8", "master-dvr.m3u8"}) {
      std::string text;
      if (read_file(config_.media_dir + "/" + entry + "/hls/" + name, text, 1 << 20)) {
        masters_[entry + "/" + name] = text;
      }
    }
  }
}

void Packager::update_master(const std::string &entry_id, bool force) {
  std::vector<const StreamOutput *> video, audio_only;
  bool any_dvr = false;
  for (auto it = outputs_.lower_bound(entry_id + "/"); it != outputs_.end(); ++it) {
    if (it->first.compare(0, entry_id.size() + 1, entry_id + "/") != 0) break;
    const StreamOutput &out = *it->second;
    if (!out.has_segments()) continue;
    any_dvr = any_dvr || out.dvr();
    if (out.summary().has_video) {
      video.push_back(&out);
    } else if (out.summary().has_audio) {
      audio_only.push_back(&out);
    }
  }
  if (video.empty() && audio_only.empty()) {
    stale_masters_.erase(entry_id);
    return;
  }
  for (const char *which : {"live", "dvr"}) {
    const bool dvr = which[0] == 'd';
    if (dvr && !any_dvr) continue;
    const std::string playlist = dvr ? "/dvr.m3u8" : "/live.m3u8";
    std::vector<Variant> variants;
    std::vector<AudioRendition> renditions;
    std::vector<std::string> group_codecs;
    if (!video.empty() && !audio_only.empty()) {
      // The audio muxed into the variants is the default rendition; each
      // audio-only stream name is an alternative (another language, say).
      const bool muxed_audio =
          std::any_of(video.begin(), video.end(), [](auto *v) { return v->summary().has_audio; });
      if (muxed_audio) renditions.push_back({"main", "", true});
      for (const auto *a : audio_only) {
        renditions.push_back(
            {a->stream_name(), a->stream_name() + playlist, !muxed_audio && renditions.empty()});
        if (!a->summary().audio_codec.empty()) group_codecs.push_back(a->summary().audio_codec);
      }
    }
    const auto &streams = video.empty() ? audio_only : video;
    for (const auto *v : streams) {
      const StreamSummary &s = v->summary();
      Variant var;
      var.uri = v->stream_name() + playlist;
      var.bandwidth = quantized(s.peak_bps);
      var.average_bandwidth = quantized(s.average_bps);
      std::vector<std::string> codecs;
      if (!s.video_codec.empty()) codecs.push_back(s.video_codec);
      if (!s.audio_codec.empty()) codecs.push_back(s.audio_codec);
      for (const auto &c : group_codecs) {
        if (std::find(codecs.begin(), codecs.end(), c) == codecs.end()) codecs.push_back(c);
      }
      for (const auto &c : codecs) var.codecs += (var.codecs.empty() ? "" : ",") + c;
      var.width = s.width;
      var.height = s.height;
      var.frame_rate = s.frame_rate;
      variants.push_back(std::move(var));
    }
    if (video.empty()) renditions.clear();
    const std::string text = render_master(variants, renditions);
    const std::string name = dvr ? "master-dvr.m3u8" : "master.m3u8";
    const std::string key = entry_id + "/" + name;
    if (!force && masters_[key] == text) continue;
    std::string error;
    if (write_atomically(config_.media_dir + "/" + entry_id + "/hls/" + name, text, error)) {
      masters_[key] = text;
    } else {
      // Logged once per failure; the output thread's tick tries again.
      if (stale_masters_.insert(entry_id).second) {
        log_(LG_LOG_ERROR, "cannot write the master playlist of " + entry_id + ": " + error);
      }
      return;
    }
  }
  stale_masters_.erase(entry_id);
}

void Packager::handle(Job &job, int64_t now_ms) {
  std::vector<OutputEvent> events;
  if (auto *f = std::get_if<FrameJob>(&job)) {
    auto it = outputs_.find(f->key);
    if (it == outputs_.end()) return;
    StreamOutput &out = *it->second;
    out.frame(f->frame, f->arrival_us, now_ms, events);
    if (!events.empty()) {
      publish_info(out);
      update_master(out.entry_id());
    }
  } else if (auto *s = std::get_if<StartJob>(&job)) {
    if (!config_.hls) return;
    StreamOutput &out = output_for(s->entry_id, s->stream_name);
    auth::Entry stored;
    if (store_.get_entry(s->entry_id, stored) == LG_OK) {
      out.set_outputs(stored.dvr, stored.recording, now_ms, events);
    }
    out.start(s->video, s->audio, now_ms);
    publish_info(out);
  } else if (auto *p = std::get_if<ParamsJob>(&job)) {
    if (auto it = outputs_.find(p->key); it != outputs_.end())
      it->second->params(p->video, p->audio);
  } else if (auto *st = std::get_if<StopJob>(&job)) {
    auto it = outputs_.find(st->key);
    if (it == outputs_.end()) return;
    StreamOutput &out = *it->second;
    auto finished = out.stop(now_ms, events);
    publish_info(out);
    update_master(out.entry_id());
    if (finished && config_.vod_on_stop) {
      ClipJob clip;
      clip.id = 0;
      clip.entry_id = out.entry_id();
      clip.stream_name = out.stream_name();
      clip.broadcast_dir = *finished;
      clip.output = *finished + ".mp4";
      clip.start_ms = 0;
      clip.end_ms = -1;
      queue_clip(std::move(clip));
    }
  } else if (auto *o = std::get_if<OutputsJob>(&job)) {
    for (auto &[key, out] : outputs_) {
      if (out->entry_id() != o->entry_id) continue;
      out->set_outputs(o->dvr, o->recording, now_ms, events);
      publish_info(*out);
    }
    update_master(o->entry_id, true);
  }
  send(events);
}

void Packager::run() {
  restore_all(core::unix_ms());
  int64_t last_tick = core::unix_ms();
  for (;;) {
    std::deque<std::pair<Job, size_t>> batch;
    bool stopping;
    {
      std::unique_lock lock(mutex_);
      if (jobs_.empty() && !stopping_) {
        // Nothing came while the last batch was gathered: sleep until a
        // push wakes the thread (or the next tick is due).
        idle_ = true;
        wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || !jobs_.empty(); });
        idle_ = false;
      }
      // Frames of every stream that arrive within the next few
      // milliseconds come along: a wake-up per batch instead of one per
      // frame, which under load costs more than the muxing.
      wake_.wait_for(lock, kGather, [&] { return stopping_ || urgent_; });
      urgent_ = false;
      batch.swap(jobs_);
      stopping = stopping_;
    }
    for (auto &[job, bytes] : batch) {
      handle(job, core::unix_ms());
      std::lock_guard lock(mutex_);
      queued_bytes_ -= bytes;
    }
    const int64_t now = core::unix_ms();
    if (now - last_tick >= 1000) {
      last_tick = now;
      std::vector<OutputEvent> events;
      for (auto &[key, out] : outputs_) {
        out->tick(now, events);
        if (!events.empty()) publish_info(*out);
        send(events);
      }
      // Master playlists a failed write (a full disk) left stale.
      for (const std::string &entry : std::set<std::string>(stale_masters_)) update_master(entry);
    }
    if (stopping) {
      std::lock_guard lock(mutex_);
      if (!jobs_.empty()) continue;
      break;
    }
  }
  // Live streams end with the server: their last segments and recordings
  // are closed as for a stop.
  for (auto &[key, out] : outputs_) {
    if (!out->live()) continue;
    std::vector<OutputEvent> events;
    out->stop(core::unix_ms(), events);
    send(events);
  }
}

void Packager::run_clips() {
  for (;;) {
    ClipJob job;
    {
      std::unique_lock lock(clip_mutex_);
      clip_wake_.wait(lock, [&] { return clips_stopping_ || !clips_.empty(); });
      if (clips_stopping_) return;  // pending clips can be asked for again
      job = std::move(clips_.front());
      clips_.pop_front();
    }
    std::vector<std::string> inputs;
    for (const char *ext : {".ts", ".mp4"}) {
      for (uint64_t n : numbered_files(job.broadcast_dir, ext)) {
        inputs.push_back(job.broadcast_dir + "/" + std::to_string(n) + ext);
      }
      if (!inputs.empty()) break;
    }
    OutputEvent e;
    e.type = OutputEventType::ClipReady;
    e.entry_id = job.entry_id;
    e.stream_name = job.stream_name;
    e.clip_id = job.id;
    std::string error;
    const size_t slash = job.output.rfind('/');
    if (!make_dirs(job.output.substr(0, slash), error)) {
      e.status = LG_E_IO;
      e.reason = error;
    } else {
      record::ClipResult result;
      e.status = record::make_clip(inputs, {job.start_ms, job.end_ms}, job.output, result, error);
      if (e.status == LG_OK) {
        e.path = job.output;
        e.duration_ms = result.duration_ms;
        e.bytes = result.bytes;
      } else {
        e.reason = error;
      }
    }
    emit_(std::move(e));
  }
}

}  // namespace lg::pack
