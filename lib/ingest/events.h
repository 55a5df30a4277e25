// What the ingest layer tells its host, in C++ terms. The C API translates
// these into the lg_* structs.
#pragma once

#include <cstdint>
#include <string>

#include "livegate/common.h"
#include "media/frame.h"
#include "srt/stats.h"
#include "url/endpoint.h"

namespace lg::ingest {

enum class Protocol { Rtmp, Rtmps, Srt };

struct PublishInfo {
  uint64_t session_id = 0;
  std::string entry_id;
  url::Role role = url::Role::Primary;
  std::string stream_name;
  Protocol protocol = Protocol::Rtmp;
  std::string remote_address;
  std::string app;
  std::string tc_url;
  std::string encoder;
  std::string metadata_json = "{}";
  media::VideoParams video;
  media::AudioParams audio;
};

struct RejectInfo {
  lg_status status = LG_E_AUTH;
  std::string reason;
  std::string remote_address;
  Protocol protocol = Protocol::Rtmp;
  std::string entry_id;
  url::Role role = url::Role::Primary;
  std::string stream_name;
};

// What an SRT session's transport and its MPEG-TS payload report.
struct SrtStats {
  bool valid = false;  // false for RTMP sessions
  srt::TransportStats transport;
  uint64_t ts_continuity_errors = 0;
  uint64_t ts_dropped_pes = 0;
};

struct Stats {
  uint64_t bytes_in = 0;
  uint64_t video_frames = 0;
  uint64_t audio_frames = 0;
  uint64_t bitrate_bps = 0;
  double fps = 0;
  uint64_t duration_ms = 0;
  SrtStats srt;
};

struct AuthRequest {
  uint64_t request_id = 0;
  std::string entry_id;
  url::Role role = url::Role::Primary;
  std::string stream_name;
  std::string token;
  Protocol protocol = Protocol::Rtmp;
  std::string remote_address;
};

// Called on the loop thread only.
class Events {
 public:
  virtual ~Events() = default;
  virtual void on_publish_start(const PublishInfo &) {}
  virtual void on_publish_reject(const RejectInfo &) {}
  virtual void on_publish_stop(const PublishInfo &, const Stats &, lg_status, std::string_view) {}
  virtual void on_frame(const PublishInfo &, const media::Frame &) {}
  virtual void on_authorize(const AuthRequest &) {}
  // Every ServerConfig::tick_interval_ms, with the steady clock in us.
  virtual void on_tick(int64_t) {}
};

}  // namespace lg::ingest
