#include "ingest/connection.h"

#include <uv.h>

#include <algorithm>

#include "ingest/server.h"

namespace lg::ingest {

const char *protocol_name(Protocol protocol) {
  switch (protocol) {
    case Protocol::Rtmps:
      return "rtmps";
    case Protocol::Srt:
      return "srt";
    default:
      return "rtmp";
  }
}

Connection::Connection(Server &server, uint64_t id, Protocol protocol, std::string remote_address)
    : server_(server), last_data_ms_(uv_now(server.uv())), id_(id), created_ms_(last_data_ms_) {
  info_.protocol = protocol;
  info_.remote_address = std::move(remote_address);
}

void Connection::request_publish(url::PublishTarget target) {
  publish_requested_ = true;
  info_.entry_id = std::move(target.entry_id);
  info_.role = target.role;
  info_.stream_name = std::move(target.stream_name);
  token_ = std::move(target.token);
  server_.request_publish(*this);
}

void Connection::refuse_target(lg_status status, std::string reason, std::string stream_name) {
  publish_requested_ = true;
  info_.stream_name = std::move(stream_name);
  refuse(status, std::move(reason));
}

void Connection::accept() {
  if (ended_ || accepted_) return;
  accepted_ = true;
  info_.session_id = server_.next_session_id();
  accepted_ms_ = uv_now(server_.uv());
  bytes_at_accept_ = bytes_in_;
  server_.log().info("{} {}: publish accepted: entry {} {} stream '{}' (session {})",
                     protocol_name(info_.protocol), info_.remote_address, info_.entry_id,
                     url::role_name(info_.role), info_.stream_name, info_.session_id);
  on_accepted();
}

void Connection::report_reject(lg_status status, const std::string &reason) {
  RejectInfo reject;
  reject.status = status;
  reject.reason = reason;
  reject.remote_address = info_.remote_address;
  reject.protocol = info_.protocol;
  reject.entry_id = info_.entry_id;
  reject.role = info_.role;
  reject.stream_name = info_.stream_name;
  if (!server_.quiet()) server_.events().on_publish_reject(reject);
}

void Connection::refuse(lg_status status, std::string reason) {
  if (ended_) return;
  server_.log().warn("{} {}: publish refused: {}", protocol_name(info_.protocol),
                     info_.remote_address, reason);
  send_refusal(status, reason);
  report_reject(status, reason);
  publish_requested_ = false;  // reported as a reject, not as a stop
  end(status, std::move(reason));
}

void Connection::stop_session(lg_status status, std::string_view reason) {
  if (accepted_) {
    maybe_start();  // a stop always follows a start, even for an empty stream
    Stats s = stats(uv_now(server_.uv()));
    server_.release_publish(*this);
    accepted_ = false;
    server_.log().info("{} {}: publish stopped: entry {} stream '{}': {}",
                       protocol_name(info_.protocol), info_.remote_address, info_.entry_id,
                       info_.stream_name, reason);
    if (!server_.quiet()) server_.events().on_publish_stop(info_, s, status, reason);
  } else if (publish_requested_) {
    server_.release_publish(*this);  // drops a pending authorisation
  }
  publish_requested_ = false;
  started_ = false;
  // A connection that stays open after unpublishing gets a fresh
  // handshake-timeout window to publish again.
  created_ms_ = uv_now(server_.uv());
  video_frames_ = audio_frames_ = 0;
  rate_.clear();
  info_.video = {};
  info_.audio = {};
  info_.metadata_json = "{}";
  on_session_reset();
}

void Connection::end(lg_status status, std::string reason) {
  if (ended_) return;
  if (!accepted_ && !publish_requested_ && status != LG_OK && status != LG_E_CLOSED) {
    server_.log().debug("{} {}: connection closed: {}", protocol_name(info_.protocol),
                        info_.remote_address, reason);
  }
  server_.count_end(status);
  stop_session(status, reason);
  ended_ = true;
  close_transport();
  server_.retire(id_);
}

void Connection::maybe_start() {
  if (started_ || !accepted_) return;
  started_ = true;
  if (!server_.quiet()) server_.events().on_publish_start(info_);
}

void Connection::emit_frame(const media::Frame &frame) {
  if (!accepted_) return;
  if (frame.track == media::TrackType::Video) {
    ++video_frames_;
    count_rate(uv_now(server_.uv()), 0, true);
  } else {
    ++audio_frames_;
  }
  maybe_start();
  if (ended_ || !accepted_) return;  // the host may have disconnected us
  if (!server_.quiet()) server_.events().on_frame(info_, frame);
}

void Connection::count_bytes(size_t bytes) {
  last_data_ms_ = uv_now(server_.uv());
  bytes_in_ += bytes;
  if (accepted_) count_rate(last_data_ms_, bytes, false);
}

void Connection::count_rate(uint64_t now_ms, size_t bytes, bool video_frame) {
  const uint64_t second = now_ms / 1000;
  if (rate_.empty() || rate_.back().second != second) {
    rate_.push_back({second, 0, 0});
    while (rate_.size() > 6) rate_.pop_front();
  }
  rate_.back().bytes += bytes;
  if (video_frame) ++rate_.back().frames;
}

Stats Connection::stats(uint64_t now_ms) const {
  Stats s;
  s.bytes_in = accepted_ ? bytes_in_ - bytes_at_accept_ : 0;
  s.video_frames = video_frames_;
  s.audio_frames = audio_frames_;
  s.duration_ms = accepted_ ? now_ms - accepted_ms_ : 0;
  // Rates over the last complete seconds: neither the first second of the
  // session nor the current one is full, and either would read as a drop.
  const uint64_t current = now_ms / 1000;
  const uint64_t first = accepted_ms_ / 1000;
  uint64_t bytes = 0, frames = 0;
  const uint64_t from = std::max<uint64_t>(first + 1, current >= 5 ? current - 5 : 0);
  for (const auto &b : rate_) {
    if (b.second < from || b.second >= current) continue;
    bytes += b.bytes;
    frames += b.frames;
  }
  const uint64_t seconds = current > from ? current - from : 0;
  if (seconds > 0) {
    s.bitrate_bps = bytes * 8 / seconds;
    s.fps = static_cast<double>(frames) / static_cast<double>(seconds);
  } else if (s.duration_ms > 0) {
    // Younger than two seconds: the average so far.
    s.bitrate_bps = s.bytes_in * 8000 / s.duration_ms;
    s.fps = static_cast<double>(video_frames_) * 1000.0 / static_cast<double>(s.duration_ms);
  }
  add_transport_stats(s);
  return s;
}

}  // namespace lg::ingest
