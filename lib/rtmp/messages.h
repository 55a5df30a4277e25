// RTMP message types, protocol control and user control messages, and the
// builders and parsers for them. Protocol control messages travel on csid 2,
// message stream 0.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "rtmp/amf0.h"
#include "rtmp/chunk.h"

namespace lg::rtmp {

namespace msg_type {
inline constexpr uint8_t kSetChunkSize = 1;
inline constexpr uint8_t kAbort = 2;
inline constexpr uint8_t kAck = 3;
inline constexpr uint8_t kUserControl = 4;
inline constexpr uint8_t kWindowAckSize = 5;
inline constexpr uint8_t kSetPeerBandwidth = 6;
inline constexpr uint8_t kAudio = 8;
inline constexpr uint8_t kVideo = 9;
inline constexpr uint8_t kDataAmf3 = 15;
inline constexpr uint8_t kSharedObjAmf3 = 16;
inline constexpr uint8_t kCommandAmf3 = 17;
inline constexpr uint8_t kDataAmf0 = 18;
inline constexpr uint8_t kSharedObjAmf0 = 19;
inline constexpr uint8_t kCommandAmf0 = 20;
inline constexpr uint8_t kAggregate = 22;
}  // namespace msg_type

namespace user_control {
inline constexpr uint16_t kStreamBegin = 0;
inline constexpr uint16_t kStreamEOF = 1;
inline constexpr uint16_t kStreamDry = 2;
inline constexpr uint16_t kSetBufferLength = 3;
inline constexpr uint16_t kStreamIsRecorded = 4;
inline constexpr uint16_t kPingRequest = 6;
inline constexpr uint16_t kPingResponse = 7;
}  // namespace user_control

// Limit types of Set Peer Bandwidth.
namespace bandwidth_limit {
inline constexpr uint8_t kHard = 0;
inline constexpr uint8_t kSoft = 1;
inline constexpr uint8_t kDynamic = 2;
}  // namespace bandwidth_limit

inline constexpr uint32_t kControlCsid = 2;

Message make_set_chunk_size(uint32_t size);
Message make_abort(uint32_t csid);
Message make_ack(uint32_t sequence);
Message make_window_ack_size(uint32_t size);
Message make_set_peer_bandwidth(uint32_t size, uint8_t limit_type);
Message make_user_control(uint16_t event, std::span<const uint8_t> data);
Message make_stream_begin(uint32_t stream_id);
Message make_stream_eof(uint32_t stream_id);
Message make_ping_request(uint32_t timestamp);
Message make_ping_response(uint32_t timestamp);
// An AMF0 command message (type 20) carrying `values` in order.
Message make_command(uint32_t csid, uint32_t stream_id, std::span<const amf0::Value> values);
// An AMF0 data message (type 18), e.g. @setDataFrame/onMetaData.
Message make_data(uint32_t csid, uint32_t stream_id, std::span<const amf0::Value> values);

// Reads a big-endian u32 from the first 4 bytes; false if fewer.
bool read_u32be(std::span<const uint8_t> in, uint32_t &value);
// Reads a big-endian u16 from the first 2 bytes; false if fewer.
bool read_u16be(std::span<const uint8_t> in, uint16_t &value);

// Splits a user control message into its event type and event data (a view
// into `payload`). False if shorter than the 2-byte event type.
bool parse_user_control(std::span<const uint8_t> payload, uint16_t &event,
                        std::span<const uint8_t> &data);

// Walks the FLV-tag-shaped sub-messages of an Aggregate message (type 22):
// each has an 11-byte header (type, 24-bit size, 24-bit timestamp plus an
// 8-bit upper timestamp byte, 24-bit stream id), its payload, and a 4-byte
// back-pointer. `visit` gets the type, the sub-message's own 32-bit
// timestamp and a view of its payload. Returns false with `error` on a
// truncated or oversized sub-message; sub-messages before it were already
// visited, so callers that must be all-or-nothing collect first.
using AggregateVisitor =
    std::function<void(uint8_t type, uint32_t timestamp, std::span<const uint8_t> payload)>;
bool split_aggregate(std::span<const uint8_t> payload, const AggregateVisitor &visit,
                     std::string &error);

}  // namespace lg::rtmp
