// Helpers for the RTMP codec tests: fixtures, deterministic random bytes,
// and feeding a ChunkReader in pieces.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "rtmp/amf0.h"
#include "rtmp/chunk.h"

namespace lg::rtmp::test {

inline std::filesystem::path data_dir() {
  return std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "data" / "rtmp";
}

inline std::vector<uint8_t> read_fixture(const std::string &name) {
  std::ifstream f(data_dir() / name, std::ios::binary);
  INFO("fixture " << (data_dir() / name).string());
  REQUIRE(f.good());
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)),
                              std::istreambuf_iterator<char>());
}

// Deterministic bytes for the handshake's RandomFn.
struct SeededRandom {
  explicit SeededRandom(uint32_t seed) : rng(seed) {}
  void operator()(std::span<uint8_t> out) {
    for (auto &b : out) b = static_cast<uint8_t>(rng());
  }
  std::mt19937 rng;
};

inline std::vector<uint8_t> bytes(std::initializer_list<int> list) {
  std::vector<uint8_t> out;
  for (int v : list) out.push_back(static_cast<uint8_t>(v));
  return out;
}

inline std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  std::mt19937 rng(seed);
  for (auto &b : out) b = static_cast<uint8_t>(rng());
  return out;
}

struct DecodeResult {
  std::vector<Message> messages;
  bool error = false;
  std::string error_text;
  size_t consumed = 0;
};

// Feeds `in` in pieces whose sizes come from `piece` (called with the bytes
// left), collecting every message, until the input is exhausted or an error.
template <typename PieceFn>
DecodeResult decode_pieces(ChunkReader &reader, std::span<const uint8_t> in, PieceFn piece) {
  DecodeResult r;
  size_t pos = 0;
  while (pos < in.size()) {
    const size_t n = std::min(in.size() - pos, std::max<size_t>(1, piece(in.size() - pos)));
    std::span<const uint8_t> chunk = in.subspan(pos, n);
    // Until NeedMore, even with nothing left: bytes the reader pushed back
    // may still hold a message.
    for (;;) {
      size_t consumed = 0;
      Message msg;
      const auto status = reader.feed(chunk, consumed, msg);
      REQUIRE(consumed <= chunk.size());
      chunk = chunk.subspan(consumed);
      r.consumed += consumed;
      if (status == ChunkReader::Status::Error) {
        r.error = true;
        r.error_text = reader.error();
        return r;
      }
      if (status == ChunkReader::Status::NeedMore) {
        REQUIRE(chunk.empty());
        break;
      }
      r.messages.push_back(std::move(msg));
    }
    pos += n;
  }
  return r;
}

inline DecodeResult decode_whole(ChunkReader &reader, std::span<const uint8_t> in) {
  return decode_pieces(reader, in, [](size_t left) { return left; });
}

inline DecodeResult decode_bytewise(ChunkReader &reader, std::span<const uint8_t> in) {
  return decode_pieces(reader, in, [](size_t) { return size_t{1}; });
}

inline DecodeResult decode_random(ChunkReader &reader, std::span<const uint8_t> in, uint32_t seed) {
  std::mt19937 rng(seed);
  return decode_pieces(reader, in, [&rng](size_t left) {
    // Mostly small pieces, so that splits land inside headers often.
    std::uniform_int_distribution<size_t> small(1, 20);
    std::uniform_int_distribution<size_t> large(1, std::max<size_t>(1, left));
    return rng() % 4 == 0 ? large(rng) : small(rng);
  });
}

inline std::vector<amf0::Value> decode_amf(std::span<const uint8_t> payload) {
  std::vector<amf0::Value> values;
  std::string error;
  const bool ok = amf0::decode_all(payload, {}, values, error);
  INFO("AMF0 error: " << error);
  REQUIRE(ok);
  return values;
}

}  // namespace lg::rtmp::test
