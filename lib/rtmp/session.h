// The server side of one RTMP connection: handshake, chunk stream and the
// publishing command state machine. It does no I/O: bytes go in with feed(),
// bytes to send and events come out through the Handler.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "livegate/common.h"
#include "rtmp/amf0.h"
#include "rtmp/chunk.h"
#include "rtmp/handshake.h"

namespace lg::rtmp {

struct SessionLimits {
  ChunkLimits chunk;
  amf0::Limits amf;
  // Media that arrives while a publish awaits authorisation is held, up to
  // this many bytes; past that the connection is refused.
  size_t max_pending_bytes = 4 * 1024 * 1024;
};

struct ConnectInfo {
  std::string app;
  std::string tc_url;
  std::string flash_ver;
};

class ServerSession {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_rtmp_send(std::vector<uint8_t> bytes) = 0;
    virtual void on_rtmp_connect(const ConnectInfo &info) = 0;
    // The encoder asked to publish; answer with accept_publish() or
    // reject_publish(), now or later.
    virtual void on_rtmp_publish(std::string_view stream_name, std::string_view type) = 0;
    // The encoder ended its publish (FCUnpublish, deleteStream, closeStream).
    virtual void on_rtmp_unpublish() = 0;
    virtual void on_rtmp_metadata(const amf0::Value &metadata) = 0;
    // Audio (8) or video (9) message of an accepted publish.
    virtual void on_rtmp_media(uint8_t type, uint32_t timestamp, std::vector<uint8_t> payload) = 0;
  };

  ServerSession(Handler &handler, ServerHandshake::RandomFn random, SessionLimits limits = {});

  // Consumes bytes from the peer. On error the connection must be closed;
  // error() says why.
  lg_status feed(std::span<const uint8_t> bytes);
  const std::string &error() const { return error_; }

  void accept_publish();
  // Sends an error onStatus with `code` (e.g. "NetStream.Publish.BadName")
  // and `description`; the caller then closes the connection.
  void reject_publish(std::string_view code, std::string_view description);

  const ConnectInfo &connect_info() const { return connect_; }
  bool handshake_done() const { return handshake_done_; }
  bool publishing() const { return state_ == State::Publishing; }
  uint64_t bytes_in() const { return bytes_in_; }
  // Data messages (metadata) that could not be decoded and were skipped.
  uint64_t malformed_data() const { return malformed_data_; }
  bool used_digest_handshake() const { return handshake_.used_digest(); }

 private:
  enum class State { Connecting, Connected, PublishPending, Publishing, Closed };

  lg_status on_message(Message &msg);
  lg_status on_command(const Message &msg, std::span<const uint8_t> body);
  lg_status on_data(const Message &msg, std::span<const uint8_t> body);
  lg_status on_user_control(const Message &msg);
  lg_status deliver_media(Message &msg);
  lg_status fail(lg_status status, std::string message);
  void send(const Message &msg);
  void send_command(uint32_t stream_id, std::span<const amf0::Value> values);
  void send_result(double transaction, amf0::Value properties, amf0::Value info);
  void send_status(std::string_view level, std::string_view code, std::string_view description);
  void maybe_ack();

  Handler &handler_;
  SessionLimits limits_;
  ServerHandshake handshake_;
  ChunkReader reader_;
  ChunkWriter writer_;
  bool handshake_done_ = false;
  State state_ = State::Connecting;
  ConnectInfo connect_;
  std::string stream_name_;
  uint32_t publish_stream_id_ = 0;
  uint32_t next_stream_id_ = 1;
  uint64_t bytes_in_ = 0;
  uint64_t malformed_data_ = 0;
  uint64_t last_ack_ = 0;
  uint32_t peer_window_ = 0;
  std::vector<Message> pending_media_;
  size_t pending_bytes_ = 0;
  std::string error_;
};

}  // namespace lg::rtmp
