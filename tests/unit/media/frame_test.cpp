#include "media/frame.h"

#include <catch2/catch.hpp>

using namespace lg::media;

TEST_CASE("frame: codec names", "[media][frame]") {
  CHECK(std::string(codec_name(Codec::H264)) == "h264");
  CHECK(std::string(codec_name(Codec::HEVC)) == "hevc");
  CHECK(std::string(codec_name(Codec::AV1)) == "av1");
  CHECK(std::string(codec_name(Codec::AAC)) == "aac");
  CHECK(std::string(codec_name(Codec::MP3)) == "mp3");
  CHECK(std::string(codec_name(Codec::Opus)) == "opus");
  CHECK(std::string(codec_name(Codec::Unknown)) == "unknown");
  CHECK(std::string(codec_name(static_cast<Codec>(200))) == "unknown");
}

TEST_CASE("frame: the payload is a view into the shared buffer", "[media][frame]") {
  auto buffer = std::make_shared<const std::vector<uint8_t>>(
      std::vector<uint8_t>{0x17, 1, 0, 0, 0, 0xaa, 0xbb});
  Frame f;
  f.buffer = buffer;
  f.offset = 5;
  f.size = 2;
  auto data = f.data();
  CHECK(data.data() == buffer->data() + 5);  // no copy
  CHECK(data.size() == 2);
  CHECK(data[1] == 0xbb);

  // Copies share the buffer and outlive the original holder.
  Frame copy = f;
  buffer.reset();
  f = Frame{};
  CHECK(copy.data().size() == 2);
  CHECK(copy.data()[0] == 0xaa);

  // A range that does not fit gives an empty view, never a read past the end.
  Frame bad = copy;
  bad.offset = 6;
  bad.size = 2;
  CHECK(bad.data().empty());
  bad.offset = 8;
  bad.size = 0;
  CHECK(bad.data().empty());
  bad.offset = 1;
  bad.size = SIZE_MAX;
  CHECK(bad.data().empty());
  bad.offset = 7;
  bad.size = 0;
  CHECK(bad.data().empty());
  CHECK(Frame{}.data().empty());
}

TEST_CASE("frame: RFC 6381 strings for H.264", "[media][frame]") {
  VideoParams p;
  p.codec = Codec::H264;
  // From the record: profile, constraint flags and level as coded.
  p.config = {1, 0x64, 0x00, 0x1f, 0xff, 0xe1};
  CHECK(p.codec_string() == "avc1.64001f");
  p.config = {1, 0x42, 0xc0, 0x1e, 0xff, 0xe1};
  CHECK(p.codec_string() == "avc1.42c01e");
  p.config = {1, 0x4d, 0x40, 0x28};
  CHECK(p.codec_string() == "avc1.4d4028");
  // Without a record, from profile and level alone.
  p.config.clear();
  p.profile = 100;
  p.level = 40;
  CHECK(p.codec_string() == "avc1.640028");
  p.profile = 0;
  CHECK(p.codec_string() == "avc1");
}

TEST_CASE("frame: RFC 6381 strings for HEVC", "[media][frame]") {
  VideoParams p;
  p.codec = Codec::HEVC;
  // Main, Main tier, level 3.1, progressive/non-packed/frame-only: the
  // example of ISO/IEC 14496-15 Annex E.
  p.config = {1, 0x01, 0x60, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 93};
  CHECK(p.codec_string() == "hvc1.1.6.L93.B0");
  // Main 10.
  p.config = {1, 0x02, 0x20, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 120};
  CHECK(p.codec_string() == "hvc1.2.4.L120.B0");
  // Profile space 1, profile 4, reversed compatibility flags 0x41, High
  // tier, two constraint bytes: Annex E's "hev1.A4.41.H120.B0.23".
  p.config = {1, 0x64, 0x82, 0, 0, 0, 0xb0, 0x23, 0, 0, 0, 0, 120};
  CHECK(p.codec_string() == "hvc1.A4.41.H120.B0.23");
  // No constraint flags at all.
  p.config = {1, 0x01, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 93};
  CHECK(p.codec_string() == "hvc1.1.6.L93");
  // A non-zero last byte keeps every byte before it.
  p.config = {1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0x01, 93};
  CHECK(p.codec_string() == "hvc1.1.6.L93.90.0.0.0.0.1");
  p.config.clear();
  p.profile = 1;
  p.level = 93;
  CHECK(p.codec_string() == "hvc1.1.2.L93");
}

TEST_CASE("frame: RFC 6381 strings for AV1 and audio", "[media][frame]") {
  VideoParams v;
  v.codec = Codec::AV1;
  v.config = {0x81, 0x08, 0x0c, 0x00};  // Main, level 4.0 (index 8), Main tier, 8-bit
  CHECK(v.codec_string() == "av01.0.08M.08");
  v.config = {0x81, 0x2d, 0xc0, 0x00};  // High, index 13, High tier, 10-bit
  CHECK(v.codec_string() == "av01.1.13H.10");
  v.config = {0x81, 0x4d, 0x60, 0x00};  // Professional, 12-bit
  CHECK(v.codec_string() == "av01.2.13M.12");
  v.config.clear();
  CHECK(v.codec_string() == "av01");
  v.codec = Codec::Unknown;
  CHECK(v.codec_string().empty());

  AudioParams a;
  CHECK(a.codec_string().empty());
  a.codec = Codec::AAC;
  a.object_type = 2;
  CHECK(a.codec_string() == "mp4a.40.2");
  a.object_type = 5;
  CHECK(a.codec_string() == "mp4a.40.5");
  a.object_type = 0;
  CHECK(a.codec_string() == "mp4a.40");
  a.codec = Codec::MP3;
  CHECK(a.codec_string() == "mp4a.40.34");
  a.codec = Codec::Opus;
  CHECK(a.codec_string() == "opus");
}
