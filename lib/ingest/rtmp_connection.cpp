#include "ingest/rtmp_connection.h"

#include <uv.h>

#include <algorithm>

#include "ingest/json.h"
#include "ingest/server.h"
#include "media/aac.h"
#include "media/flv.h"
#include "media/h264.h"
#include "media/hevc.h"
#include "rtmp/messages.h"

namespace lg::ingest {

namespace {

rtmp::SessionLimits limits_for(const ServerConfig &config) {
  rtmp::SessionLimits limits;
  limits.chunk.max_message_size = config.max_message_size;
  return limits;
}

}  // namespace

RtmpConnection::RtmpConnection(Server &server, uint64_t id, std::unique_ptr<net::Stream> stream)
    : server_(server),
      id_(id),
      stream_(std::move(stream)),
      session_(
          *this,
          // Handshake bytes need not be secret; a failed draw leaves them zero.
          [&server](std::span<uint8_t> out) { (void)server.random().fill(out); },
          limits_for(server.config())),
      created_ms_(uv_now(server.uv())),
      last_data_ms_(created_ms_) {
  info_.remote_address = stream_->remote_address();
  info_.protocol = Protocol::Rtmp;
}

RtmpConnection::~RtmpConnection() {
  if (stream_) stream_->close(false);
}

void RtmpConnection::start() {
  stream_->start(this);
}

void RtmpConnection::on_stream_data(std::span<const uint8_t> bytes) {
  if (ended_) return;
  last_data_ms_ = uv_now(server_.uv());
  lg_status rc = session_.feed(bytes);
  if (ended_) return;
  if (rc != LG_OK) {
    end(rc, session_.error());
    return;
  }
  if (accepted_) count_rate(last_data_ms_, bytes.size(), false);
}

void RtmpConnection::on_stream_closed(lg_status status, std::string_view reason) {
  if (ended_) return;
  // An encoder that vanishes without unpublishing is an abnormal end.
  end(accepted_ ? (status == LG_OK ? LG_E_CLOSED : status) : status,
      accepted_ ? std::string("the encoder disconnected without unpublishing (") +
                      std::string(reason) + ")"
                : std::string(reason));
}

void RtmpConnection::on_rtmp_send(std::vector<uint8_t> bytes) {
  if (stream_) stream_->write(std::move(bytes));
}

void RtmpConnection::on_rtmp_connect(const rtmp::ConnectInfo &info) {
  info_.app = info.app;
  info_.tc_url = info.tc_url;
  info_.encoder = info.flash_ver;
  server_.log().debug("rtmp {}: connect app='{}' tcUrl='{}' encoder='{}'", info_.remote_address,
                      info.app, info.tc_url, info.flash_ver);
}

void RtmpConnection::on_rtmp_publish(std::string_view stream_name, std::string_view) {
  url::PublishTarget target;
  std::string error;
  publish_requested_ = true;
  if (!url::parse_publish(info_.tc_url, info_.app, stream_name, target, error)) {
    info_.stream_name = std::string(stream_name.substr(0, stream_name.find('?')));
    refuse(LG_E_URL, error);
    return;
  }
  info_.entry_id = target.entry_id;
  info_.role = target.role;
  info_.stream_name = target.stream_name;
  token_ = target.token;
  server_.request_publish(*this);
}

void RtmpConnection::accept() {
  if (ended_ || accepted_) return;
  accepted_ = true;
  info_.session_id = server_.next_session_id();
  accepted_ms_ = uv_now(server_.uv());
  bytes_at_accept_ = session_.bytes_in();
  server_.log().info("rtmp {}: publish accepted: entry {} {} stream '{}' (session {})",
                     info_.remote_address, info_.entry_id, url::role_name(info_.role),
                     info_.stream_name, info_.session_id);
  session_.accept_publish();
}

void RtmpConnection::refuse(lg_status status, std::string reason) {
  if (ended_) return;
  // Encoders show Denied as an authentication problem and BadName as a
  // problem with the stream's name or place.
  const char *code = status == LG_E_AUTH ? "NetStream.Publish.Denied" : "NetStream.Publish.BadName";
  server_.log().warn("rtmp {}: publish refused: {}", info_.remote_address, reason);
  session_.reject_publish(code, reason);
  RejectInfo reject;
  reject.status = status;
  reject.reason = reason;
  reject.remote_address = info_.remote_address;
  reject.protocol = Protocol::Rtmp;
  reject.entry_id = info_.entry_id;
  reject.role = info_.role;
  reject.stream_name = info_.stream_name;
  if (!server_.quiet()) server_.events().on_publish_reject(reject);
  publish_requested_ = false;  // reported as a reject, not as a stop
  end(status, std::move(reason));
}

void RtmpConnection::on_rtmp_unpublish() {
  stop_session(LG_OK, "the encoder unpublished");
  // The connection stays open: an encoder may publish again on it.
}

void RtmpConnection::stop_session(lg_status status, std::string_view reason) {
  if (accepted_) {
    maybe_start();  // a stop always follows a start, even for an empty stream
    Stats s = stats(uv_now(server_.uv()));
    server_.release_publish(*this);
    accepted_ = false;
    server_.log().info("rtmp {}: publish stopped: entry {} stream '{}': {}", info_.remote_address,
                       info_.entry_id, info_.stream_name, reason);
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
  video_clock_ = {};
  audio_clock_ = {};
}

void RtmpConnection::end(lg_status status, std::string reason) {
  if (ended_) return;
  if (!accepted_ && !publish_requested_ && status != LG_OK && status != LG_E_CLOSED) {
    server_.log().debug("rtmp {}: connection closed: {}", info_.remote_address, reason);
  }
  stop_session(status, reason);
  ended_ = true;
  if (stream_) stream_->close(true);
  server_.retire(id_);
}

void RtmpConnection::on_rtmp_metadata(const rtmp::amf0::Value &metadata) {
  info_.metadata_json = amf_to_json(metadata);
}

void RtmpConnection::on_rtmp_media(uint8_t type, uint32_t timestamp, std::vector<uint8_t> payload) {
  if (!accepted_ || payload.empty()) return;
  auto buffer = std::make_shared<const std::vector<uint8_t>>(std::move(payload));
  if (type == rtmp::msg_type::kVideo) {
    on_video(timestamp, std::move(buffer));
  } else {
    on_audio(timestamp, std::move(buffer));
  }
}

void RtmpConnection::on_video(uint32_t timestamp,
                              std::shared_ptr<const std::vector<uint8_t>> buffer) {
  media::VideoTag tag;
  std::string error;
  auto result = media::parse_video_tag(*buffer, tag, error);
  if (result != media::ParseResult::Ok) {
    if (unsupported_++ == 0) {
      server_.log().warn("rtmp {}: video ignored: {}", info_.remote_address, error);
    }
    return;
  }
  const int64_t dts_ms = video_clock_.extend(timestamp);
  switch (tag.kind) {
    case media::VideoTag::Kind::SequenceHeader: {
      media::VideoParams params;
      bool ok = tag.codec == media::Codec::H264 ? media::parse_avc_config(tag.body, params, error)
                : tag.codec == media::Codec::HEVC
                    ? media::parse_hevc_config(tag.body, params, error)
                    : false;
      if (!ok) {
        server_.log().warn("rtmp {}: bad {} configuration: {}", info_.remote_address,
                           media::codec_name(tag.codec), error);
        return;
      }
      info_.video = std::move(params);
      video_config_ = true;
      return;
    }
    case media::VideoTag::Kind::Coded: {
      media::Frame frame;
      frame.track = media::TrackType::Video;
      frame.codec = tag.codec;
      frame.dts_us = dts_ms * 1000;
      frame.pts_us = (dts_ms + tag.composition_time_ms) * 1000;
      frame.keyframe = tag.keyframe;
      frame.offset = tag.body_offset;
      frame.size = tag.body.size();
      frame.buffer = std::move(buffer);
      ++video_frames_;
      count_rate(uv_now(server_.uv()), 0, true);
      emit_frame(frame);
      return;
    }
    default:
      return;
  }
}

void RtmpConnection::on_audio(uint32_t timestamp,
                              std::shared_ptr<const std::vector<uint8_t>> buffer) {
  media::AudioTag tag;
  std::string error;
  auto result = media::parse_audio_tag(*buffer, tag, error);
  if (result != media::ParseResult::Ok) {
    if (unsupported_++ == 0) {
      server_.log().warn("rtmp {}: audio ignored: {}", info_.remote_address, error);
    }
    return;
  }
  const int64_t dts_ms = audio_clock_.extend(timestamp);
  if (tag.kind == media::AudioTag::Kind::SequenceHeader) {
    media::AudioParams params;
    if (!media::parse_audio_specific_config(tag.body, params, error)) {
      server_.log().warn("rtmp {}: bad AAC configuration: {}", info_.remote_address, error);
      return;
    }
    info_.audio = std::move(params);
    audio_config_ = true;
    return;
  }
  if (tag.codec == media::Codec::MP3 && info_.audio.codec == media::Codec::Unknown) {
    info_.audio.codec = media::Codec::MP3;
    info_.audio.sample_rate = tag.sound_rate_hz;
    info_.audio.channels = tag.channels;
  }
  media::Frame frame;
  frame.track = media::TrackType::Audio;
  frame.codec = tag.codec;
  frame.dts_us = frame.pts_us = dts_ms * 1000;
  frame.keyframe = true;
  frame.offset = tag.body_offset;
  frame.size = tag.body.size();
  frame.buffer = std::move(buffer);
  ++audio_frames_;
  emit_frame(frame);
}

void RtmpConnection::maybe_start() {
  if (started_ || !accepted_) return;
  started_ = true;
  if (!server_.quiet()) server_.events().on_publish_start(info_);
}

void RtmpConnection::emit_frame(const media::Frame &frame) {
  maybe_start();
  if (ended_ || !accepted_) return;  // the host may have disconnected us
  if (!server_.quiet()) server_.events().on_frame(info_, frame);
}

void RtmpConnection::count_rate(uint64_t now_ms, size_t bytes, bool video_frame) {
  const uint64_t second = now_ms / 1000;
  if (rate_.empty() || rate_.back().second != second) {
    rate_.push_back({second, 0, 0});
    while (rate_.size() > 6) rate_.pop_front();
  }
  rate_.back().bytes += bytes;
  if (video_frame) ++rate_.back().frames;
}

Stats RtmpConnection::stats(uint64_t now_ms) const {
  Stats s;
  s.bytes_in = accepted_ ? session_.bytes_in() - bytes_at_accept_ : 0;
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
  return s;
}

}  // namespace lg::ingest
