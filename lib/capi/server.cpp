#include "livegate/server.h"

#include "livegate/failover.h"
#include "livegate/output.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>

#include "capi/guard.h"
#include "capi/handles.h"
#include "core/clock.h"
#include "failover/router.h"
#include "ingest/server.h"

using lg::capi::guard;

namespace {

using lg::capi::role_to_c;

lg_protocol to_c(lg::ingest::Protocol protocol) {
  switch (protocol) {
    case lg::ingest::Protocol::Rtmps:
      return LG_PROTOCOL_RTMPS;
    case lg::ingest::Protocol::Srt:
      return LG_PROTOCOL_SRT;
    default:
      return LG_PROTOCOL_RTMP;
  }
}

lg_codec to_c(lg::media::Codec codec) {
  switch (codec) {
    case lg::media::Codec::H264:
      return LG_CODEC_H264;
    case lg::media::Codec::HEVC:
      return LG_CODEC_HEVC;
    case lg::media::Codec::AV1:
      return LG_CODEC_AV1;
    case lg::media::Codec::AAC:
      return LG_CODEC_AAC;
    case lg::media::Codec::MP3:
      return LG_CODEC_MP3;
    case lg::media::Codec::Opus:
      return LG_CODEC_OPUS;
    default:
      return LG_CODEC_UNKNOWN;
  }
}

// Translates the ingest layer's events into the host's C callbacks, feeds
// the failover router with every input, and its outputs to the packager.
class CEvents final : public lg::ingest::Events, public lg::failover::Sink {
 public:
  explicit CEvents(const lg_server_callbacks *cb) {
    std::memset(&cb_, 0, sizeof(cb_));
    if (cb) std::memcpy(&cb_, cb, std::min(cb->struct_size, sizeof(cb_)));
  }
  void set_packager(lg::pack::Packager *packager) { packager_ = packager; }
  void set_router(lg::failover::Router *router) { router_ = router; }
  void set_logger(const lg::core::Logger *log) { log_ = log; }

  void on_tick(int64_t now_us) override {
    if (router_) router_->tick(now_us);
  }

  void output_start(const lg::failover::Output &out) override {
    if (log_) {
      log_->debug("{} stream '{}': output opened on the {}", out.entry_id, out.stream_name,
                  out.active == lg::url::Role::Primary ? "primary" : "backup");
    }
    if (packager_) packager_->on_output_start(out);
  }
  void output_params(const lg::failover::Output &out) override {
    if (packager_) packager_->on_output_params(out);
  }
  void output_frame(const lg::failover::Output &out, const lg::media::Frame &frame) override {
    if (packager_) packager_->on_output_frame(out, frame);
    if (!cb_.on_output_frame) return;
    lg_frame f = frame_to_c(frame);
    cb_.on_output_frame(cb_.user, out.entry_id.c_str(), out.stream_name.c_str(), &f);
  }
  void output_stop(const lg::failover::Output &out) override {
    if (log_) log_->debug("{} stream '{}': output closed", out.entry_id, out.stream_name);
    if (packager_) packager_->on_output_stop(out);
  }
  void output_switch(const lg::failover::Output &out, const lg::failover::SwitchEvent &e) override {
    if (log_) {
      auto name = [](lg::url::Role r) {
        return r == lg::url::Role::Primary ? "primary" : "backup";
      };
      const std::string why = e.kind == lg::failover::SwitchKind::Failover
                                  ? fmt::format(" ({})", lg::failover::fault_name(e.fault))
                                  : std::string();
      log_->info("{} stream '{}': {} from {} to {}{}, gap {} ms{}", out.entry_id, out.stream_name,
                 lg::failover::switch_kind_name(e.kind), name(e.from), name(e.to), why, e.gap_ms,
                 e.aligned ? ", aligned" : "");
    }
    if (!cb_.on_failover) return;
    lg_failover_event c{};
    c.entry_id = out.entry_id.c_str();
    c.stream_name = out.stream_name.c_str();
    c.kind = static_cast<lg_switch_kind>(e.kind);
    c.from = role_to_c(e.from);
    c.to = role_to_c(e.to);
    c.fault = static_cast<lg_input_fault>(e.fault);
    c.session_id = out.session_id;
    c.aligned = e.aligned ? 1 : 0;
    c.gap_ms = e.gap_ms;
    c.lost_ms = e.lost_ms;
    c.unix_ms = lg::core::unix_ms();
    cb_.on_failover(cb_.user, &c);
  }

  void on_output(const lg::pack::OutputEvent &e) {
    if (!cb_.on_output) return;
    lg_output_event c{};
    switch (e.type) {
      case lg::pack::OutputEventType::Segment:
        c.type = LG_OUTPUT_SEGMENT;
        break;
      case lg::pack::OutputEventType::RecordingRotated:
        c.type = LG_OUTPUT_RECORDING_ROTATED;
        break;
      case lg::pack::OutputEventType::ClipReady:
        c.type = LG_OUTPUT_CLIP_READY;
        break;
      case lg::pack::OutputEventType::StorageError:
        c.type = LG_OUTPUT_STORAGE_ERROR;
        break;
    }
    c.entry_id = e.entry_id.c_str();
    c.stream_name = e.stream_name.c_str();
    c.path = e.path.c_str();
    c.sequence = e.sequence;
    c.duration_ms = e.duration_ms;
    c.bytes = e.bytes;
    c.latency_us = e.latency_us;
    c.clip_id = e.clip_id;
    c.status = e.status;
    c.reason = e.reason.c_str();
    cb_.on_output(cb_.user, &c);
  }

  void on_publish_start(const lg::ingest::PublishInfo &info) override {
    if (router_) router_->publish_start(info, lg::core::steady_us());
    if (!cb_.on_publish_start) return;
    Converted c(info);
    cb_.on_publish_start(cb_.user, &c.info);
  }
  void on_publish_reject(const lg::ingest::RejectInfo &r) override {
    if (!cb_.on_publish_reject) return;
    lg_reject_info c{};
    c.status = r.status;
    c.reason = r.reason.c_str();
    c.remote_address = r.remote_address.c_str();
    c.protocol = to_c(r.protocol);
    c.entry_id = r.entry_id.c_str();
    c.role = role_to_c(r.role);
    c.stream_name = r.stream_name.c_str();
    cb_.on_publish_reject(cb_.user, &c);
  }
  void on_publish_stop(const lg::ingest::PublishInfo &info, const lg::ingest::Stats &stats,
                       lg_status status, std::string_view reason) override {
    if (router_) router_->publish_stop(info, lg::core::steady_us());
    if (!cb_.on_publish_stop) return;
    Converted c(info);
    lg_session_stats s = stats_to_c(stats);
    std::string why(reason);
    cb_.on_publish_stop(cb_.user, &c.info, &s, status, why.c_str());
  }
  void on_frame(const lg::ingest::PublishInfo &info, const lg::media::Frame &frame) override {
    if (router_) router_->frame(info, frame, lg::core::steady_us());
    if (!cb_.on_frame) return;
    // Frames are hot: codec parameters are not re-rendered per frame.
    lg_publish_info c{};
    c.session_id = info.session_id;
    c.entry_id = info.entry_id.c_str();
    c.role = role_to_c(info.role);
    c.stream_name = info.stream_name.c_str();
    c.protocol = to_c(info.protocol);
    c.remote_address = info.remote_address.c_str();
    c.app = info.app.c_str();
    c.tc_url = info.tc_url.c_str();
    c.encoder = info.encoder.c_str();
    c.metadata_json = info.metadata_json.c_str();
    lg_frame f = frame_to_c(frame);
    cb_.on_frame(cb_.user, &c, &f);
  }
  void on_authorize(const lg::ingest::AuthRequest &r) override {
    if (!cb_.on_authorize) return;
    lg_auth_request c{};
    c.request_id = r.request_id;
    c.entry_id = r.entry_id.c_str();
    c.role = role_to_c(r.role);
    c.stream_name = r.stream_name.c_str();
    c.token = r.token.c_str();
    c.protocol = to_c(r.protocol);
    c.remote_address = r.remote_address.c_str();
    cb_.on_authorize(cb_.user, &c);
  }

  static lg_frame frame_to_c(const lg::media::Frame &frame) {
    lg_frame f{};
    f.track = frame.track == lg::media::TrackType::Video ? LG_TRACK_VIDEO : LG_TRACK_AUDIO;
    f.codec = to_c(frame.codec);
    f.dts_us = frame.dts_us;
    f.pts_us = frame.pts_us;
    f.keyframe = frame.keyframe ? 1 : 0;
    auto data = frame.data();
    f.data = data.data();
    f.size = data.size();
    return f;
  }

  static lg_session_stats stats_to_c(const lg::ingest::Stats &stats) {
    lg_session_stats s{};
    s.struct_size = sizeof(s);
    s.bytes_in = stats.bytes_in;
    s.video_frames = stats.video_frames;
    s.audio_frames = stats.audio_frames;
    s.bitrate_bps = stats.bitrate_bps;
    s.fps = stats.fps;
    s.duration_ms = stats.duration_ms;
    s.srt_valid = stats.srt.valid ? 1 : 0;
    s.srt_rtt_ms = stats.srt.transport.rtt_ms;
    s.srt_packets_received = stats.srt.transport.packets_received;
    s.srt_packets_lost = stats.srt.transport.packets_lost;
    s.srt_packets_retransmitted = stats.srt.transport.packets_retransmitted;
    s.srt_packets_dropped = stats.srt.transport.packets_dropped;
    s.srt_receive_rate_mbps = stats.srt.transport.receive_rate_mbps;
    s.srt_latency_ms = stats.srt.transport.latency_ms;
    s.ts_continuity_errors = stats.srt.ts_continuity_errors;
    s.ts_dropped_pes = stats.srt.ts_dropped_pes;
    s.srt_receive_buffer_bytes = stats.srt.transport.receive_buffer_bytes;
    return s;
  }

 private:
  // A full lg_publish_info with the codec parameters, alive for one call.
  struct Converted {
    explicit Converted(const lg::ingest::PublishInfo &in)
        : video_codec(in.video.codec_string()), audio_codec(in.audio.codec_string()) {
      info.session_id = in.session_id;
      info.entry_id = in.entry_id.c_str();
      info.role = role_to_c(in.role);
      info.stream_name = in.stream_name.c_str();
      info.protocol = to_c(in.protocol);
      info.remote_address = in.remote_address.c_str();
      info.app = in.app.c_str();
      info.tc_url = in.tc_url.c_str();
      info.encoder = in.encoder.c_str();
      info.metadata_json = in.metadata_json.c_str();
      video.codec = to_c(in.video.codec);
      video.profile = in.video.profile;
      video.level = in.video.level;
      video.width = in.video.width;
      video.height = in.video.height;
      video.nal_length_size = in.video.nal_length_size;
      video.codec_string = video_codec.c_str();
      video.config = in.video.config.data();
      video.config_size = in.video.config.size();
      audio.codec = to_c(in.audio.codec);
      audio.object_type = in.audio.object_type;
      audio.sample_rate = in.audio.sample_rate;
      audio.channels = in.audio.channels;
      audio.codec_string = audio_codec.c_str();
      audio.config = in.audio.config.data();
      audio.config_size = in.audio.config.size();
      info.video = &video;
      info.audio = &audio;
    }
    std::string video_codec, audio_codec;
    lg_video_params video{};
    lg_audio_params audio{};
    lg_publish_info info{};
  };

  lg_server_callbacks cb_;
  lg::pack::Packager *packager_ = nullptr;
  lg::failover::Router *router_ = nullptr;
  const lg::core::Logger *log_ = nullptr;
};

}  // namespace

namespace lg::capi {

struct OutputGate : std::enable_shared_from_this<OutputGate> {
  std::mutex mutex;
  lg::ingest::Server *server = nullptr;
  CEvents *events = nullptr;

  // From an output thread: runs `fn` on the loop thread unless the server
  // is being destroyed by then.
  template <typename Fn>
  void post(Fn fn) {
    std::lock_guard lock(mutex);
    if (!server) return;
    server->post([self = shared_from_this(), fn = std::move(fn)]() mutable {
      std::lock_guard inner(self->mutex);
      if (self->server && self->events) fn(*self->server, *self->events);
    });
  }
  void close() {
    std::lock_guard lock(mutex);
    server = nullptr;
    events = nullptr;
  }
};

}  // namespace lg::capi

namespace {

// Limits copied from the options to the server's config: 0 keeps the default.
struct LimitField {
  uint32_t lg_server_options::*option;
  uint32_t lg::ingest::ServerConfig::*config;
};

using Config = lg::ingest::ServerConfig;
constexpr LimitField kLimitFields[] = {
    {&lg_server_options::handshake_timeout_ms, &Config::handshake_timeout_ms},
    {&lg_server_options::idle_timeout_ms, &Config::idle_timeout_ms},
    {&lg_server_options::max_connections, &Config::max_connections},
    {&lg_server_options::max_message_size, &Config::max_message_size},
    {&lg_server_options::max_streams_per_entry, &Config::max_streams_per_entry},
    {&lg_server_options::max_send_buffer, &Config::max_send_buffer},
    {&lg_server_options::max_chunk_size, &Config::max_chunk_size},
    {&lg_server_options::max_chunk_streams, &Config::max_chunk_streams},
    {&lg_server_options::max_incomplete_bytes, &Config::max_incomplete_bytes},
    {&lg_server_options::max_amf_depth, &Config::max_amf_depth},
    {&lg_server_options::max_amf_items, &Config::max_amf_items},
    {&lg_server_options::max_amf_string, &Config::max_amf_string},
    {&lg_server_options::max_pending_bytes, &Config::max_pending_bytes},
    {&lg_server_options::max_ts_streams, &Config::max_ts_streams},
    {&lg_server_options::srt_queue_bytes, &Config::srt_queue_bytes},
    {&lg_server_options::srt_max_bitrate_kbps, &Config::srt_max_bitrate_kbps},
};
// The same, for limits that LG_UNLIMITED turns off.
constexpr LimitField kOptionalLimitFields[] = {
    {&lg_server_options::max_connections_per_address, &Config::max_connections_per_source},
    {&lg_server_options::max_auth_failures_per_minute, &Config::max_auth_failures_per_minute},
};

}  // namespace

extern "C" {

LG_API const char *lg_protocol_name(lg_protocol protocol) {
  switch (protocol) {
    case LG_PROTOCOL_RTMP:
      return "rtmp";
    case LG_PROTOCOL_RTMPS:
      return "rtmps";
    case LG_PROTOCOL_SRT:
      return "srt";
  }
  return "unknown";
}

LG_API const char *lg_codec_name(lg_codec codec) {
  switch (codec) {
    case LG_CODEC_H264:
      return "h264";
    case LG_CODEC_HEVC:
      return "hevc";
    case LG_CODEC_AV1:
      return "av1";
    case LG_CODEC_AAC:
      return "aac";
    case LG_CODEC_MP3:
      return "mp3";
    case LG_CODEC_OPUS:
      return "opus";
    default:
      return "unknown";
  }
}

LG_API void lg_server_options_init(lg_server_options *opts) {
  if (!opts) return;
  std::memset(opts, 0, sizeof(*opts));
  opts->struct_size = sizeof(*opts);
  opts->data_dir = "./livegate-data";
  opts->rtmp_address = "0.0.0.0";
  opts->rtmp_port = 1935;
  opts->log_level = LG_LOG_INFO;
  opts->revoke_policy = LG_REVOKE_KEEP;
  opts->revalidate_interval_ms = 2000;
  const lg::ingest::ServerConfig defaults;
  for (const auto &[option, field] : kLimitFields) opts->*option = defaults.*field;
  for (const auto &[option, field] : kOptionalLimitFields) opts->*option = defaults.*field;
  opts->rtmps_address = "0.0.0.0";
  opts->rtmps_port = -1;
  opts->srt_address = "0.0.0.0";
  opts->srt_port = -1;
  opts->srt_latency_ms = 120;
  opts->srt_pbkeylen = 16;
  opts->hls = 1;
  opts->segment_format = LG_SEGMENT_TS;
  opts->segment_target_ms = 2000;
  opts->live_playlist_segments = 6;
  opts->dvr_window_s = 7200;
  opts->recording_rotate_s = 600;
  opts->vod_on_stop = 1;
  opts->output_queue_bytes = 64 * 1024 * 1024;
  opts->playlist_end_ms = 10000;
  opts->failover_policy = LG_FAILOVER_AUTO;
  opts->stall_ms = 1500;
  opts->keyframe_timeout_ms = 10000;
  opts->clear_ms = 2000;
  opts->switch_back_ms = 10000;
  opts->reconnect_window_ms = 10000;
  opts->input_buffer_bytes = 32 * 1024 * 1024;
  opts->black_after_ms = 2000;
  opts->frozen_after_ms = 4000;
  opts->silence_after_ms = 3000;
  opts->silence_dbfs = -60;
}

LG_API lg_status lg_server_create(lg_server **server, const lg_server_options *opts,
                                  const lg_server_callbacks *callbacks) {
  return guard([&]() -> lg_status {
    if (!server) return LG_E_INVALID_ARG;
    *server = nullptr;
    // Read only the fields the caller's struct covers; the rest keep defaults.
    lg_server_options o;
    lg_server_options_init(&o);
    if (opts) {
      if (opts->struct_size < offsetof(lg_server_options, log)) return LG_E_INVALID_ARG;
      std::memcpy(&o, opts, std::min(opts->struct_size, sizeof(o)));
    }
    for (int port : {o.rtmp_port, o.rtmps_port, o.srt_port}) {
      if (port < -1 || port > 65535) return LG_E_INVALID_ARG;
    }
    if (o.srt_pbkeylen != 16 && o.srt_pbkeylen != 24 && o.srt_pbkeylen != 32) {
      return LG_E_INVALID_ARG;
    }
    if (o.srt_latency_ms > 60000 || o.srt_max_bitrate_kbps > 1000000) return LG_E_INVALID_ARG;
    if (o.failover_policy < LG_FAILOVER_AUTO || o.failover_policy > LG_FAILOVER_STICKY ||
        (o.content_checks & ~(LG_CHECK_BLACK | LG_CHECK_FROZEN | LG_CHECK_SILENCE)) != 0 ||
        o.silence_dbfs > 0 || o.bitrate_collapse_percent >= 100) {
      return LG_E_INVALID_ARG;
    }
    if (callbacks && callbacks->struct_size < offsetof(lg_server_callbacks, on_publish_start)) {
      return LG_E_INVALID_ARG;
    }
    lg::ingest::ServerConfig config;
    if (o.data_dir) config.data_dir = o.data_dir;
    if (o.rtmp_address) config.rtmp_address = o.rtmp_address;
    config.rtmp_port = o.rtmp_port;
    config.logger = lg::core::Logger(o.log, o.log_user, o.log_level);
    config.revoke_policy = o.revoke_policy == LG_REVOKE_DISCONNECT
                               ? lg::ingest::RevokePolicy::Disconnect
                               : lg::ingest::RevokePolicy::Keep;
    config.revalidate_interval_ms = o.revalidate_interval_ms;
    auto pick = [](uint32_t v, uint32_t def) { return v ? v : def; };
    for (const auto &[option, field] : kLimitFields) config.*field = pick(o.*option, config.*field);
    // LG_UNLIMITED is 0 inside: no table of failures or connections is kept.
    for (const auto &[option, field] : kOptionalLimitFields) {
      config.*field = o.*option == LG_UNLIMITED ? 0 : pick(o.*option, config.*field);
    }
    config.max_chunk_size = std::min(config.max_chunk_size, 0x7FFFFFFFu);
    config.host_authorization = o.host_authorization != 0;
    if (o.rtmps_address) config.rtmps_address = o.rtmps_address;
    config.rtmps_port = o.rtmps_port;
    if (o.tls_cert_file) config.tls_cert_file = o.tls_cert_file;
    if (o.tls_key_file) config.tls_key_file = o.tls_key_file;
    if (o.srt_address) config.srt_address = o.srt_address;
    config.srt_port = o.srt_port;
    config.srt_latency_ms = static_cast<int>(o.srt_latency_ms);
    config.srt_pbkeylen = static_cast<int>(o.srt_pbkeylen);

    auto handle = std::make_unique<lg_server>();
    auto owned_events = std::make_unique<CEvents>(callbacks);
    CEvents *events = owned_events.get();
    handle->events = std::move(owned_events);
    const std::string config_dir = config.data_dir;
    std::string error;
    lg_status rc = lg::ingest::Server::create(std::move(config), events, handle->server, error);
    if (rc != LG_OK) {
      if (o.log) o.log(o.log_user, LG_LOG_ERROR, error.c_str());
      return rc;
    }
    handle->store.store = &handle->server->store();
    handle->store.random = &handle->server->random();
    auto gate = std::make_shared<lg::capi::OutputGate>();
    gate->server = handle->server.get();
    gate->events = events;
    handle->gate = gate;
    events->set_logger(&handle->server->log());

    lg::failover::FailoverConfig failover;
    failover.policy = o.failover_policy == LG_FAILOVER_MANUAL   ? lg::failover::Policy::Manual
                      : o.failover_policy == LG_FAILOVER_STICKY ? lg::failover::Policy::Sticky
                                                                : lg::failover::Policy::Auto;
    // 0 keeps the default, which the config structs hold.
    auto keep = [](uint32_t v, auto def) { return v ? static_cast<decltype(def)>(v) : def; };
    failover.health.stall_ms = keep(o.stall_ms, failover.health.stall_ms);
    failover.health.keyframe_timeout_ms =
        keep(o.keyframe_timeout_ms, failover.health.keyframe_timeout_ms);
    failover.health.bitrate_collapse_ratio = o.bitrate_collapse_percent / 100.0;
    failover.health.clear_ms = keep(o.clear_ms, failover.health.clear_ms);
    failover.switch_back_ms = keep(o.switch_back_ms, failover.switch_back_ms);
    failover.reconnect_window_ms = keep(o.reconnect_window_ms, failover.reconnect_window_ms);
    failover.input_buffer_bytes = keep(o.input_buffer_bytes, failover.input_buffer_bytes);
    failover.content.black = (o.content_checks & LG_CHECK_BLACK) != 0;
    failover.content.frozen = (o.content_checks & LG_CHECK_FROZEN) != 0;
    failover.content.silence = (o.content_checks & LG_CHECK_SILENCE) != 0;
    failover.content.black_after_ms = keep(o.black_after_ms, failover.content.black_after_ms);
    failover.content.frozen_after_ms = keep(o.frozen_after_ms, failover.content.frozen_after_ms);
    failover.content.silence_after_ms = keep(o.silence_after_ms, failover.content.silence_after_ms);
    if (o.silence_dbfs) failover.content.silence_dbfs = o.silence_dbfs;
    handle->router = std::make_unique<lg::failover::Router>(
        std::move(failover), *events, [gate](std::function<void()> fn) {
          gate->post([fn = std::move(fn)](lg::ingest::Server &, CEvents &) { fn(); });
        });
    events->set_router(handle->router.get());

    if (o.hls) {
      lg::pack::OutputConfig out;
      out.media_dir = o.media_dir && *o.media_dir
                          ? std::string(o.media_dir)
                          : (std::filesystem::path(config_dir) / "media").string();
      out.format =
          o.segment_format == LG_SEGMENT_FMP4 ? lg::pack::Format::Fmp4 : lg::pack::Format::Ts;
      out.segment_target_us = static_cast<int64_t>(pick(o.segment_target_ms, 2000)) * 1000;
      out.live_segments = pick(o.live_playlist_segments, 6);
      out.dvr_window_us = static_cast<int64_t>(pick(o.dvr_window_s, 7200)) * 1000000;
      out.recording_rotate_us = static_cast<int64_t>(pick(o.recording_rotate_s, 600)) * 1000000;
      out.vod_on_stop = o.vod_on_stop != 0;
      out.queue_bytes = pick(o.output_queue_bytes, 64 * 1024 * 1024);
      out.end_after_ms = pick(o.playlist_end_ms, 10000);
      handle->packager = std::make_unique<lg::pack::Packager>(
          std::move(out), handle->server->store(),
          [gate](lg::pack::OutputEvent e) {
            gate->post([e = std::move(e)](lg::ingest::Server &, CEvents &ev) { ev.on_output(e); });
          },
          [gate](lg_log_level level, std::string message) {
            gate->post([level, message = std::move(message)](lg::ingest::Server &srv, CEvents &) {
              srv.log().log(level, "{}", message);
            });
          });
      events->set_packager(handle->packager.get());
    }
    *server = handle.release();
    return LG_OK;
  });
}

LG_API lg_status lg_server_start(lg_server *server) {
  return guard([&]() -> lg_status {
    if (!server) return LG_E_INVALID_ARG;
    std::string error;
    lg_status rc = server->server->start(error);
    if (rc != LG_OK) {
      server->server->log().error("{}", error);
      return rc;
    }
    if (server->packager) server->packager->start();
    return rc;
  });
}

LG_API void lg_server_destroy(lg_server *server) {
  if (!server) return;
  try {
    // The output threads finish what is queued (closing live segments and
    // recordings) and report nothing more; then the loop goes.
    if (server->packager) server->packager->stop();
    server->gate->close();
    lg::ingest::Server::destroy(std::move(server->server));
  } catch (...) {
  }
  // When destroyed from a callback the events object must outlive the loop's
  // last turn, which no longer reports anything: it is quiet by then.
  delete server;
}

LG_API lg_status lg_server_get_port(lg_server *server, lg_protocol protocol, int *port) {
  return guard([&]() -> lg_status {
    if (!server || !port) return LG_E_INVALID_ARG;
    lg::ingest::Protocol p;
    switch (protocol) {
      case LG_PROTOCOL_RTMP:
        p = lg::ingest::Protocol::Rtmp;
        break;
      case LG_PROTOCOL_RTMPS:
        p = lg::ingest::Protocol::Rtmps;
        break;
      case LG_PROTOCOL_SRT:
        p = lg::ingest::Protocol::Srt;
        break;
      default:
        return LG_E_INVALID_ARG;
    }
    const int value = server->server->port(p);
    if (value < 0) return LG_E_NOT_FOUND;
    *port = value;
    return LG_OK;
  });
}

LG_API lg_status lg_server_get_tls_fingerprint(lg_server *server, char *buf, size_t size) {
  return guard([&]() -> lg_status {
    if (!server || !buf) return LG_E_INVALID_ARG;
    const std::string &fp = server->server->tls_fingerprint();
    if (fp.empty()) return LG_E_NOT_FOUND;
    if (size < fp.size() + 1) return LG_E_BUFFER_TOO_SMALL;
    std::memcpy(buf, fp.c_str(), fp.size() + 1);
    return LG_OK;
  });
}

LG_API lg_store *lg_server_get_store(lg_server *server) {
  return server ? &server->store : nullptr;
}

LG_API lg_status lg_server_regenerate_token(lg_server *server, const char *entry_id,
                                            lg_revoke_policy policy, lg_entry *out) {
  return guard([&]() -> lg_status {
    if (!server || !entry_id ||
        (out && out->struct_size < offsetof(lg_entry, has_srt_passphrase))) {
      return LG_E_INVALID_ARG;
    }
    lg::auth::Entry entry;
    lg_status rc = server->server->regenerate_token(entry_id,
                                                    policy == LG_REVOKE_DISCONNECT
                                                        ? lg::ingest::RevokePolicy::Disconnect
                                                        : lg::ingest::RevokePolicy::Keep,
                                                    entry);
    if (rc == LG_OK && out) lg::capi::fill_entry(out, entry);
    return rc;
  });
}

LG_API lg_status lg_server_authorize(lg_server *server, uint64_t request_id, lg_status status,
                                     const char *reason) {
  return guard([&]() -> lg_status {
    if (!server) return LG_E_INVALID_ARG;
    return server->server->authorize(request_id, status, reason ? reason : "");
  });
}

LG_API lg_status lg_server_disconnect(lg_server *server, uint64_t session_id, const char *reason) {
  return guard([&]() -> lg_status {
    if (!server) return LG_E_INVALID_ARG;
    return server->server->disconnect(session_id, reason ? reason : "");
  });
}

LG_API lg_status lg_server_get_session_stats(lg_server *server, uint64_t session_id,
                                             lg_session_stats *stats) {
  return guard([&]() -> lg_status {
    if (!server || !stats || stats->struct_size < offsetof(lg_session_stats, srt_valid)) {
      return LG_E_INVALID_ARG;
    }
    lg::ingest::Stats s;
    lg_status rc = server->server->session_stats(session_id, s);
    if (rc == LG_OK) {
      const size_t size = std::min(stats->struct_size, sizeof(lg_session_stats));
      lg_session_stats full = CEvents::stats_to_c(s);
      full.struct_size = stats->struct_size;
      std::memcpy(stats, &full, size);
    }
    return rc;
  });
}

LG_API lg_status lg_server_get_counters(lg_server *server, lg_server_counters *counters) {
  return guard([&]() -> lg_status {
    if (!server || !counters ||
        counters->struct_size < offsetof(lg_server_counters, connections_accepted)) {
      return LG_E_INVALID_ARG;
    }
    const auto c = server->server->counters();
    lg_server_counters full{};
    full.struct_size = counters->struct_size;
    full.connections_accepted = c.connections_accepted;
    full.connections_refused = c.connections_refused;
    full.publishes_throttled = c.publishes_throttled;
    full.handshake_timeouts = c.handshake_timeouts;
    full.idle_timeouts = c.idle_timeouts;
    full.slow_readers_cut = c.slow_readers_cut;
    full.protocol_errors = c.protocol_errors;
    full.limit_errors = c.limit_errors;
    full.srt_bytes_dropped = c.srt_bytes_dropped;
    if (server->packager) full.output_frames_dropped = server->packager->frames_dropped();
    if (server->router) full.content_frames_skipped = server->router->content_frames_skipped();
    std::memcpy(counters, &full, std::min(counters->struct_size, sizeof full));
    return LG_OK;
  });
}

}  // extern "C"
