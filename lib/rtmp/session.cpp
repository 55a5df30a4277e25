#include "rtmp/session.h"

#include <fmt/format.h>

#include "rtmp/messages.h"

namespace lg::rtmp {

namespace {

// Our side of the chunk stream: large chunks cost fewer headers, and every
// client we know of honours Set Chunk Size.
constexpr uint32_t kOutChunkSize = 4096;
constexpr uint32_t kWindowAckSize = 2500000;
constexpr uint32_t kCommandCsid = 3;
constexpr uint32_t kStatusCsid = 5;

std::string string_field(const amf0::Value &obj, std::string_view key) {
  const amf0::Value *v = obj.get(key);
  return v ? std::string(v->as_string()) : std::string();
}

}  // namespace

ServerSession::ServerSession(Handler &handler, ServerHandshake::RandomFn random,
                             SessionLimits limits)
    : handler_(handler), limits_(limits), handshake_(std::move(random)), reader_(limits.chunk) {}

lg_status ServerSession::fail(lg_status status, std::string message) {
  error_ = std::move(message);
  state_ = State::Closed;
  return status;
}

lg_status ServerSession::feed(std::span<const uint8_t> bytes) {
  if (state_ == State::Closed) return LG_E_STATE;
  bytes_in_ += bytes.size();
  if (!handshake_done_) {
    size_t consumed = 0;
    std::vector<uint8_t> out;
    auto status = handshake_.feed(bytes, consumed, out);
    if (!out.empty()) handler_.on_rtmp_send(std::move(out));
    if (status == ServerHandshake::Status::Error) {
      return fail(LG_E_PROTOCOL, "RTMP handshake failed: " + handshake_.error());
    }
    if (status == ServerHandshake::Status::NeedMore) return LG_OK;
    handshake_done_ = true;
    bytes = bytes.subspan(consumed);
  }
  // The reader may hold back a few bytes while it checks for a repeated
  // extended timestamp, so it is asked again until it needs more input.
  for (;;) {
    size_t consumed = 0;
    Message msg;
    auto status = reader_.feed(bytes, consumed, msg);
    bytes = bytes.subspan(consumed);
    if (status == ChunkReader::Status::Error) {
      return fail(reader_.over_limit() ? LG_E_LIMIT : LG_E_PROTOCOL,
                  "RTMP chunk stream: " + reader_.error());
    }
    if (status == ChunkReader::Status::NeedMore) break;
    lg_status rc = on_message(msg);
    if (rc != LG_OK) return rc;
    if (state_ == State::Closed) return LG_E_CLOSED;
  }
  maybe_ack();
  return LG_OK;
}

void ServerSession::maybe_ack() {
  // The peer paces itself on our acknowledgements once it announced a window.
  if (peer_window_ == 0 || !handshake_done_) return;
  if (bytes_in_ - last_ack_ >= peer_window_) {
    last_ack_ = bytes_in_;
    send(make_ack(static_cast<uint32_t>(bytes_in_)));
  }
}

lg_status ServerSession::on_message(Message &msg) {
  switch (msg.type_id) {
    case msg_type::kSetChunkSize:
    case msg_type::kAbort:
    case msg_type::kAck:
    case msg_type::kSetPeerBandwidth:
      return LG_OK;  // the reader already applied what matters to parsing
    case msg_type::kWindowAckSize:
      if (msg.payload.size() >= 4) {
        peer_window_ = (uint32_t(msg.payload[0]) << 24) | (uint32_t(msg.payload[1]) << 16) |
                       (uint32_t(msg.payload[2]) << 8) | msg.payload[3];
      }
      return LG_OK;
    case msg_type::kUserControl:
      return on_user_control(msg);
    case msg_type::kCommandAmf0:
      return on_command(msg, msg.payload);
    case msg_type::kCommandAmf3:
      // An AMF3 command message is AMF0 behind one format byte.
      if (msg.payload.empty()) return fail(LG_E_PROTOCOL, "empty AMF3 command");
      return on_command(msg, std::span<const uint8_t>(msg.payload).subspan(1));
    case msg_type::kDataAmf0:
      return on_data(msg, msg.payload);
    case msg_type::kDataAmf3:
      if (msg.payload.empty()) return LG_OK;
      return on_data(msg, std::span<const uint8_t>(msg.payload).subspan(1));
    case msg_type::kAudio:
    case msg_type::kVideo:
      return deliver_media(msg);
    case msg_type::kAggregate: {
      std::string error;
      std::vector<Message> parts;
      bool have_base = false;
      uint32_t base = 0;
      bool ok = split_aggregate(
          msg.payload,
          [&](uint8_t type, uint32_t ts, std::span<const uint8_t> payload) {
            if (!have_base) {
              base = ts;
              have_base = true;
            }
            Message part;
            part.csid = msg.csid;
            part.type_id = type;
            part.stream_id = msg.stream_id;
            part.timestamp = msg.timestamp + (ts - base);
            part.payload.assign(payload.begin(), payload.end());
            parts.push_back(std::move(part));
          },
          error);
      if (!ok) return fail(LG_E_PROTOCOL, "malformed aggregate message: " + error);
      for (auto &part : parts) {
        if (part.type_id != msg_type::kAudio && part.type_id != msg_type::kVideo) continue;
        if (lg_status rc = deliver_media(part); rc != LG_OK) return rc;
      }
      return LG_OK;
    }
    default:
      return LG_OK;  // shared objects and unknown types are ignored, as other servers do
  }
}

lg_status ServerSession::on_user_control(const Message &msg) {
  uint16_t event = 0;
  std::span<const uint8_t> data;
  if (!parse_user_control(msg.payload, event, data)) {
    return fail(LG_E_PROTOCOL, "malformed user control message");
  }
  if (event == user_control::kPingRequest && data.size() >= 4) {
    uint32_t ts =
        (uint32_t(data[0]) << 24) | (uint32_t(data[1]) << 16) | (uint32_t(data[2]) << 8) | data[3];
    send(make_ping_response(ts));
  }
  return LG_OK;
}

lg_status ServerSession::deliver_media(Message &msg) {
  if (state_ == State::Publishing) {
    handler_.on_rtmp_media(msg.type_id, msg.timestamp, std::move(msg.payload));
    return LG_OK;
  }
  if (state_ == State::PublishPending) {
    // Some encoders start sending before they see Publish.Start; keep it.
    pending_bytes_ += msg.payload.size();
    if (pending_bytes_ > limits_.max_pending_bytes) {
      return fail(LG_E_LIMIT, "too much media before the publish was authorised");
    }
    pending_media_.push_back(std::move(msg));
    return LG_OK;
  }
  return LG_OK;  // media without a publish is dropped
}

lg_status ServerSession::on_command(const Message &msg, std::span<const uint8_t> body) {
  std::vector<amf0::Value> values;
  std::string error;
  if (!amf0::decode_all(body, limits_.amf, values, error)) {
    return fail(LG_E_PROTOCOL, "malformed AMF0 command: " + error);
  }
  if (values.empty() || !values[0].is_string()) {
    return fail(LG_E_PROTOCOL, "command message without a command name");
  }
  const std::string name(values[0].as_string());
  const double txn = values.size() > 1 && values[1].is_number() ? values[1].as_number() : 0;
  const amf0::Value *arg = values.size() > 3 ? &values[3] : nullptr;

  if (name == "connect") {
    if (state_ != State::Connecting) return fail(LG_E_PROTOCOL, "connect sent twice");
    if (values.size() < 3 || !(values[2].is_object() || values[2].is_ecma_array())) {
      return fail(LG_E_PROTOCOL, "connect without a command object");
    }
    connect_.app = string_field(values[2], "app");
    connect_.tc_url = string_field(values[2], "tcUrl");
    connect_.flash_ver = string_field(values[2], "flashVer");
    state_ = State::Connected;
    send(make_window_ack_size(kWindowAckSize));
    send(make_set_peer_bandwidth(kWindowAckSize, 2));
    send(make_set_chunk_size(kOutChunkSize));
    writer_.set_chunk_size(kOutChunkSize);
    send_result(txn,
                amf0::Value::object({{"fmsVer", amf0::Value::string("FMS/3,0,1,123")},
                                     {"capabilities", amf0::Value::number(31)}}),
                amf0::Value::object({{"level", amf0::Value::string("status")},
                                     {"code", amf0::Value::string("NetConnection.Connect.Success")},
                                     {"description", amf0::Value::string("Connection succeeded.")},
                                     {"objectEncoding", amf0::Value::number(0)}}));
    handler_.on_rtmp_connect(connect_);
    return LG_OK;
  }
  if (state_ == State::Connecting) {
    return fail(LG_E_PROTOCOL, fmt::format("'{}' before connect", name));
  }
  if (name == "releaseStream" || name == "FCPublish") {
    if (txn != 0) send_result(txn, amf0::Value::null(), amf0::Value::undefined());
    return LG_OK;
  }
  if (name == "createStream") {
    send_result(txn, amf0::Value::null(), amf0::Value::number(next_stream_id_++));
    return LG_OK;
  }
  if (name == "publish") {
    if (state_ == State::PublishPending || state_ == State::Publishing) {
      return fail(LG_E_PROTOCOL, "only one publish per connection");
    }
    if (!arg || !arg->is_string()) return fail(LG_E_PROTOCOL, "publish without a stream name");
    stream_name_ = std::string(arg->as_string());
    std::string type = values.size() > 4 && values[4].is_string()
                           ? std::string(values[4].as_string())
                           : std::string("live");
    publish_stream_id_ = msg.stream_id;
    state_ = State::PublishPending;
    handler_.on_rtmp_publish(stream_name_, type);
    return LG_OK;
  }
  if (name == "FCUnpublish" || name == "deleteStream" || name == "closeStream") {
    if (name == "FCUnpublish" && txn != 0) {
      send_result(txn, amf0::Value::null(), amf0::Value::undefined());
    }
    if (state_ == State::Publishing || state_ == State::PublishPending) {
      state_ = State::Connected;
      pending_media_.clear();
      pending_bytes_ = 0;
      handler_.on_rtmp_unpublish();
    }
    return LG_OK;
  }
  if (name == "play" || name == "play2") {
    publish_stream_id_ = msg.stream_id;
    send_status("error", "NetStream.Play.Failed", "this server accepts publishing only");
    return fail(LG_E_UNSUPPORTED, "the client asked to play; this server accepts publishing only");
  }
  // _checkbw, getStreamLength and the like: answer so clients waiting on a
  // transaction do not stall.
  if (txn != 0 && name != "_result" && name != "_error") {
    send_result(txn, amf0::Value::null(), amf0::Value::undefined());
  }
  return LG_OK;
}

lg_status ServerSession::on_data(const Message &, std::span<const uint8_t> body) {
  std::vector<amf0::Value> values;
  std::string error;
  if (!amf0::decode_all(body, limits_.amf, values, error)) {
    // Metadata is informational: a malformed one must not end a live stream.
    ++malformed_data_;
    return LG_OK;
  }
  size_t i = 0;
  if (i < values.size() && values[i].is_string() && values[i].as_string() == "@setDataFrame") ++i;
  if (i + 1 < values.size() && values[i].is_string() && values[i].as_string() == "onMetaData") {
    handler_.on_rtmp_metadata(values[i + 1]);
  }
  return LG_OK;
}

void ServerSession::accept_publish() {
  if (state_ != State::PublishPending) return;
  state_ = State::Publishing;
  send(make_stream_begin(publish_stream_id_));
  send_status("status", "NetStream.Publish.Start",
              fmt::format("{} is now published.", stream_name_));
  auto pending = std::move(pending_media_);
  pending_media_.clear();
  pending_bytes_ = 0;
  for (auto &msg : pending) {
    if (state_ != State::Publishing) break;
    handler_.on_rtmp_media(msg.type_id, msg.timestamp, std::move(msg.payload));
  }
}

void ServerSession::reject_publish(std::string_view code, std::string_view description) {
  send_status("error", code, description);
  state_ = State::Closed;
  pending_media_.clear();
}

void ServerSession::send(const Message &msg) {
  std::vector<uint8_t> out;
  writer_.write(msg, out);
  handler_.on_rtmp_send(std::move(out));
}

void ServerSession::send_command(uint32_t stream_id, std::span<const amf0::Value> values) {
  send(make_command(stream_id == 0 ? kCommandCsid : kStatusCsid, stream_id, values));
}

void ServerSession::send_result(double transaction, amf0::Value properties, amf0::Value info) {
  amf0::Value values[] = {amf0::Value::string("_result"), amf0::Value::number(transaction),
                          std::move(properties), std::move(info)};
  send_command(0, values);
}

void ServerSession::send_status(std::string_view level, std::string_view code,
                                std::string_view description) {
  amf0::Value values[] = {amf0::Value::string("onStatus"), amf0::Value::number(0),
                          amf0::Value::null(),
                          amf0::Value::object({{"level", amf0::Value::string(level)},
                                               {"code", amf0::Value::string(code)},
                                               {"description", amf0::Value::string(description)},
                                               {"details", amf0::Value::string(stream_name_)},
                                               {"clientid", amf0::Value::string("livegate")}})};
  send_command(publish_stream_id_, values);
}

}  // namespace lg::rtmp
