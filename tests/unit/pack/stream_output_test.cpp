#include "pack/stream_output.h"

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <sstream>

#include "media/aac.h"
#include "media/flv.h"
#include "media/h264.h"
#include "unit/media/media_test_support.h"

using namespace lg;
using namespace lg::media::test;

namespace {

// Feeds the tags of a real FLV to a StreamOutput as ingest would, with
// `jump_ms` added to every timestamp from `jump_at_ms` on.
void feed(pack::StreamOutput &out, const std::vector<FlvTag> &tags, int64_t jump_at_ms,
          int64_t jump_ms, std::vector<pack::OutputEvent> &events) {
  media::VideoParams video;
  media::AudioParams audio;
  std::string error;
  for (const auto &t : tags) {
    if (t.type == 9) {
      media::VideoTag v;
      REQUIRE(media::parse_video_tag(t.body, v, error) == media::ParseResult::Ok);
      if (v.kind == media::VideoTag::Kind::SequenceHeader) {
        REQUIRE(media::parse_avc_config(v.body, video, error));
      }
    } else if (t.type == 8) {
      media::AudioTag a;
      REQUIRE(media::parse_audio_tag(t.body, a, error) == media::ParseResult::Ok);
      if (a.kind == media::AudioTag::Kind::SequenceHeader) {
        REQUIRE(media::parse_audio_specific_config(a.body, audio, error));
      }
    }
  }
  out.start(video, audio, 1764500000000);
  for (const auto &t : tags) {
    if (t.type != 8 && t.type != 9) continue;
    const int64_t ms = t.timestamp + (t.timestamp >= jump_at_ms ? jump_ms : 0);
    auto buffer = std::make_shared<const std::vector<uint8_t>>(t.body);
    media::Frame f;
    if (t.type == 9) {
      media::VideoTag v;
      media::parse_video_tag(*buffer, v, error);
      if (v.kind != media::VideoTag::Kind::Coded) continue;
      f.track = media::TrackType::Video;
      f.codec = v.codec;
      f.keyframe = v.keyframe;
      f.dts_us = ms * 1000;
      f.pts_us = (ms + v.composition_time_ms) * 1000;
      f.offset = v.body_offset;
      f.size = v.body.size();
    } else {
      media::AudioTag a;
      media::parse_audio_tag(*buffer, a, error);
      if (a.kind != media::AudioTag::Kind::Raw) continue;
      f.track = media::TrackType::Audio;
      f.codec = a.codec;
      f.keyframe = true;
      f.dts_us = f.pts_us = ms * 1000;
      f.offset = a.body_offset;
      f.size = a.body.size();
    }
    f.buffer = std::move(buffer);
    out.frame(f, 0, 1764500000000 + ms, events);
  }
  out.stop(1764500000000 + 10000, events);
}

// The tags of a testsrc2 + sine FLV made in `dir` (H.264, a keyframe every
// second, with `x264_options`; AAC).
auto source_tags(const TempDir &dir, const std::string &size, int seconds,
                 const std::string &x264_options) {
  const std::string src = dir.file("src.flv");
  REQUIRE(ffmpeg("-f lavfi -i testsrc2=size=" + size +
                 ":rate=30 -f lavfi -i sine=sample_rate=48000 -t " + std::to_string(seconds) +
                 " -c:v libx264 -preset ultrafast -g 30 " + x264_options +
                 " -pix_fmt yuv420p -c:a aac -shortest -f flv '" + src + "'"));
  return read_flv(read_file(src));
}

std::vector<double> video_dts(const std::string &path) {
  std::istringstream in(
      capture("ffprobe -v error -select_streams v:0 -show_entries "
              "packet=dts_time -of csv=p=0 '" +
              path + "'"));
  std::vector<double> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(std::stod(line));
  }
  return out;
}

}  // namespace

TEST_CASE("pack::StreamOutput cuts at keyframes and rides out a jump of the encoder's clock",
          "[pack]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  const auto tags = source_tags(dir, "320x240", 6, "-bf 2");

  pack::OutputConfig config;
  config.media_dir = dir.file("media");
  config.end_after_ms = 1;
  pack::StreamOutput out(config, "1_abcdefgh", "1");
  std::vector<pack::OutputEvent> events;
  // At 3 s the clock leaps a minute ahead.
  feed(out, tags, 3000, 60000, events);
  std::vector<pack::OutputEvent> ticked;
  out.tick(1764500000000 + 20000, ticked);  // ends the playlists

  const std::string hls = config.media_dir + "/1_abcdefgh/hls/1";
  const std::string dvr = [&] {
    std::ifstream in(hls + "/dvr.m3u8");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  INFO(dvr);
  CHECK(dvr.find("#EXT-X-ENDLIST") != std::string::npos);
  // 2 s, then 1 s up to the jump, a discontinuity, then 2 s and 1 s.
  CHECK(dvr.find("#EXT-X-TARGETDURATION:2\n") != std::string::npos);
  size_t discontinuities = 0;
  for (size_t at = dvr.find("#EXT-X-DISCONTINUITY\n"); at != std::string::npos;
       at = dvr.find("#EXT-X-DISCONTINUITY\n", at + 1)) {
    ++discontinuities;
  }
  CHECK(discontinuities == 1);
  const auto info = out.info();
  CHECK(info.segment_count == 4);
  // The source's audio runs on a little past its last picture.
  CHECK(info.window_us == Approx(6'000'000).margin(100'000));

  // Every frame, in order, with the output clock running straight through.
  const auto dts = video_dts(hls + "/dvr.m3u8");
  CHECK(dts.size() == 180);
  for (size_t i = 1; i < dts.size(); ++i) {
    INFO("frame " << i);
    REQUIRE(dts[i] > dts[i - 1]);
    REQUIRE(dts[i] - dts[i - 1] < 0.05);
  }
  // Each segment starts with a keyframe.
  for (int n = 0; n < 4; ++n) {
    const std::string first =
        capture("ffprobe -v error -select_streams v:0 -show_entries packet=flags -of csv=p=0 '" +
                hls + "/" + std::to_string(n) + ".ts' | head -1");
    CHECK(first.rfind("K", 0) == 0);
  }
  size_t segments = 0;
  for (const auto &e : events) segments += e.type == pack::OutputEventType::Segment;
  CHECK(segments == 4);
}

TEST_CASE("pack::StreamOutput writes its playlists again after a failed write, ending them too",
          "[pack]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  const auto tags = source_tags(dir, "160x120", 4, "");

  pack::OutputConfig config;
  config.media_dir = dir.file("media");
  config.end_after_ms = 1;
  pack::StreamOutput out(config, "1_abcdefgh", "1");
  std::vector<pack::OutputEvent> events;
  feed(out, tags, 1 << 30, 0, events);  // ends with a stop at +10 s
  const std::string hls = config.media_dir + "/1_abcdefgh/hls/1";
  const auto text = [&](const std::string &name) {
    std::ifstream in(hls + "/" + name);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  REQUIRE(text("dvr.m3u8").find("#EXT-X-ENDLIST") == std::string::npos);

  // A new muxer's first packet of each elementary stream carries the
  // discontinuity indicator: its segments may follow another muxer's (a
  // restart, a segment lost to a full disk) without a continuity error.
  const auto ts = read_file(hls + "/0.ts");
  REQUIRE(ts.size() % 188 == 0);
  std::map<int, bool> first_flagged;  // PES PID -> discontinuity on its first packet
  for (size_t at = 0; at + 188 <= ts.size(); at += 188) {
    const uint8_t *p = ts.data() + at;
    const int pid = ((p[1] & 0x1f) << 8) | p[2];
    const bool adaptation = (p[3] & 0x20) != 0;
    const size_t payload = adaptation ? 5u + p[4] : 4u;
    const bool pes_start = (p[1] & 0x40) && (p[3] & 0x10) && payload + 3 <= 188 &&
                           p[payload] == 0 && p[payload + 1] == 0 && p[payload + 2] == 1;
    if (!pes_start || first_flagged.count(pid)) continue;
    first_flagged[pid] = adaptation && p[4] > 0 && (p[5] & 0x80);
  }
  CHECK(first_flagged.size() == 2);  // video and audio
  for (const auto &[pid, flagged] : first_flagged) {
    INFO("PID " << pid);
    CHECK(flagged);
  }

  // The playlists' temporary names are taken by folders: every write of
  // them fails, as on a full disk.
  std::filesystem::create_directory(hls + "/live.m3u8.tmp");
  std::filesystem::create_directory(hls + "/dvr.m3u8.tmp");
  std::vector<pack::OutputEvent> ticked;
  out.tick(1764500000000 + 20000, ticked);
  REQUIRE(ticked.size() == 1);
  CHECK(ticked[0].type == pack::OutputEventType::StorageError);
  CHECK(ticked[0].status == LG_E_IO);
  CHECK(text("dvr.m3u8").find("#EXT-X-ENDLIST") == std::string::npos);
  ticked.clear();
  out.tick(1764500000000 + 21000, ticked);  // still failing: no second event
  CHECK(ticked.empty());

  std::filesystem::remove(hls + "/live.m3u8.tmp");
  std::filesystem::remove(hls + "/dvr.m3u8.tmp");
  out.tick(1764500000000 + 22000, ticked);
  CHECK(ticked.empty());
  CHECK(text("dvr.m3u8").find("#EXT-X-ENDLIST") != std::string::npos);
  CHECK(text("live.m3u8").find("#EXT-X-ENDLIST") != std::string::npos);
}
