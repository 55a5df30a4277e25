// One RTMP or RTMPS connection: glues a transport stream (TCP or TLS) to the
// RTMP session and turns RTMP media messages into frames.
#pragma once

#include <memory>
#include <string>

#include "ingest/connection.h"
#include "ingest/timestamps.h"
#include "net/stream.h"
#include "rtmp/session.h"

namespace lg::ingest {

class RtmpConnection final : public Connection,
                             public net::Stream::Handler,
                             public rtmp::ServerSession::Handler {
 public:
  RtmpConnection(Server &server, uint64_t id, Protocol protocol,
                 std::unique_ptr<net::Stream> stream);
  ~RtmpConnection() override;

  void start() override;
  size_t queued_bytes() const override { return stream_ ? stream_->queued_bytes() : 0; }

 private:
  // Connection
  void on_accepted() override;
  void send_refusal(lg_status status, const std::string &reason) override;
  void close_transport() override;
  void on_session_reset() override;
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

  std::unique_ptr<net::Stream> stream_;
  rtmp::ServerSession session_;
  uint64_t unsupported_ = 0;
  TimestampExtender video_clock_;
  TimestampExtender audio_clock_;
};

}  // namespace lg::ingest
