#include "rtmp/chunk.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "rtmp/messages.h"
#include "rtmp_test_support.h"

using lg::rtmp::ChunkLimits;
using lg::rtmp::ChunkReader;
using lg::rtmp::ChunkWriter;
using lg::rtmp::Message;
using namespace lg::rtmp::test;

namespace msg_type = lg::rtmp::msg_type;

namespace {

Message make(uint32_t csid, uint8_t type, uint32_t stream_id, uint32_t ts,
             std::vector<uint8_t> payload) {
  Message m;
  m.csid = csid;
  m.type_id = type;
  m.stream_id = stream_id;
  m.timestamp = ts;
  m.payload = std::move(payload);
  return m;
}

void check_same(const std::vector<Message> &got, const std::vector<Message> &want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("message " << i);
    CHECK(got[i].csid == want[i].csid);
    CHECK(got[i].type_id == want[i].type_id);
    CHECK(got[i].stream_id == want[i].stream_id);
    CHECK(got[i].timestamp == want[i].timestamp);
    CHECK(got[i].payload == want[i].payload);
  }
}

std::vector<uint8_t> write_all(ChunkWriter &writer, const std::vector<Message> &msgs) {
  std::vector<uint8_t> out;
  for (const auto &m : msgs) writer.write(m, out);
  return out;
}

// Decodes `wire` whole, one byte at a time and at random split points, each
// with a fresh reader, and checks every way yields `want`.
void check_all_splits(std::span<const uint8_t> wire, const std::vector<Message> &want,
                      ChunkLimits limits = {}) {
  {
    ChunkReader reader(limits);
    auto r = decode_whole(reader, wire);
    INFO("whole: " << r.error_text);
    REQUIRE_FALSE(r.error);
    check_same(r.messages, want);
    CHECK(reader.bytes_consumed() == wire.size());
  }
  {
    ChunkReader reader(limits);
    auto r = decode_bytewise(reader, wire);
    INFO("bytewise: " << r.error_text);
    REQUIRE_FALSE(r.error);
    check_same(r.messages, want);
    CHECK(reader.bytes_consumed() == wire.size());
  }
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    ChunkReader reader(limits);
    auto r = decode_random(reader, wire, seed);
    INFO("random split, seed " << seed << ": " << r.error_text);
    REQUIRE_FALSE(r.error);
    check_same(r.messages, want);
  }
}

std::string decode_error(std::span<const uint8_t> wire, ChunkLimits limits = {}) {
  ChunkReader reader(limits);
  auto r = decode_bytewise(reader, wire);
  REQUIRE(r.error);
  return r.error_text;
}

}  // namespace

TEST_CASE("chunk: the specification's audio example compresses to types 0, 2, 3, 3",
          "[rtmp][chunk]") {
  // RTMP 1.0 section 5.3.2.1: four 32-byte audio messages on csid 3,
  // stream 12345, 20 ms apart from 1000.
  std::vector<Message> msgs;
  for (uint32_t i = 0; i < 4; ++i) {
    msgs.push_back(make(3, msg_type::kAudio, 12345, 1000 + 20 * i, pattern(32, i)));
  }
  ChunkWriter writer;
  std::vector<uint8_t> wire;
  std::vector<size_t> starts;
  for (const auto &m : msgs) {
    starts.push_back(wire.size());
    writer.write(m, wire);
  }
  REQUIRE(wire.size() == (12 + 32) + (4 + 32) + (1 + 32) + (1 + 32));
  CHECK(std::vector<uint8_t>(wire.begin(), wire.begin() + 12) ==
        bytes({0x03, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x20, 0x08, 0x39, 0x30, 0x00, 0x00}));
  CHECK(std::vector<uint8_t>(wire.begin() + starts[1], wire.begin() + starts[1] + 4) ==
        bytes({0x83, 0x00, 0x00, 0x14}));
  CHECK(wire[starts[2]] == 0xC3);
  CHECK(wire[starts[3]] == 0xC3);
  check_all_splits(wire, msgs);
}

TEST_CASE("chunk: the specification's 307-byte video example splits into 3 chunks",
          "[rtmp][chunk]") {
  const Message m = make(4, msg_type::kVideo, 12346, 1000, pattern(307, 9));
  ChunkWriter writer;
  const auto wire = write_all(writer, {m});
  REQUIRE(wire.size() == 12 + 128 + 1 + 128 + 1 + 51);
  CHECK(wire[0] == 0x04);
  CHECK(wire[12 + 128] == 0xC4);
  CHECK(wire[12 + 128 + 1 + 128] == 0xC4);
  check_all_splits(wire, {m});
}

TEST_CASE("chunk: header types follow what changed", "[rtmp][chunk]") {
  ChunkWriter writer;
  std::vector<uint8_t> out;
  auto first_byte = [&](const Message &m) {
    out.clear();
    writer.write(m, out);
    return out[0] >> 6;
  };
  CHECK(first_byte(make(5, 9, 1, 100, pattern(10, 1))) == 0);
  CHECK(first_byte(make(5, 9, 1, 140, pattern(11, 1))) == 1);  // length changed
  CHECK(first_byte(make(5, 8, 1, 180, pattern(11, 1))) == 1);  // type changed
  CHECK(first_byte(make(5, 8, 1, 220, pattern(11, 2))) == 3);  // same delta 40
  CHECK(first_byte(make(5, 8, 1, 230, pattern(11, 2))) == 2);  // delta changed
  CHECK(first_byte(make(5, 8, 2, 240, pattern(11, 2))) == 0);  // stream changed
  CHECK(first_byte(make(5, 8, 2, 100, pattern(11, 2))) == 0);  // went back in time
  CHECK(first_byte(make(6, 8, 2, 100, pattern(11, 2))) == 0);  // new csid
}

TEST_CASE("chunk: a type-3 header after type 0 repeats the type-0 timestamp as its delta",
          "[rtmp][chunk]") {
  // The specification: "If a Type 3 chunk follows a Type 0 chunk, then the
  // timestamp delta for this Type 3 chunk is the same as the timestamp of
  // the Type 0 chunk."
  auto wire = bytes({0x04, 0x00, 0x00, 0x64, 0x00, 0x00, 0x02, 0x08, 0x01, 0x00,
                     0x00, 0x00, 0xAA, 0xBB, 0xC4, 0xCC, 0xDD, 0xC4, 0xEE, 0xFF});
  const std::vector<Message> want = {make(4, 8, 1, 100, bytes({0xAA, 0xBB})),
                                     make(4, 8, 1, 200, bytes({0xCC, 0xDD})),
                                     make(4, 8, 1, 300, bytes({0xEE, 0xFF}))};
  check_all_splits(wire, want);
  ChunkWriter writer;
  CHECK(write_all(writer, want) == wire);
}

TEST_CASE("chunk: csids in all three basic header forms", "[rtmp][chunk]") {
  const uint32_t csids[] = {2, 3, 62, 63, 64, 65, 318, 319, 320, 321, 1000, 40000, 65598, 65599};
  const std::vector<std::vector<uint8_t>> headers = {{0x02},
                                                     {0x03},
                                                     {0x3E},
                                                     {0x3F},
                                                     {0x00, 0x00},
                                                     {0x00, 0x01},
                                                     {0x00, 0xFE},
                                                     {0x00, 0xFF},
                                                     {0x01, 0x00, 0x01},
                                                     {0x01, 0x01, 0x01},
                                                     {0x01, 0xA8, 0x03},
                                                     {0x01, 0x00, 0x9C},
                                                     {0x01, 0xFE, 0xFF},
                                                     {0x01, 0xFF, 0xFF}};
  std::vector<Message> msgs;
  for (size_t i = 0; i < std::size(csids); ++i) {
    ChunkWriter writer;
    const Message m = make(csids[i], 9, 1, 0, pattern(5, uint32_t(i)));
    const auto wire = write_all(writer, {m});
    INFO("csid " << csids[i]);
    CHECK(std::vector<uint8_t>(wire.begin(), wire.begin() + headers[i].size()) == headers[i]);
    check_all_splits(wire, {m});
  }
  // A longer form than needed names the same chunk stream: 3-byte csid 64,
  // then a 2-byte type-3 header on csid 64.
  const auto longer =
      bytes({0x01, 0x00, 0x00, 0, 0, 5, 0, 0, 1, 0x08, 1, 0, 0, 0, 0xAB, 0xC0, 0x00, 0xCD});
  check_all_splits(longer, {make(64, 8, 1, 5, {0xAB}), make(64, 8, 1, 10, {0xCD})});

  // Interleaved on one connection, with compressed and continuation headers
  // in every form.
  ChunkWriter writer;
  writer.set_chunk_size(16);
  for (int round = 0; round < 3; ++round) {
    for (uint32_t csid : csids) {
      msgs.push_back(make(csid, 8, 1, uint32_t(round) * 10, pattern(40, csid + uint32_t(round))));
    }
  }
  std::vector<uint8_t> set_size;
  ChunkWriter plain;
  plain.write(lg::rtmp::make_set_chunk_size(16), set_size);
  auto wire = write_all(writer, msgs);
  wire.insert(wire.begin(), set_size.begin(), set_size.end());
  std::vector<Message> want = {lg::rtmp::make_set_chunk_size(16)};
  want.insert(want.end(), msgs.begin(), msgs.end());
  check_all_splits(wire, want);
}

TEST_CASE("chunk: random message sequences round-trip at every chunk size and split",
          "[rtmp][chunk]") {
  const uint32_t chunk_sizes[] = {1, 2, 3, 127, 128, 129, 1000, 4096, 65536};
  const uint32_t csids[] = {2, 3, 4, 6, 8, 63, 64, 300, 320, 65599};
  std::mt19937 rng(42);
  for (uint32_t chunk_size : chunk_sizes) {
    INFO("chunk size " << chunk_size);
    ChunkWriter writer;
    std::vector<uint8_t> wire;
    std::vector<Message> want;
    if (chunk_size != 128) {
      const Message scs = lg::rtmp::make_set_chunk_size(chunk_size);
      writer.write(scs, wire);
      writer.set_chunk_size(chunk_size);
      want.push_back(scs);
    }
    uint32_t ts[std::size(csids)] = {};
    size_t len[std::size(csids)] = {};
    for (int i = 0; i < 60; ++i) {
      const size_t k = rng() % std::size(csids);
      switch (rng() % 6) {
        case 0:
          ts[k] += 0x1000000 + rng() % 1000;
          break;  // extended delta
        case 1:
          ts[k] -= rng() % 50;
          break;  // backwards
        case 2:
          break;  // same time
        default:
          ts[k] += rng() % 100;
          break;
      }
      if (rng() % 3 == 0) len[k] = rng() % (chunk_size < 64 ? 100 : 700);
      const uint8_t type = rng() % 2 ? msg_type::kAudio : msg_type::kVideo;
      Message m = make(csids[k], type, rng() % 4 == 0 ? 0 : 1, ts[k], pattern(len[k], rng()));
      writer.write(m, wire);
      want.push_back(std::move(m));
    }
    check_all_splits(wire, want);
  }
}

TEST_CASE("chunk: a zero-length message completes with its header", "[rtmp][chunk]") {
  ChunkWriter writer;
  const std::vector<Message> msgs = {make(4, 8, 1, 10, {}), make(4, 8, 1, 20, {}),
                                     make(4, 8, 1, 30, pattern(3, 1)), make(4, 8, 1, 40, {})};
  check_all_splits(write_all(writer, msgs), msgs);
}

TEST_CASE("chunk: extended timestamps on type 0, 1, 2 and on type-3 chunks", "[rtmp][chunk]") {
  ChunkWriter writer;
  const std::vector<Message> msgs = {
      make(4, 9, 1, 0xFFFFFF, pattern(300, 1)),       // type 0, exactly the marker value
      make(4, 9, 1, 0x2000000, pattern(250, 2)),      // type 1 with an extended delta
      make(4, 9, 1, 0x3000000 - 1, pattern(250, 3)),  // type 3 would need the same delta
      make(4, 9, 1, 0x4000000 - 2, pattern(250, 4)),  // type 3: same extended delta again
      make(4, 9, 1, 0x4000010, pattern(250, 5)),      // type 2 back to a small delta
      make(4, 9, 1, 0x4000022, pattern(250, 6)),      // type 3, not extended
  };
  std::vector<uint8_t> wire;
  std::vector<size_t> starts;
  for (const auto &m : msgs) {
    starts.push_back(wire.size());
    writer.write(m, wire);
  }
  CHECK(wire[starts[0]] == 0x04);
  CHECK(wire[starts[1]] >> 6 == 1);
  CHECK(wire[starts[2]] >> 6 == 2);
  CHECK(wire[starts[3]] == 0xC4);
  // The type-3 header that starts a message carries the delta in 4 bytes.
  CHECK(std::vector<uint8_t>(wire.begin() + starts[3] + 1, wire.begin() + starts[3] + 5) ==
        bytes({0x00, 0xFF, 0xFF, 0xFF}));
  CHECK(wire[starts[4]] >> 6 == 2);
  CHECK(wire[starts[5]] == 0xC4);
  // Continuation chunks repeat the extended field: the first message's
  // second chunk is 0xC4 followed by 00 FF FF FF.
  CHECK(std::vector<uint8_t>(wire.begin() + 16 + 128, wire.begin() + 16 + 128 + 5) ==
        bytes({0xC4, 0x00, 0xFF, 0xFF, 0xFF}));
  check_all_splits(wire, msgs);
}

TEST_CASE("chunk: continuation chunks with or without the repeated extended timestamp",
          "[rtmp][chunk]") {
  // One 300-byte video message at 0x01000000 ms, chunk size 128. The
  // continuation payload starts with 01 00, a prefix of the extended
  // timestamp, so the reader must back out of its guess after two bytes.
  auto payload = pattern(300, 77);
  payload[128] = 0x01;
  payload[129] = 0x00;
  payload[130] = 0x05;
  payload[256] = 0x02;
  const auto header = bytes({0x06, 0xFF, 0xFF, 0xFF, 0x00, 0x01, 0x2C, 0x09, 0x01, 0x00, 0x00, 0x00,
                             0x01, 0x00, 0x00, 0x00});
  const auto ext = bytes({0x01, 0x00, 0x00, 0x00});
  const Message want = make(6, 9, 1, 0x01000000, payload);

  auto build = [&](bool repeat) {
    std::vector<uint8_t> wire = header;
    wire.insert(wire.end(), payload.begin(), payload.begin() + 128);
    wire.push_back(0xC6);
    if (repeat) wire.insert(wire.end(), ext.begin(), ext.end());
    wire.insert(wire.end(), payload.begin() + 128, payload.begin() + 256);
    wire.push_back(0xC6);
    if (repeat) wire.insert(wire.end(), ext.begin(), ext.end());
    wire.insert(wire.end(), payload.begin() + 256, payload.end());
    return wire;
  };
  SECTION("repeated, as ffmpeg and librtmp write") {
    const auto wire = build(true);
    check_all_splits(wire, {want});
    ChunkWriter writer;
    CHECK(write_all(writer, {want}) == wire);
  }
  SECTION("not repeated, as some encoders write") {
    check_all_splits(build(false), {want});
  }
}

TEST_CASE("chunk: continuation chunks may repeat the absolute timestamp instead", "[rtmp][chunk]") {
  // A type-1 header with an extended delta of 0x01000000 after a message at
  // 100 ms; the continuation repeats the message's absolute time 0x01000064
  // rather than the delta.
  const auto first = pattern(4, 1);
  const auto payload = pattern(200, 2);
  std::vector<uint8_t> wire =
      bytes({0x05, 0x00, 0x00, 0x64, 0x00, 0x00, 0x04, 0x09, 0x01, 0x00, 0x00, 0x00});
  wire.insert(wire.end(), first.begin(), first.end());
  wire.insert(wire.end(), {0x45, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0xC8, 0x09, 0x01, 0x00, 0x00, 0x00});
  wire.insert(wire.end(), payload.begin(), payload.begin() + 128);
  wire.insert(wire.end(), {0xC5, 0x01, 0x00, 0x00, 0x64});
  wire.insert(wire.end(), payload.begin() + 128, payload.end());
  check_all_splits(wire, {make(5, 9, 1, 100, first), make(5, 9, 1, 0x01000064, payload)});
}

TEST_CASE("chunk: a short unrepeated continuation that looks like the timestamp", "[rtmp][chunk]") {
  // 130-byte message at 0x01000000: its continuation holds just 01 00, which
  // could be the start of a repeated timestamp until the next chunk's header
  // (csid 3, type 0) shows otherwise; those header bytes must then be parsed
  // as a header.
  auto payload = pattern(130, 5);
  payload[128] = 0x01;
  payload[129] = 0x00;
  std::vector<uint8_t> wire = bytes({0x06, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x82, 0x09, 0x01, 0x00,
                                     0x00, 0x00, 0x01, 0x00, 0x00, 0x00});
  wire.insert(wire.end(), payload.begin(), payload.begin() + 128);
  wire.push_back(0xC6);
  wire.insert(wire.end(), payload.begin() + 128, payload.end());
  const Message next = make(3, 20, 0, 0, bytes({0x05}));
  ChunkWriter writer;
  const auto next_wire = write_all(writer, {next});
  wire.insert(wire.end(), next_wire.begin(), next_wire.end());
  check_all_splits(wire, {make(6, 9, 1, 0x01000000, payload), next});
}

TEST_CASE("chunk: Set Chunk Size mid-stream applies to the chunks after it", "[rtmp][chunk]") {
  ChunkWriter writer;
  std::vector<Message> want;
  std::vector<uint8_t> wire;
  auto send = [&](const Message &m) {
    writer.write(m, wire);
    want.push_back(m);
  };
  send(make(4, 9, 1, 0, pattern(1000, 1)));
  const Message big = lg::rtmp::make_set_chunk_size(4096);
  send(big);
  writer.set_chunk_size(4096);
  send(make(4, 9, 1, 40, pattern(5000, 2)));
  send(lg::rtmp::make_set_chunk_size(7));
  writer.set_chunk_size(7);
  send(make(4, 9, 1, 80, pattern(50, 3)));
  check_all_splits(wire, want);
  ChunkReader reader;
  CHECK(reader.chunk_size() == 128);
  REQUIRE_FALSE(decode_whole(reader, wire).error);
  CHECK(reader.chunk_size() == 7);
}

TEST_CASE("chunk: Set Chunk Size changes while another csid is mid-message", "[rtmp][chunk]") {
  // csid 6 sends the first 128 bytes of a 300-byte message at the old size;
  // then csid 2 raises the chunk size; the rest of csid 6 arrives in one chunk.
  const auto payload = pattern(300, 3);
  std::vector<uint8_t> wire =
      bytes({0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x2C, 0x09, 0x01, 0x00, 0x00, 0x00});
  wire.insert(wire.end(), payload.begin(), payload.begin() + 128);
  ChunkWriter control;
  const Message scs = lg::rtmp::make_set_chunk_size(1000);
  control.write(scs, wire);
  wire.push_back(0xC6);
  wire.insert(wire.end(), payload.begin() + 128, payload.end());
  check_all_splits(wire, {scs, make(6, 9, 1, 0, payload)});
}

TEST_CASE("chunk: Abort discards the partial message on its csid", "[rtmp][chunk]") {
  const auto partial = pattern(300, 8);
  std::vector<uint8_t> wire =
      bytes({0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x2C, 0x09, 0x01, 0x00, 0x00, 0x00});
  wire.insert(wire.end(), partial.begin(), partial.begin() + 128);
  ChunkWriter control;
  const Message abort = lg::rtmp::make_abort(6);
  control.write(abort, wire);
  // A type-3 header on csid 6 now starts a new 300-byte message, 16 ms later.
  const auto fresh = pattern(300, 9);
  for (size_t off = 0; off < fresh.size(); off += 128) {
    wire.push_back(0xC6);
    wire.insert(wire.end(), fresh.begin() + off,
                fresh.begin() + std::min<size_t>(off + 128, fresh.size()));
  }
  check_all_splits(wire, {abort, make(6, 9, 1, 32, fresh)});
}

TEST_CASE("chunk: protocol errors name what was wrong", "[rtmp][chunk]") {
  SECTION("type 2 or 3 on a fresh csid") {
    CHECK_THAT(decode_error(bytes({0x83, 0x00, 0x00, 0x01})),
               Catch::Contains("type-2 chunk header on chunk stream 3") &&
                   Catch::Contains("no type-0 header"));
    CHECK_THAT(decode_error(bytes({0xC5, 0x00})),
               Catch::Contains("type-3 chunk header on chunk stream 5"));
  }
  SECTION("type 1 on a fresh csid is accepted, stream 0, as librtmp sends it") {
    // librtmp's first ping response: fmt 1, csid 2, user control, 6 bytes.
    const auto wire =
        bytes({0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x04, 0x00, 0x07, 0x00, 0x00, 0x0D, 0x0F});
    check_all_splits(wire, {make(2, 4, 0, 0, bytes({0x00, 0x07, 0x00, 0x00, 0x0D, 0x0F}))});
  }
  SECTION("a new message header while a message is incomplete") {
    auto wire = bytes({0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00});
    wire.resize(wire.size() + 128, 0x11);
    wire.insert(wire.end(), {0x44, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x08});
    CHECK_THAT(decode_error(wire),
               Catch::Contains("type-1 chunk header on chunk stream 4 while its message is "
                               "incomplete (128 of 256 bytes)"));
  }
  SECTION("errors are sticky") {
    ChunkReader reader;
    size_t consumed = 0;
    Message m;
    const auto bad = bytes({0xC5, 0x00});
    CHECK(reader.feed(bad, consumed, m) == ChunkReader::Status::Error);
    const auto good = bytes({0x02, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0});
    CHECK(reader.feed(good, consumed, m) == ChunkReader::Status::Error);
    CHECK(consumed == 0);
    CHECK_FALSE(reader.error().empty());
  }
}

TEST_CASE("chunk: Set Chunk Size values are validated", "[rtmp][chunk]") {
  auto scs = [](std::vector<uint8_t> payload) {
    auto wire = bytes({0x02, 0, 0, 0, 0, 0, static_cast<int>(payload.size()), 0x01, 0, 0, 0, 0});
    wire.insert(wire.end(), payload.begin(), payload.end());
    return wire;
  };
  // A configured limit refuses larger sizes before any chunk is read at them.
  ChunkLimits low;
  low.max_chunk_size = 262144;
  CHECK_THAT(decode_error(scs({0x7F, 0xFF, 0xFF, 0xFF}), low),
             Catch::Contains("Set Chunk Size 2147483647 exceeds the limit of 262144"));
  CHECK_THAT(decode_error(scs({0x80, 0x00, 0x10, 0x00})), Catch::Contains("top bit"));
  CHECK_THAT(decode_error(scs({0x00, 0x00, 0x00, 0x00})), Catch::Contains("Set Chunk Size 0"));
  CHECK_THAT(decode_error(scs({0x00, 0x10, 0x00})), Catch::Contains("3 bytes (needs 4)"));
  // By default every valid size is taken (nginx-rtmp issue 1042: this one
  // made it allocate 2 GiB); memory follows message sizes instead.
  ChunkReader reader;
  const auto wire = scs({0x7F, 0xFF, 0xFF, 0xFF});
  auto r = decode_whole(reader, wire);
  REQUIRE_FALSE(r.error);
  CHECK(reader.chunk_size() == 0x7FFFFFFF);
  // A short message after it still arrives in one piece.
  ChunkWriter writer;
  const Message m = make(3, 20, 0, 0, pattern(500, 1));
  writer.set_chunk_size(0x7FFFFFFF);
  auto more = decode_whole(reader, write_all(writer, {m}));
  REQUIRE_FALSE(more.error);
  check_same(more.messages, {m});
}

TEST_CASE("chunk: an oversized message is refused at its header", "[rtmp][chunk]") {
  ChunkLimits limits;
  limits.max_message_size = 1024 * 1024;
  // Announces 0xFFFFFF bytes; nothing of the payload is needed to refuse it.
  const auto wire = bytes({0x04, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x09, 1, 0, 0, 0});
  CHECK_THAT(decode_error(wire, limits),
             Catch::Contains("message of 16777215 bytes on chunk stream 4 exceeds the limit of "
                             "1048576"));
  // Within the limit the same header only waits for its bytes.
  ChunkReader reader;
  auto r = decode_whole(reader, wire);
  CHECK_FALSE(r.error);
  CHECK(r.messages.empty());
  // A type-1 header that grows a later message is checked as well.
  ChunkWriter writer;
  auto ok = write_all(writer, {make(4, 9, 1, 0, pattern(10, 1))});
  ok.insert(ok.end(), {0x44, 0, 0, 0, 0x10, 0x00, 0x01, 0x09});
  CHECK_THAT(decode_error(ok, limits), Catch::Contains("message of 1048577 bytes"));
}

TEST_CASE("chunk: the number of chunk streams is limited", "[rtmp][chunk]") {
  ChunkLimits limits;
  limits.max_chunk_streams = 64;
  ChunkWriter writer;
  std::vector<Message> msgs;
  for (uint32_t csid = 2; csid < 2 + 64; ++csid) msgs.push_back(make(csid, 8, 1, 0, {1, 2}));
  const auto wire = write_all(writer, msgs);
  check_all_splits(wire, msgs, limits);
  auto over = wire;
  const auto extra = write_all(writer, {make(500, 8, 1, 0, {1})});
  over.insert(over.end(), extra.begin(), extra.end());
  CHECK_THAT(decode_error(over, limits), Catch::Contains("more than 64 chunk streams"));
}

TEST_CASE("chunk: bytes held in incomplete messages are limited", "[rtmp][chunk]") {
  ChunkLimits limits;
  limits.max_buffered_bytes = 1000;
  limits.max_message_size = 900;
  // Two 800-byte messages, interleaved chunk by chunk, can never both fit.
  ChunkWriter a;
  ChunkWriter b;
  const auto wa = write_all(a, {make(4, 9, 1, 0, pattern(800, 1))});
  const auto wb = write_all(b, {make(5, 9, 1, 0, pattern(800, 2))});
  std::vector<uint8_t> wire;
  // First chunk of each: 12-byte header + 128 bytes, then continuations.
  size_t pa = 0;
  size_t pb = 0;
  bool first = true;
  while (pa < wa.size() || pb < wb.size()) {
    const size_t step = first ? 140 : 129;
    first = false;
    const size_t na = std::min(step, wa.size() - pa);
    wire.insert(wire.end(), wa.begin() + pa, wa.begin() + pa + na);
    pa += na;
    const size_t nb = std::min(step, wb.size() - pb);
    wire.insert(wire.end(), wb.begin() + pb, wb.begin() + pb + nb);
    pb += nb;
  }
  CHECK_THAT(decode_error(wire, limits),
             Catch::Contains("incomplete messages hold more than 1000"));
  // One after the other they are fine.
  std::vector<uint8_t> serial = wa;
  serial.insert(serial.end(), wb.begin(), wb.end());
  ChunkReader reader(limits);
  auto r = decode_whole(reader, serial);
  CHECK_FALSE(r.error);
  CHECK(r.messages.size() == 2);
  // A buffer limit below the message limit would refuse allowed messages:
  // the message limit wins.
  ChunkLimits small;
  small.max_buffered_bytes = 100;
  small.max_message_size = 1000;
  check_all_splits(wa, {make(4, 9, 1, 0, pattern(800, 1))}, small);
}

TEST_CASE("chunk: timestamps wrap around the 32-bit clock", "[rtmp][chunk]") {
  // Type 2 deltas that carry the clock past 2^32.
  auto wire = bytes({0x04, 0xFF, 0xFF, 0xFF, 0,    0,    1,    0x08, 1,    0,    0,
                     0,    0xFF, 0xFF, 0xFF, 0xF0, 0xAA, 0x84, 0x00, 0x00, 0x20, 0xBB});
  check_all_splits(wire, {make(4, 8, 1, 0xFFFFFFF0u, {0xAA}), make(4, 8, 1, 0x10, {0xBB})});
  // The writer restates a wrapped timestamp with a type-0 header.
  ChunkWriter writer;
  const std::vector<Message> msgs = {make(4, 8, 1, 0xFFFFFFF0u, {1}), make(4, 8, 1, 0x10, {2})};
  check_all_splits(write_all(writer, msgs), msgs);
}

TEST_CASE("chunk: random and mutated input never crashes the reader", "[rtmp][chunk]") {
  std::mt19937 rng(99);
  ChunkWriter writer;
  std::vector<uint8_t> valid;
  for (int i = 0; i < 20; ++i) {
    writer.write(
        make(3 + uint32_t(i % 5) * 70, 9, 1, uint32_t(i) * 0x900000, pattern(rng() % 400, i)),
        valid);
  }
  for (int round = 0; round < 400; ++round) {
    std::vector<uint8_t> in = valid;
    if (round % 2 == 0) {
      for (auto &b : in) b = static_cast<uint8_t>(rng());
    } else {
      for (int m = 0; m < 6; ++m) in[rng() % in.size()] = static_cast<uint8_t>(rng());
    }
    ChunkLimits limits;
    limits.max_message_size = 64 * 1024;
    ChunkReader reader(limits);
    auto r = decode_random(reader, in, uint32_t(round));
    if (r.error) CHECK_FALSE(r.error_text.empty());
    CHECK(r.consumed <= in.size());
  }
}
