// The RTMP chunk stream reader, fed in pieces, and the message parsers that
// take its output: user control events, aggregate sub-messages and AMF0
// command and data bodies.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "rtmp/amf0.h"
#include "rtmp/chunk.h"
#include "rtmp/messages.h"

using namespace lg::rtmp;

namespace {

void examine(const Message &msg) {
  std::string error;
  switch (msg.type_id) {
    case msg_type::kUserControl: {
      uint16_t event = 0;
      std::span<const uint8_t> data;
      if (parse_user_control(msg.payload, event, data)) {
        uint32_t value = 0;
        read_u32be(data, value);
      }
      break;
    }
    case msg_type::kAggregate: {
      size_t total = 0;
      split_aggregate(
          msg.payload,
          [&](uint8_t, uint32_t, std::span<const uint8_t> payload) { total += payload.size(); },
          error);
      lg::fuzz::check(total <= msg.payload.size(), "sub-messages lie within the aggregate");
      break;
    }
    case msg_type::kCommandAmf0:
    case msg_type::kDataAmf0: {
      std::vector<amf0::Value> values;
      amf0::decode_all(msg.payload, {}, values, error);
      break;
    }
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lg::fuzz::Input in(data, size);
  const uint8_t split = in.byte();
  std::span<const uint8_t> rest = in.rest();
  ChunkReader reader;
  uint64_t fed = 0;
  while (true) {
    std::span<const uint8_t> piece = rest.first(lg::fuzz::piece_size(split, rest.size()));
    rest = rest.subspan(piece.size());
    fed += piece.size();
    // Until NeedMore, even with nothing left to give.
    ChunkReader::Status status;
    do {
      size_t consumed = 0;
      Message msg;
      status = reader.feed(piece, consumed, msg);
      lg::fuzz::check(consumed <= piece.size(), "consumed no more than given");
      piece = piece.subspan(consumed);
      if (status == ChunkReader::Status::Message) {
        lg::fuzz::check(msg.csid >= kMinCsid && msg.csid <= kMaxCsid, "csid in range");
        examine(msg);
      }
    } while (status == ChunkReader::Status::Message);
    if (status == ChunkReader::Status::Error) {
      lg::fuzz::check(!reader.error().empty(), "an error says why");
      break;
    }
    lg::fuzz::check(piece.empty(), "NeedMore consumes everything");
    if (rest.empty()) break;
  }
  lg::fuzz::check(reader.bytes_consumed() <= fed, "no more consumed than fed");
  return 0;
}
