#include "ingest/rtmp_connection.h"

#include <uv.h>

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
  limits.chunk.max_chunk_size = config.max_chunk_size;
  limits.chunk.max_chunk_streams = config.max_chunk_streams;
  limits.chunk.max_buffered_bytes = config.max_incomplete_bytes;
  limits.amf.max_depth = config.max_amf_depth;
  limits.amf.max_items = config.max_amf_items;
  limits.amf.max_string = config.max_amf_string;
  limits.max_pending_bytes = config.max_pending_bytes;
  return limits;
}

}  // namespace

RtmpConnection::RtmpConnection(Server &server, uint64_t id, Protocol protocol,
                               std::unique_ptr<net::Stream> stream)
    : Connection(server, id, protocol, stream->remote_address()),
      stream_(std::move(stream)),
      session_(
          *this,
          // Handshake bytes need not be secret; a failed draw leaves them zero.
          [&server](std::span<uint8_t> out) { (void)server.random().fill(out); },
          limits_for(server.config())) {}

RtmpConnection::~RtmpConnection() {
  if (stream_) stream_->close(false);
}

void RtmpConnection::start() {
  stream_->start(this);
}

void RtmpConnection::on_stream_data(std::span<const uint8_t> bytes) {
  if (ended()) return;
  count_bytes(bytes.size());
  lg_status rc = session_.feed(bytes);
  if (ended()) return;
  if (rc != LG_OK) end(rc, session_.error());
}

void RtmpConnection::on_stream_closed(lg_status status, std::string_view reason) {
  if (ended()) return;
  if (status == LG_E_TLS && !publishing()) {
    // The encoder never got as far as naming its entry; the host still
    // learns that someone failed to connect, and why.
    report_reject(status, std::string(reason));
    end(status, std::string(reason));
    return;
  }
  // An encoder that vanishes without unpublishing is an abnormal end.
  end(publishing() ? (status == LG_OK ? LG_E_CLOSED : status) : status,
      publishing() ? std::string("the encoder disconnected without unpublishing (") +
                         std::string(reason) + ")"
                   : std::string(reason));
}

void RtmpConnection::close_transport() {
  if (stream_) stream_->close(true);
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
  if (!url::parse_publish(info_.tc_url, info_.app, stream_name, target, error)) {
    refuse_target(LG_E_URL, error, std::string(stream_name.substr(0, stream_name.find('?'))));
    return;
  }
  request_publish(std::move(target));
}

void RtmpConnection::on_accepted() {
  session_.accept_publish();
}

void RtmpConnection::send_refusal(lg_status status, const std::string &reason) {
  // Encoders show Denied as an authentication problem and BadName as a
  // problem with the stream's name or place.
  const char *code = status == LG_E_AUTH ? "NetStream.Publish.Denied" : "NetStream.Publish.BadName";
  session_.reject_publish(code, reason);
}

void RtmpConnection::on_rtmp_unpublish() {
  stop_session(LG_OK, "the encoder unpublished");
  // The connection stays open: an encoder may publish again on it.
}

void RtmpConnection::on_session_reset() {
  video_clock_ = {};
  audio_clock_ = {};
}

void RtmpConnection::on_rtmp_metadata(const rtmp::amf0::Value &metadata) {
  info_.metadata_json = amf_to_json(metadata);
}

void RtmpConnection::on_rtmp_media(uint8_t type, uint32_t timestamp, std::vector<uint8_t> payload) {
  if (!publishing() || payload.empty()) return;
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
  emit_frame(frame);
}

}  // namespace lg::ingest
