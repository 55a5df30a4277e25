#include "record/clip.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <memory>
#include <sstream>

#include "unit/media/media_test_support.h"

using namespace lg::record;
using namespace lg::media::test;

namespace {

constexpr double kAudioFrame = 1024.0 / 48000.0;  // seconds

// A broadcast made by ffmpeg's segment muxer: files 0.<ext>, 1.<ext>, ...
struct Recording {
  std::unique_ptr<TempDir> dir;
  std::vector<std::string> files;
};

std::optional<Recording> record(const std::string &video_codec, const std::string &format,
                                double seconds, double segment, const std::string &extra = {}) {
  Recording r;
  r.dir = std::make_unique<TempDir>();
  const bool mp4 = format == "mp4";
  const std::string ext = mp4 ? "mp4" : "ts";
  std::string video = "-c:v libx264 -preset ultrafast -g 25 -bf 2";
  if (video_codec == "hevc") {
    video =
        "-c:v libx265 -preset ultrafast -x265-params log-level=error:keyint=25:min-keyint=25 "
        "-bf 2";
  }
  std::string cmd =
      "-f lavfi -i testsrc2=size=320x240:rate=25 "
      "-f lavfi -i sine=frequency=440:sample_rate=48000 " +
      video + " -pix_fmt yuv420p -c:a aac -b:a 64k -t " + std::to_string(seconds) + " " + extra +
      " -f segment -segment_time " + std::to_string(segment) + " -segment_format " +
      (mp4 ? "mp4" : "mpegts");
  if (mp4) {
    cmd += " -segment_format_options movflags=frag_keyframe+empty_moov+default_base_moof";
  }
  cmd += " '" + r.dir->file("%d." + ext) + "'";
  if (!ffmpeg(cmd)) return std::nullopt;
  for (int i = 0; std::filesystem::exists(r.dir->file(std::to_string(i) + "." + ext)); ++i) {
    r.files.push_back(r.dir->file(std::to_string(i) + "." + ext));
  }
  return r;
}

// Recordings are made once per run and shared by the tests that only read them.
const Recording &ts_recording() {
  static const auto r = record("h264", "mpegts", 12, 4);
  REQUIRE(r);
  REQUIRE(r->files.size() == 3);
  return *r;
}

const Recording &fmp4_recording() {
  static const auto r = record("h264", "mp4", 12, 4);
  REQUIRE(r);
  REQUIRE(r->files.size() == 3);
  return *r;
}

struct Packet {
  bool video = false;
  double pts = 0;
  double dts = 0;
  double duration = 0;
  bool key = false;
};

struct Probe {
  std::vector<Packet> packets;
  std::string format;
  double duration = 0;

  std::vector<Packet> of(bool video) const {
    std::vector<Packet> out;
    for (const auto &p : packets) {
      if (p.video == video) out.push_back(p);
    }
    return out;
  }
};

std::map<std::string, std::string> fields(const std::string &line) {
  std::map<std::string, std::string> out;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, '|')) {
    const size_t eq = field.find('=');
    if (eq != std::string::npos) out[field.substr(0, eq)] = field.substr(eq + 1);
  }
  return out;
}

double seconds(const std::string &s) {
  return s.empty() || s == "N/A" ? 0 : std::stod(s);
}

Probe probe(const std::string &file) {
  Probe p;
  const std::string text = capture(
      "ffprobe -v error -show_entries "
      "packet=codec_type,pts_time,dts_time,duration_time,flags:format=format_name,duration "
      "-of compact=p=0 '" +
      file + "' 2>/dev/null");
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto f = fields(line);
    if (f.count("codec_type")) {
      Packet pkt;
      pkt.video = f["codec_type"] == "video";
      pkt.pts = seconds(f["pts_time"]);
      pkt.dts = seconds(f["dts_time"]);
      pkt.duration = seconds(f["duration_time"]);
      pkt.key = f["flags"].find('K') != std::string::npos;
      p.packets.push_back(pkt);
    } else if (f.count("format_name")) {
      p.format = f["format_name"];
      p.duration = seconds(f["duration"]);
    }
  }
  return p;
}

// The types of the top-level boxes of an ISO BMFF file, in order.
std::vector<std::string> top_level_boxes(const std::string &file) {
  const auto data = read_file(file);
  std::vector<std::string> boxes;
  size_t pos = 0;
  while (data.size() - pos >= 8) {
    uint64_t size = (uint64_t{data[pos]} << 24) | (uint64_t{data[pos + 1]} << 16) |
                    (uint64_t{data[pos + 2]} << 8) | data[pos + 3];
    if (size == 1 && data.size() - pos >= 16) {
      size = 0;
      for (size_t i = 0; i < 8; ++i) size = (size << 8) | data[pos + 8 + i];
    } else if (size == 0) {
      size = data.size() - pos;
    }
    boxes.emplace_back(reinterpret_cast<const char *>(&data[pos + 4]), 4);
    if (size < 8 || size > data.size() - pos) break;
    pos += static_cast<size_t>(size);
  }
  return boxes;
}

size_t index_of(const std::vector<std::string> &boxes, const std::string &type) {
  for (size_t i = 0; i < boxes.size(); ++i) {
    if (boxes[i] == type) return i;
  }
  return boxes.size();
}

std::string decode_errors(const std::string &file) {
  return capture("ffmpeg -hide_banner -nostdin -v error -i '" + file + "' -f null - 2>&1");
}

// What every clip must be: a faststart MP4 that decodes cleanly, starts with
// a video keyframe at 0, audio with it, and matches what make_clip reported.
Probe check_clip(const std::string &out, const ClipResult &result) {
  INFO(out);
  CHECK_FALSE(std::filesystem::exists(out + ".part"));
  REQUIRE(std::filesystem::exists(out));
  CHECK(result.bytes == std::filesystem::file_size(out));
  const auto boxes = top_level_boxes(out);
  REQUIRE(index_of(boxes, "moov") < boxes.size());
  REQUIRE(index_of(boxes, "mdat") < boxes.size());
  CHECK(index_of(boxes, "moov") < index_of(boxes, "mdat"));
  CHECK(index_of(boxes, "moof") == boxes.size());
  CHECK(decode_errors(out).empty());

  const Probe p = probe(out);
  CHECK(p.format.find("mp4") != std::string::npos);
  const auto video = p.of(true);
  const auto audio = p.of(false);
  CHECK(video.size() == result.video_frames);
  CHECK(audio.size() == result.audio_frames);
  if (!video.empty()) {
    CHECK(video.front().key);
    CHECK(video.front().pts == Approx(0).margin(0.001));
  }
  if (!video.empty() && !audio.empty()) {
    CHECK(std::abs(audio.front().pts - video.front().pts) <= kAudioFrame + 0.001);
  }
  CHECK(p.duration * 1000 == Approx(static_cast<double>(result.duration_ms)).margin(50));
  return p;
}

size_t count_packets(const std::vector<std::string> &files, bool video) {
  size_t n = 0;
  for (const auto &f : files) n += probe(f).of(video).size();
  return n;
}

void truncate_file(const std::string &path, uintmax_t size) {
  std::filesystem::resize_file(path, size);
}

}  // namespace

TEST_CASE("clip: a whole MPEG-TS recording becomes one faststart MP4", "[clip]") {
  LG_REQUIRE_FFMPEG();
  const auto &rec = ts_recording();
  TempDir out_dir;
  const std::string out = out_dir.file("whole.mp4");
  ClipResult result;
  std::string error;
  REQUIRE(make_clip(rec.files, {}, out, result, error) == LG_OK);
  INFO(error);
  check_clip(out, result);
  CHECK(result.start_ms == 80);  // the first picture, two frames after the first dts
  CHECK(result.video_frames == 300);
  // All of it but audio from before the first picture.
  CHECK(result.audio_frames + 2 >= count_packets(rec.files, false));
  CHECK(result.audio_frames < count_packets(rec.files, false));
  CHECK(result.duration_ms == Approx(12000).margin(100));
  // Annex-B H.264 and ADTS AAC were given MP4's configuration records.
  const auto mp4 = read_file(out);
  CHECK(find_sample_entry_box(mp4, "avc1", "avcC"));
  CHECK(find_mp4_box(mp4, {"moov", "trak", "mdia", "minf", "stbl", "stsd"}));
  CHECK(ffprobe_stream(out, "a:0")["sample_rate"] == "48000");
  CHECK(ffprobe_stream(out, "v:0")["width"] == "320");
}

TEST_CASE("clip: a range starts at the keyframe before it and spans the file boundary", "[clip]") {
  LG_REQUIRE_FFMPEG();
  const auto &rec = ts_recording();
  TempDir out_dir;
  const std::string out = out_dir.file("range.mp4");
  ClipResult result;
  std::string error;
  REQUIRE(make_clip(rec.files, {3500, 8000}, out, result, error) == LG_OK);
  INFO(error);
  check_clip(out, result);
  // Keyframes every second; the broadcast starts at the first dts, two
  // frames (B-frame delay) before the first picture is shown.
  CHECK(result.start_ms == 3080);
  // Cut in decode order: the last P-frame may show a few frames past the end.
  CHECK(result.duration_ms >= 8000 - 3080 - 25);
  CHECK(result.duration_ms <= 8000 - 3080 + 120);
  CHECK(result.video_frames == 123);  // shown at 3080 ... 7960 ms
  CHECK(result.audio_frames >= 230);  // 4920 ms / 21.33 ms
  CHECK(result.audio_frames <= 232);
}

TEST_CASE("clip: a range that starts on a keyframe starts there", "[clip]") {
  LG_REQUIRE_FFMPEG();
  const auto &rec = ts_recording();
  TempDir out_dir;
  const std::string out = out_dir.file("exact.mp4");
  ClipResult result;
  std::string error;
  // The keyframe shown at 5000 ms on the picture clock is at 5080 ms broadcast time.
  REQUIRE(make_clip(rec.files, {5080, 6080}, out, result, error) == LG_OK);
  INFO(error);
  check_clip(out, result);
  CHECK(result.start_ms == 5080);
  CHECK(result.video_frames == 25);
}

TEST_CASE("clip: fragmented MP4 files, timestamps restarting in each, join up", "[clip]") {
  LG_REQUIRE_FFMPEG();
  const auto &rec = fmp4_recording();
  TempDir out_dir;
  ClipResult result;
  std::string error;
  const std::string whole = out_dir.file("whole.mp4");
  REQUIRE(make_clip(rec.files, {}, whole, result, error) == LG_OK);
  INFO(error);
  auto p = check_clip(whole, result);
  CHECK(result.video_frames == 300);
  CHECK(result.audio_frames + 2 >= count_packets(rec.files, false));
  CHECK(result.duration_ms == Approx(12000).margin(150));
  // No gap and no overlap where one file meets the next.
  const auto video = p.of(true);
  for (size_t i = 1; i < video.size(); ++i) {
    CHECK(video[i].dts - video[i - 1].dts == Approx(0.04).margin(0.002));
  }

  const std::string range = out_dir.file("range.mp4");
  REQUIRE(make_clip(rec.files, {3500, 8000}, range, result, error) == LG_OK);
  check_clip(range, result);
  CHECK(result.start_ms >= 3000);
  CHECK(result.start_ms <= 3100);
  CHECK(result.video_frames >= 120);
  CHECK(result.video_frames <= 130);
}

TEST_CASE("clip: HEVC in fragmented MP4", "[clip]") {
  LG_REQUIRE_FFMPEG();
  if (!have_encoder("libx265")) {
    WARN("libx265 not available: test not exercised");
    return;
  }
  const auto rec = record("hevc", "mp4", 4, 2);
  REQUIRE(rec);
  REQUIRE(rec->files.size() == 2);
  TempDir out_dir;
  const std::string out = out_dir.file("hevc.mp4");
  ClipResult result;
  std::string error;
  REQUIRE(make_clip(rec->files, {}, out, result, error) == LG_OK);
  INFO(error);
  check_clip(out, result);
  CHECK(result.video_frames == 100);
  CHECK(ffprobe_stream(out, "v:0")["codec_name"] == "hevc");
}

TEST_CASE("clip: HEVC and AAC from MPEG-TS get MP4 configuration records", "[clip]") {
  LG_REQUIRE_FFMPEG();
  if (!have_encoder("libx265")) {
    WARN("libx265 not available: test not exercised");
    return;
  }
  const auto rec = record("hevc", "mpegts", 4, 2);
  REQUIRE(rec);
  TempDir out_dir;
  const std::string out = out_dir.file("hevc.mp4");
  ClipResult result;
  std::string error;
  REQUIRE(make_clip(rec->files, {}, out, result, error) == LG_OK);
  INFO(error);
  check_clip(out, result);
  CHECK(result.video_frames == 100);
  const auto mp4 = read_file(out);
  CHECK((find_sample_entry_box(mp4, "hev1", "hvcC") || find_sample_entry_box(mp4, "hvc1", "hvcC")));
  CHECK(ffprobe_stream(out, "a:0")["sample_rate"] == "48000");
}

TEST_CASE("clip: a last MPEG-TS file cut mid-packet gives everything before the cut", "[clip]") {
  LG_REQUIRE_FFMPEG();
  auto rec = record("h264", "mpegts", 12, 4);
  REQUIRE(rec);
  REQUIRE(rec->files.size() == 3);
  const std::string &last = rec->files.back();
  uintmax_t cut = std::filesystem::file_size(last) * 37 / 100;
  if (cut % 188 == 0) ++cut;
  truncate_file(last, cut);
  // What a reader of the cut file sees, the last packet possibly partial.
  const size_t seen_video = count_packets(rec->files, true);
  const size_t seen_audio = count_packets(rec->files, false);

  TempDir out_dir;
  const std::string out = out_dir.file("cut.mp4");
  ClipResult result;
  std::string error;
  REQUIRE(make_clip(rec->files, {}, out, result, error) == LG_OK);
  INFO(error);
  check_clip(out, result);
  CHECK(result.video_frames >= seen_video - 1);
  CHECK(result.video_frames <= seen_video);
  CHECK(result.video_frames > 200);
  CHECK(result.audio_frames >= seen_audio - 8);  // at most one PES of audio
  CHECK(result.audio_frames <= seen_audio);
}

TEST_CASE("clip: a last fragmented MP4 file cut mid-fragment gives everything before the cut",
          "[clip]") {
  LG_REQUIRE_FFMPEG();
  auto rec = record("h264", "mp4", 12, 4);
  REQUIRE(rec);
  REQUIRE(rec->files.size() == 3);
  const std::string &last = rec->files.back();
  truncate_file(last, std::filesystem::file_size(last) * 37 / 100 + 5);
  const size_t seen_video = count_packets(rec->files, true);

  TempDir out_dir;
  const std::string out = out_dir.file("cut.mp4");
  ClipResult result;
  std::string error;
  REQUIRE(make_clip(rec->files, {}, out, result, error) == LG_OK);
  INFO(error);
  check_clip(out, result);
  CHECK(result.video_frames > 200);
  CHECK(result.video_frames <= seen_video);
  CHECK(result.video_frames + 25 >= seen_video);  // at most the fragment that was cut
}

TEST_CASE("clip: a last file cut inside its header is skipped", "[clip]") {
  LG_REQUIRE_FFMPEG();
  auto rec = record("h264", "mp4", 8, 4);
  REQUIRE(rec);
  REQUIRE(rec->files.size() == 2);
  truncate_file(rec->files.back(), 100);
  TempDir out_dir;
  const std::string out = out_dir.file("cut.mp4");
  ClipResult result;
  std::string error;
  REQUIRE(make_clip(rec->files, {}, out, result, error) == LG_OK);
  INFO(error);
  check_clip(out, result);
  CHECK(result.video_frames == 100);
}

TEST_CASE("clip: MPEG-TS timestamps that wrap at 33 bits between files stay continuous", "[clip]") {
  LG_REQUIRE_FFMPEG();
  // 2^33 / 90 kHz = 95443.7 s. The first file starts more than 60 s before
  // the wrap (so libavformat keeps its timestamps near 2^33) and ends at it;
  // the second starts 1.4 s after it, with small timestamps.
  TempDir dir;
  const std::string source =
      "-f lavfi -i testsrc2=size=64x64:rate=10 -f lavfi -i sine=frequency=440:sample_rate=48000 "
      "-c:v libx264 -preset ultrafast -g 10 -bf 2 -c:a aac -b:a 32k ";
  REQUIRE(ffmpeg(source + "-t 65 -output_ts_offset 95377.3 -f mpegts '" + dir.file("0.ts") + "'"));
  REQUIRE(ffmpeg(source + "-t 4 -f mpegts '" + dir.file("1.ts") + "'"));
  const std::vector<std::string> files = {dir.file("0.ts"), dir.file("1.ts")};
  const std::string out = dir.file("wrap.mp4");
  ClipResult result;
  std::string error;
  REQUIRE(make_clip(files, {}, out, result, error) == LG_OK);
  INFO(error);
  check_clip(out, result);
  CHECK(result.video_frames == 690);
  // The 1.4 s between the files is kept: unwrapped, not merely appended.
  // Merely appended, it would be about 69 s.
  CHECK(result.duration_ms == Approx(65000 + 1400 + 4000).margin(300));

  REQUIRE(make_clip(files, {64000, 67000}, out, result, error) == LG_OK);
  check_clip(out, result);
  CHECK(result.start_ms >= 63000);
  CHECK(result.start_ms <= 64000);
}

TEST_CASE("clip: audio-only recordings start at the audio frame before the start", "[clip]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  REQUIRE(
      ffmpeg("-f lavfi -i sine=frequency=440:sample_rate=48000 -c:a aac -t 6 -f segment "
             "-segment_time 3 -segment_format mpegts '" +
             dir.file("%d.ts") + "'"));
  const std::vector<std::string> files = {dir.file("0.ts"), dir.file("1.ts")};
  const std::string out = dir.file("audio.mp4");
  ClipResult result;
  std::string error;
  REQUIRE(make_clip(files, {1000, 4000}, out, result, error) == LG_OK);
  INFO(error);
  check_clip(out, result);
  CHECK(result.video_frames == 0);
  CHECK(result.start_ms <= 1000);
  CHECK(result.start_ms > 1000 - 22);
  CHECK(result.duration_ms == Approx(3000).margin(45));
}

TEST_CASE("clip: refusals name their cause and leave no file behind", "[clip]") {
  LG_REQUIRE_FFMPEG();
  const auto &rec = ts_recording();
  TempDir out_dir;
  const std::string out = out_dir.file("refused.mp4");
  ClipResult result;
  std::string error;
  auto nothing_left = [&] {
    CHECK_FALSE(std::filesystem::exists(out));
    CHECK_FALSE(std::filesystem::exists(out + ".part"));
  };

  SECTION("missing file") {
    const std::vector<std::string> files = {rec.files[0], out_dir.file("missing.ts")};
    const lg_status s = make_clip(files, {}, out, result, error);
    CHECK((s == LG_E_NOT_FOUND || s == LG_E_IO));
    CHECK(error.find("missing.ts") != std::string::npos);
    nothing_left();
  }
  SECTION("unreadable file") {
    const std::string junk = out_dir.file("junk.ts");
    write_file(junk, std::vector<uint8_t>(5000, 0x42));
    const std::vector<std::string> files = {junk, rec.files[0]};
    CHECK(make_clip(files, {}, out, result, error) == LG_E_IO);
    CHECK(error.find("junk.ts") != std::string::npos);
    nothing_left();
  }
  SECTION("no input") {
    CHECK(make_clip({}, {}, out, result, error) == LG_E_NOT_FOUND);
    nothing_left();
  }
  SECTION("start beyond the end") {
    CHECK(make_clip(rec.files, {13000, -1}, out, result, error) == LG_E_NOT_FOUND);
    CHECK(!error.empty());
    nothing_left();
  }
  SECTION("end not after start") {
    CHECK(make_clip(rec.files, {5000, 5000}, out, result, error) == LG_E_INVALID_ARG);
    CHECK(make_clip(rec.files, {5000, 4000}, out, result, error) == LG_E_INVALID_ARG);
    CHECK(make_clip(rec.files, {-1, 4000}, out, result, error) == LG_E_INVALID_ARG);
    CHECK(make_clip(rec.files, {0, -2}, out, result, error) == LG_E_INVALID_ARG);
    nothing_left();
  }
  SECTION("output directory missing") {
    const std::string bad = out_dir.file("no/such/dir/out.mp4");
    CHECK(make_clip(rec.files, {}, bad, result, error) == LG_E_IO);
    CHECK(error.find("no/such/dir") != std::string::npos);
  }
  SECTION("no stream MP4 can carry") {
    const std::string sub = out_dir.file("sub.ts");
    // SMPTE 302M audio: fine in MPEG-TS, unknown to MP4.
    REQUIRE(ffmpeg("-f lavfi -i anullsrc=r=48000:cl=stereo -t 1 -c:a s302m -strict -2 -f mpegts '" +
                   sub + "'"));
    CHECK(make_clip({&sub, 1}, {}, out, result, error) == LG_E_UNSUPPORTED);
    nothing_left();
  }
}
