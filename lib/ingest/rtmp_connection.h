// One RTMP connection: glues a transport stream to the RTMP session, turns
// RTMP media messages into frames, and keeps the session's bookkeeping.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "ingest/events.h"
#include "ingest/timestamps.h"
#include "net/stream.h"
#include "rtmp/session.h"

namespace lg::ingest {

class Server;

class RtmpConnection final : public net::Stream::Handler, public rtmp::ServerSession::Handler {
 public:
  RtmpConnection(Server &server, uint64_t id, std::unique_ptr<net::Stream> stream);
  ~RtmpConnection() override;

  void start();
  uint64_t id() const { return id_; }
  // Ends the connection: reports publish_stop (if started) with `status` and
  // `reason`, refuses a pending publish, closes the transport, and hands
  // the object to the server to be freed later.
  void end(lg_status status, std::string reason);
  bool ended() const { return ended_; }

  // The publish target, valid once the encoder asked to publish.
  const PublishInfo &info() const { return info_; }
  const std::string &token() const { return token_; }
  bool publishing() const { return accepted_; }
  void accept();
  void refuse(lg_status status, std::string reason);

  Stats stats(uint64_t now_ms) const;
  uint64_t created_ms() const { return created_ms_; }
  uint64_t last_data_ms() const { return last_data_ms_; }
  size_t queued_bytes() const { return stream_ ? stream_->queued_bytes() : 0; }

 private:
  // net::Stream::Handler
  void on_stream_data(std::span<const uint8_t> bytes) override;
  void on_stream_closed(lg_status status, std::string_view reason) override;
  // rtmp::ServerSession::Handler
  void on_rtmp_send(std::vector<uint8_t> bytes) override;
  void on_rtmp_connect(const rtmp::ConnectInfo &info) override;
  void on_rtmp_publish(std::string_view stream_name, std::string_view type) override;
  void on_rtmp_unpublish() override;
  void on_rtmp_metadata(const rtmp::amf0::Value &metadata) override;
  void on_rtmp_media(uint8_t type, uint32_t timestamp, std::vector<uint8_t> payload) override;

  void on_video(uint32_t timestamp, std::shared_ptr<const std::vector<uint8_t>> buffer);
  void on_audio(uint32_t timestamp, std::shared_ptr<const std::vector<uint8_t>> buffer);
  void emit_frame(const media::Frame &frame);
  void maybe_start();
  void stop_session(lg_status status, std::string_view reason);
  void count_rate(uint64_t now_ms, size_t bytes, bool video_frame);

  Server &server_;
  uint64_t id_;
  std::unique_ptr<net::Stream> stream_;
  rtmp::ServerSession session_;
  PublishInfo info_;
  std::string token_;
  bool publish_requested_ = false;
  bool accepted_ = false;
  bool started_ = false;  // publish_start reported
  bool ended_ = false;
  bool video_config_ = false;
  bool audio_config_ = false;
  uint64_t created_ms_;
  uint64_t last_data_ms_;
  uint64_t accepted_ms_ = 0;
  uint64_t bytes_at_accept_ = 0;
  uint64_t video_frames_ = 0;
  uint64_t audio_frames_ = 0;
  uint64_t unsupported_ = 0;
  TimestampExtender video_clock_;
  TimestampExtender audio_clock_;
  struct RateBucket {
    uint64_t second;
    uint64_t bytes;
    uint64_t frames;
  };
  std::deque<RateBucket> rate_;
};

}  // namespace lg::ingest
