// What every ingest connection shares, whatever its protocol: the publish it
// asks for, authorisation, the session's start and stop events, frame
// counting and rates, and its end. A protocol subclass feeds it frames and
// bytes and supplies the few things only it knows (how to answer a refusal,
// how to close, what its transport measures).
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "ingest/events.h"
#include "url/endpoint.h"

namespace lg::ingest {

class Server;

const char *protocol_name(Protocol protocol);  // "rtmp", "rtmps", "srt"

class Connection {
 public:
  Connection(Server &server, uint64_t id, Protocol protocol, std::string remote_address);
  virtual ~Connection() = default;
  Connection(const Connection &) = delete;
  Connection &operator=(const Connection &) = delete;

  // Begins reading from the transport, or asking for the publish.
  virtual void start() = 0;
  uint64_t id() const { return id_; }
  // The publish target, valid once the encoder asked to publish.
  const PublishInfo &info() const { return info_; }
  const std::string &token() const { return token_; }
  bool publishing() const { return accepted_; }
  bool ended() const { return ended_; }
  uint64_t created_ms() const { return created_ms_; }
  uint64_t last_data_ms() const { return last_data_ms_; }
  virtual size_t queued_bytes() const { return 0; }

  // The server's verdict on the publish this connection asked for.
  void accept();
  // Tells the encoder and the host why, then ends the connection.
  void refuse(lg_status status, std::string reason);
  // Ends the connection: reports publish_stop (if started) with `status`
  // and `reason`, drops a pending publish, closes the transport, and hands
  // the object to the server to be freed later.
  void end(lg_status status, std::string reason);
  Stats stats(uint64_t now_ms) const;

 protected:
  // Asks the server to authorise a publish to `target`.
  void request_publish(url::PublishTarget target);
  // A publish that never reached the server: a malformed target.
  void refuse_target(lg_status status, std::string reason, std::string stream_name);
  // The publish ends but the connection may stay (RTMP can publish again).
  void stop_session(lg_status status, std::string_view reason);
  void emit_frame(const media::Frame &frame);
  void count_bytes(size_t bytes);
  void report_reject(lg_status status, const std::string &reason);

  virtual void on_accepted() {}
  virtual void send_refusal(lg_status, const std::string &) {}
  virtual void close_transport() = 0;
  virtual void on_session_reset() {}
  virtual void add_transport_stats(Stats &) const {}

  Server &server_;
  PublishInfo info_;
  std::string token_;
  bool publish_requested_ = false;
  uint64_t last_data_ms_;

 private:
  void maybe_start();
  void count_rate(uint64_t now_ms, size_t bytes, bool video_frame);

  uint64_t id_;
  bool accepted_ = false;
  bool started_ = false;  // publish_start reported
  bool ended_ = false;
  uint64_t created_ms_;
  uint64_t accepted_ms_ = 0;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_at_accept_ = 0;
  uint64_t video_frames_ = 0;
  uint64_t audio_frames_ = 0;
  struct RateBucket {
    uint64_t second;
    uint64_t bytes;
    uint64_t frames;
  };
  std::deque<RateBucket> rate_;
};

}  // namespace lg::ingest
