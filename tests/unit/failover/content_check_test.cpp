#include "failover/content_check.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <mutex>
#include <sstream>
#include <utility>
#include <vector>

#include "media/aac.h"
#include "media/flv.h"
#include "media/h264.h"
#include "media/ts_demux.h"
#include "unit/media/media_test_support.h"

using namespace lg;
using namespace lg::media::test;
using failover::ContentChecker;
using failover::ContentConfig;
using failover::ContentState;

namespace Catch {
template <>
struct StringMaker<ContentState> {
  static std::string convert(const ContentState &s) {
    std::ostringstream out;
    out << "{black=" << s.black << " frozen=" << s.frozen << " silent=" << s.silent << "}";
    return out.str();
  }
};
}  // namespace Catch

namespace {

// What a host sees: every report, in order, gathered from the worker thread.
class Reports {
 public:
  ContentChecker::Report callback() {
    return [this](uint64_t input, ContentState state) {
      std::lock_guard lock(mutex_);
      all_.emplace_back(input, state);
    };
  }
  std::vector<std::pair<uint64_t, ContentState>> all() const {
    std::lock_guard lock(mutex_);
    return all_;
  }
  std::vector<ContentState> of(uint64_t input) const {
    std::vector<ContentState> out;
    for (const auto &[id, state] : all()) {
      if (id == input) out.push_back(state);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<uint64_t, ContentState>> all_;
};

ContentState state(bool black, bool frozen, bool silent) {
  ContentState s;
  s.black = black;
  s.frozen = frozen;
  s.silent = silent;
  return s;
}

// An input as ingest delivers it: parameters, then frames in order.
struct Media {
  media::VideoParams video;
  media::AudioParams audio;
  std::vector<media::Frame> frames;
};

// Reads an FLV written by ffmpeg into frames that share each tag's buffer.
Media load_flv(const std::string &path) {
  Media m;
  std::string error;
  for (auto &t : read_flv(read_file(path))) {
    if (t.type != 8 && t.type != 9) continue;
    auto buffer = std::make_shared<const std::vector<uint8_t>>(std::move(t.body));
    media::Frame f;
    if (t.type == 9) {
      media::VideoTag v;
      REQUIRE(media::parse_video_tag(*buffer, v, error) == media::ParseResult::Ok);
      if (v.kind == media::VideoTag::Kind::SequenceHeader) {
        REQUIRE(media::parse_avc_config(v.body, m.video, error));
        continue;
      }
      if (v.kind != media::VideoTag::Kind::Coded) continue;
      f.track = media::TrackType::Video;
      f.codec = v.codec;
      f.keyframe = v.keyframe;
      f.dts_us = int64_t{t.timestamp} * 1000;
      f.pts_us = (int64_t{t.timestamp} + v.composition_time_ms) * 1000;
      f.offset = v.body_offset;
      f.size = v.body.size();
    } else {
      media::AudioTag a;
      REQUIRE(media::parse_audio_tag(*buffer, a, error) == media::ParseResult::Ok);
      if (a.kind == media::AudioTag::Kind::SequenceHeader) {
        REQUIRE(media::parse_audio_specific_config(a.body, m.audio, error));
        continue;
      }
      m.audio.codec = a.codec;
      f.track = media::TrackType::Audio;
      f.codec = a.codec;
      f.keyframe = true;
      f.dts_us = f.pts_us = int64_t{t.timestamp} * 1000;
      f.offset = a.body_offset;
      f.size = a.body.size();
    }
    f.buffer = std::move(buffer);
    m.frames.push_back(std::move(f));
  }
  return m;
}

// Encodes `args` (inputs and filters) with libx264 and/or aac into an FLV,
// keyframes every 0.48 s, and loads it.
Media encode(const TempDir &dir, const std::string &name, const std::string &args) {
  const std::string path = dir.file(name + ".flv");
  REQUIRE(ffmpeg(args +
                 " -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 12 -keyint_min 12 "
                 "-sc_threshold 0 -c:a aac -f flv '" +
                 path + "'"));
  return load_flv(path);
}

void feed(ContentChecker &checker, uint64_t input, const Media &m) {
  checker.open(input, m.video, m.audio);
  for (const auto &f : m.frames) checker.frame(input, f);
}

constexpr const char *kBlack = "-f lavfi -i color=black:s=320x240:r=25 -t 4 -an";
constexpr const char *kMoving = "-f lavfi -i testsrc2=s=320x240:r=25 -t 4 -an";
constexpr const char *kStill = "-f lavfi -i smptebars=s=320x240:r=25 -t 4 -an";

// The checks asked for, each one on once its condition has held `after_ms`.
ContentConfig checks(bool black, bool frozen, bool silence, int64_t after_ms = 1000) {
  ContentConfig config;
  config.black = black;
  config.frozen = frozen;
  config.silence = silence;
  config.black_after_ms = config.frozen_after_ms = config.silence_after_ms = after_ms;
  return config;
}

// Feeds one input through a checker of its own; what it reported. A queue
// of the default size has room for these short inputs.
std::vector<ContentState> check(const ContentConfig &config, const Media &m) {
  Reports reports;
  ContentChecker checker(config, reports.callback());
  feed(checker, 1, m);
  checker.drain();
  CHECK(checker.skipped() == 0);
  return reports.of(1);
}

#define LG_REQUIRE_ENCODER(name)                         \
  do {                                                   \
    LG_REQUIRE_FFMPEG();                                 \
    if (!have_encoder(name)) {                           \
      WARN(name " encoder missing: test not exercised"); \
      return;                                            \
    }                                                    \
  } while (0)
#define LG_REQUIRE_ENCODERS()    \
  LG_REQUIRE_ENCODER("libx264"); \
  LG_REQUIRE_ENCODER("aac")

}  // namespace

TEST_CASE("ContentChecker: black video is reported once it has lasted, moving video never",
          "[failover][content]") {
  LG_REQUIRE_ENCODERS();
  TempDir dir;
  // Keyframes every 0.48 s, checked at most twice a second: 0, 0.96, 1.92,
  // 2.88 s. Black from 0 holds 1 s by 1.92 s; frozen, first seen at 0.96 s
  // (the second picture), by 2.88 s.
  CHECK(check(checks(true, true, false), encode(dir, "black", kBlack)) ==
        std::vector{state(true, false, false), state(true, true, false)});
  CHECK(check(checks(true, true, false), encode(dir, "moving", kMoving)).empty());
}

TEST_CASE("ContentChecker: a still picture is frozen, a moving one is not", "[failover][content]") {
  LG_REQUIRE_ENCODERS();
  TempDir dir;
  Reports reports;
  ContentChecker checker(checks(true, true, false), reports.callback());
  feed(checker, 1, encode(dir, "still", kStill));
  feed(checker, 2, encode(dir, "moving", kMoving));
  checker.drain();
  CHECK(reports.of(1) == std::vector{state(false, true, false)});
  CHECK(reports.of(2).empty());
}

TEST_CASE("ContentChecker: black that gives way to a picture is reported on, then off",
          "[failover][content]") {
  LG_REQUIRE_ENCODERS();
  TempDir dir;
  const Media m = encode(dir, "black_then_picture",
                         "-filter_complex 'color=black:s=320x240:r=25:d=3[a];"
                         "testsrc2=s=320x240:r=25:d=3[b];[a][b]concat=n=2:v=1:a=0' -an");
  CHECK(check(checks(true, false, false), m) ==
        std::vector{state(true, false, false), state(false, false, false)});
}

TEST_CASE("ContentChecker: luma is read at the picture's depth, chroma layout and range",
          "[failover][content]") {
  LG_REQUIRE_ENCODERS();
  TempDir dir;
  struct Case {
    std::string format;
    int luma;  // as stored
    bool black;
  };
  // black_luma 0.10 is 37 in 16..235, 25 in 0..255 and 151 in 64..940.
  const std::vector<Case> cases = {
      {"yuv420p", 30, true},      {"yuvj420p", 30, false},     {"yuvj420p", 20, true},
      {"yuv422p", 16, true},      {"yuv444p", 16, true},       {"yuv444p", 60, false},
      {"yuv420p10le", 120, true}, {"yuv420p10le", 160, false}, {"yuv422p10le", 64, true},
  };
  for (const auto &c : cases) {
    const bool full = c.format.rfind("yuvj", 0) == 0;
    const int grey = c.format.find("10") != std::string::npos ? 512 : 128;
    const std::string path = dir.file("luma.flv");
    REQUIRE(ffmpeg("-f lavfi -i color=black:s=320x240:r=25,format=" + c.format +
                   ",geq=lum=" + std::to_string(c.luma) + ":cb=" + std::to_string(grey) +
                   ":cr=" + std::to_string(grey) + " -t 2 -an " + (full ? "-color_range pc " : "") +
                   "-c:v libx264 -preset ultrafast -g 12 -f flv '" + path + "'"));
    INFO(c.format << " at " << c.luma);
    CHECK(check(checks(true, false, false, 0), load_flv(path)) ==
          (c.black ? std::vector{state(true, false, false)} : std::vector<ContentState>{}));
  }
}

TEST_CASE("ContentChecker: the video rate limit is in media time, decided before queuing",
          "[failover][content]") {
  LG_REQUIRE_ENCODERS();
  TempDir dir;
  const Media m = encode(dir, "black", kBlack);
  // The dts of the frame after which the first report appears.
  const auto first_report_at = [&](double checks_per_s) {
    Reports reports;
    ContentConfig config = checks(true, false, false);
    config.max_video_checks_per_s = checks_per_s;
    ContentChecker checker(config, reports.callback());
    checker.open(1, m.video, m.audio);
    for (const auto &f : m.frames) {
      checker.frame(1, f);
      checker.drain();
      if (!reports.all().empty()) return f.dts_us;
    }
    return int64_t{-1};
  };
  // Every keyframe (0, 0.48, 0.96, 1.44 s) against every other one (0, 0.96, 1.92 s).
  CHECK(first_report_at(100) == 1'440'000);
  CHECK(first_report_at(2) == 1'920'000);
  CHECK(first_report_at(0.5) == 2'400'000);
}

TEST_CASE(
    "ContentChecker: silent audio is reported, a tone is not, and unchecked audio is "
    "never decoded",
    "[failover][content]") {
  LG_REQUIRE_ENCODERS();
  TempDir dir;
  const Media silent = encode(dir, "silent", "-f lavfi -i anullsrc=r=48000:cl=stereo -t 4");
  const Media tone = encode(dir, "tone", "-f lavfi -i sine=frequency=440:sample_rate=48000 -t 4");
  REQUIRE(silent.audio.codec == media::Codec::AAC);
  REQUIRE(silent.frames.size() > 150);
  Reports reports;

  SECTION("silence checked") {
    ContentChecker checker(checks(false, false, true), reports.callback());
    feed(checker, 1, silent);
    feed(checker, 2, tone);
    checker.drain();
    CHECK(reports.of(1) == std::vector{state(false, false, true)});
    CHECK(reports.of(2).empty());
    CHECK(checker.skipped() == 0);
  }
  SECTION("silence not checked") {
    // Black checked at once: the audio alone must not get that far.
    CHECK(check(checks(true, false, false, 0), silent).empty());
  }
}

TEST_CASE("ContentChecker: MP3 silence is checked too", "[failover][content]") {
  LG_REQUIRE_ENCODER("libmp3lame");
  TempDir dir;
  const std::string path = dir.file("silent_mp3.flv");
  REQUIRE(
      ffmpeg("-f lavfi -i anullsrc=r=44100:cl=stereo -t 3 -c:a libmp3lame -f flv '" + path + "'"));
  const Media m = load_flv(path);
  REQUIRE(m.audio.codec == media::Codec::MP3);
  CHECK(check(checks(false, false, true), m) == std::vector{state(false, false, true)});
}

TEST_CASE("ContentChecker: HEVC black is seen through the hvcC configuration",
          "[failover][content]") {
  LG_REQUIRE_ENCODER("libx265");
  TempDir dir;
  const std::string path = dir.file("black.ts");
  REQUIRE(ffmpeg(std::string(kBlack) +
                 " -c:v libx265 -preset ultrafast -g 12 -keyint_min 12 -x265-params "
                 "log-level=none:scenecut=0 -pix_fmt yuv420p -f mpegts '" +
                 path + "'"));
  struct Collect : media::TsDemuxer::Handler {
    Media m;
    void on_ts_video_params(const media::VideoParams &params) override { m.video = params; }
    void on_ts_audio_params(const media::AudioParams &params) override { m.audio = params; }
    void on_ts_frame(const media::Frame &frame) override { m.frames.push_back(frame); }
  } collect;
  media::TsDemuxer demuxer(collect);
  demuxer.feed(read_file(path));
  demuxer.flush();
  REQUIRE(collect.m.video.codec == media::Codec::HEVC);
  REQUIRE(!collect.m.frames.empty());

  // The same timing as the H.264 black input's.
  CHECK(check(checks(true, true, false), collect.m) ==
        std::vector{state(true, false, false), state(true, true, false)});
}

TEST_CASE("ContentChecker: with every check off nothing is queued or reported",
          "[failover][content]") {
  LG_REQUIRE_ENCODERS();
  TempDir dir;
  ContentConfig config = checks(false, false, false, 0);
  config.queue_bytes = 0;  // anything that reached the queue would be counted as skipped
  CHECK(check(config, encode(dir, "black_silent",
                             "-f lavfi -i color=black:s=320x240:r=25 -f lavfi -i "
                             "anullsrc=r=48000:cl=stereo -t 4"))
            .empty());
}

TEST_CASE("ContentChecker: a full queue skips frames and counts them", "[failover][content]") {
  LG_REQUIRE_ENCODERS();
  TempDir dir;
  Reports reports;
  ContentConfig config = checks(true, true, true);
  config.queue_bytes = 1000;
  ContentChecker checker(config, reports.callback());
  // testsrc2 keyframes are several kilobytes: none fits.
  const Media m = encode(dir, "moving_tone",
                         "-f lavfi -i testsrc2=s=640x360:r=25 -f lavfi -i "
                         "sine=frequency=440:sample_rate=48000 -t 4");
  size_t big_keyframes = 0;
  for (const auto &f : m.frames) big_keyframes += f.keyframe && f.size > 1000;
  REQUIRE(big_keyframes > 0);
  feed(checker, 1, m);
  checker.drain();
  CHECK(checker.skipped() >= big_keyframes);
  CHECK(reports.all().empty());

  SECTION("a queue that fills while the worker decodes") {
    ContentConfig busy = checks(true, true, false);
    busy.max_video_checks_per_s = 1000;
    busy.queue_bytes = 64 * 1024;
    ContentChecker fast(busy, reports.callback());
    for (uint64_t input = 10; input < 14; ++input) feed(fast, input, m);
    fast.drain();
    // How many are skipped depends on the machine; what was checked is
    // still moving video.
    CHECK(reports.all().empty());
  }
}

TEST_CASE("ContentChecker: garbage payloads and configurations are survived silently",
          "[failover][content]") {
  LG_REQUIRE_ENCODERS();
  TempDir dir;
  const Media real = encode(dir, "real",
                            "-f lavfi -i testsrc2=s=320x240:r=25 -f lavfi -i "
                            "sine=frequency=440:sample_rate=48000 -t 2");
  Reports reports;
  // Every check, at once on the first sample that shows its condition.
  ContentConfig config = checks(true, true, true, 0);
  config.max_video_checks_per_s = 1000;
  ContentChecker checker(config, reports.callback());

  Lcg rng(20251201);
  const auto random_bytes = [&](size_t n) {
    std::vector<uint8_t> out(n);
    for (auto &b : out) b = static_cast<uint8_t>(rng.next());
    return out;
  };
  const auto frame = [](media::TrackType track, media::Codec codec, int64_t dts_us,
                        std::vector<uint8_t> bytes) {
    media::Frame f;
    f.track = track;
    f.codec = codec;
    f.keyframe = true;
    f.dts_us = f.pts_us = dts_us;
    f.size = bytes.size();
    f.buffer = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
    return f;
  };
  const auto garbage = [&](uint64_t input, const media::VideoParams &video,
                           const media::AudioParams &audio) {
    checker.open(input, video, audio);
    for (int i = 0; i < 40; ++i) {
      const int64_t dts = int64_t{i} * 40'000;
      checker.frame(input, frame(media::TrackType::Video, video.codec, dts,
                                 random_bytes(1 + rng.next() % 4000)));
      checker.frame(input, frame(media::TrackType::Audio, audio.codec, dts,
                                 random_bytes(1 + rng.next() % 600)));
    }
    // Lengths that claim more than there is, and nothing at all.
    checker.frame(input, frame(media::TrackType::Video, video.codec, 2'000'000,
                               {0xff, 0xff, 0xff, 0xff, 0x65, 0x88}));
    checker.frame(input, frame(media::TrackType::Video, video.codec, 3'000'000, {}));
    checker.close(input);
  };

  bool quiet = true;
  SECTION("random payloads, valid parameters") {
    garbage(1, real.video, real.audio);
  }
  SECTION("random payloads, empty configuration") {
    media::VideoParams video = real.video;
    video.config.clear();
    media::AudioParams audio = real.audio;
    audio.config.clear();
    garbage(2, video, audio);
  }
  SECTION("random payloads, random configuration") {
    for (uint64_t input = 3; input < 13; ++input) {
      media::VideoParams video = real.video;
      video.config = random_bytes(1 + rng.next() % 64);
      media::AudioParams audio = real.audio;
      audio.config = random_bytes(1 + rng.next() % 8);
      garbage(input, video, audio);
    }
  }
  SECTION("real frames with bytes flipped or cut short") {
    // What these decode to is anyone's guess, reports included: only the
    // absence of crashes and sanitizer findings is asserted.
    checker.open(20, real.video, real.audio);
    for (const auto &f : real.frames) {
      auto bytes = std::vector<uint8_t>(f.data().begin(), f.data().end());
      if (rng.next() % 2) bytes.resize(bytes.size() * (rng.next() % 100) / 100);
      for (int n = 0; n < 4 && !bytes.empty(); ++n) {
        bytes[rng.next() % bytes.size()] = static_cast<uint8_t>(rng.next());
      }
      checker.frame(20, frame(f.track, f.codec, f.dts_us, std::move(bytes)));
    }
    checker.close(20);
    quiet = false;
  }
  checker.drain();
  if (quiet) CHECK(reports.all().empty());
  CHECK(checker.skipped() == 0);
}

TEST_CASE("ContentChecker: inputs are judged apart, across reopens, and forgotten once closed",
          "[failover][content]") {
  LG_REQUIRE_ENCODERS();
  TempDir dir;
  const Media black = encode(dir, "black", kBlack);
  const Media moving = encode(dir, "moving", kMoving);
  Reports reports;
  ContentChecker checker(checks(true, false, false), reports.callback());

  SECTION("two inputs at once") {
    checker.open(1, black.video, black.audio);
    checker.open(2, moving.video, moving.audio);
    // Interleaved, as one loop thread delivers them.
    for (size_t i = 0; i < std::max(black.frames.size(), moving.frames.size()); ++i) {
      if (i < black.frames.size()) checker.frame(1, black.frames[i]);
      if (i < moving.frames.size()) checker.frame(2, moving.frames[i]);
    }
    checker.drain();
    CHECK(reports.of(1) == std::vector{state(true, false, false)});
    CHECK(reports.of(2).empty());
  }
  SECTION("reopened, then closed") {
    feed(checker, 1, black);
    checker.drain();
    REQUIRE(reports.of(1) == std::vector{state(true, false, false)});

    // The encoder reconnects, still black: nothing new to say.
    feed(checker, 1, black);
    checker.drain();
    CHECK(reports.of(1).size() == 1);
    // Reconnects with a picture: black ends at its first checked keyframe.
    feed(checker, 1, moving);
    checker.drain();
    CHECK(reports.of(1) == std::vector{state(true, false, false), state(false, false, false)});

    // Closed: its frames are ignored, and closing says nothing.
    checker.close(1);
    for (const auto &f : black.frames) checker.frame(1, f);
    checker.drain();
    CHECK(reports.of(1).size() == 2);
    // Frames of an input never opened are ignored as well.
    for (const auto &f : black.frames) checker.frame(99, f);
    checker.drain();
    CHECK(reports.of(99).empty());
  }
}
