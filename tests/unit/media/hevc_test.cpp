#include "media/hevc.h"

#include <catch2/catch.hpp>

#include "media/flv.h"
#include "media/h264.h"
#include "media_test_support.h"

using namespace lg::media;
using namespace lg::media::test;

namespace {

bool have_x265() {
  if (!have_ffmpeg() || !have_encoder("libx265")) {
    WARN("ffmpeg with libx265 not installed: HEVC encoder output not exercised");
    return false;
  }
  return true;
}

std::string x265_command(const std::string &size, const std::string &options,
                         const std::string &x265_params) {
  return "-f lavfi -i testsrc2=size=" + size + ":rate=30 -t 0.2 -c:v libx265 " + options +
         " -x265-params log-level=error:frame-threads=1" + x265_params + " -an ";
}

struct Mp4 {
  std::string file;
  std::vector<uint8_t> hvcc;
  VideoParams params;
};

// Encodes with libx265 into MP4 and parses the hvcC box that ffmpeg wrote.
std::optional<Mp4> encode_mp4(const TempDir &dir, const std::string &name, const std::string &size,
                              const std::string &options = "-pix_fmt yuv420p",
                              const std::string &x265_params = "") {
  Mp4 m;
  m.file = dir.file(name + ".mp4");
  if (!ffmpeg(x265_command(size, options, x265_params) + "-tag:v hvc1 -f mp4 '" + m.file + "'")) {
    return std::nullopt;
  }
  auto box = find_sample_entry_box(read_file(m.file), "hvc1", "hvcC");
  REQUIRE(box);
  m.hvcc = *box;
  std::string error;
  INFO(error);
  REQUIRE(parse_hevc_config(m.hvcc, m.params, error));
  return m;
}

std::vector<uint8_t> encode_annexb(const TempDir &dir, const std::string &name,
                                   const std::string &size, const std::string &options,
                                   const std::string &x265_params) {
  const std::string file = dir.file(name + ".hevc");
  REQUIRE(ffmpeg(x265_command(size, options, x265_params) + "-f hevc '" + file + "'"));
  return read_file(file);
}

// The first NAL unit of a type in an hvcC record's arrays.
std::vector<uint8_t> nal_from_record(const std::vector<uint8_t> &hvcc, int type) {
  size_t pos = 23;
  for (int a = 0; a < hvcc[22]; ++a) {
    const int t = hvcc[pos] & 0x3f;
    const size_t count = (size_t{hvcc[pos + 1]} << 8) | hvcc[pos + 2];
    pos += 3;
    for (size_t i = 0; i < count; ++i) {
      const size_t len = (size_t{hvcc[pos]} << 8) | hvcc[pos + 1];
      pos += 2;
      if (t == type)
        return std::vector<uint8_t>(hvcc.begin() + static_cast<std::ptrdiff_t>(pos),
                                    hvcc.begin() + static_cast<std::ptrdiff_t>(pos + len));
      pos += len;
    }
  }
  return {};
}

bool is_irap(int type) {
  return type >= 16 && type <= 23;
}

std::vector<uint8_t> bytes(std::initializer_list<uint8_t> b) {
  return std::vector<uint8_t>(b);
}

// An SPS NAL unit whose RBSP `body` writes after the 2-byte NAL header.
template <typename F>
std::vector<uint8_t> make_hevc_sps(F &&body) {
  BitWriter w;
  body(w);
  w.trailing();
  auto nal = escape_rbsp(w.take());
  nal.insert(nal.begin(), {0x42, 0x01});
  return nal;
}

// The general part of profile_tier_level: Main, level 3.1, progressive.
void write_general_ptl(BitWriter &w, int profile_idc = 1, int level = 93) {
  w.bits(0, 2).bits(0, 1).bits(static_cast<uint64_t>(profile_idc), 5);
  w.bits(0x60000000, 32).bits(0x900000000000ull, 48).bits(static_cast<uint64_t>(level), 8);
}

struct HevcSpsFields {
  uint64_t sps_id = 0;
  uint64_t chroma_format_idc = 1;
  uint64_t width = 1920;
  uint64_t height = 1088;
  bool window = true;
  uint64_t left = 0, right = 0, top = 0, bottom = 4;
  uint64_t luma_minus8 = 0;
};

std::vector<uint8_t> make_simple_hevc_sps(const HevcSpsFields &f,
                                          uint64_t max_sub_layers_minus1 = 0) {
  return make_hevc_sps([&](BitWriter &w) {
    w.bits(0, 4).bits(max_sub_layers_minus1, 3).flag(true);
    write_general_ptl(w);
    for (uint64_t i = 0; i < max_sub_layers_minus1; ++i) w.flag(false).flag(false);
    if (max_sub_layers_minus1 > 0) {
      for (uint64_t i = max_sub_layers_minus1; i < 8; ++i) w.bits(0, 2);
    }
    w.ue(f.sps_id).ue(f.chroma_format_idc);
    if (f.chroma_format_idc == 3) w.flag(false);
    w.ue(f.width).ue(f.height).flag(f.window);
    if (f.window) w.ue(f.left).ue(f.right).ue(f.top).ue(f.bottom);
    w.ue(f.luma_minus8).ue(0);
    w.ue(4);  // log2_max_pic_order_cnt_lsb_minus4: something follows, as in a real SPS
  });
}

// A one-array-per-type record around the given parameter sets.
std::vector<uint8_t> make_hvcc(const std::vector<std::vector<uint8_t>> &nals,
                               uint8_t length_size_minus1 = 3) {
  std::vector<uint8_t> r = {1,
                            0x01,
                            0x60,
                            0,
                            0,
                            0,
                            0x90,
                            0,
                            0,
                            0,
                            0,
                            0,
                            93,
                            0xf0,
                            0,
                            0xfc,
                            0xfd,
                            0xf8,
                            0xf8,
                            0,
                            0,
                            static_cast<uint8_t>(0x0c | length_size_minus1),
                            static_cast<uint8_t>(nals.size())};
  for (const auto &nal : nals) {
    r.push_back(static_cast<uint8_t>(0x80 | hevc_nal_type(nal)));
    r.push_back(0);
    r.push_back(1);
    r.push_back(static_cast<uint8_t>(nal.size() >> 8));
    r.push_back(static_cast<uint8_t>(nal.size()));
    r.insert(r.end(), nal.begin(), nal.end());
  }
  return r;
}

const std::vector<uint8_t> kVps = {0x40, 0x01, 0x0c, 0x01, 0xff, 0xff};
const std::vector<uint8_t> kPps = {0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40};

}  // namespace

TEST_CASE("hevc: x265 Main 1280x720 from an MP4 hvcC box", "[media][hevc]") {
  if (!have_x265()) return;
  TempDir dir;
  auto m = encode_mp4(dir, "main720", "1280x720");
  REQUIRE(m);
  CHECK(m->params.codec == Codec::HEVC);
  CHECK(m->params.width == 1280);
  CHECK(m->params.height == 720);
  CHECK(m->params.profile == 1);
  CHECK(m->params.level == 93);
  CHECK(m->params.nal_length_size == 4);
  CHECK(m->params.config == m->hvcc);
  // Main (compatible with Main and Main 10: flags 1 and 2, reversed: 0x6),
  // Main tier level 3.1, constraint byte 0x90: progressive_source and
  // frame_only_constraint set, as x265 writes for progressive input.
  CHECK(m->params.codec_string() == "hvc1.1.6.L93.90");

  auto probe = ffprobe_stream(m->file, "v:0");
  CHECK(probe["profile"] == "Main");
  CHECK(to_int(probe["width"]) == m->params.width);
  CHECK(to_int(probe["height"]) == m->params.height);
  CHECK(to_int(probe["level"]) == m->params.level);

  HevcSpsInfo sps;
  std::string error;
  REQUIRE(parse_hevc_sps(nal_from_record(m->hvcc, hevc_nal::kSps), sps, error));
  CHECK(sps.profile_idc == 1);
  CHECK(sps.level_idc == 93);
  CHECK_FALSE(sps.high_tier);
  CHECK(sps.chroma_format_idc == 1);
  CHECK(sps.bit_depth_luma == 8);
  CHECK(sps.max_sub_layers == 1);
  CHECK(std::equal(std::begin(sps.general_ptl), std::end(sps.general_ptl), m->hvcc.begin() + 1));
}

TEST_CASE("hevc: the conformance window crops sizes that are not multiples of 8", "[media][hevc]") {
  if (!have_x265()) return;
  TempDir dir;
  for (const auto &[w, h] : {std::pair{854, 480}, std::pair{426, 240}, std::pair{1920, 1080}}) {
    const std::string size = std::to_string(w) + "x" + std::to_string(h);
    auto m = encode_mp4(dir, "crop" + size, size);
    REQUIRE(m);
    INFO(size);
    CHECK(m->params.width == w);
    CHECK(m->params.height == h);
    auto probe = ffprobe_stream(m->file, "v:0");
    CHECK(to_int(probe["width"]) == w);
    CHECK(to_int(probe["height"]) == h);
    CHECK(to_int(probe["level"]) == m->params.level);
  }
}

TEST_CASE("hevc: Main 10", "[media][hevc]") {
  if (!have_x265()) return;
  TempDir dir;
  auto m = encode_mp4(dir, "main10", "1280x720", "-pix_fmt yuv420p10le");
  if (!m) {
    WARN("this libx265 cannot encode 10-bit: Main 10 not exercised");
    return;
  }
  CHECK(m->params.profile == 2);
  CHECK(m->params.width == 1280);
  CHECK(m->params.height == 720);
  CHECK(m->params.codec_string() == "hvc1.2.4.L93.90");
  CHECK(ffprobe_stream(m->file, "v:0")["profile"] == "Main 10");
  HevcSpsInfo sps;
  std::string error;
  REQUIRE(parse_hevc_sps(nal_from_record(m->hvcc, hevc_nal::kSps), sps, error));
  CHECK(sps.bit_depth_luma == 10);
  CHECK(sps.bit_depth_chroma == 10);
}

TEST_CASE("hevc: temporal sub-layers in profile_tier_level", "[media][hevc]") {
  if (!have_x265()) return;
  TempDir dir;
  auto stream = encode_annexb(dir, "temporal", "854x480", "-pix_fmt yuv420p", ":temporal-layers=1");
  std::span<const uint8_t> sps_nal;
  for (auto nal : split_annexb(stream)) {
    if (hevc_nal_type(nal) == hevc_nal::kSps) {
      sps_nal = nal;
      break;
    }
  }
  REQUIRE(!sps_nal.empty());
  HevcSpsInfo sps;
  std::string error;
  INFO(error);
  REQUIRE(parse_hevc_sps(sps_nal, sps, error));
  CHECK(sps.max_sub_layers == 2);
  CHECK(sps.width == 854);
  CHECK(sps.height == 480);
}

TEST_CASE("hevc: a record built from Annex-B parameter sets matches ffmpeg's", "[media][hevc]") {
  if (!have_x265()) return;
  TempDir dir;
  auto m = encode_mp4(dir, "ref", "854x480");
  REQUIRE(m);
  auto stream = encode_annexb(dir, "ref", "854x480", "-pix_fmt yuv420p", "");
  std::span<const uint8_t> vps, sps, pps;
  for (auto nal : split_annexb(stream)) {
    const int type = hevc_nal_type(nal);
    if (type == hevc_nal::kVps && vps.empty()) vps = nal;
    if (type == hevc_nal::kSps && sps.empty()) sps = nal;
    if (type == hevc_nal::kPps && pps.empty()) pps = nal;
  }
  REQUIRE(!vps.empty());
  REQUIRE(!sps.empty());
  REQUIRE(!pps.empty());
  CHECK(nal_from_record(m->hvcc, hevc_nal::kSps) == std::vector<uint8_t>(sps.begin(), sps.end()));

  VideoParams built;
  std::string error;
  INFO(error);
  REQUIRE(build_hevc_config_from_annexb(vps, sps, pps, built, error));
  CHECK(built.width == 854);
  CHECK(built.height == 480);
  CHECK(built.profile == m->params.profile);
  CHECK(built.level == m->params.level);
  CHECK(built.nal_length_size == 4);
  CHECK(built.codec_string() == m->params.codec_string());
  // Profile, tier, level, chroma format, bit depths, temporal layers and
  // length size all agree with what ffmpeg's muxer derived; ffmpeg also
  // stores the encoder's SEI, so the arrays differ.
  REQUIRE(built.config.size() > 22);
  CHECK(std::equal(built.config.begin(), built.config.begin() + 22, m->hvcc.begin()));
  CHECK(nal_from_record(built.config, hevc_nal::kVps) ==
        std::vector<uint8_t>(vps.begin(), vps.end()));
  CHECK(nal_from_record(built.config, hevc_nal::kPps) ==
        std::vector<uint8_t>(pps.begin(), pps.end()));

  CHECK_FALSE(build_hevc_config_from_annexb(sps, sps, pps, built, error));
  CHECK_THAT(error, Catch::Contains("VPS"));
  CHECK_FALSE(build_hevc_config_from_annexb(vps, sps, vps, built, error));
  CHECK_THAT(error, Catch::Contains("PPS"));
  CHECK_FALSE(build_hevc_config_from_annexb(vps, pps, pps, built, error));
  CHECK_THAT(error, Catch::Contains("not an HEVC SPS"));
}

TEST_CASE("hevc: Enhanced RTMP and legacy codec-12 tags around real x265 output",
          "[media][hevc][flv]") {
  if (!have_x265()) return;
  TempDir dir;
  auto m = encode_mp4(dir, "ertmp", "1280x720");
  REQUIRE(m);
  // Access units, delimited by the AUDs x265 is asked to write.
  auto stream = encode_annexb(dir, "ertmp", "1280x720", "-pix_fmt yuv420p", ":aud=1");
  std::vector<std::vector<std::span<const uint8_t>>> units;
  for (auto nal : split_annexb(stream)) {
    if (hevc_nal_type(nal) == hevc_nal::kAud) units.emplace_back();
    REQUIRE(!units.empty());
    units.back().push_back(nal);
  }
  REQUIRE(units.size() == 6);

  std::string error;
  VideoTag tag;
  // SequenceStart: [IsExHeader | keyframe | 0] "hvc1" record
  auto start = concat({bytes({0x90, 'h', 'v', 'c', '1'}), m->hvcc});
  REQUIRE(parse_video_tag(start, tag, error) == ParseResult::Ok);
  CHECK(tag.enhanced);
  CHECK(tag.codec == Codec::HEVC);
  CHECK(tag.kind == VideoTag::Kind::SequenceHeader);
  CHECK(tag.body_offset == 5);
  VideoParams params;
  REQUIRE(parse_hevc_config(tag.body, params, error));
  CHECK(params.width == 1280);
  CHECK(params.height == 720);

  for (size_t i = 0; i < units.size(); ++i) {
    std::vector<uint8_t> payload;
    for (auto nal : units[i]) {
      const auto one = annexb_to_length_prefixed(concat({bytes({0, 0, 1}), nal}));
      payload.insert(payload.end(), one.begin(), one.end());
    }
    bool irap = false;
    for (auto nal : units[i]) irap |= is_irap(hevc_nal_type(nal));
    const uint8_t frame_type = irap ? 0x10 : 0x20;
    // Alternate CodedFrames (with a composition time) and CodedFramesX.
    const bool with_cts = i % 2 == 0;
    auto body =
        with_cts ? concat({bytes({static_cast<uint8_t>(0x80 | frame_type | 1), 'h', 'v', 'c', '1',
                                  0x00, 0x00, static_cast<uint8_t>(33 * i)}),
                           payload})
                 : concat({bytes({static_cast<uint8_t>(0x80 | frame_type | 3), 'h', 'v', 'c', '1'}),
                           payload});
    INFO("access unit " << i);
    REQUIRE(parse_video_tag(body, tag, error) == ParseResult::Ok);
    CHECK(tag.kind == VideoTag::Kind::Coded);
    CHECK(tag.codec == Codec::HEVC);
    CHECK(tag.keyframe == irap);
    CHECK(tag.composition_time_ms == (with_cts ? static_cast<int32_t>(33 * i) : 0));
    CHECK(tag.body_offset == (with_cts ? 8u : 5u));
    CHECK(tag.body.data() == body.data() + tag.body_offset);
    auto nals = split_length_prefixed(tag.body, params.nal_length_size, error);
    REQUIRE(nals.size() == units[i].size());
    for (size_t n = 0; n < nals.size(); ++n) {
      CHECK(std::equal(nals[n].begin(), nals[n].end(), units[i][n].begin(), units[i][n].end()));
    }
  }
  CHECK(is_irap(hevc_nal_type(units[0][units[0].size() - 1])));

  REQUIRE(parse_video_tag(bytes({0x92, 'h', 'v', 'c', '1'}), tag, error) == ParseResult::Ok);
  CHECK(tag.kind == VideoTag::Kind::EndOfSequence);
  CHECK(tag.body.empty());

  // The legacy layout some encoders use: codec id 12 with AVC's header.
  auto legacy = concat({bytes({0x1c, 0, 0, 0, 0}), m->hvcc});
  REQUIRE(parse_video_tag(legacy, tag, error) == ParseResult::Ok);
  CHECK_FALSE(tag.enhanced);
  CHECK(tag.codec == Codec::HEVC);
  CHECK(tag.kind == VideoTag::Kind::SequenceHeader);
  REQUIRE(parse_hevc_config(tag.body, params, error));
  CHECK(params.codec_string() == "hvc1.1.6.L93.90");
  auto legacy_frame =
      concat({bytes({0x2c, 1, 0xff, 0xff, 0xdf}), annexb_to_length_prefixed(stream)});
  REQUIRE(parse_video_tag(legacy_frame, tag, error) == ParseResult::Ok);
  CHECK(tag.kind == VideoTag::Kind::Coded);
  CHECK_FALSE(tag.keyframe);
  CHECK(tag.composition_time_ms == -33);
}

TEST_CASE("hevc: crafted SPS syntax x265 does not produce", "[media][hevc]") {
  HevcSpsInfo info;
  std::string error;

  SECTION("sub-layer profile and level information is skipped exactly") {
    // Three sub-layers: the lowest with profile and level, the next with a
    // level only. The skipped bits are all ones, so a miscount shows.
    auto sps = make_hevc_sps([](BitWriter &w) {
      w.bits(0, 4).bits(2, 3).flag(false);
      write_general_ptl(w, 1, 120);
      w.flag(true).flag(true).flag(false).flag(true);
      for (int i = 2; i < 8; ++i) w.bits(0, 2);
      w.bits(0xffffffffffull, 44).bits(0xffffffffffull, 44).bits(0xff, 8);  // sub-layer 0
      w.bits(0xff, 8);                                                      // sub-layer 1
      w.ue(0).ue(1).ue(3840).ue(2160).flag(false).ue(0).ue(0).ue(4);
    });
    REQUIRE(parse_hevc_sps(sps, info, error));
    CHECK(info.max_sub_layers == 3);
    CHECK_FALSE(info.temporal_id_nesting);
    CHECK(info.level_idc == 120);
    CHECK(info.width == 3840);
    CHECK(info.height == 2160);
  }
  SECTION("conformance window units follow the chroma format") {
    HevcSpsFields f;
    f.left = 1;
    f.right = 2;
    f.top = 3;
    f.bottom = 4;
    f.chroma_format_idc = 1;  // 4:2:0: units of 2 in both directions
    REQUIRE(parse_hevc_sps(make_simple_hevc_sps(f), info, error));
    CHECK(info.width == 1920 - 6);
    CHECK(info.height == 1088 - 14);
    f.chroma_format_idc = 2;  // 4:2:2: 2 across, 1 down
    REQUIRE(parse_hevc_sps(make_simple_hevc_sps(f), info, error));
    CHECK(info.width == 1920 - 6);
    CHECK(info.height == 1088 - 7);
    f.chroma_format_idc = 3;  // 4:4:4: single samples
    REQUIRE(parse_hevc_sps(make_simple_hevc_sps(f), info, error));
    CHECK(info.width == 1920 - 3);
    CHECK(info.height == 1088 - 7);
    f.chroma_format_idc = 0;  // monochrome
    REQUIRE(parse_hevc_sps(make_simple_hevc_sps(f), info, error));
    CHECK(info.chroma_format_idc == 0);
    CHECK(info.width == 1920 - 3);
  }
  SECTION("a record around a crafted SPS") {
    VideoParams params;
    REQUIRE(parse_hevc_config(make_hvcc({kVps, make_simple_hevc_sps({}), kPps}), params, error));
    CHECK(params.width == 1920);
    CHECK(params.height == 1080);
    CHECK(params.codec_string() == "hvc1.1.6.L93.90");
    REQUIRE(parse_hevc_config(make_hvcc({kVps, make_simple_hevc_sps({}), kPps}, 1), params, error));
    CHECK(params.nal_length_size == 2);
  }
}

TEST_CASE("hevc: absurd SPS values are errors", "[media][hevc]") {
  HevcSpsInfo info;
  std::string error;
  REQUIRE(parse_hevc_sps(make_simple_hevc_sps({}), info, error));
  auto expect_error = [&](const std::vector<uint8_t> &sps, const std::string &what) {
    error.clear();
    CHECK_FALSE(parse_hevc_sps(sps, info, error));
    CHECK_THAT(error, Catch::Contains(what));
  };
  HevcSpsFields f;
  expect_error(make_simple_hevc_sps(f, 7), "sps_max_sub_layers_minus1");
  f.sps_id = 16;
  expect_error(make_simple_hevc_sps(f), "sps_seq_parameter_set_id");
  f = {};
  f.chroma_format_idc = 4;
  expect_error(make_simple_hevc_sps(f), "chroma_format_idc");
  f = {};
  f.width = 0;
  expect_error(make_simple_hevc_sps(f), "absurd picture size");
  f = {};
  f.height = 100000;
  expect_error(make_simple_hevc_sps(f), "absurd picture size");
  f = {};
  f.right = 960;
  expect_error(make_simple_hevc_sps(f), "conformance window");
  f = {};
  f.top = 0xfffffffe;
  expect_error(make_simple_hevc_sps(f), "conformance window");
  f = {};
  f.luma_minus8 = 9;
  expect_error(make_simple_hevc_sps(f), "bit depth");
  expect_error(bytes({0x42, 0x01, 0x01}), "too short");
  expect_error(kVps, "not an HEVC SPS");
  auto good = make_simple_hevc_sps({});
  for (size_t n = 0; n + 2 < good.size(); ++n) {
    error.clear();
    CHECK_FALSE(parse_hevc_sps(std::span(good).first(n), info, error));
    CHECK(!error.empty());
  }
}

TEST_CASE("hevc: malformed HEVCDecoderConfigurationRecords are errors", "[media][hevc]") {
  const auto good = make_hvcc({kVps, make_simple_hevc_sps({}), kPps});
  VideoParams params;
  std::string error;
  REQUIRE(parse_hevc_config(good, params, error));
  for (size_t n = 0; n < good.size(); ++n) {
    VideoParams p;
    error.clear();
    CHECK_FALSE(parse_hevc_config(std::span(good).first(n), p, error));
    CHECK(!error.empty());
    CHECK(p.codec == Codec::Unknown);
  }
  auto expect_error = [&](std::vector<uint8_t> record, const std::string &what) {
    VideoParams p;
    error.clear();
    CHECK_FALSE(parse_hevc_config(record, p, error));
    CHECK_THAT(error, Catch::Contains(what));
  };
  auto bad = good;
  bad[0] = 2;
  expect_error(bad, "version");
  bad = good;
  bad[21] = 0x0e;
  expect_error(bad, "3-byte NAL lengths");
  expect_error(make_hvcc({kVps, kPps}), "no SPS");
  bad = good;
  bad[26] = 0;  // the VPS length
  bad[27] = 0;
  expect_error(bad, "empty NAL unit");
  bad = good;
  bad[26] = 0xff;
  expect_error(bad, "claims");
  bad = good;
  bad[24] = 0xff;  // 65281 VPS in the first array: the next ones run into the SPS array
  expect_error(bad, "array 0");
  expect_error(concat({bytes({0, 0, 0, 1}), kVps}), "Annex-B");
  expect_error(
      make_hvcc({kVps, concat({bytes({0x42, 0x01, 0x01}), std::vector<uint8_t>(20, 0)}), kPps}),
      "HEVC SPS");
}

TEST_CASE("hevc: mutated real records never crash", "[media][hevc]") {
  if (!have_x265()) return;
  TempDir dir;
  auto m = encode_mp4(dir, "fuzz", "854x480");
  REQUIRE(m);
  Lcg rng(99);
  int accepted = 0;
  // Mutate the part before the encoder's SEI, where every byte matters.
  const size_t sei = m->hvcc.size() - nal_from_record(m->hvcc, 39).size();
  for (int round = 0; round < 3000; ++round) {
    auto mutated = m->hvcc;
    const int flips = 1 + static_cast<int>(rng.next() % 4);
    for (int i = 0; i < flips; ++i)
      mutated[rng.next() % sei] ^= static_cast<uint8_t>(1 + rng.next() % 255);
    if (rng.next() % 4 == 0) mutated.resize(rng.next() % mutated.size());
    VideoParams p;
    std::string error;
    if (parse_hevc_config(mutated, p, error)) {
      ++accepted;
      CHECK(p.width > 0);
      CHECK(p.height > 0);
      CHECK(p.width <= 32768);
      CHECK(p.height <= 32768);
    } else {
      CHECK(!error.empty());
    }
  }
  CHECK(accepted > 0);
}
