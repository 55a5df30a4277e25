#include "failover/selector.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace lg;
using namespace lg::failover;

namespace {

constexpr int64_t kFrameUs = 33333;
constexpr int64_t kAudioUs = 21333;
constexpr int kGop = 30;

// What a consumer of the output sees.
struct Recorder final : Sink {
  struct Out {
    media::TrackType track;
    int64_t dts, pts;
    bool key;
    std::string tag;  // which encoder made it, and its index
    Role role;
  };
  std::vector<Out> frames;
  std::vector<SwitchEvent> switches;
  int starts = 0, stops = 0, params = 0;
  void output_start(const Output &) override { ++starts; }
  void output_params(const Output &) override { ++params; }
  void output_frame(const Output &o, const media::Frame &f) override {
    auto d = f.data();
    frames.push_back({f.track, f.dts_us, f.pts_us, f.keyframe,
                      std::string(reinterpret_cast<const char *>(d.data()), d.size()), o.active});
  }
  void output_stop(const Output &) override { ++stops; }
  void output_switch(const Output &, const SwitchEvent &e) override { switches.push_back(e); }

  std::vector<Out> video() const {
    std::vector<Out> v;
    for (const auto &f : frames) {
      if (f.track == media::TrackType::Video) v.push_back(f);
    }
    return v;
  }
};

// A synthetic encoder: 30 fps video with a keyframe every second and AAC
// frames in between; payloads name the encoder and the frame, so two
// encoders make different bytes and one encoder the same bytes on both
// outputs.
struct Encoder {
  std::string name;
  int64_t base_us = 0;
  int video_index = 0;
  int audio_index = 0;
  int gop = kGop;
  media::VideoParams video;
  media::AudioParams audio;

  explicit Encoder(std::string n, int64_t base = 0, uint8_t config = 1)
      : name(std::move(n)), base_us(base) {
    video.codec = media::Codec::H264;
    video.config = {1, 0x64, 0, 0x1f, config};
    audio.codec = media::Codec::AAC;
    audio.config = {0x12, 0x10};
    audio.sample_rate = 48000;
  }
  static media::Frame make(media::TrackType track, int64_t dts, bool key, const std::string &tag) {
    media::Frame f;
    f.track = track;
    f.codec = track == media::TrackType::Video ? media::Codec::H264 : media::Codec::AAC;
    f.dts_us = dts;
    f.pts_us = dts;
    f.keyframe = key;
    f.buffer = std::make_shared<const std::vector<uint8_t>>(tag.begin(), tag.end());
    f.size = tag.size();
    return f;
  }
  // The frames of the next video frame interval, audio first when due.
  std::vector<media::Frame> next() {
    std::vector<media::Frame> out;
    const int64_t vdts = base_us + video_index * kFrameUs;
    while (base_us + audio_index * kAudioUs <= vdts) {
      out.push_back(make(media::TrackType::Audio, base_us + audio_index * kAudioUs, true,
                         name + "/a" + std::to_string(audio_index)));
      ++audio_index;
    }
    out.push_back(make(media::TrackType::Video, vdts, video_index % gop == 0,
                       name + "/v" + std::to_string(video_index)));
    ++video_index;
    return out;
  }
};

struct Rig {
  FailoverConfig config;
  Recorder out;
  uint64_t ids = 0;
  std::unique_ptr<Selector> sel;
  int64_t now = 1'000'000'000;

  Rig() {
    config.health.stall_ms = 1500;
    config.health.clear_ms = 2000;
    config.switch_back_ms = 5000;
    config.reconnect_window_ms = 3000;
  }
  void make() { sel = std::make_unique<Selector>(config, out, "e", "1", ids); }
  void connect_both() {
    sel->connect(Role::Primary, 1, now);
    sel->connect(Role::Backup, 2, now);
  }
  // Feeds one frame interval of each encoder given, advancing the clock and
  // running the timer as the loop would. `alter` changes the primary's
  // frames before they are fed.
  void step(Encoder *primary, Encoder *backup,
            const std::function<void(media::Frame &)> &alter = {}) {
    if (primary) {
      for (auto &f : primary->next()) {
        if (alter) alter(f);
        sel->frame(Role::Primary, primary->video, primary->audio, f, now);
      }
    }
    if (backup) {
      for (auto &f : backup->next()) sel->frame(Role::Backup, backup->video, backup->audio, f, now);
    }
    now += kFrameUs;
    sel->check(now);
  }
};

void require_rising(const std::vector<Recorder::Out> &frames) {
  int64_t last[2] = {-1, -1};
  for (const auto &f : frames) {
    const int t = f.track == media::TrackType::Video ? 0 : 1;
    REQUIRE(f.dts > last[t]);
    last[t] = f.dts;
  }
}

}  // namespace

TEST_CASE("aligned inputs: a killed primary hands over mid-GOP with no frame lost or repeated",
          "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder a("enc"), b("enc");  // one encoder pushing to both endpoints
  rig.connect_both();
  for (int i = 0; i < 100; ++i) rig.step(&a, &b);
  rig.sel->disconnect(Role::Primary, rig.now);  // mid-GOP
  for (int i = 0; i < 60; ++i) rig.step(nullptr, &b);

  REQUIRE(rig.out.starts == 1);
  REQUIRE(rig.out.switches.size() == 1);
  const auto &e = rig.out.switches[0];
  CHECK(e.kind == SwitchKind::Failover);
  CHECK(e.fault == Fault::Disconnected);
  CHECK(e.aligned);
  CHECK(e.lost_ms == 0);
  const auto video = rig.out.video();
  REQUIRE(video.size() == 160);
  for (size_t i = 0; i < video.size(); ++i) {
    REQUIRE(video[i].tag == "enc/v" + std::to_string(i));
    REQUIRE(video[i].dts == static_cast<int64_t>(i) * kFrameUs);
  }
  CHECK(video[99].role == Role::Primary);
  CHECK(video[100].role == Role::Backup);
  require_rising(rig.out.frames);
}

TEST_CASE(
    "aligned inputs: a stalled primary is noticed by the timer, the backup's buffered frames "
    "fill the hole",
    "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder a("enc"), b("enc");
  rig.connect_both();
  for (int i = 0; i < 70; ++i) rig.step(&a, &b);
  // SIGSTOP: the primary's connection stays, nothing arrives.
  int steps_until_switch = -1;
  for (int i = 0; i < 120; ++i) {
    rig.step(nullptr, &b);
    if (steps_until_switch < 0 && !rig.out.switches.empty()) steps_until_switch = i + 1;
  }
  REQUIRE(rig.out.switches.size() == 1);
  CHECK(rig.out.switches[0].fault == Fault::Stalled);
  CHECK(rig.out.switches[0].aligned);
  // Detected within the stall time plus one timer period.
  CHECK(steps_until_switch * kFrameUs >= 1500000 - kFrameUs);
  CHECK(steps_until_switch * kFrameUs <= 1500000 + kFrameUs);
  CHECK(rig.out.switches[0].gap_ms >= 1500);
  CHECK(rig.out.switches[0].gap_ms <= 1500 + 2 * kFrameUs / 1000);
  const auto video = rig.out.video();
  REQUIRE(video.size() == 190);
  for (size_t i = 0; i < video.size(); ++i) REQUIRE(video[i].tag == "enc/v" + std::to_string(i));
  require_rising(rig.out.frames);
}

TEST_CASE("aligned inputs: a backup that lags continues after the last frame sent, nothing twice",
          "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder a("enc"), b("enc");
  rig.connect_both();
  for (int i = 0; i < 8; ++i) rig.step(&a, nullptr);  // the backup starts 8 frames late
  for (int i = 0; i < 80; ++i) rig.step(&a, &b);
  rig.sel->disconnect(Role::Primary, rig.now);
  for (int i = 0; i < 40; ++i) rig.step(nullptr, &b);
  REQUIRE(rig.out.switches.size() == 1);
  CHECK(rig.out.switches[0].aligned);
  const auto video = rig.out.video();
  REQUIRE(video.size() == 8 + 80 + 40 - 8);
  for (size_t i = 0; i < video.size(); ++i) REQUIRE(video[i].tag == "enc/v" + std::to_string(i));
  CHECK(rig.sel->stats(rig.now).frames_overlap > 0);
}

TEST_CASE(
    "two encoders: the backup starts at its latest keyframe, rebased one frame after the "
    "last",
    "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder a("a"), b("b", 777'000'000);  // another encoder, another clock
  rig.connect_both();
  for (int i = 0; i < 75; ++i) rig.step(&a, &b);
  const int64_t last_primary = rig.out.video().back().dts;
  rig.sel->disconnect(Role::Primary, rig.now);
  for (int i = 0; i < 30; ++i) rig.step(nullptr, &b);
  REQUIRE(rig.out.switches.size() == 1);
  CHECK_FALSE(rig.out.switches[0].aligned);
  const auto video = rig.out.video();
  auto first_b = std::find_if(video.begin(), video.end(), [](auto &f) { return f.tag[0] == 'b'; });
  REQUIRE(first_b != video.end());
  CHECK(first_b->key);
  CHECK(first_b->tag == "b/v60");  // the latest keyframe the backup had sent
  CHECK(first_b->dts == last_primary + kFrameUs);
  CHECK(rig.out.params == 0);  // same codec parameters: no discontinuity
  require_rising(rig.out.frames);
}

TEST_CASE("codec parameters that differ between inputs reach the output with the switch",
          "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder a("a", 0, 1), b("b", 0, 2);
  rig.connect_both();
  for (int i = 0; i < 40; ++i) rig.step(&a, &b);
  rig.sel->disconnect(Role::Primary, rig.now);
  rig.step(nullptr, &b);
  REQUIRE(rig.out.switches.size() == 1);
  CHECK(rig.out.params == 1);
}

TEST_CASE("auto: back to the primary once, at its keyframe, after it has been healthy long enough",
          "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder a("a"), b("b", 5'000'000);
  rig.connect_both();
  for (int i = 0; i < 40; ++i) rig.step(&a, &b);
  rig.sel->disconnect(Role::Primary, rig.now);
  for (int i = 0; i < 30; ++i) rig.step(nullptr, &b);
  // The primary's encoder restarts with a clock from zero.
  Encoder a2("a2");
  rig.sel->connect(Role::Primary, 3, rig.now);
  const int64_t back_at = rig.now;
  int64_t switched_at = -1;
  for (int i = 0; i < 600; ++i) {
    rig.step(&a2, &b);
    if (switched_at < 0 && rig.out.switches.size() == 2) switched_at = rig.now;
  }
  REQUIRE(rig.out.switches.size() == 2);
  CHECK(rig.out.switches[1].kind == SwitchKind::SwitchBack);
  CHECK(rig.out.switches[1].to == Role::Primary);
  // The primary had failed: clear time, then the switch-back delay, then
  // its next keyframe.
  CHECK(switched_at - back_at >= (2000 + 5000) * 1000);
  CHECK(switched_at - back_at <= (2000 + 5000 + 1000) * 1000 + 2 * kFrameUs);
  const auto video = rig.out.video();
  auto first_a2 =
      std::find_if(video.begin(), video.end(), [](auto &f) { return f.tag.rfind("a2", 0) == 0; });
  REQUIRE(first_a2 != video.end());
  CHECK(first_a2->key);
  CHECK(first_a2->dts == (first_a2 - 1)->dts + kFrameUs);
  require_rising(rig.out.frames);
  const auto stats = rig.sel->stats(rig.now);
  CHECK(stats.switches == 2);
  CHECK(stats.active == Role::Primary);
  CHECK(stats.backup_us >= 7'000'000);
}

TEST_CASE("sticky stays on the backup; manual switches when asked, at a keyframe",
          "[failover][selector]") {
  for (Policy policy : {Policy::Sticky, Policy::Manual}) {
    Rig rig;
    rig.config.policy = policy;
    rig.make();
    Encoder a("a"), b("b", 5'000'000);
    rig.connect_both();
    for (int i = 0; i < 40; ++i) rig.step(&a, &b);
    rig.sel->disconnect(Role::Primary, rig.now);
    rig.step(nullptr, &b);
    Encoder a2("a2");
    rig.sel->connect(Role::Primary, 3, rig.now);
    for (int i = 0; i < 450; ++i) rig.step(&a2, &b);
    REQUIRE(rig.out.switches.size() == 1);
    if (policy == Policy::Manual) {
      REQUIRE(rig.sel->request(Role::Primary));
      for (int i = 0; i < 31; ++i) rig.step(&a2, &b);
      REQUIRE(rig.out.switches.size() == 2);
      CHECK(rig.out.switches[1].kind == SwitchKind::Manual);
      CHECK(rig.out.video().back().role == Role::Primary);
    }
    require_rising(rig.out.frames);
  }
}

TEST_CASE("one encoder reconnecting: the output stays open and its timeline continues",
          "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder a("a");
  rig.sel->connect(Role::Primary, 1, rig.now);
  for (int i = 0; i < 50; ++i) rig.step(&a, nullptr);
  rig.sel->disconnect(Role::Primary, rig.now);
  for (int i = 0; i < 40; ++i) rig.step(nullptr, nullptr);  // 1.3 s away
  Encoder again("again");                                   // a new connection, clock from zero
  rig.sel->connect(Role::Primary, 2, rig.now);
  for (int i = 0; i < 50; ++i) rig.step(&again, nullptr);
  CHECK(rig.out.starts == 1);
  CHECK(rig.out.stops == 0);
  REQUIRE(rig.out.switches.size() == 1);
  CHECK(rig.out.switches[0].kind == SwitchKind::Resume);
  CHECK(rig.out.switches[0].gap_ms >= 1300);
  require_rising(rig.out.frames);
  const auto video = rig.out.video();
  CHECK(video.size() == 100);
  CHECK(video[50].dts == video[49].dts + kFrameUs);

  // Gone for longer than the reconnect window: the output ends.
  rig.sel->disconnect(Role::Primary, rig.now);
  for (int i = 0; i < 100; ++i) rig.step(nullptr, nullptr);
  CHECK(rig.out.stops == 1);
  CHECK(rig.sel->idle());
  CHECK(rig.sel->stats(rig.now).resumes == 1);
  CHECK(rig.sel->stats(rig.now).switches == 0);
}

TEST_CASE("a flapping primary causes no switch storm", "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder b("b", 3'000'000);
  rig.connect_both();
  Encoder a("a");
  for (int i = 0; i < 40; ++i) rig.step(&a, &b);
  uint64_t session = 10;
  // The primary drops every 1.5 s and is back 0.3 s later, for 30 s.
  for (int cycle = 0; cycle < 20; ++cycle) {
    rig.sel->disconnect(Role::Primary, rig.now);
    for (int i = 0; i < 9; ++i) rig.step(nullptr, &b);
    Encoder again("a" + std::to_string(cycle));
    rig.sel->connect(Role::Primary, ++session, rig.now);
    for (int i = 0; i < 36; ++i) rig.step(&again, &b);
  }
  // One failover, and no switch back while it keeps failing.
  CHECK(rig.out.switches.size() == 1);
  require_rising(rig.out.frames);
}

TEST_CASE("no keyframe, a bitrate collapse and bad content each fail an input",
          "[failover][selector]") {
  SECTION("no keyframe") {
    Rig rig;
    rig.config.health.keyframe_timeout_ms = 3000;
    rig.make();
    Encoder a("a"), b("b", 9'000'000);
    rig.connect_both();
    for (int i = 0; i < 35; ++i) rig.step(&a, &b);
    // The primary goes on without keyframes.
    for (int i = 0; i < 150; ++i) {
      rig.step(&a, &b, [](media::Frame &f) { f.keyframe = f.track == media::TrackType::Audio; });
    }
    REQUIRE(rig.out.switches.size() == 1);
    CHECK(rig.out.switches[0].fault == Fault::NoKeyframe);
  }
  SECTION("bitrate collapse") {
    Rig rig;
    rig.config.health.bitrate_collapse_ratio = 0.2;
    rig.make();
    Encoder b("b", 9'000'000);
    rig.connect_both();
    Encoder a("a");
    for (int i = 0; i < 450; ++i) {
      // Video frames of 2000 bytes, then of one: the stream goes on, its
      // picture all but gone.
      const std::string payload(i >= 370 ? 1 : 2000, 'v');
      rig.step(&a, &b, [&](media::Frame &f) {
        if (f.track != media::TrackType::Video) return;
        f.buffer = std::make_shared<const std::vector<uint8_t>>(payload.begin(), payload.end());
        f.size = payload.size();
      });
    }
    REQUIRE(rig.out.switches.size() == 1);
    CHECK(rig.out.switches[0].fault == Fault::BitrateCollapse);
  }
  SECTION("black video reported by the content check") {
    Rig rig;
    rig.make();
    Encoder a("a"), b("b", 9'000'000);
    rig.connect_both();
    for (int i = 0; i < 35; ++i) rig.step(&a, &b);
    ContentState black;
    black.black = true;
    rig.sel->content(Role::Primary, black, rig.now);
    REQUIRE(rig.out.switches.size() == 1);
    CHECK(rig.out.switches[0].fault == Fault::Black);
    // The picture returns: back after the clear time and the switch-back delay.
    rig.sel->content(Role::Primary, ContentState{}, rig.now);
    for (int i = 0; i < 260; ++i) rig.step(&a, &b);
    REQUIRE(rig.out.switches.size() == 2);
    CHECK(rig.out.switches[1].kind == SwitchKind::SwitchBack);
  }
}

TEST_CASE("a standby input keeps at most two GOPs", "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder a("a"), b("b", 1'000'000);
  rig.connect_both();
  for (int i = 0; i < 30 * 60; ++i) rig.step(&a, &b);  // a minute
  // Nothing on the backup went out; the switch still finds a keyframe
  // no more than a GOP old.
  rig.sel->disconnect(Role::Primary, rig.now);
  const auto video = rig.out.video();
  REQUIRE(rig.out.switches.size() == 1);
  auto first_b = std::find_if(video.begin(), video.end(), [](auto &f) { return f.tag[0] == 'b'; });
  REQUIRE(first_b != video.end());
  CHECK(first_b->tag == "b/v1770");
  CHECK(video.end() - first_b == 30);
}

TEST_CASE("the same frames replayed seconds late count as another stream", "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder a("enc");
  rig.sel->connect(Role::Primary, 1, rig.now);
  for (int i = 0; i < 150; ++i) rig.step(&a, nullptr);
  // The backup replays the same encoder output from its start, 5 s behind.
  Encoder replay("enc");
  rig.sel->connect(Role::Backup, 2, rig.now);
  for (int i = 0; i < 40; ++i) rig.step(&a, &replay);
  rig.sel->disconnect(Role::Primary, rig.now);
  rig.step(nullptr, &replay);
  REQUIRE(rig.out.switches.size() == 1);
  CHECK_FALSE(rig.out.switches[0].aligned);
  const auto video = rig.out.video();
  CHECK(video[190].tag == "enc/v30");  // the replay's latest keyframe, at once
  CHECK(video[190].dts == video[189].dts + kFrameUs);
  require_rising(rig.out.frames);
}

TEST_CASE("an input that connects after the timer has run is not taken for a failed one",
          "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder a("enc"), b("enc");
  rig.sel->connect(Role::Backup, 2, rig.now);
  for (int i = 0; i < 5; ++i) rig.step(nullptr, &b);  // timer runs with no primary yet
  rig.sel->connect(Role::Primary, 1, rig.now);
  for (int i = 0; i < 100; ++i) rig.step(&a, &b);
  // The primary opened the output and kept it: no switch at all.
  CHECK(rig.out.switches.empty());
  CHECK(rig.out.video().front().role == Role::Primary);
  CHECK(rig.out.video().back().role == Role::Primary);
}

TEST_CASE("a backup alone opens the output after a grace time for the primary",
          "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder b("b");
  rig.sel->connect(Role::Backup, 2, rig.now);
  for (int i = 0; i < 29; ++i) rig.step(nullptr, &b);
  CHECK(rig.out.starts == 0);
  for (int i = 0; i < 3; ++i) rig.step(nullptr, &b);
  REQUIRE(rig.out.starts == 1);
  // Nothing the backup sent while it waited is lost.
  const auto video = rig.out.video();
  REQUIRE(video.size() == 32);
  CHECK(video.front().tag == "b/v0");
  CHECK(video.front().role == Role::Backup);
}

TEST_CASE("when the active input leaves, a stalled standby is not resumed from its stale buffer",
          "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder a("enc"), b("enc");
  rig.connect_both();
  for (int i = 0; i < 60; ++i) rig.step(&a, &b);
  for (int i = 0; i < 60; ++i) rig.step(nullptr, &b);  // the primary stalls: failover
  REQUIRE(rig.out.switches.size() == 1);
  rig.sel->disconnect(Role::Backup, rig.now);  // the backup ends too
  const size_t sent = rig.out.frames.size();
  for (int i = 0; i < 30; ++i) rig.step(nullptr, nullptr);
  CHECK(rig.out.switches.size() == 1);
  CHECK(rig.out.frames.size() == sent);
  // It speaks again: resumed from what it sends now.
  for (int i = 0; i < 40; ++i) rig.step(&a, nullptr);
  REQUIRE(rig.out.switches.size() == 2);
  CHECK(rig.out.switches[1].kind == SwitchKind::Resume);
  require_rising(rig.out.frames);
}

TEST_CASE("an input that is there and sending is waited for, whatever the reconnect window",
          "[failover][selector]") {
  Rig rig;
  rig.config.reconnect_window_ms = 0;
  rig.make();
  Encoder a("a"), b("b", 4'000'000);
  rig.sel->connect(Role::Primary, 1, rig.now);
  for (int i = 0; i < 40; ++i) rig.step(&a, nullptr);
  // The backup connects mid-GOP: nothing to start from yet when the primary
  // goes.
  for (int i = 0; i < 10; ++i) b.next();
  rig.sel->connect(Role::Backup, 2, rig.now);
  rig.step(&a, &b);
  rig.sel->disconnect(Role::Primary, rig.now);
  for (int i = 0; i < 30; ++i) rig.step(nullptr, &b);
  CHECK(rig.out.starts == 1);
  CHECK(rig.out.stops == 0);
  REQUIRE(rig.out.switches.size() == 1);
  CHECK(rig.out.switches[0].kind == SwitchKind::Resume);
  CHECK(rig.out.switches[0].to == Role::Backup);
  require_rising(rig.out.frames);
}

TEST_CASE("with both inputs there, the active one stays ready to take over again at once",
          "[failover][selector]") {
  Rig rig;
  rig.config.policy = Policy::Manual;
  rig.make();
  Encoder a("a"), b("b", 4'000'000);
  rig.connect_both();
  for (int i = 0; i < 40; ++i) rig.step(&a, &b);
  REQUIRE(rig.sel->request(Role::Backup));
  for (int i = 0; i < 25; ++i) rig.step(&a, &b);  // switched at the backup's keyframe
  REQUIRE(rig.out.switches.size() == 1);
  // The backup fails straight away: the primary's buffered keyframe is used.
  rig.sel->disconnect(Role::Backup, rig.now);
  REQUIRE(rig.out.switches.size() == 2);
  CHECK(rig.out.switches[1].kind == SwitchKind::Failover);
  CHECK(rig.out.switches[1].to == Role::Primary);
  // Not spliced onto its own frames from before the backup's: it restarts
  // at a keyframe, which the pictures in between do not break.
  CHECK_FALSE(rig.out.switches[1].aligned);
  const auto video = rig.out.video();
  auto back = std::find_if(video.rbegin(), video.rend(), [](auto &f) { return f.tag[0] == 'b'; });
  REQUIRE(back != video.rbegin());
  CHECK((back - 1)->key);
  require_rising(rig.out.frames);
}

TEST_CASE("a stall longer than two GOPs still continues an aligned backup frame for frame",
          "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder a("enc"), b("enc");
  rig.connect_both();
  // Keyframes every 15 frames (half a second): two GOPs are shorter than
  // the stall time.
  a.gop = b.gop = 15;
  for (int i = 0; i < 64; ++i) rig.step(&a, &b);
  for (int i = 0; i < 80; ++i) rig.step(nullptr, &b);
  REQUIRE(rig.out.switches.size() == 1);
  CHECK(rig.out.switches[0].fault == Fault::Stalled);
  CHECK(rig.out.switches[0].aligned);
  CHECK(rig.out.switches[0].lost_ms == 0);
  const auto video = rig.out.video();
  REQUIRE(video.size() == 144);
  for (size_t i = 0; i < video.size(); ++i) REQUIRE(video[i].tag == "enc/v" + std::to_string(i));
}

TEST_CASE("a rebased input shows no picture before one already shown", "[failover][selector]") {
  Rig rig;
  rig.make();
  Encoder a("a"), b("b", 7'000'000);
  rig.connect_both();
  // The primary's pictures are shown 100 ms after they are decoded
  // (B-frames reorder), the backup's at once.
  for (int i = 0; i < 45; ++i) {
    rig.step(&a, &b, [](media::Frame &f) {
      if (f.track == media::TrackType::Video) f.pts_us += 100000;
    });
  }
  rig.sel->disconnect(Role::Primary, rig.now);
  REQUIRE(rig.out.switches.size() == 1);
  const auto video = rig.out.video();
  int64_t shown = -1;
  for (const auto &f : video) {
    if (f.tag[0] == 'b') {
      CHECK(f.pts > shown);
      break;
    }
    shown = std::max(shown, f.pts);
  }
  require_rising(rig.out.frames);
}
