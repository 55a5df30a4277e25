#include "pack/ts_payload.h"

#include <catch2/catch.hpp>
#include <initializer_list>
#include <vector>

#include "media/aac.h"

using namespace lg;

namespace {

using Bytes = std::vector<uint8_t>;

const Bytes kSps = {0x67, 0x64, 0x00, 0x1f, 0xac};
const Bytes kPps = {0x68, 0xee, 0x3c, 0x80};
const Bytes kAud = {0x09, 0xf0};
const Bytes kSei = {0x06, 0x05, 0x01, 0x80};
const Bytes kIdr = {0x65, 0x88, 0x84, 0x00, 0x33};
const Bytes kSlice = {0x41, 0x9a, 0x02};

// An avcC with one SPS and one PPS and NAL lengths of `length_size` bytes.
media::VideoParams h264(int length_size = 4) {
  media::VideoParams v;
  v.codec = media::Codec::H264;
  v.nal_length_size = length_size;
  v.config = {1,
              0x64,
              0x00,
              0x1f,
              static_cast<uint8_t>(0xfc | (length_size - 1)),
              0xe1,
              0,
              static_cast<uint8_t>(kSps.size())};
  v.config.insert(v.config.end(), kSps.begin(), kSps.end());
  v.config.insert(v.config.end(), {1, 0, static_cast<uint8_t>(kPps.size())});
  v.config.insert(v.config.end(), kPps.begin(), kPps.end());
  return v;
}

Bytes length_prefixed(std::initializer_list<Bytes> nals, int length_size = 4) {
  Bytes out;
  for (const auto &nal : nals) {
    for (int i = length_size - 1; i >= 0; --i)
      out.push_back(static_cast<uint8_t>(nal.size() >> (8 * i)));
    out.insert(out.end(), nal.begin(), nal.end());
  }
  return out;
}

Bytes annexb(std::initializer_list<Bytes> nals) {
  Bytes out;
  for (const auto &nal : nals) {
    out.insert(out.end(), {0, 0, 0, 1});
    out.insert(out.end(), nal.begin(), nal.end());
  }
  return out;
}

Bytes convert(pack::TsPayload &p, const Bytes &frame, bool keyframe) {
  std::span<const uint8_t> out;
  std::string error;
  REQUIRE(p.video(frame, keyframe, out, error));
  return Bytes(out.begin(), out.end());
}

media::AudioParams aac(Bytes asc) {
  media::AudioParams a;
  std::string error;
  REQUIRE(media::parse_audio_specific_config(asc, a, error));
  return a;
}

}  // namespace

TEST_CASE(
    "pack::TsPayload puts a delimiter before every H.264 access unit, parameter sets "
    "before keyframes",
    "[pack]") {
  pack::TsPayload p(h264(), {});
  REQUIRE(p.has_video());
  CHECK_FALSE(p.has_audio());
  CHECK(convert(p, length_prefixed({kSei, kIdr}), true) == annexb({kAud, kSps, kPps, kSei, kIdr}));
  CHECK(convert(p, length_prefixed({kSlice}), false) == annexb({kAud, kSlice}));
  // The encoder's own delimiter and parameter sets are kept, not doubled.
  CHECK(convert(p, length_prefixed({kAud, kSps, kPps, kIdr}), true) ==
        annexb({kAud, kSps, kPps, kIdr}));
  CHECK(convert(p, length_prefixed({kAud, kIdr}), true) == annexb({kAud, kSps, kPps, kIdr}));
  CHECK(convert(p, length_prefixed({kSps, kPps, kIdr}), true) == annexb({kAud, kSps, kPps, kIdr}));
  // Empty NAL units are dropped.
  CHECK(convert(p, length_prefixed({kSlice, {}, kSlice}), false) == annexb({kAud, kSlice, kSlice}));
}

TEST_CASE("pack::TsPayload reads 1- and 2-byte NAL lengths", "[pack]") {
  for (int size : {1, 2}) {
    pack::TsPayload p(h264(size), {});
    REQUIRE(p.has_video());
    CHECK(convert(p, length_prefixed({kIdr, kSlice}, size), true) ==
          annexb({kAud, kSps, kPps, kIdr, kSlice}));
  }
}

TEST_CASE("pack::TsPayload refuses a frame whose NAL lengths do not fit it", "[pack]") {
  pack::TsPayload p(h264(), {});
  std::span<const uint8_t> out;
  std::string error;
  Bytes overrun = length_prefixed({kSlice});
  overrun[3] = 200;
  CHECK_FALSE(p.video(overrun, false, out, error));
  CHECK(error.find("overruns") != std::string::npos);
  Bytes cut = length_prefixed({kSlice});
  cut.insert(cut.end(), {0, 0});
  CHECK_FALSE(p.video(cut, false, out, error));
  CHECK(error.find("cut short") != std::string::npos);
}

TEST_CASE("pack::TsPayload leaves alone what it cannot convert", "[pack]") {
  media::VideoParams broken = h264();
  broken.config.resize(9);  // the SPS is cut off
  CHECK_FALSE(pack::TsPayload(broken, {}).has_video());
  media::VideoParams hevc;
  hevc.codec = media::Codec::HEVC;
  CHECK_FALSE(pack::TsPayload(hevc, {}).has_video());
  media::AudioParams no_config;
  no_config.codec = media::Codec::AAC;
  CHECK_FALSE(pack::TsPayload({}, no_config).has_audio());
}

TEST_CASE("pack::TsPayload puts an ADTS header that describes the AAC frame in front of it",
          "[pack]") {
  struct Case {
    Bytes asc;
    int object_type, sample_rate, channels;
  };
  for (const Case &c : {
           Case{{0x11, 0x90}, 2, 48000, 2},              // AAC-LC 48 kHz stereo
           Case{{0x12, 0x08}, 2, 44100, 1},              // AAC-LC 44.1 kHz mono
           Case{{0x2b, 0x11, 0x88, 0x00}, 2, 24000, 2},  // HE-AAC: the 24 kHz LC core
           Case{{0xeb, 0x09, 0x88, 0x00}, 2, 24000, 1},  // HE-AAC v2: mono core
       }) {
    pack::TsPayload p({}, aac(c.asc));
    REQUIRE(p.has_audio());
    const Bytes frame(300, 0x5a);
    std::span<const uint8_t> out;
    std::string error;
    REQUIRE(p.audio(frame, out, error));
    media::AdtsHeader h;
    REQUIRE(media::parse_adts_header(out, h, error));
    CHECK(h.object_type == c.object_type);
    CHECK(h.sample_rate == c.sample_rate);
    CHECK(h.channels == c.channels);
    CHECK(h.header_size == 7);
    CHECK(h.frame_length == out.size());
    CHECK(out.size() == frame.size() + 7);
    CHECK(Bytes(out.begin() + 7, out.end()) == frame);
  }
  pack::TsPayload p({}, aac({0x11, 0x90}));
  std::span<const uint8_t> out;
  std::string error;
  CHECK_FALSE(p.audio(Bytes(8185, 0), out, error));
  CHECK(error.find("too long for ADTS") != std::string::npos);
}
