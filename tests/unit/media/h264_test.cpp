#include "media/h264.h"

#include <catch2/catch.hpp>

#include "media/flv.h"
#include "media_test_support.h"

using namespace lg::media;
using namespace lg::media::test;

namespace {

struct Encoded {
  std::string file;
  std::vector<FlvTag> video;  // video tag bodies in file order
  VideoParams params;
  SpsInfo sps;
};

// Encodes 0.2 s of a test pattern with libx264 into FLV and parses the
// sequence header the muxer wrote.
std::optional<Encoded> encode_h264(const TempDir &dir, const std::string &name,
                                   const std::string &size, const std::string &options,
                                   const std::string &source = "testsrc2") {
  Encoded e;
  e.file = dir.file(name + ".flv");
  if (!ffmpeg("-f lavfi -i " + source + "=size=" + size + ":rate=30 -t 0.2 -c:v libx264 " +
              options + " -an -f flv '" + e.file + "'")) {
    return std::nullopt;
  }
  e.video = tags_of_type(read_flv(read_file(e.file)), 9);
  REQUIRE(!e.video.empty());
  VideoTag tag;
  std::string error;
  REQUIRE(parse_video_tag(e.video[0].body, tag, error) == ParseResult::Ok);
  REQUIRE(tag.kind == VideoTag::Kind::SequenceHeader);
  INFO(error);
  REQUIRE(parse_avc_config(tag.body, e.params, error));
  // The first SPS of the record, to check what VideoParams does not carry.
  const auto &c = e.params.config;
  REQUIRE(c.size() > 8);
  const size_t sps_len = (size_t{c[6]} << 8) | c[7];
  REQUIRE(c.size() >= 8 + sps_len);
  REQUIRE(parse_sps(std::span(c).subspan(8, sps_len), e.sps, error));
  return e;
}

void check_against_ffprobe(const Encoded &e) {
  auto probe = ffprobe_stream(e.file, "v:0");
  CHECK(e.params.width == to_int(probe["width"]));
  CHECK(e.params.height == to_int(probe["height"]));
  CHECK(e.params.level == to_int(probe["level"]));
}

// An SPS NAL unit (header 0x67) from RBSP fields written by `body`.
template <typename F>
std::vector<uint8_t> make_sps(F &&body) {
  BitWriter w;
  body(w);
  w.trailing();
  auto rbsp = w.take();
  auto nal = escape_rbsp(rbsp);
  nal.insert(nal.begin(), 0x67);
  return nal;
}

// Baseline SPS with the given fields; the knobs cover what the tests vary.
struct SpsFields {
  int profile = 66;
  uint64_t sps_id = 0;
  uint64_t log2_max_frame_num_minus4 = 0;
  uint64_t poc_type = 2;
  uint64_t max_ref_frames = 1;
  uint64_t width_mbs_minus1 = 79;
  uint64_t height_map_units_minus1 = 44;
  bool frame_mbs_only = true;
  bool crop = false;
  uint64_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
};

std::vector<uint8_t> make_baseline_sps(const SpsFields &f) {
  return make_sps([&](BitWriter &w) {
    w.bits(static_cast<uint64_t>(f.profile), 8).bits(0xc0, 8).bits(30, 8);
    w.ue(f.sps_id).ue(f.log2_max_frame_num_minus4).ue(f.poc_type);
    if (f.poc_type == 0) w.ue(4);
    w.ue(f.max_ref_frames).flag(false);
    w.ue(f.width_mbs_minus1).ue(f.height_map_units_minus1);
    w.flag(f.frame_mbs_only);
    if (!f.frame_mbs_only) w.flag(false);
    w.flag(true).flag(f.crop);
    if (f.crop) w.ue(f.crop_left).ue(f.crop_right).ue(f.crop_top).ue(f.crop_bottom);
    w.flag(false);  // vui_parameters_present_flag
  });
}

std::vector<uint8_t> make_avcc(std::span<const uint8_t> sps, std::span<const uint8_t> pps,
                               uint8_t length_size_minus1 = 3) {
  std::vector<uint8_t> r = {1,
                            sps[1],
                            sps[2],
                            sps[3],
                            static_cast<uint8_t>(0xfc | length_size_minus1),
                            0xe1,
                            static_cast<uint8_t>(sps.size() >> 8),
                            static_cast<uint8_t>(sps.size())};
  r.insert(r.end(), sps.begin(), sps.end());
  r.push_back(1);
  r.push_back(static_cast<uint8_t>(pps.size() >> 8));
  r.push_back(static_cast<uint8_t>(pps.size()));
  r.insert(r.end(), pps.begin(), pps.end());
  return r;
}

const std::vector<uint8_t> kPps = {0x68, 0xce, 0x38, 0x80};

// scaling_list() as an encoder codes it: each value as the delta from the
// previous one, wrapped into [-128, 127]. A 0 ends the list early (the rest
// repeat the last value; a 0 first means "use the default list").
void write_scaling_list(BitWriter &w, const std::vector<int> &values) {
  int last = 8;
  for (int v : values) {
    int delta = v - last;
    if (delta > 127) delta -= 256;
    if (delta < -128) delta += 256;
    w.se(delta);
    if (v == 0) return;
    last = v;
  }
}

// High-profile SPS header fields with explicit scaling lists: present lists
// get distinct values, with "use default", an early end and absent lists
// mixed in, so that skipping one list by the wrong length shows in the size.
void write_high_sps_with_scaling_lists(BitWriter &w, int profile, int chroma_format_idc) {
  w.bits(static_cast<uint64_t>(profile), 8).bits(0, 8).bits(40, 8).ue(0);
  w.ue(static_cast<uint64_t>(chroma_format_idc));
  if (chroma_format_idc == 3) w.flag(false);  // separate_colour_plane_flag
  w.ue(0).ue(0).flag(false);
  w.flag(true);  // seq_scaling_matrix_present_flag
  const int lists = chroma_format_idc == 3 ? 12 : 8;
  for (int i = 0; i < lists; ++i) {
    const int size = i < 6 ? 16 : 64;
    if (i == 2) {
      w.flag(false);  // not present: fall back
      continue;
    }
    w.flag(true);
    std::vector<int> values;
    if (i == 1) {
      values = {0};  // use the default list
    } else if (i == 7) {
      values = {20, 30, 40, 0};  // ends early
    } else {
      for (int j = 0; j < size; ++j) values.push_back(1 + (j * 37 + i * 11) % 255);
    }
    write_scaling_list(w, values);
  }
}

}  // namespace

TEST_CASE("h264: x264 High 1280x720 level 3.1 in FLV", "[media][h264]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  auto e = encode_h264(dir, "high720", "1280x720", "-profile:v high -level 3.1 -pix_fmt yuv420p");
  REQUIRE(e);
  CHECK(e->params.codec == Codec::H264);
  CHECK(e->params.width == 1280);
  CHECK(e->params.height == 720);
  CHECK(e->params.profile == 100);
  CHECK(e->params.level == 31);
  CHECK(e->params.nal_length_size == 4);
  CHECK(e->params.codec_string() == "avc1.64001f");
  CHECK(e->sps.chroma_format_idc == 1);
  CHECK(e->sps.bit_depth_luma == 8);
  CHECK(e->sps.frame_mbs_only);
  CHECK(e->params.config ==
        std::vector<uint8_t>(e->video[0].body.begin() + 5, e->video[0].body.end()));
  check_against_ffprobe(*e);
  CHECK(ffprobe_stream(e->file, "v:0")["profile"] == "High");

  // Every coded frame splits into NAL units; keyframes are exactly the
  // frames that carry an IDR slice, and B-frames show as composition offsets.
  int frames = 0, keyframes = 0, reordered = 0;
  for (size_t i = 1; i < e->video.size(); ++i) {
    VideoTag tag;
    std::string error;
    REQUIRE(parse_video_tag(e->video[i].body, tag, error) == ParseResult::Ok);
    if (tag.kind != VideoTag::Kind::Coded) continue;
    ++frames;
    auto nals = split_length_prefixed(tag.body, e->params.nal_length_size, error);
    INFO(error);
    REQUIRE(!nals.empty());
    bool idr = false;
    for (auto nal : nals) idr |= (nal[0] & 0x1f) == h264_nal::kIdr;
    CHECK(idr == tag.keyframe);
    keyframes += tag.keyframe;
    CHECK(tag.composition_time_ms >= 0);
    reordered += tag.composition_time_ms > 0;
  }
  CHECK(frames == 6);
  CHECK(keyframes == 1);
  CHECK(reordered > 0);
}

TEST_CASE("h264: 1920x1080 Main is cropped from 1088 coded lines", "[media][h264]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  auto e = encode_h264(dir, "main1080", "1920x1080", "-profile:v main -level 4.0 -pix_fmt yuv420p");
  REQUIRE(e);
  CHECK(e->params.width == 1920);
  CHECK(e->params.height == 1080);
  CHECK(e->params.profile == 77);
  CHECK(e->params.level == 40);
  // x264 sets constraint_set1 for Main.
  CHECK(e->params.codec_string() == "avc1.4d4028");
  check_against_ffprobe(*e);
  CHECK(ffprobe_stream(e->file, "v:0")["profile"] == "Main");
}

TEST_CASE("h264: constrained Baseline at odd macroblock multiples", "[media][h264]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  // 426 = 26.6 macroblocks: cropped on the right; Baseline codes
  // pic_order_cnt_type 2 (no B-frames).
  auto e =
      encode_h264(dir, "base240", "426x240", "-profile:v baseline -level 3.0 -pix_fmt yuv420p");
  REQUIRE(e);
  CHECK(e->params.width == 426);
  CHECK(e->params.height == 240);
  CHECK(e->params.profile == 66);
  CHECK(e->params.level == 30);
  CHECK(e->params.codec_string() == "avc1.42c01e");
  check_against_ffprobe(*e);
  CHECK(ffprobe_stream(e->file, "v:0")["profile"] == "Constrained Baseline");
}

TEST_CASE("h264: codec strings agree with ffmpeg's HLS muxer", "[media][h264]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  // ffmpeg's HLS master playlist names the codecs from the SPS bytes:
  // an independent rendering of the same RFC 6381 string. (It lists a
  // stream only when it knows a bitrate.)
  for (const std::string options : {"-profile:v baseline -level 3.0", "-profile:v main -level 4.0",
                                    "-profile:v high -level 3.1", "-profile:v high -level 5.1"}) {
    INFO(options);
    auto e = encode_h264(dir, "hls", "640x360", options + " -pix_fmt yuv420p");
    REQUIRE(e);
    const std::string playlist = dir.file("stream.m3u8");
    REQUIRE(ffmpeg("-f lavfi -i testsrc2=size=640x360:rate=30 -t 0.2 -c:v libx264 " + options +
                   " -pix_fmt yuv420p -b:v 500k -an -f hls -master_pl_name master.m3u8 '" +
                   playlist + "'"));
    const auto master = read_file(dir.file("master.m3u8"));
    const std::string text(master.begin(), master.end());
    CHECK_THAT(text, Catch::Contains("CODECS=\"" + e->params.codec_string() + "\""));
  }
}

TEST_CASE("h264: 854x480 High", "[media][h264]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  auto e = encode_h264(dir, "high480", "854x480", "-profile:v high -pix_fmt yuv420p");
  REQUIRE(e);
  CHECK(e->params.width == 854);
  CHECK(e->params.height == 480);
  CHECK(e->params.profile == 100);
  check_against_ffprobe(*e);
}

TEST_CASE("h264: interlaced coding doubles the height units", "[media][h264]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  // 720 lines are 22.5 field-pair macroblock rows: 736 coded, cropped by 16.
  auto e = encode_h264(dir, "interlaced", "1280x720", "-flags +ildct -pix_fmt yuv420p");
  REQUIRE(e);
  CHECK_FALSE(e->sps.frame_mbs_only);
  CHECK(e->params.width == 1280);
  CHECK(e->params.height == 720);
  check_against_ffprobe(*e);
  CHECK(ffprobe_stream(e->file, "v:0")["field_order"] != "progressive");

  auto e2 =
      encode_h264(dir, "interlaced576", "720x576", "-x264-params interlaced=1 -pix_fmt yuv420p");
  REQUIRE(e2);
  CHECK_FALSE(e2->sps.frame_mbs_only);
  CHECK(e2->params.width == 720);
  CHECK(e2->params.height == 576);
}

TEST_CASE("h264: 4:4:4 at an odd size", "[media][h264]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  // 4:4:4 crops in single samples, so odd sizes are possible.
  auto e = encode_h264(dir, "yuv444", "641x361", "-pix_fmt yuv444p", "testsrc");
  REQUIRE(e);
  CHECK(e->params.profile == 244);
  CHECK(e->sps.chroma_format_idc == 3);
  CHECK(e->params.width == 641);
  CHECK(e->params.height == 361);
  check_against_ffprobe(*e);
}

TEST_CASE("h264: High 10", "[media][h264]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  auto e = encode_h264(dir, "high10", "1280x720", "-profile:v high10 -pix_fmt yuv420p10le");
  if (!e) {
    WARN("this libx264 cannot encode 10-bit: High 10 not exercised");
    return;
  }
  CHECK(e->params.profile == 110);
  CHECK(e->sps.bit_depth_luma == 10);
  CHECK(e->params.width == 1280);
  CHECK(e->params.height == 720);
  CHECK(e->params.codec_string().rfind("avc1.6e00", 0) == 0);
  check_against_ffprobe(*e);
}

TEST_CASE("h264: Annex-B stream splits and converts to an equivalent record", "[media][h264]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  const std::string options = "-profile:v high -level 3.1 -pix_fmt yuv420p -x264-params threads=1";
  auto e = encode_h264(dir, "ref", "1280x720", options);
  REQUIRE(e);
  const std::string raw = dir.file("stream.h264");
  REQUIRE(ffmpeg("-f lavfi -i testsrc2=size=1280x720:rate=30 -t 0.2 -c:v libx264 " + options +
                 " -an -f h264 '" + raw + "'"));
  const auto annexb = read_file(raw);
  auto nals = split_annexb(annexb);
  REQUIRE(nals.size() > 6);
  std::span<const uint8_t> sps, pps;
  int idr = 0;
  for (auto nal : nals) {
    REQUIRE(!nal.empty());
    CHECK((nal[0] & 0x80) == 0);  // forbidden_zero_bit: every split lands on a NAL header
    const int type = nal[0] & 0x1f;
    if (type == h264_nal::kSps && sps.empty()) sps = nal;
    if (type == h264_nal::kPps && pps.empty()) pps = nal;
    idr += type == h264_nal::kIdr;
  }
  CHECK(idr >= 1);
  REQUIRE(!sps.empty());
  REQUIRE(!pps.empty());

  // The same encoder settings give the same parameter sets as in the FLV.
  const auto &c = e->params.config;
  const size_t sps_len = (size_t{c[6]} << 8) | c[7];
  CHECK(std::vector<uint8_t>(sps.begin(), sps.end()) ==
        std::vector<uint8_t>(c.begin() + 8, c.begin() + 8 + static_cast<std::ptrdiff_t>(sps_len)));

  VideoParams built;
  std::string error;
  INFO(error);
  REQUIRE(build_avc_config_from_annexb(sps, pps, built, error));
  CHECK(built.width == 1280);
  CHECK(built.height == 720);
  CHECK(built.profile == 100);
  CHECK(built.level == 31);
  CHECK(built.nal_length_size == 4);
  CHECK(built.codec_string() == e->params.codec_string());
  // The same record ffmpeg's muxer writes, High-profile extension included
  // (chroma_format_idc 1, 8-bit luma and chroma, no SPS extensions).
  CHECK(built.config == c);
  REQUIRE(built.config.size() > 4);
  CHECK(std::vector<uint8_t>(built.config.end() - 4, built.config.end()) ==
        std::vector<uint8_t>{0xfd, 0xf8, 0xf8, 0x00});

  // Length-prefixed conversion keeps every NAL unit, in order.
  auto prefixed = annexb_to_length_prefixed(annexb);
  auto again = split_length_prefixed(prefixed, 4, error);
  INFO(error);
  REQUIRE(again.size() == nals.size());
  for (size_t i = 0; i < nals.size(); ++i) {
    CHECK(std::equal(again[i].begin(), again[i].end(), nals[i].begin(), nals[i].end()));
  }
}

TEST_CASE("h264: Annex-B splitting edge cases", "[media][h264]") {
  // Leading garbage, 3- and 4-byte start codes, trailing_zero_8bits, an
  // empty NAL unit between two start codes, and 00 00 00 inside nothing.
  const std::vector<uint8_t> stream = {0xaa, 0xbb, 0,    0, 0, 1, 0x67, 0x42, 0,   0, 1,
                                       0x68, 0xce, 0,    0, 0, 0, 0,    1,    0,   0, 1,
                                       0x65, 0x88, 0x84, 0, 0, 3, 0,    1,    0x00};
  auto nals = split_annexb(stream);
  REQUIRE(nals.size() == 3);
  CHECK(std::vector<uint8_t>(nals[0].begin(), nals[0].end()) == std::vector<uint8_t>{0x67, 0x42});
  CHECK(std::vector<uint8_t>(nals[1].begin(), nals[1].end()) == std::vector<uint8_t>{0x68, 0xce});
  CHECK(std::vector<uint8_t>(nals[2].begin(), nals[2].end()) ==
        std::vector<uint8_t>{0x65, 0x88, 0x84, 0, 0, 3, 0, 1});
  CHECK(split_annexb({}).empty());
  CHECK(split_annexb(std::vector<uint8_t>{0, 0, 1}).empty());
  CHECK(split_annexb(std::vector<uint8_t>{0x65, 0x88}).empty());  // no start code at all

  auto prefixed = annexb_to_length_prefixed(stream);
  CHECK(prefixed == std::vector<uint8_t>{0, 0, 0, 2, 0x67, 0x42, 0,    0, 0, 2, 0x68, 0xce,
                                         0, 0, 0, 8, 0x65, 0x88, 0x84, 0, 0, 3, 0,    1});
}

TEST_CASE("h264: length-prefixed splitting validates every length", "[media][h264]") {
  std::string error;
  const std::vector<uint8_t> two = {0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 1, 0x06};
  auto nals = split_length_prefixed(two, 4, error);
  REQUIRE(nals.size() == 2);
  CHECK(nals[0].size() == 2);
  CHECK(nals[1][0] == 0x06);
  CHECK(split_length_prefixed({}, 4, error).empty());

  // Every prefix size a record can declare.
  CHECK(split_length_prefixed(std::vector<uint8_t>{2, 0x65, 0x88, 1, 0x06}, 1, error).size() == 2);
  CHECK(split_length_prefixed(std::vector<uint8_t>{0, 2, 0x65, 0x88}, 2, error).size() == 1);
  CHECK(split_length_prefixed(std::vector<uint8_t>{0, 0, 1, 0x65}, 3, error).size() == 1);

  error.clear();
  CHECK(
      split_length_prefixed(std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 1, 0x65}, 4, error).empty());
  CHECK(error.find("zero-length") != std::string::npos);
  error.clear();
  CHECK(
      split_length_prefixed(std::vector<uint8_t>{0xff, 0xff, 0xff, 0xff, 0x65}, 4, error).empty());
  CHECK(error.find("claims 4294967295 bytes") != std::string::npos);
  error.clear();
  CHECK(split_length_prefixed(std::vector<uint8_t>{0, 0, 0, 1, 0x65, 0, 0}, 4, error).empty());
  CHECK(error.find("truncated") != std::string::npos);
  error.clear();
  CHECK(split_length_prefixed(two, 0, error).empty());
  CHECK(split_length_prefixed(two, 5, error).empty());
  CHECK(error.find("invalid NAL length size") != std::string::npos);
}

TEST_CASE("h264: crafted SPS syntax that x264 does not produce", "[media][h264]") {
  std::string error;
  SpsInfo info;

  SECTION("pic_order_cnt_type 1 with a reference frame cycle") {
    auto sps = make_sps([](BitWriter &w) {
      w.bits(77, 8).bits(0x40, 8).bits(31, 8).ue(0).ue(0).ue(1);
      w.flag(false).se(-1000).se(3).ue(3).se(100).se(-2).se(7);
      w.ue(4).flag(false).ue(79).ue(44).flag(true).flag(true).flag(false).flag(false);
    });
    REQUIRE(parse_sps(sps, info, error));
    CHECK(info.width == 1280);
    CHECK(info.height == 720);
    CHECK(info.profile_idc == 77);
    CHECK(info.constraint_flags == 0x40);
  }
  SECTION("emulation prevention bytes are removed before parsing") {
    // A long exp-Golomb code is a run of zero bits: 00 00 in the RBSP, which
    // the NAL unit has to escape.
    auto sps = make_sps([](BitWriter &w) {
      w.bits(66, 8).bits(0xc0, 8).bits(30, 8).ue(0).ue(0).ue(1);
      w.flag(true).se(1 << 30).se(0).ue(0);
      w.ue(1).flag(false).ue(39).ue(29).flag(true).flag(true).flag(false).flag(false);
    });
    bool escaped = false;
    for (size_t i = 2; i < sps.size(); ++i)
      escaped |= sps[i - 2] == 0 && sps[i - 1] == 0 && sps[i] == 3;
    REQUIRE(escaped);
    REQUIRE(parse_sps(sps, info, error));
    CHECK(info.width == 640);
    CHECK(info.height == 480);
  }
  SECTION("scaling lists in the SPS are skipped by their own length") {
    // x264 codes its matrices in the PPS; other encoders put them here.
    auto sps420 = make_sps([](BitWriter &w) {
      write_high_sps_with_scaling_lists(w, 100, 1);
      w.ue(0).ue(0).ue(4).ue(4).flag(false).ue(119).ue(67).flag(true).flag(true);
      w.flag(true).ue(0).ue(0).ue(0).ue(4).flag(false);
    });
    REQUIRE(parse_sps(sps420, info, error));
    CHECK(info.width == 1920);
    CHECK(info.height == 1080);
    // 4:4:4 has 12 lists, six of them 8x8.
    auto sps444 = make_sps([](BitWriter &w) {
      write_high_sps_with_scaling_lists(w, 244, 3);
      w.ue(0).ue(2).ue(4).flag(false).ue(39).ue(29).flag(true).flag(true);
      w.flag(true).ue(1).ue(2).ue(0).ue(5).flag(false);
    });
    REQUIRE(parse_sps(sps444, info, error));
    CHECK(info.chroma_format_idc == 3);
    CHECK(info.width == 640 - 3);
    CHECK(info.height == 480 - 5);
  }
  SECTION("monochrome High cropping counts luma samples") {
    auto sps = make_sps([](BitWriter &w) {
      w.bits(100, 8).bits(0, 8).bits(40, 8).ue(0);
      w.ue(0).ue(0).ue(0).flag(false).flag(false);  // 4:0:0, 8-bit, no scaling matrix
      w.ue(0).ue(0).ue(4).ue(4).flag(false).ue(119).ue(67).flag(true).flag(true);
      w.flag(true).ue(0).ue(3).ue(0).ue(5);  // crop 3 columns, 5 rows
      w.flag(false);
    });
    REQUIRE(parse_sps(sps, info, error));
    CHECK(info.chroma_format_idc == 0);
    CHECK(info.width == 1920 - 3);
    CHECK(info.height == 1088 - 5);
  }
  SECTION("field coding without mb_adaptive_frame_field, 4:2:0 crop in field pairs") {
    SpsFields f;
    f.poc_type = 0;
    f.frame_mbs_only = false;
    f.height_map_units_minus1 = 17;  // 18 field-pair rows = 576 lines
    f.crop = true;
    f.crop_bottom = 2;  // 2 * 4 = 8 lines
    REQUIRE(parse_sps(make_baseline_sps(f), info, error));
    CHECK_FALSE(info.frame_mbs_only);
    CHECK(info.height == 576 - 8);
  }
}

TEST_CASE("h264: absurd SPS values are errors", "[media][h264]") {
  std::string error;
  SpsInfo info;
  REQUIRE(parse_sps(make_baseline_sps({}), info, error));
  CHECK(info.width == 1280);
  CHECK(info.height == 720);

  auto expect_error = [&](const std::vector<uint8_t> &sps, const std::string &what) {
    error.clear();
    CHECK_FALSE(parse_sps(sps, info, error));
    CHECK_THAT(error, Catch::Contains(what));
  };
  SpsFields f;
  f.sps_id = 32;
  expect_error(make_baseline_sps(f), "seq_parameter_set_id");
  f = {};
  f.log2_max_frame_num_minus4 = 13;
  expect_error(make_baseline_sps(f), "log2_max_frame_num");
  f = {};
  f.poc_type = 3;
  expect_error(make_baseline_sps(f), "pic_order_cnt_type");
  f = {};
  f.max_ref_frames = 17;
  expect_error(make_baseline_sps(f), "max_num_ref_frames");
  f = {};
  f.width_mbs_minus1 = 100000;
  expect_error(make_baseline_sps(f), "absurd picture size");
  f = {};
  f.height_map_units_minus1 = 0xfffffffe;  // the largest ue(v) a 32-bit code holds
  expect_error(make_baseline_sps(f), "absurd picture size");
  f = {};
  f.crop = true;
  f.crop_right = 640;  // 1280 columns
  expect_error(make_baseline_sps(f), "cropping");
  f = {};
  f.crop = true;
  f.crop_top = 0xfffffffe;
  expect_error(make_baseline_sps(f), "cropping");
  f.crop_top = 0xffffffff;  // needs a 33-bit code
  expect_error(make_baseline_sps(f), "exp-Golomb code longer than 32 bits");

  expect_error(make_sps([](BitWriter &w) { w.bits(100, 8).bits(0, 8).bits(40, 8).ue(0).ue(4); }),
               "chroma_format_idc");
  expect_error(
      make_sps([](BitWriter &w) { w.bits(100, 8).bits(0, 8).bits(40, 8).ue(0).ue(1).ue(7).ue(0); }),
      "bit depth");
  expect_error(
      make_sps([](BitWriter &w) {
        w.bits(77, 8).bits(0, 8).bits(40, 8).ue(0).ue(0).ue(1).flag(false).se(0).se(0).ue(256);
      }),
      "num_ref_frames_in_pic_order_cnt_cycle");
  // A scaling list whose delta leaves [-128, 127].
  expect_error(make_sps([](BitWriter &w) {
                 w.bits(100, 8).bits(0, 8).bits(40, 8).ue(0).ue(1).ue(0).ue(0).flag(false);
                 w.flag(true).flag(true).se(200);
                 for (int i = 0; i < 40; ++i) w.ue(0);
               }),
               "scaling list");
  // 40 zero bits: an exp-Golomb code no 32-bit value has.
  expect_error(std::vector<uint8_t>{0x67, 66, 0, 30, 0, 0, 0, 0, 0, 0x80}, "exp-Golomb");
  expect_error(std::vector<uint8_t>{0x67, 66, 0, 30, 0x80}, "truncated");
  expect_error(std::vector<uint8_t>{0x67, 66, 0}, "too short");
  expect_error(std::vector<uint8_t>{0x68, 66, 0, 30, 0xff}, "not an H.264 SPS");
  // Every truncation of a valid SPS fails cleanly.
  auto good = make_baseline_sps({});
  for (size_t n = 0; n + 1 < good.size(); ++n) {
    error.clear();
    CHECK_FALSE(parse_sps(std::span(good).first(n), info, error));
    CHECK(!error.empty());
  }
}

TEST_CASE("h264: malformed AVCDecoderConfigurationRecords are errors", "[media][h264]") {
  const auto sps = make_baseline_sps({});
  const auto good = make_avcc(sps, kPps);
  VideoParams params;
  std::string error;
  REQUIRE(parse_avc_config(good, params, error));
  CHECK(params.width == 1280);
  CHECK(params.codec_string() == "avc1.42c01e");

  // Every truncation.
  for (size_t n = 0; n < good.size(); ++n) {
    VideoParams p;
    error.clear();
    CHECK_FALSE(parse_avc_config(std::span(good).first(n), p, error));
    CHECK(!error.empty());
    CHECK(p.codec == Codec::Unknown);  // nothing half-filled on failure
  }

  auto expect_error = [&](std::vector<uint8_t> record, const std::string &what) {
    VideoParams p;
    error.clear();
    CHECK_FALSE(parse_avc_config(record, p, error));
    CHECK_THAT(error, Catch::Contains(what));
  };
  auto bad = good;
  bad[0] = 2;
  expect_error(bad, "version");
  bad = good;
  bad[5] = 0xe0;
  expect_error(bad, "no SPS");
  bad = good;
  bad[4] = 0xfe;
  expect_error(bad, "3-byte NAL lengths");
  bad = good;
  bad[6] = 0;
  bad[7] = 0;
  expect_error(bad, "empty");
  bad = good;
  bad[6] = 0xff;
  bad[7] = 0xff;
  expect_error(bad, "claims 65535 bytes");
  bad = make_avcc(sps, kPps);
  bad[8 + sps.size() + 1] = 0xff;  // PPS length
  expect_error(bad, "PPS 0 claims");
  expect_error({0, 0, 0, 1, 0x67, 0x42, 0, 0x1e}, "Annex-B");
  expect_error(make_avcc(std::vector<uint8_t>{0x68, 0x42, 0xc0, 0x1e, 0xff}, kPps),
               "not an H.264 SPS");

  // Two-byte NAL lengths are carried through.
  REQUIRE(parse_avc_config(make_avcc(sps, kPps, 1), params, error));
  CHECK(params.nal_length_size == 2);
}

TEST_CASE("h264: mutated real records never crash", "[media][h264]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  auto e = encode_h264(dir, "fuzz", "854x480", "-profile:v high -pix_fmt yuv420p");
  REQUIRE(e);
  const auto record = e->params.config;
  Lcg rng(1234);
  int accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    auto m = record;
    const int flips = 1 + static_cast<int>(rng.next() % 4);
    for (int i = 0; i < flips; ++i)
      m[rng.next() % m.size()] ^= static_cast<uint8_t>(1 + rng.next() % 255);
    if (rng.next() % 4 == 0) m.resize(rng.next() % m.size());
    VideoParams p;
    std::string error;
    if (parse_avc_config(m, p, error)) {
      ++accepted;
      CHECK(p.width > 0);
      CHECK(p.height > 0);
      CHECK(p.width <= 32768);
      CHECK(p.height <= 65536);
    } else {
      CHECK(!error.empty());
    }
  }
  CHECK(accepted > 0);  // flips in the PPS or reserved bits are harmless
}

TEST_CASE("h264: an SPS cut after a huge bit depth is an error, not an overflow", "[media][h264]") {
  // Found by fuzzing: High profile 86, bit_depth_luma_minus8 = 2^31 - 1 read
  // in full, then the SPS ends. The range check only applies to values read
  // in full, and 2^31 - 1 + 8 overflowed an int (UBSan) before the
  // truncation was reported.
  const std::vector<uint8_t> sps = {0x67, 0x56, 0xe5, 0x02, 0xb0, 0x00, 0x00, 0x00,
                                    0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9a};
  SpsInfo info;
  std::string error;
  CHECK_FALSE(parse_sps(sps, info, error));
  CHECK_THAT(error, Catch::Contains("H.264 SPS"));
  CHECK(info.bit_depth_luma == 8);
}
