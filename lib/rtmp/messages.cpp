#include "rtmp/messages.h"

namespace lg::rtmp {

namespace {

void put_u16(std::vector<uint8_t> &out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put_u32(std::vector<uint8_t> &out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

Message control(uint8_t type, std::vector<uint8_t> payload) {
  Message msg;
  msg.csid = kControlCsid;
  msg.type_id = type;
  msg.stream_id = 0;
  msg.timestamp = 0;
  msg.payload = std::move(payload);
  return msg;
}

Message control_u32(uint8_t type, uint32_t value) {
  std::vector<uint8_t> payload;
  put_u32(payload, value);
  return control(type, std::move(payload));
}

Message amf0_message(uint8_t type, uint32_t csid, uint32_t stream_id,
                     std::span<const amf0::Value> values) {
  Message msg;
  msg.csid = csid;
  msg.type_id = type;
  msg.stream_id = stream_id;
  amf0::encode_all(values, msg.payload);
  return msg;
}

uint32_t be24(const uint8_t *p) {
  return (uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2];
}

}  // namespace

Message make_set_chunk_size(uint32_t size) {
  // The top bit is reserved and must be zero.
  return control_u32(msg_type::kSetChunkSize, size & 0x7FFFFFFF);
}

Message make_abort(uint32_t csid) {
  return control_u32(msg_type::kAbort, csid);
}

Message make_ack(uint32_t sequence) {
  return control_u32(msg_type::kAck, sequence);
}

Message make_window_ack_size(uint32_t size) {
  return control_u32(msg_type::kWindowAckSize, size);
}

Message make_set_peer_bandwidth(uint32_t size, uint8_t limit_type) {
  std::vector<uint8_t> payload;
  put_u32(payload, size);
  payload.push_back(limit_type);
  return control(msg_type::kSetPeerBandwidth, std::move(payload));
}

Message make_user_control(uint16_t event, std::span<const uint8_t> data) {
  std::vector<uint8_t> payload;
  put_u16(payload, event);
  payload.insert(payload.end(), data.begin(), data.end());
  return control(msg_type::kUserControl, std::move(payload));
}

namespace {
Message user_control_u32(uint16_t event, uint32_t value) {
  const uint8_t data[4] = {static_cast<uint8_t>(value >> 24), static_cast<uint8_t>(value >> 16),
                           static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
  return make_user_control(event, data);
}
}  // namespace

Message make_stream_begin(uint32_t stream_id) {
  return user_control_u32(user_control::kStreamBegin, stream_id);
}

Message make_stream_eof(uint32_t stream_id) {
  return user_control_u32(user_control::kStreamEOF, stream_id);
}

Message make_ping_request(uint32_t timestamp) {
  return user_control_u32(user_control::kPingRequest, timestamp);
}

Message make_ping_response(uint32_t timestamp) {
  return user_control_u32(user_control::kPingResponse, timestamp);
}

Message make_command(uint32_t csid, uint32_t stream_id, std::span<const amf0::Value> values) {
  return amf0_message(msg_type::kCommandAmf0, csid, stream_id, values);
}

Message make_data(uint32_t csid, uint32_t stream_id, std::span<const amf0::Value> values) {
  return amf0_message(msg_type::kDataAmf0, csid, stream_id, values);
}

bool read_u32be(std::span<const uint8_t> in, uint32_t &value) {
  if (in.size() < 4) return false;
  value = (uint32_t(in[0]) << 24) | (uint32_t(in[1]) << 16) | (uint32_t(in[2]) << 8) | in[3];
  return true;
}

bool read_u16be(std::span<const uint8_t> in, uint16_t &value) {
  if (in.size() < 2) return false;
  value = static_cast<uint16_t>((in[0] << 8) | in[1]);
  return true;
}

bool parse_user_control(std::span<const uint8_t> payload, uint16_t &event,
                        std::span<const uint8_t> &data) {
  if (!read_u16be(payload, event)) return false;
  data = payload.subspan(2);
  return true;
}

bool split_aggregate(std::span<const uint8_t> payload, const AggregateVisitor &visit,
                     std::string &error) {
  constexpr size_t kTagHeader = 11;
  constexpr size_t kBackPointer = 4;
  size_t pos = 0;
  size_t index = 0;
  while (pos < payload.size()) {
    const size_t left = payload.size() - pos;
    if (left < kTagHeader) {
      error = "sub-message " + std::to_string(index) + " header truncated (" +
              std::to_string(left) + " of 11 bytes)";
      return false;
    }
    const uint8_t *h = payload.data() + pos;
    const uint8_t type = h[0];
    const uint32_t size = be24(h + 1);
    const uint32_t timestamp = be24(h + 4) | (uint32_t(h[7]) << 24);
    if (size > left - kTagHeader) {
      error = "sub-message " + std::to_string(index) + " claims " + std::to_string(size) +
              " bytes but only " + std::to_string(left - kTagHeader) + " remain";
      return false;
    }
    visit(type, timestamp, payload.subspan(pos + kTagHeader, size));
    pos += kTagHeader + size;
    // The back-pointer may be missing after the last sub-message; its value
    // is not checked, as writers disagree on it.
    const size_t after = payload.size() - pos;
    if (after == 0) break;
    if (after < kBackPointer) {
      error = "sub-message " + std::to_string(index) + " back-pointer truncated";
      return false;
    }
    pos += kBackPointer;
    ++index;
  }
  return true;
}

}  // namespace lg::rtmp
