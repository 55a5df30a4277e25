#include "media/aac.h"

#include <catch2/catch.hpp>

#include "media/flv.h"
#include "media_test_support.h"

using namespace lg::media;
using namespace lg::media::test;

namespace {

struct AacFlv {
  std::string file;
  std::vector<uint8_t> asc;
  std::vector<FlvTag> audio;
};

// Encodes 0.3 s of a sine with ffmpeg's AAC encoder into FLV and returns the
// AudioSpecificConfig from its sequence header.
AacFlv encode_aac_flv(const TempDir &dir, const std::string &name, int rate, int channels,
                      const std::string &extra = "") {
  AacFlv r;
  r.file = dir.file(name + ".flv");
  const std::string layout = channels > 0 ? " -ac " + std::to_string(channels) : "";
  REQUIRE(ffmpeg("-f lavfi -i sine=r=" + std::to_string(rate) + " -t 0.3" + layout + " " + extra +
                 " -c:a aac -vn -f flv '" + r.file + "'"));
  r.audio = tags_of_type(read_flv(read_file(r.file)), 8);
  REQUIRE(!r.audio.empty());
  AudioTag tag;
  std::string error;
  REQUIRE(parse_audio_tag(r.audio[0].body, tag, error) == ParseResult::Ok);
  REQUIRE(tag.codec == Codec::AAC);
  REQUIRE(tag.kind == AudioTag::Kind::SequenceHeader);
  r.asc.assign(tag.body.begin(), tag.body.end());
  return r;
}

std::vector<uint8_t> bytes(std::initializer_list<uint8_t> b) {
  return std::vector<uint8_t>(b);
}

}  // namespace

TEST_CASE("aac: AAC-LC 48 kHz stereo from ffmpeg's FLV", "[media][aac]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  auto e = encode_aac_flv(dir, "lc48", 48000, 2);
  // LC, index 3 (48 kHz), 2 channels; ffmpeg follows it with a sync
  // extension that says "no SBR".
  REQUIRE(e.asc.size() >= 2);
  CHECK(e.asc[0] == 0x11);
  CHECK(e.asc[1] == 0x90);

  AudioParams params;
  std::string error;
  INFO(error);
  REQUIRE(parse_audio_specific_config(e.asc, params, error));
  CHECK(params.codec == Codec::AAC);
  CHECK(params.object_type == 2);
  CHECK(params.sample_rate == 48000);
  CHECK(params.channels == 2);
  CHECK(params.config == e.asc);
  CHECK(params.codec_string() == "mp4a.40.2");
  AacConfig config;
  REQUIRE(parse_audio_specific_config(e.asc, config, error));
  CHECK_FALSE(config.sbr);
  CHECK_FALSE(config.ps);
  CHECK(config.frame_length == 1024);
  CHECK(config.core_sample_rate == 48000);

  auto probe = ffprobe_stream(e.file, "a:0");
  CHECK(to_int(probe["sample_rate"]) == params.sample_rate);
  CHECK(to_int(probe["channels"]) == params.channels);

  // The rest are raw access units: no ADTS header in front.
  int frames = 0;
  for (size_t i = 1; i < e.audio.size(); ++i) {
    AudioTag tag;
    REQUIRE(parse_audio_tag(e.audio[i].body, tag, error) == ParseResult::Ok);
    CHECK(tag.kind == AudioTag::Kind::Raw);
    CHECK(tag.body_offset == 2);
    REQUIRE(tag.body.size() > 2);
    CHECK_FALSE((tag.body[0] == 0xff && (tag.body[1] & 0xf0) == 0xf0));
    ++frames;
  }
  const std::string packets = capture(
      "ffprobe -v error -count_packets -show_entries "
      "stream=nb_read_packets -of default=nw=1:nk=1 '" +
      e.file + "'");
  CHECK(frames == to_int(packets));
}

TEST_CASE("aac: 44.1 kHz mono and 5.1", "[media][aac]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  std::string error;
  AudioParams params;

  auto mono = encode_aac_flv(dir, "mono", 44100, 1);
  CHECK(mono.asc[0] == 0x12);
  CHECK(mono.asc[1] == 0x08);
  REQUIRE(parse_audio_specific_config(mono.asc, params, error));
  CHECK(params.sample_rate == 44100);
  CHECK(params.channels == 1);
  CHECK(to_int(ffprobe_stream(mono.file, "a:0")["channels"]) == 1);

  auto surround = encode_aac_flv(dir, "surround", 48000, 6);
  AacConfig config;
  REQUIRE(parse_audio_specific_config(surround.asc, config, error));
  CHECK(config.channel_config == 6);
  CHECK(config.channels == 6);
  CHECK(to_int(ffprobe_stream(surround.file, "a:0")["channels"]) == 6);
}

TEST_CASE("aac: channels from a program config element", "[media][aac]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  std::string error;
  AacConfig config;

  // Forced PCE for 5.1, and hexagonal, which no channelConfiguration covers.
  auto pce = encode_aac_flv(dir, "pce", 44100, 6, "-aac_pce 1");
  INFO(error);
  REQUIRE(parse_audio_specific_config(pce.asc, config, error));
  CHECK(config.channel_config == 0);
  CHECK(config.channels == 6);
  CHECK(config.sample_rate == 44100);

  auto hex = encode_aac_flv(dir, "hexagonal", 48000, 0,
                            "-af 'pan=hexagonal|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0'");
  REQUIRE(parse_audio_specific_config(hex.asc, config, error));
  CHECK(config.channel_config == 0);
  CHECK(config.channels == 6);
  CHECK(to_int(ffprobe_stream(hex.file, "a:0")["channels"]) == 6);

  // The PCE ends with an encoder comment; what follows is found only if the
  // comment was skipped exactly. Replace ffmpeg's "no SBR" sync extension
  // with one that signals SBR at 88.2 kHz.
  REQUIRE(pce.asc.size() > 3);
  REQUIRE(pce.asc[pce.asc.size() - 3] == 0x56);
  REQUIRE(pce.asc[pce.asc.size() - 2] == 0xe5);
  auto sbr = std::vector<uint8_t>(pce.asc.begin(), pce.asc.end() - 3);
  auto ext = BitWriter().bits(0x2b7, 11).bits(5, 5).flag(true).bits(1, 4).bits(0, 3).take();
  sbr.insert(sbr.end(), ext.begin(), ext.end());
  REQUIRE(parse_audio_specific_config(sbr, config, error));
  CHECK(config.channels == 6);
  CHECK(config.sbr);
  CHECK(config.object_type == 2);
  CHECK(config.core_sample_rate == 44100);
  CHECK(config.sample_rate == 88200);
}

TEST_CASE("aac: ADTS headers from ffmpeg, and an ASC made from them", "[media][aac]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  for (const auto &[rate, channels] :
       {std::pair{48000, 2}, std::pair{44100, 1}, std::pair{22050, 6}}) {
    INFO(rate << " Hz, " << channels << " channels");
    const std::string file = dir.file("stream" + std::to_string(rate) + ".aac");
    REQUIRE(ffmpeg("-f lavfi -i sine=r=" + std::to_string(rate) + " -t 0.3 -ac " +
                   std::to_string(channels) + " -c:a aac -f adts '" + file + "'"));
    const auto stream = read_file(file);
    size_t pos = 0;
    int frames = 0;
    std::string error;
    AdtsHeader first;
    while (pos < stream.size()) {
      AdtsHeader h;
      REQUIRE(parse_adts_header(std::span(stream).subspan(pos), h, error));
      CHECK(h.object_type == 2);
      CHECK(h.sample_rate == rate);
      CHECK(h.channels == channels);
      CHECK(h.protection_absent);
      CHECK(h.header_size == 7);
      CHECK(h.raw_data_blocks == 1);
      REQUIRE(h.frame_length <= stream.size() - pos);
      if (frames == 0) first = h;
      pos += h.frame_length;
      ++frames;
    }
    CHECK(pos == stream.size());
    const std::string packets = capture(
        "ffprobe -v error -count_packets -show_entries "
        "stream=nb_read_packets -of default=nw=1:nk=1 '" +
        file + "'");
    CHECK(frames == to_int(packets));

    // The ASC made from the header is the one ffmpeg puts in FLV, up to its
    // sync extension.
    auto asc = make_audio_specific_config(first.object_type, first.sample_rate, first.channels);
    auto flv = encode_aac_flv(dir, "ref" + std::to_string(rate), rate, channels);
    REQUIRE(asc.size() == 2);
    REQUIRE(flv.asc.size() >= 2);
    CHECK(asc[0] == flv.asc[0]);
    CHECK(asc[1] == flv.asc[1]);
    AudioParams params;
    REQUIRE(parse_audio_specific_config(asc, params, error));
    CHECK(params.sample_rate == rate);
    CHECK(params.channels == channels);
  }
}

TEST_CASE("aac: explicit HE-AAC signalling", "[media][aac]") {
  std::string error;
  AacConfig config;
  AudioParams params;

  // HE-AAC v1, 44.1 kHz stereo: SBR over a 22.05 kHz LC core.
  const auto he = bytes({0x2b, 0x92, 0x08, 0x00});
  REQUIRE(parse_audio_specific_config(he, config, error));
  CHECK(config.object_type == 5);
  CHECK(config.base_object_type == 2);
  CHECK(config.sbr);
  CHECK_FALSE(config.ps);
  CHECK(config.core_sample_rate == 22050);
  CHECK(config.sample_rate == 44100);
  CHECK(config.channels == 2);
  REQUIRE(parse_audio_specific_config(he, params, error));
  CHECK(params.codec_string() == "mp4a.40.5");
  CHECK(params.sample_rate == 44100);

  // HE-AAC v2: one coded channel, parametric stereo makes two.
  const auto he2 = bytes({0xeb, 0x8a, 0x08, 0x00});
  REQUIRE(parse_audio_specific_config(he2, config, error));
  CHECK(config.object_type == 29);
  CHECK(config.base_object_type == 2);
  CHECK(config.sbr);
  CHECK(config.ps);
  CHECK(config.channel_config == 1);
  CHECK(config.channels == 2);
  CHECK(config.sample_rate == 44100);
  REQUIRE(parse_audio_specific_config(he2, params, error));
  CHECK(params.codec_string() == "mp4a.40.29");

  // SBR at an explicit 24-bit extension rate.
  auto odd = BitWriter()
                 .bits(5, 5)
                 .bits(6, 4)
                 .bits(2, 4)
                 .bits(15, 4)
                 .bits(46000, 24)
                 .bits(2, 5)
                 .bits(0, 3)
                 .take();
  REQUIRE(parse_audio_specific_config(odd, config, error));
  CHECK(config.core_sample_rate == 24000);
  CHECK(config.sample_rate == 46000);
}

TEST_CASE("aac: explicit sampling frequency and escaped object types", "[media][aac]") {
  std::string error;
  AacConfig config;

  auto asc = make_audio_specific_config(2, 44000, 2);
  // LC, index 15 then 44000 in 24 bits, 2 channels, GASpecificConfig zeros.
  CHECK(asc == bytes({0x17, 0x80, 0x55, 0xf0, 0x10}));
  REQUIRE(parse_audio_specific_config(asc, config, error));
  CHECK(config.object_type == 2);
  CHECK(config.sample_rate == 44000);
  CHECK(config.channels == 2);

  // Object type 42 (USAC) needs the escape: 31, then 42 - 32 in 6 bits.
  auto usac = BitWriter().bits(31, 5).bits(10, 6).bits(3, 4).bits(2, 4).bits(0, 5).take();
  REQUIRE(parse_audio_specific_config(usac, config, error));
  CHECK(config.object_type == 42);
  CHECK(config.sample_rate == 48000);
  CHECK(config.channels == 2);

  // 960-sample frames and a core coder delay.
  auto lc960 = BitWriter()
                   .bits(2, 5)
                   .bits(4, 4)
                   .bits(2, 4)
                   .flag(true)
                   .flag(true)
                   .bits(100, 14)
                   .flag(false)
                   .take();
  REQUIRE(parse_audio_specific_config(lc960, config, error));
  CHECK(config.frame_length == 960);
  CHECK(config.sample_rate == 44100);

  // Channel configurations beyond 6.
  for (const auto &[cfg, channels] :
       {std::pair{7, 8}, std::pair{11, 7}, std::pair{12, 8}, std::pair{14, 8}}) {
    auto a =
        BitWriter().bits(2, 5).bits(3, 4).bits(static_cast<uint64_t>(cfg), 4).bits(0, 3).take();
    REQUIRE(parse_audio_specific_config(a, config, error));
    CHECK(config.channels == channels);
  }
  CHECK(make_audio_specific_config(2, 48000, 8) == bytes({0x11, 0xb8}));
  REQUIRE(parse_audio_specific_config(make_audio_specific_config(2, 48000, 7), config, error));
  CHECK(config.channels == 7);
}

TEST_CASE("aac: malformed AudioSpecificConfigs are errors", "[media][aac]") {
  std::string error;
  AudioParams params;
  auto expect_error = [&](const std::vector<uint8_t> &asc, const std::string &what) {
    AudioParams p;
    error.clear();
    CHECK_FALSE(parse_audio_specific_config(asc, p, error));
    CHECK_THAT(error, Catch::Contains(what));
    CHECK(p.codec == Codec::Unknown);
  };
  expect_error(BitWriter().bits(2, 5).bits(13, 4).bits(2, 4).bits(0, 3).take(),
               "samplingFrequencyIndex 13");
  expect_error(BitWriter().bits(2, 5).bits(14, 4).bits(2, 4).bits(0, 3).take(),
               "samplingFrequencyIndex 14");
  expect_error(BitWriter().bits(2, 5).bits(3, 4).bits(8, 4).bits(0, 3).take(),
               "channelConfiguration 8");
  expect_error(BitWriter().bits(2, 5).bits(3, 4).bits(15, 4).bits(0, 3).take(),
               "channelConfiguration 15");
  expect_error(BitWriter().bits(0, 5).bits(3, 4).bits(2, 4).bits(0, 3).take(), "object type 0");
  expect_error(BitWriter().bits(2, 5).bits(15, 4).bits(0, 24).bits(2, 4).bits(0, 3).take(),
               "sample rate 0");
  expect_error(bytes({0x12}), "truncated");
  expect_error(bytes({0x17, 0x80, 0x55}), "truncated");  // explicit rate cut short
  expect_error(bytes({0x2b, 0x92}), "truncated");        // SBR header cut short
  // A PCE that claims more elements than there are bytes.
  expect_error(
      BitWriter().bits(2, 5).bits(3, 4).bits(0, 4).bits(0, 3).bits(0, 10).bits(15, 4).take(),
      "truncated");
  // Reserved rate index in an SBR extension.
  expect_error(
      BitWriter().bits(5, 5).bits(6, 4).bits(2, 4).bits(13, 4).bits(2, 5).bits(0, 3).take(),
      "samplingFrequencyIndex 13");

  // Mutations of every configuration above never crash.
  const std::vector<std::vector<uint8_t>> seeds = {
      bytes({0x11, 0x90, 0x56, 0xe5, 0x00}), bytes({0x2b, 0x92, 0x08, 0x00}),
      bytes({0xeb, 0x8a, 0x08, 0x00}), bytes({0x17, 0x80, 0x55, 0xf0, 0x10}),
      bytes({0x12, 0x00, 0x05, 0x08, 0x44, 0x00, 0x20, 0x00, 0xc4, 0x0d, 0x4c, 0x61, 0x76,
             0x63, 0x35, 0x39, 0x2e, 0x33, 0x37, 0x2e, 0x31, 0x30, 0x30, 0x56, 0xe5, 0x00})};
  REQUIRE(parse_audio_specific_config(seeds.back(), params, error));
  CHECK(params.channels == 6);
  Lcg rng(7);
  for (const auto &seed : seeds) {
    for (int round = 0; round < 2000; ++round) {
      auto m = seed;
      m[rng.next() % m.size()] ^= static_cast<uint8_t>(1 + rng.next() % 255);
      if (rng.next() % 3 == 0) m.resize(rng.next() % m.size());
      AacConfig config;
      if (parse_audio_specific_config(m, config, error)) {
        CHECK(config.sample_rate > 0);
        CHECK(config.channels >= 0);
        CHECK(config.channels <= 24 * 3 + 3);
      } else {
        CHECK(!error.empty());
      }
    }
  }
}

TEST_CASE("aac: malformed ADTS headers are errors", "[media][aac]") {
  std::string error;
  AdtsHeader h;
  // LC, 48 kHz, stereo, 7-byte header, frame_length 371
  const auto good = bytes({0xff, 0xf1, 0x4c, 0x80, 0x2e, 0x7f, 0xfc});
  REQUIRE(parse_adts_header(good, h, error));
  CHECK(h.frame_length == 371);
  CHECK(h.sample_rate == 48000);
  CHECK(h.channels == 2);

  auto expect_error = [&](std::vector<uint8_t> header, const std::string &what) {
    error.clear();
    CHECK_FALSE(parse_adts_header(header, h, error));
    CHECK_THAT(error, Catch::Contains(what));
  };
  for (size_t n = 0; n < good.size(); ++n)
    expect_error(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)),
                 "truncated");
  auto bad = good;
  bad[0] = 0xfe;
  expect_error(bad, "syncword");
  bad = good;
  bad[1] = 0xf3;
  expect_error(bad, "layer");
  bad = good;
  bad[2] = 0x74;  // index 13
  expect_error(bad, "sampling_frequency_index 13");
  bad = good;
  bad[3] = 0x80;
  bad[4] = 0x00;
  bad[5] = 0xdf;  // frame_length 6
  expect_error(bad, "shorter than its header");
  bad = good;
  bad[1] = 0xf0;  // CRC present: the header is 9 bytes
  REQUIRE(parse_adts_header(bad, h, error));
  CHECK(h.header_size == 9);
  CHECK_FALSE(h.protection_absent);
}

TEST_CASE("aac: make_audio_specific_config refuses what it cannot express", "[media][aac]") {
  CHECK(make_audio_specific_config(2, 48000, 2) == bytes({0x11, 0x90}));
  CHECK(make_audio_specific_config(2, 44100, 1) == bytes({0x12, 0x08}));
  CHECK(make_audio_specific_config(1, 96000, 2) == bytes({0x08, 0x10}));
  CHECK(make_audio_specific_config(0, 48000, 2).empty());
  CHECK(make_audio_specific_config(5, 48000, 2).empty());  // SBR needs a core description
  CHECK(make_audio_specific_config(2, 0, 2).empty());
  CHECK(make_audio_specific_config(2, 1 << 24, 2).empty());
  CHECK(make_audio_specific_config(2, 48000, 0).empty());
  CHECK(make_audio_specific_config(2, 48000, 9).empty());
}

TEST_CASE("aac: make_adts_header writes the headers ffmpeg's ADTS muxer does", "[media][aac]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  for (const auto &[rate, channels] : {std::pair{48000, 2}, std::pair{44100, 1}}) {
    INFO(rate << " Hz, " << channels << " channels");
    const std::string file = dir.file("adts" + std::to_string(rate) + ".aac");
    REQUIRE(ffmpeg("-f lavfi -i sine=r=" + std::to_string(rate) + " -t 0.3 -ac " +
                   std::to_string(channels) + " -c:a aac -f adts '" + file + "'"));
    const auto flv = encode_aac_flv(dir, "cfg" + std::to_string(rate), rate, channels);
    AacConfig config;
    std::string error;
    REQUIRE(parse_audio_specific_config(flv.asc, config, error));
    const auto stream = read_file(file);
    int frames = 0;
    for (size_t pos = 0; pos < stream.size();) {
      AdtsHeader h;
      REQUIRE(parse_adts_header(std::span(stream).subspan(pos), h, error));
      uint8_t made[7];
      REQUIRE(make_adts_header(config, h.frame_length - 7, made, error));
      CHECK(std::vector<uint8_t>(made, made + 7) ==
            std::vector<uint8_t>(stream.begin() + static_cast<ptrdiff_t>(pos),
                                 stream.begin() + static_cast<ptrdiff_t>(pos) + 7));
      pos += h.frame_length;
      ++frames;
    }
    CHECK(frames > 10);
  }
}

TEST_CASE("aac: make_adts_header refuses what ADTS cannot carry", "[media][aac]") {
  AacConfig lc;
  lc.object_type = lc.base_object_type = 2;
  lc.sample_rate = lc.core_sample_rate = 48000;
  lc.channel_config = lc.channels = 2;
  uint8_t header[7];
  std::string error;
  CHECK(make_adts_header(lc, 8184, header, error));
  auto refused = [&](AacConfig c, size_t size, const std::string &why) {
    INFO(why);
    CHECK_FALSE(make_adts_header(c, size, header, error));
    CHECK(error.find(why) != std::string::npos);
  };
  refused(lc, 8185, "too long for ADTS");
  AacConfig ld = lc;
  ld.object_type = ld.base_object_type = 23;
  refused(ld, 100, "object type 23");
  AacConfig pce = lc;
  pce.channel_config = 0;
  refused(pce, 100, "channel configuration 0");
  AacConfig odd_rate = lc;
  odd_rate.core_sample_rate = 50000;
  refused(odd_rate, 100, "no index for 50000 Hz");
}
