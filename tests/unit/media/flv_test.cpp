#include "media/flv.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "media/aac.h"
#include "media/h264.h"
#include "media_test_support.h"

using namespace lg::media;
using namespace lg::media::test;

namespace {

std::vector<uint8_t> bytes(std::initializer_list<uint8_t> b) {
  return std::vector<uint8_t>(b);
}

struct Packet {
  int64_t pts = 0, dts = 0;
  bool key = false;
  bool operator==(const Packet &) const = default;
};

// What ffprobe's own FLV demuxer makes of a stream's packets.
std::vector<Packet> ffprobe_packets(const std::string &file, const std::string &stream) {
  std::vector<Packet> out;
  std::istringstream text(capture("ffprobe -v error -select_streams " + stream +
                                  " -show_entries packet=pts,dts,flags -of csv=p=0 '" + file +
                                  "'"));
  std::string line;
  while (std::getline(text, line)) {
    Packet p;
    const size_t a = line.find(','), b = line.find(',', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    p.pts = std::stoll(line.substr(0, a));
    p.dts = std::stoll(line.substr(a + 1, b - a - 1));
    p.key = line.substr(b + 1).find('K') != std::string::npos;
    out.push_back(p);
  }
  return out;
}

ParseResult video(std::span<const uint8_t> in, VideoTag &tag) {
  std::string error;
  return parse_video_tag(in, tag, error);
}

}  // namespace

TEST_CASE("flv: ffmpeg's H.264 and AAC tags agree with ffprobe's demuxer", "[media][flv]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  const std::string file = dir.file("av.flv");
  REQUIRE(
      ffmpeg("-f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=r=48000 -t 0.5 "
             "-c:v libx264 -profile:v main -bf 2 -c:a aac -f flv '" +
             file + "'"));
  const auto tags = read_flv(read_file(file));

  std::vector<Packet> ours;
  int headers = 0, ends = 0;
  for (const auto &t : tags_of_type(tags, 9)) {
    VideoTag tag;
    std::string error;
    INFO(error);
    REQUIRE(parse_video_tag(t.body, tag, error) == ParseResult::Ok);
    CHECK(tag.codec == Codec::H264);
    CHECK_FALSE(tag.enhanced);
    CHECK(tag.body_offset == 5);
    CHECK(tag.body.data() == t.body.data() + 5);
    CHECK(tag.body.size() == t.body.size() - 5);
    if (tag.kind == VideoTag::Kind::SequenceHeader) {
      ++headers;
      CHECK(tag.keyframe);
      VideoParams params;
      REQUIRE(parse_avc_config(tag.body, params, error));
      CHECK(params.width == 640);
      CHECK(params.height == 360);
    } else if (tag.kind == VideoTag::Kind::EndOfSequence) {
      ++ends;
      CHECK(tag.body.empty());
    } else {
      REQUIRE(tag.kind == VideoTag::Kind::Coded);
      ours.push_back({t.timestamp + tag.composition_time_ms, t.timestamp, tag.keyframe});
    }
  }
  CHECK(headers == 1);
  CHECK(ends == 1);  // ffmpeg closes H.264 in FLV with an end-of-sequence tag
  const auto theirs = ffprobe_packets(file, "v:0");
  REQUIRE(ours.size() == 15);
  CHECK(ours == theirs);

  int raw = 0;
  headers = 0;
  for (const auto &t : tags_of_type(tags, 8)) {
    AudioTag tag;
    std::string error;
    REQUIRE(parse_audio_tag(t.body, tag, error) == ParseResult::Ok);
    CHECK(tag.codec == Codec::AAC);
    CHECK(tag.body_offset == 2);
    CHECK(tag.body.data() == t.body.data() + 2);
    if (tag.kind == AudioTag::Kind::SequenceHeader) {
      ++headers;
      AudioParams params;
      REQUIRE(parse_audio_specific_config(tag.body, params, error));
      CHECK(params.sample_rate == 48000);
    } else {
      ++raw;
    }
  }
  CHECK(headers == 1);
  CHECK(raw == static_cast<int>(ffprobe_packets(file, "a:0").size()));
}

TEST_CASE("flv: MP3 rate and channels come from the MPEG audio header", "[media][flv]") {
  LG_REQUIRE_FFMPEG();
  if (!have_encoder("libmp3lame")) {
    WARN("ffmpeg without libmp3lame: MP3 not exercised");
    return;
  }
  TempDir dir;
  // FLV's two rate bits cannot say 48 kHz: ffmpeg flags it 44.1 kHz.
  for (const auto &[rate, channels] :
       {std::pair{44100, 2}, std::pair{22050, 1}, std::pair{48000, 1}}) {
    INFO(rate << " Hz, " << channels << " channels");
    const std::string file = dir.file("mp3_" + std::to_string(rate) + ".flv");
    REQUIRE(ffmpeg("-f lavfi -i sine=r=" + std::to_string(rate) + " -t 0.3 -ac " +
                   std::to_string(channels) + " -c:a libmp3lame -f flv '" + file + "'"));
    const auto audio = tags_of_type(read_flv(read_file(file)), 8);
    REQUIRE(!audio.empty());
    for (const auto &t : audio) {
      AudioTag tag;
      std::string error;
      REQUIRE(parse_audio_tag(t.body, tag, error) == ParseResult::Ok);
      CHECK(tag.codec == Codec::MP3);
      CHECK(tag.kind == AudioTag::Kind::Raw);
      CHECK(tag.body_offset == 1);
      CHECK(tag.sound_rate_hz == rate);
      CHECK(tag.channels == channels);
    }
    auto probe = ffprobe_stream(file, "a:0");
    CHECK(to_int(probe["sample_rate"]) == rate);
    CHECK(to_int(probe["channels"]) == channels);
  }
  // Without a frame header to read, the FLV flags are all there is.
  AudioTag tag;
  std::string error;
  REQUIRE(parse_audio_tag(bytes({0x2a, 0x00, 0x01}), tag, error) == ParseResult::Ok);
  CHECK(tag.sound_rate_hz == 22050);
  CHECK(tag.channels == 1);
  REQUIRE(parse_audio_tag(bytes({0xe3}), tag, error) == ParseResult::Ok);  // format 14: MP3 8 kHz
  CHECK(tag.codec == Codec::MP3);
  CHECK(tag.sound_rate_hz == 8000);
  CHECK(tag.channels == 2);
  CHECK(tag.body.empty());
}

TEST_CASE("flv: other real FLV codecs are refused with a clear message", "[media][flv]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  struct Case {
    std::string args;
    int type;
    std::string name;
  };
  const std::vector<Case> cases = {
      {"-f lavfi -i testsrc=size=320x240:rate=15 -t 0.2 -c:v flv1", 9, "Sorenson H.263"},
      {"-f lavfi -i testsrc=size=320x240:rate=15 -t 0.2 -c:v flashsv", 9, "Screen Video"},
      {"-f lavfi -i sine=r=22050 -t 0.2 -c:a nellymoser", 8, "Nellymoser"},
      {"-f lavfi -i sine=r=22050 -t 0.2 -c:a adpcm_swf", 8, "ADPCM"},
      {"-f lavfi -i sine=r=22050 -t 0.2 -c:a pcm_s16le", 8, "linear PCM"},
  };
  for (const auto &c : cases) {
    INFO(c.args);
    const std::string file = dir.file("other.flv");
    REQUIRE(ffmpeg(c.args + " -f flv '" + file + "'"));
    const auto tags = tags_of_type(read_flv(read_file(file)), c.type);
    REQUIRE(!tags.empty());
    std::string error;
    if (c.type == 9) {
      VideoTag tag;
      CHECK(parse_video_tag(tags[0].body, tag, error) == ParseResult::Unsupported);
    } else {
      AudioTag tag;
      CHECK(parse_audio_tag(tags[0].body, tag, error) == ParseResult::Unsupported);
    }
    CHECK_THAT(error, Catch::Contains("unsupported") && Catch::Contains(c.name));
  }
}

TEST_CASE("flv: legacy video header edge cases", "[media][flv]") {
  VideoTag tag;
  std::string error;
  CHECK(parse_video_tag({}, tag, error) == ParseResult::Error);
  CHECK_THAT(error, Catch::Contains("empty"));
  // Negative composition time: SI24 0xffffdf is -33.
  REQUIRE(parse_video_tag(bytes({0x27, 1, 0xff, 0xff, 0xdf, 0, 0, 0, 1, 0x41}), tag, error) ==
          ParseResult::Ok);
  CHECK(tag.composition_time_ms == -33);
  CHECK_FALSE(tag.keyframe);
  REQUIRE(parse_video_tag(bytes({0x27, 1, 0x7f, 0xff, 0xff}), tag, error) == ParseResult::Ok);
  CHECK(tag.composition_time_ms == 8388607);
  CHECK(tag.body.empty());
  // Generated keyframes (type 4) are keyframes.
  REQUIRE(parse_video_tag(bytes({0x47, 1, 0, 0, 0}), tag, error) == ParseResult::Ok);
  CHECK(tag.keyframe);
  // Video info/command frames carry no picture.
  REQUIRE(parse_video_tag(bytes({0x57, 0x01}), tag, error) == ParseResult::Ok);
  CHECK(tag.kind == VideoTag::Kind::Other);
  CHECK(tag.codec == Codec::H264);
  REQUIRE(parse_video_tag(bytes({0x52, 0x00}), tag, error) == ParseResult::Ok);
  CHECK(tag.kind == VideoTag::Kind::Other);

  CHECK(parse_video_tag(bytes({0x17, 3, 0, 0, 0}), tag, error) == ParseResult::Error);
  CHECK_THAT(error, Catch::Contains("packet type 3"));
  CHECK(parse_video_tag(bytes({0x07, 1, 0, 0, 0}), tag, error) == ParseResult::Error);
  CHECK_THAT(error, Catch::Contains("frame type 0"));
  CHECK(parse_video_tag(bytes({0x67, 1, 0, 0, 0}), tag, error) == ParseResult::Error);
  for (size_t n = 1; n < 5; ++n) {
    const auto header = bytes({0x17, 1, 0, 0, 0});
    CHECK(parse_video_tag(std::span(header).first(n), tag, error) == ParseResult::Error);
    CHECK_THAT(error, Catch::Contains("truncated h264 video tag"));
  }
  CHECK(parse_video_tag(bytes({0x14, 0, 0}), tag, error) == ParseResult::Unsupported);
  CHECK_THAT(error, Catch::Contains("On2 VP6 (codec id 4)"));
  CHECK(parse_video_tag(bytes({0x19, 0, 0}), tag, error) == ParseResult::Unsupported);
  CHECK_THAT(error, Catch::Contains("codec id 9"));
}

TEST_CASE("flv: Enhanced RTMP video headers", "[media][flv]") {
  VideoTag tag;
  std::string error;
  const auto payload = bytes({0, 0, 0, 2, 0x65, 0x88});

  SECTION("avc1 with a composition time, and without") {
    auto in = concat({bytes({0x91, 'a', 'v', 'c', '1', 0xff, 0xff, 0xbe}), payload});
    REQUIRE(video(in, tag) == ParseResult::Ok);
    CHECK(tag.enhanced);
    CHECK(tag.codec == Codec::H264);
    CHECK(tag.keyframe);
    CHECK(tag.kind == VideoTag::Kind::Coded);
    CHECK(tag.composition_time_ms == -66);
    CHECK(tag.body_offset == 8);
    CHECK(tag.body.size() == payload.size());
    in = concat({bytes({0xa3, 'a', 'v', 'c', '1'}), payload});
    REQUIRE(video(in, tag) == ParseResult::Ok);
    CHECK_FALSE(tag.keyframe);
    CHECK(tag.composition_time_ms == 0);
    CHECK(tag.body_offset == 5);
    CHECK(tag.body.data() == in.data() + 5);
  }
  SECTION("av01 has no composition time") {
    auto in = concat({bytes({0x91, 'a', 'v', '0', '1'}), payload});
    REQUIRE(video(in, tag) == ParseResult::Ok);
    CHECK(tag.codec == Codec::AV1);
    CHECK(tag.kind == VideoTag::Kind::Coded);
    CHECK(tag.body_offset == 5);
    REQUIRE(video(bytes({0x95, 'a', 'v', '0', '1', 0x80}), tag) == ParseResult::Ok);
    CHECK(tag.kind == VideoTag::Kind::Other);  // MPEG-2 TS sequence start
  }
  SECTION("sequence end, metadata and command frames") {
    REQUIRE(video(bytes({0x92, 'h', 'v', 'c', '1'}), tag) == ParseResult::Ok);
    CHECK(tag.kind == VideoTag::Kind::EndOfSequence);
    REQUIRE(video(bytes({0x94, 'h', 'v', 'c', '1', 0x02, 0x00}), tag) == ParseResult::Ok);
    CHECK(tag.kind == VideoTag::Kind::Other);
    CHECK(tag.codec == Codec::HEVC);
    // A command frame has a command byte and no FourCC.
    REQUIRE(video(bytes({0xd1, 0x01}), tag) == ParseResult::Ok);
    CHECK(tag.kind == VideoTag::Kind::Other);
    CHECK(tag.codec == Codec::Unknown);
    CHECK(video(bytes({0xd1}), tag) == ParseResult::Error);
    // ...unless it is metadata, which names its codec.
    REQUIRE(video(bytes({0xd4, 'a', 'v', '0', '1', 0x02}), tag) == ParseResult::Ok);
    CHECK(tag.codec == Codec::AV1);
  }
  SECTION("ModEx prefixes are skipped, short and long form") {
    // size 3 (coded as 2), 3 bytes of data, then [modExType | CodedFrames].
    auto in =
        concat({bytes({0x97, 0x02, 0xaa, 0xbb, 0xcc, 0x01, 'a', 'v', 'c', '1', 0, 0, 5}), payload});
    REQUIRE(video(in, tag) == ParseResult::Ok);
    CHECK(tag.kind == VideoTag::Kind::Coded);
    CHECK(tag.composition_time_ms == 5);
    CHECK(tag.body_offset == 13);
    // 0xff: a 16-bit size follows (+1): 300 bytes.
    std::vector<uint8_t> big = {0x97, 0xff, 0x01, 0x2b};
    big.resize(big.size() + 300, 0x55);
    big.insert(big.end(), {0x03, 'h', 'v', 'c', '1'});
    big.insert(big.end(), payload.begin(), payload.end());
    REQUIRE(video(big, tag) == ParseResult::Ok);
    CHECK(tag.codec == Codec::HEVC);
    CHECK(tag.body_offset == 4 + 300 + 5);
    // Two in a row.
    in = concat({bytes({0x97, 0x00, 0x11, 0x07, 0x00, 0x22, 0x03, 'a', 'v', 'c', '1'}), payload});
    REQUIRE(video(in, tag) == ParseResult::Ok);
    CHECK(tag.body_offset == 11);
    for (size_t n = 1; n < 11; ++n) {
      CHECK(video(std::span(in).first(n), tag) == ParseResult::Error);
    }
    CHECK(video(bytes({0x97, 0xff, 0x01}), tag) == ParseResult::Error);
    CHECK(video(bytes({0x97, 0xff, 0xff, 0xff, 0x00}), tag) == ParseResult::Error);
  }
  SECTION("what is not supported or malformed") {
    CHECK(parse_video_tag(bytes({0x96, 0x00, 'a', 'v', 'c', '1'}), tag, error) ==
          ParseResult::Unsupported);
    CHECK_THAT(error, Catch::Contains("multitrack"));
    CHECK(parse_video_tag(bytes({0x91, 'v', 'p', '0', '9'}), tag, error) ==
          ParseResult::Unsupported);
    CHECK_THAT(error, Catch::Contains("'vp09'"));
    CHECK(parse_video_tag(bytes({0x91, 'x', 0x01, 0xff, '1'}), tag, error) ==
          ParseResult::Unsupported);
    CHECK_THAT(error, Catch::Contains("'x\\x01\\xff1'"));
    CHECK(parse_video_tag(bytes({0x98, 'a', 'v', 'c', '1'}), tag, error) == ParseResult::Error);
    CHECK_THAT(error, Catch::Contains("packet type 8"));
    CHECK(parse_video_tag(bytes({0x81, 'a', 'v', 'c', '1'}), tag, error) == ParseResult::Error);
    CHECK_THAT(error, Catch::Contains("frame type 0"));
    CHECK(parse_video_tag(bytes({0xe1, 'a', 'v', 'c', '1'}), tag, error) == ParseResult::Error);
    CHECK(parse_video_tag(bytes({0x91, 'a', 'v', 'c'}), tag, error) == ParseResult::Error);
    CHECK_THAT(error, Catch::Contains("FourCC"));
    CHECK(parse_video_tag(bytes({0x91, 'a', 'v', 'c', '1', 0}), tag, error) == ParseResult::Error);
    CHECK_THAT(error, Catch::Contains("composition time"));
  }
}

TEST_CASE("flv: an AV1 sequence start around libaom's av1C", "[media][flv]") {
  LG_REQUIRE_FFMPEG();
  if (!have_encoder("libaom-av1")) {
    WARN("ffmpeg without libaom: AV1 not exercised");
    return;
  }
  TempDir dir;
  const std::string file = dir.file("av1.mp4");
  REQUIRE(
      ffmpeg("-f lavfi -i testsrc=size=320x240:rate=15 -t 0.2 -pix_fmt yuv420p -c:v libaom-av1 "
             "-cpu-used 8 -f mp4 '" +
             file + "'"));
  auto av1c = find_sample_entry_box(read_file(file), "av01", "av1C");
  REQUIRE(av1c);
  auto in = concat({bytes({0x90, 'a', 'v', '0', '1'}), *av1c});
  VideoTag tag;
  REQUIRE(video(in, tag) == ParseResult::Ok);
  CHECK(tag.codec == Codec::AV1);
  CHECK(tag.kind == VideoTag::Kind::SequenceHeader);
  CHECK(std::equal(tag.body.begin(), tag.body.end(), av1c->begin(), av1c->end()));

  VideoParams params;
  params.codec = Codec::AV1;
  params.config.assign(tag.body.begin(), tag.body.end());
  auto probe = ffprobe_stream(file, "v:0");
  REQUIRE(probe["profile"] == "Main");
  char expected[32];
  std::snprintf(expected, sizeof(expected), "av01.0.%02dM.08", to_int(probe["level"]));
  CHECK(params.codec_string() == expected);
}

TEST_CASE("flv: audio header edge cases", "[media][flv]") {
  AudioTag tag;
  std::string error;
  CHECK(parse_audio_tag({}, tag, error) == ParseResult::Error);
  CHECK(parse_audio_tag(bytes({0xaf}), tag, error) == ParseResult::Error);
  CHECK_THAT(error, Catch::Contains("AACPacketType"));
  CHECK(parse_audio_tag(bytes({0xaf, 0x02}), tag, error) == ParseResult::Error);
  CHECK_THAT(error, Catch::Contains("AACPacketType 2"));
  REQUIRE(parse_audio_tag(bytes({0xaf, 0x01}), tag, error) == ParseResult::Ok);
  CHECK(tag.kind == AudioTag::Kind::Raw);
  CHECK(tag.body.empty());
  CHECK(tag.sound_rate_hz == 44100);
  CHECK(tag.channels == 2);
  CHECK(parse_audio_tag(bytes({0x9f, 0x00}), tag, error) == ParseResult::Unsupported);
  CHECK_THAT(error, Catch::Contains("Enhanced RTMP audio"));
  CHECK(parse_audio_tag(bytes({0xbf, 0x00}), tag, error) == ParseResult::Unsupported);
  CHECK_THAT(error, Catch::Contains("Speex"));
  CHECK(parse_audio_tag(bytes({0xcf, 0x00}), tag, error) == ParseResult::Unsupported);
  CHECK_THAT(error, Catch::Contains("sound format 12"));

  int rate = 0, channels = 0;
  CHECK(parse_mpeg_audio_header(bytes({0xff, 0xfb, 0x90, 0x44}), rate, channels));
  CHECK(rate == 44100);
  CHECK(channels == 2);
  CHECK(parse_mpeg_audio_header(bytes({0xff, 0xf3, 0x94, 0xc4}), rate, channels));  // MPEG-2
  CHECK(rate == 24000);
  CHECK(channels == 1);
  CHECK(parse_mpeg_audio_header(bytes({0xff, 0xe3, 0x94, 0xc4}), rate, channels));  // MPEG-2.5
  CHECK(rate == 12000);
  CHECK_FALSE(parse_mpeg_audio_header(bytes({0xff, 0xeb, 0x90, 0x44}), rate,
                                      channels));  // reserved version
  CHECK_FALSE(
      parse_mpeg_audio_header(bytes({0xff, 0xf9, 0x90, 0x44}), rate, channels));  // reserved layer
  CHECK_FALSE(
      parse_mpeg_audio_header(bytes({0xff, 0xfb, 0xf0, 0x44}), rate, channels));  // bad bitrate
  CHECK_FALSE(
      parse_mpeg_audio_header(bytes({0xff, 0xfb, 0x9c, 0x44}), rate, channels));  // reserved rate
  CHECK_FALSE(parse_mpeg_audio_header(bytes({0xff, 0xfb, 0x90}), rate, channels));
}

TEST_CASE("flv: every truncation of real tags parses or fails cleanly", "[media][flv]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  const std::string file = dir.file("trunc.flv");
  REQUIRE(
      ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=30 -f lavfi -i sine=r=44100 -t 0.2 "
             "-c:v libx264 -c:a aac -f flv '" +
             file + "'"));
  const auto tags = read_flv(read_file(file));
  size_t checked = 0;
  for (const auto &t : tags) {
    if (t.type != 8 && t.type != 9) continue;
    // The whole tag, then every prefix of its first 64 bytes.
    const size_t limit = std::min<size_t>(t.body.size(), 64);
    for (size_t n = 0; n <= limit; ++n) {
      const auto in =
          n == limit ? std::span<const uint8_t>(t.body) : std::span<const uint8_t>(t.body).first(n);
      std::string error;
      if (t.type == 9) {
        VideoTag tag;
        const auto r = parse_video_tag(in, tag, error);
        if (n < 5) CHECK(r == ParseResult::Error);
        if (r == ParseResult::Ok) {
          CHECK(tag.body_offset + tag.body.size() == in.size());
          CHECK(tag.body.data() == in.data() + tag.body_offset);
        }
      } else {
        AudioTag tag;
        const auto r = parse_audio_tag(in, tag, error);
        if (n < 2) CHECK(r == ParseResult::Error);
        if (r == ParseResult::Ok) CHECK(tag.body_offset + tag.body.size() == in.size());
      }
      ++checked;
    }
  }
  CHECK(checked > 100);
}
