// One SRT caller: its stream id names the publish, its MPEG-TS payload is
// demuxed into frames. The transport lives in srt::Listener; this object
// only ever sees the caller's bytes on the loop thread.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "ingest/connection.h"
#include "media/ts_demux.h"
#include "srt/listener.h"

namespace lg::ingest {

class SrtConnection final : public Connection, private media::TsDemuxer::Handler {
 public:
  SrtConnection(Server &server, uint64_t id, srt::Listener &listener, uint64_t srt_id,
                std::string stream_id, std::string remote_address);
  ~SrtConnection() override;

  uint64_t srt_id() const { return srt_id_; }
  // Reads the stream id and asks the server to authorise the publish.
  void start() override;
  void on_data(std::vector<uint8_t> bytes);
  void on_closed(lg_status status, std::string reason, const srt::TransportStats &last);

 private:
  // Connection
  void on_accepted() override;
  void close_transport() override;
  void add_transport_stats(Stats &stats) const override;
  // media::TsDemuxer::Handler
  void on_ts_video_params(const media::VideoParams &params) override;
  void on_ts_audio_params(const media::AudioParams &params) override;
  void on_ts_frame(const media::Frame &frame) override;

  void flush_held();
  bool ready_to_release() const;

  srt::Listener *listener_;  // null once the transport is closed
  uint64_t srt_id_;
  std::string stream_id_;
  media::TsDemuxer demuxer_;
  // Bytes that arrive while the publish is being authorised: an SRT caller
  // sends from the first moment, and its first keyframe must not be lost.
  std::vector<uint8_t> early_;
  bool early_overflow_ = false;
  // Frames held until the first video frame (or a bound), so that
  // publish_start reports the video parameters whenever the stream has
  // video, as it does for RTMP, whose sequence headers come first.
  std::deque<media::Frame> held_;
  bool releasing_ = false;
  // What libsrt measured last: the session's final stats once the socket is
  // gone.
  mutable srt::TransportStats transport_;
  uint64_t stats_read_ms_ = 0;
  bool have_base_ = false;
  int64_t base_us_ = 0;
};

}  // namespace lg::ingest
