#include "rtmp/messages.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "rtmp_test_support.h"

using lg::rtmp::ChunkReader;
using lg::rtmp::ChunkWriter;
using lg::rtmp::Message;
using lg::rtmp::amf0::Value;
using namespace lg::rtmp::test;

namespace rtmp = lg::rtmp;

namespace {

void check_control(const Message &m, uint8_t type, const std::vector<uint8_t> &payload) {
  CHECK(m.csid == 2);
  CHECK(m.stream_id == 0);
  CHECK(m.timestamp == 0);
  CHECK(m.type_id == type);
  CHECK(m.payload == payload);
}

struct Part {
  uint8_t type;
  uint32_t timestamp;
  std::vector<uint8_t> payload;
};

std::vector<uint8_t> flv_tag(uint8_t type, uint32_t ts, const std::vector<uint8_t> &data,
                             bool back_pointer = true) {
  const auto size = static_cast<uint32_t>(data.size());
  std::vector<uint8_t> out = {type,
                              uint8_t(size >> 16),
                              uint8_t(size >> 8),
                              uint8_t(size),
                              uint8_t(ts >> 16),
                              uint8_t(ts >> 8),
                              uint8_t(ts),
                              uint8_t(ts >> 24),
                              0,
                              0,
                              0};
  out.insert(out.end(), data.begin(), data.end());
  if (back_pointer) {
    const uint32_t back = 11 + size;
    out.insert(out.end(),
               {uint8_t(back >> 24), uint8_t(back >> 16), uint8_t(back >> 8), uint8_t(back)});
  }
  return out;
}

bool split(std::span<const uint8_t> payload, std::vector<Part> &parts, std::string &error) {
  parts.clear();
  return rtmp::split_aggregate(
      payload,
      [&](uint8_t type, uint32_t ts, std::span<const uint8_t> data) {
        parts.push_back({type, ts, std::vector<uint8_t>(data.begin(), data.end())});
      },
      error);
}

}  // namespace

TEST_CASE("messages: protocol control builders", "[rtmp][messages]") {
  check_control(rtmp::make_set_chunk_size(4096), 1, bytes({0, 0, 0x10, 0}));
  // The reserved top bit is never sent.
  check_control(rtmp::make_set_chunk_size(0xFFFFFFFF), 1, bytes({0x7F, 0xFF, 0xFF, 0xFF}));
  check_control(rtmp::make_abort(6), 2, bytes({0, 0, 0, 6}));
  check_control(rtmp::make_ack(0x01020304), 3, bytes({1, 2, 3, 4}));
  check_control(rtmp::make_window_ack_size(2500000), 5, bytes({0x00, 0x26, 0x25, 0xA0}));
  check_control(rtmp::make_set_peer_bandwidth(2500000, rtmp::bandwidth_limit::kDynamic), 6,
                bytes({0x00, 0x26, 0x25, 0xA0, 2}));
  check_control(rtmp::make_user_control(3, bytes({0, 0, 0, 1, 0, 0, 0x0B, 0xB8})), 4,
                bytes({0, 3, 0, 0, 0, 1, 0, 0, 0x0B, 0xB8}));
  check_control(rtmp::make_stream_begin(1), 4, bytes({0, 0, 0, 0, 0, 1}));
  check_control(rtmp::make_stream_eof(1), 4, bytes({0, 1, 0, 0, 0, 1}));
  check_control(rtmp::make_ping_request(0x0D0F), 4, bytes({0, 6, 0, 0, 0x0D, 0x0F}));
  check_control(rtmp::make_ping_response(0xDEADBEEF), 4, bytes({0, 7, 0xDE, 0xAD, 0xBE, 0xEF}));
}

TEST_CASE("messages: user control and integer parsers", "[rtmp][messages]") {
  uint16_t event = 99;
  std::span<const uint8_t> data;
  const auto ping = rtmp::make_ping_request(1234).payload;
  REQUIRE(rtmp::parse_user_control(ping, event, data));
  CHECK(event == rtmp::user_control::kPingRequest);
  uint32_t ts = 0;
  REQUIRE(rtmp::read_u32be(data, ts));
  CHECK(ts == 1234);
  const auto bare = bytes({0, 7});
  REQUIRE(rtmp::parse_user_control(bare, event, data));
  CHECK(event == 7);
  CHECK(data.empty());
  CHECK_FALSE(rtmp::read_u32be(data, ts));
  const auto one = bytes({0});
  CHECK_FALSE(rtmp::parse_user_control(one, event, data));
  uint16_t v16 = 0;
  CHECK(rtmp::read_u16be(bytes({0xAB, 0xCD, 0xEF}), v16));
  CHECK(v16 == 0xABCD);
  CHECK_FALSE(rtmp::read_u16be(one, v16));
}

TEST_CASE("messages: commands and data go through the chunk stream intact", "[rtmp][messages]") {
  const std::vector<Value> result = {
      Value::string("_result"), Value::number(1),
      Value::object(
          {{"fmsVer", Value::string("FMS/3,0,1,123")}, {"capabilities", Value::number(31)}}),
      Value::object({{"level", Value::string("status")},
                     {"code", Value::string("NetConnection.Connect.Success")}})};
  const std::vector<Value> meta = {
      Value::string("@setDataFrame"), Value::string("onMetaData"),
      Value::ecma_array({{"width", Value::number(64)}, {"height", Value::number(64)}})};
  const Message cmd = rtmp::make_command(3, 0, result);
  const Message data = rtmp::make_data(4, 1, meta);
  CHECK(cmd.type_id == rtmp::msg_type::kCommandAmf0);
  CHECK(cmd.csid == 3);
  CHECK(data.type_id == rtmp::msg_type::kDataAmf0);
  CHECK(data.stream_id == 1);

  ChunkWriter writer;
  std::vector<uint8_t> wire;
  writer.write(cmd, wire);
  writer.write(data, wire);
  ChunkReader reader;
  auto r = decode_bytewise(reader, wire);
  REQUIRE_FALSE(r.error);
  REQUIRE(r.messages.size() == 2);
  CHECK(decode_amf(r.messages[0].payload) == result);
  CHECK(decode_amf(r.messages[1].payload) == meta);
  CHECK(r.messages[1].stream_id == 1);
}

TEST_CASE("messages: aggregate sub-messages are split with their own timestamps",
          "[rtmp][messages]") {
  std::vector<uint8_t> agg;
  const auto video = pattern(300, 1);
  const auto audio = pattern(20, 2);
  for (const auto &tag : {flv_tag(9, 1000, video), flv_tag(8, 1010, audio),
                          flv_tag(9, 0x01000040, video), flv_tag(18, 1040, {})}) {
    agg.insert(agg.end(), tag.begin(), tag.end());
  }
  std::vector<Part> parts;
  std::string error;
  REQUIRE(split(agg, parts, error));
  REQUIRE(parts.size() == 4);
  CHECK(parts[0].type == 9);
  CHECK(parts[0].timestamp == 1000);
  CHECK(parts[0].payload == video);
  CHECK(parts[1].type == 8);
  CHECK(parts[1].timestamp == 1010);
  CHECK(parts[1].payload == audio);
  CHECK(parts[2].timestamp == 0x01000040);  // the upper timestamp byte counts
  CHECK(parts[3].type == 18);
  CHECK(parts[3].payload.empty());

  // The last back-pointer may be left out.
  auto no_tail = flv_tag(8, 5, audio, false);
  REQUIRE(split(no_tail, parts, error));
  REQUIRE(parts.size() == 1);
  CHECK(parts[0].payload == audio);

  // An empty aggregate has no parts.
  REQUIRE(split({}, parts, error));
  CHECK(parts.empty());
}

TEST_CASE("messages: malformed aggregates are refused with bounds intact", "[rtmp][messages]") {
  std::vector<Part> parts;
  std::string error;
  const auto good = flv_tag(9, 1, pattern(50, 3));

  auto header_cut = good;
  header_cut.insert(header_cut.end(), {9, 0, 0});
  CHECK_FALSE(split(header_cut, parts, error));
  CHECK_THAT(error, Catch::Contains("sub-message 1 header truncated"));
  CHECK(parts.size() == 1);  // the good one before it was visited

  auto oversized = flv_tag(9, 1, pattern(50, 3), false);
  oversized[3] = 51;  // claims one byte more than there is
  CHECK_FALSE(split(oversized, parts, error));
  CHECK_THAT(error, Catch::Contains("claims 51 bytes but only 50 remain"));

  auto huge = flv_tag(9, 1, pattern(50, 3));
  huge[1] = huge[2] = huge[3] = 0xFF;
  CHECK_FALSE(split(huge, parts, error));

  auto back_cut = good;
  back_cut.pop_back();
  CHECK_FALSE(split(back_cut, parts, error));
  CHECK_THAT(error, Catch::Contains("back-pointer truncated"));
}
