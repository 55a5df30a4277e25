// Redundancy with real encoders and real faults: two ffmpeg processes push
// the same file to an entry's primary and backup, and the primary is killed,
// stopped or replaced while the output (what HLS, recording and the host's
// on_output_frame see) must go on without a repeated or a lost frame.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "integration/support.h"

using namespace lgtest;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> ffmpeg_realtime(const std::string &src, const std::string &url) {
  return {"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i",
          src,      "-c",           "copy",      "-f",    "flv",      url};
}

// ffmpeg pushing `src` in real time to an entry's primary and backup, as
// one encoder with two outputs does.
struct TwoEncoders {
  TwoEncoders(TestServer &server, const lg_entry &e, const std::string &src, TempDir &tmp)
      : primary(ffmpeg_realtime(src, server.ffmpeg_url(e, LG_ROLE_PRIMARY)),
                tmp.file("primary.log")),
        backup(ffmpeg_realtime(src, server.ffmpeg_url(e, LG_ROLE_BACKUP)), tmp.file("backup.log")) {
  }
  Process primary;
  Process backup;
};

std::string slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<Events::OutFrame> output_of(const Events &ev, lg_track_type track) {
  std::vector<Events::OutFrame> out;
  for (const auto &f : ev.output_frames) {
    if (f.track == track) out.push_back(f);
  }
  return out;
}

size_t video_out(const Events &ev) {
  return static_cast<size_t>(std::count_if(ev.output_frames.begin(), ev.output_frames.end(),
                                           [](auto &f) { return f.track == LG_TRACK_VIDEO; }));
}

bool has_output(const Events &ev, lg_output_event_type type) {
  return std::any_of(ev.outputs.begin(), ev.outputs.end(),
                     [&](const auto &o) { return o.type == type; });
}

// The output's timestamps only rise, on each track.
void check_rising(const Events &ev) {
  for (lg_track_type track : {LG_TRACK_VIDEO, LG_TRACK_AUDIO}) {
    const auto frames = output_of(ev, track);
    for (size_t i = 1; i < frames.size(); ++i) REQUIRE(frames[i].dts_us > frames[i - 1].dts_us);
  }
}

// One timeline at 30 fps without a hole: each video frame one interval
// (33 or 34 ms) after the last.
void check_video_steps(const std::vector<Events::OutFrame> &video) {
  for (size_t i = 1; i < video.size(); ++i) {
    INFO("video frame " << i);
    REQUIRE(video[i].dts_us > video[i - 1].dts_us);
    REQUIRE(video[i].dts_us - video[i - 1].dts_us <= 34000);
  }
}

// Every frame of the source once, in order: the payloads of the output's
// video are the source's, none twice, and timestamps only rise.
void check_every_frame_once(const Events &ev, const Source &src) {
  check_rising(ev);
  for (lg_track_type track : {LG_TRACK_VIDEO, LG_TRACK_AUDIO}) {
    const auto frames = output_of(ev, track);
    std::set<uint64_t> distinct;
    for (const auto &f : frames) distinct.insert(f.hash);
    const int expected = track == LG_TRACK_VIDEO ? src.video_frames : src.audio_frames;
    // ffmpeg's FLV muxer drops nothing; the AAC encoder's priming frame may
    // be missing from the source count.
    CHECK(static_cast<int>(frames.size()) >= expected - 1);
    CHECK(static_cast<int>(frames.size()) <= expected);
    if (track == LG_TRACK_VIDEO) CHECK(distinct.size() == frames.size());
  }
  const auto video = output_of(ev, LG_TRACK_VIDEO);
  REQUIRE(!video.empty());
  CHECK(video.front().key);
  check_video_steps(video);
}

// The VOD of the broadcast plays end to end and lasts as long as the source.
void check_vod(TestServer &server, const lg_entry &e, double seconds) {
  REQUIRE(
      server.wait_for([](const Events &ev) { return has_output(ev, LG_OUTPUT_CLIP_READY); }, 60s));
  Events ev = server.snapshot();
  std::string vod;
  for (const auto &o : ev.outputs) {
    if (o.type == LG_OUTPUT_CLIP_READY && o.clip_id == 0) vod = o.path;
  }
  REQUIRE(!vod.empty());
  std::string out;
  REQUIRE(run({"ffmpeg", "-v", "error", "-xerror", "-i", vod, "-f", "null", "-"}, 60s, &out) == 0);
  CHECK(out.empty());
  std::string duration;
  run({"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", vod}, 30s,
      &duration);
  REQUIRE(!duration.empty());
  CHECK(std::stod(duration) == Approx(seconds).margin(1.0));  // one GOP
  const std::string recordings = server.data_dir() + "/media/" + e.id + "/recordings/1";
  size_t broadcasts = 0;
  for (const auto &d : fs::directory_iterator(recordings)) broadcasts += d.is_directory() ? 1 : 0;
  CHECK(broadcasts == 1);
}

// The playlist once the output has ended (its ENDLIST comes on a timer).
std::string ended_playlist(const std::string &path) {
  for (int i = 0; i < 50; ++i) {
    const std::string text = slurp(path);
    if (text.find("#EXT-X-ENDLIST") != std::string::npos) return text;
    std::this_thread::sleep_for(100ms);
  }
  return slurp(path);
}

lg_failover_stats stats_of(TestServer &server, const lg_entry &e) {
  lg_failover_stats s{};
  s.struct_size = sizeof(s);
  REQUIRE(lg_server_get_failover_stats(server.get(), e.id, "1", &s) == LG_OK);
  return s;
}

// Waits for the n-th failover event; the server's log tells why if it never comes.
void wait_failovers(TestServer &server, size_t n) {
  if (!server.wait_for([n](const Events &ev) { return ev.failovers.size() >= n; }, 20s)) {
    FAIL("no failover event " << n << "; log:\n" << server.log_text());
  }
}

void wait_video_out(TestServer &server, size_t frames) {
  REQUIRE(server.wait_for([&](const Events &ev) { return video_out(ev) >= frames; }, 60s));
}

}  // namespace

TEST_CASE("failover: the primary encoder killed, the backup continues frame for frame",
          "[failover]") {
  const Source &src = test_source(10);
  // A kill is noticed by the closed connection; a stall time long enough not
  // to be hit on a busy machine keeps it the only fault.
  TestServer server([](lg_server_options &o) {
    o.playlist_end_ms = 1;
    o.stall_ms = 4000;
  });
  lg_entry e = server.create_entry();
  TempDir tmp;
  TwoEncoders encoders(server, e, src.path, tmp);
  Process &primary = encoders.primary;
  Process &backup = encoders.backup;
  wait_video_out(server, 100);
  {
    const lg_failover_stats s = stats_of(server, e);
    CHECK(s.active == LG_ROLE_PRIMARY);
    CHECK(s.primary_present);
    CHECK(s.backup_present);
  }
  primary.signal(SIGKILL);
  REQUIRE(backup.wait(60s) == std::optional<int>(0));
  check_vod(server, e, 10.0);

  Events ev = server.snapshot();
  INFO(server.log_text());
  REQUIRE(ev.failovers.size() == 1);
  const auto &f = ev.failovers[0];
  CHECK(f.kind == LG_SWITCH_FAILOVER);
  CHECK(f.from == LG_ROLE_PRIMARY);
  CHECK(f.to == LG_ROLE_BACKUP);
  CHECK(f.fault == LG_FAULT_DISCONNECTED);
  CHECK(f.aligned);
  CHECK(f.lost_ms == 0);
  // A closed connection is noticed at once, not after the stall time.
  CHECK(f.gap_ms < 500);
  check_every_frame_once(ev, src);
  const std::string dvr = ended_playlist(server.data_dir() + "/media/" + e.id + "/hls/1/dvr.m3u8");
  CHECK(dvr.find("#EXT-X-DISCONTINUITY\n") == std::string::npos);
}

TEST_CASE(
    "failover: a stalled primary is left after the stall time and taken back, aligned, "
    "once it recovers",
    "[failover]") {
  const Source &src = test_source(12);
  TestServer server([](lg_server_options &o) {
    o.playlist_end_ms = 1;
    o.stall_ms = 1000;
    o.clear_ms = 1000;
    o.switch_back_ms = 1500;
  });
  lg_entry e = server.create_entry();
  TempDir tmp;
  TwoEncoders encoders(server, e, src.path, tmp);
  Process &primary = encoders.primary;
  Process &backup = encoders.backup;
  wait_video_out(server, 75);
  primary.signal(SIGSTOP);
  wait_failovers(server, 1);
  std::this_thread::sleep_for(1500ms);
  primary.signal(SIGCONT);
  wait_failovers(server, 2);
  const lg_failover_stats s = stats_of(server, e);
  REQUIRE(primary.wait(60s) == std::optional<int>(0));
  REQUIRE(backup.wait(60s) == std::optional<int>(0));
  check_vod(server, e, 12.0);

  Events ev = server.snapshot();
  INFO(server.log_text());
  // Both publishes end at the file's end; when the primary's goes first,
  // the backup carries the last moments: one more aligned failover.
  REQUIRE(ev.failovers.size() >= 2);
  REQUIRE(ev.failovers.size() <= 3);
  if (ev.failovers.size() == 3) {
    CHECK(ev.failovers[2].kind == LG_SWITCH_FAILOVER);
    CHECK(ev.failovers[2].fault == LG_FAULT_DISCONNECTED);
    CHECK(ev.failovers[2].aligned);
  }
  CHECK(ev.failovers[0].kind == LG_SWITCH_FAILOVER);
  CHECK(ev.failovers[0].fault == LG_FAULT_STALLED);
  CHECK(ev.failovers[0].aligned);
  CHECK(ev.failovers[0].lost_ms == 0);
  // Detection time plus a timer period, with room for a loaded machine.
  CHECK(ev.failovers[0].gap_ms >= 950);
  CHECK(ev.failovers[0].gap_ms <= 1000 + 400);
  CHECK(ev.failovers[1].kind == LG_SWITCH_BACK);
  CHECK(ev.failovers[1].to == LG_ROLE_PRIMARY);
  CHECK(ev.failovers[1].aligned);
  check_every_frame_once(ev, src);
  CHECK(s.switches == 2);
  CHECK(s.backup_ms >= 2500);
  CHECK(s.max_gap_ms == ev.failovers[0].gap_ms);
}

TEST_CASE(
    "failover: a restarted primary encoder is taken back once, at its keyframe, on the "
    "same timeline",
    "[failover]") {
  const Source &src = test_source(10);
  TestServer server([](lg_server_options &o) {
    o.playlist_end_ms = 1;
    o.clear_ms = 500;
    o.switch_back_ms = 1000;
  });
  lg_entry e = server.create_entry();
  TempDir tmp;
  Process backup(ffmpeg_realtime(src.path, server.ffmpeg_url(e, LG_ROLE_BACKUP)),
                 tmp.file("backup.log"));
  // The backup alone opens the output; a later primary takes over.
  wait_video_out(server, 30);
  std::optional<Process> primary;
  primary.emplace(ffmpeg_realtime(src.path, server.ffmpeg_url(e, LG_ROLE_PRIMARY)),
                  tmp.file("primary.log"));
  wait_failovers(server, 1);
  primary->signal(SIGKILL);
  primary.reset();
  wait_failovers(server, 2);
  // A new encoder process on the primary, its clock from zero.
  const auto short_src = test_source(4);
  primary.emplace(ffmpeg_realtime(short_src.path, server.ffmpeg_url(e, LG_ROLE_PRIMARY)),
                  tmp.file("primary2.log"));
  wait_failovers(server, 3);
  REQUIRE(primary->wait(60s) == std::optional<int>(0));
  REQUIRE(backup.wait(60s) == std::optional<int>(0));

  Events ev = server.snapshot();
  INFO(server.log_text());
  // The short primary publish ends first: the backup takes over once more.
  REQUIRE(ev.failovers.size() == 4);
  CHECK(ev.failovers[3].kind == LG_SWITCH_FAILOVER);
  CHECK(ev.failovers[3].to == LG_ROLE_BACKUP);
  CHECK(ev.failovers[0].kind == LG_SWITCH_BACK);
  CHECK(ev.failovers[1].kind == LG_SWITCH_FAILOVER);
  CHECK(ev.failovers[1].fault == LG_FAULT_DISCONNECTED);
  CHECK(ev.failovers[2].kind == LG_SWITCH_BACK);
  CHECK_FALSE(ev.failovers[2].aligned);
  for (const auto &f : ev.failovers) {
    // Each switch starts the new input at a keyframe, one frame after the
    // last one sent.
    REQUIRE(f.output_frames < ev.output_frames.size());
    size_t i = f.output_frames;
    while (ev.output_frames[i].track != LG_TRACK_VIDEO) ++i;
    CHECK((ev.output_frames[i].key || f.aligned));
  }
  check_video_steps(output_of(ev, LG_TRACK_VIDEO));
  check_rising(ev);
}

TEST_CASE("reconnect: one encoder that drops and comes back continues the same broadcast",
          "[failover]") {
  const Source &src = test_source(4);
  TestServer server([](lg_server_options &o) {
    o.playlist_end_ms = 1;
    o.reconnect_window_ms = 5000;
  });
  lg_entry e = server.create_entry();
  TempDir tmp;
  for (int i = 0; i < 2; ++i) {
    Process ff(ffmpeg_realtime(src.path, server.ffmpeg_url(e)), tmp.file("ff.log"));
    REQUIRE(ff.wait(60s) == std::optional<int>(0));
    lg_hls_info info{};
    info.struct_size = sizeof(info);
    REQUIRE(lg_server_get_hls_info(server.get(), e.id, "1", &info) == LG_OK);
    // Viewers are not told the stream ended while it may come back.
    CHECK(info.live);
  }
  check_vod(server, e, 8.0);

  Events ev = server.snapshot();
  INFO(server.log_text());
  REQUIRE(ev.failovers.size() == 1);
  CHECK(ev.failovers[0].kind == LG_SWITCH_RESUME);
  CHECK(ev.failovers[0].to == LG_ROLE_PRIMARY);
  const auto video = output_of(ev, LG_TRACK_VIDEO);
  CHECK(static_cast<int>(video.size()) == 2 * src.video_frames);
  check_video_steps(video);
  // One playlist, its media sequence running on without a discontinuity.
  const std::string dvr = ended_playlist(server.data_dir() + "/media/" + e.id + "/hls/1/dvr.m3u8");
  INFO(dvr);
  CHECK(dvr.find("#EXT-X-MEDIA-SEQUENCE:0\n") != std::string::npos);
  CHECK(dvr.find("#EXT-X-DISCONTINUITY\n") == std::string::npos);
  CHECK(dvr.find("#EXT-X-ENDLIST") != std::string::npos);
}

TEST_CASE("failover: a forced switch for a drill, and its refusals", "[failover]") {
  const Source &src = test_source(10);
  TestServer server;
  lg_entry e = server.create_entry();
  TempDir tmp;
  CHECK(lg_server_switch_input(server.get(), e.id, nullptr, LG_ROLE_BACKUP) == LG_E_NOT_FOUND);
  lg_failover_stats none{};
  none.struct_size = sizeof(none);
  CHECK(lg_server_get_failover_stats(server.get(), e.id, "1", &none) == LG_E_NOT_FOUND);
  Process primary(ffmpeg_realtime(src.path, server.ffmpeg_url(e, LG_ROLE_PRIMARY)),
                  tmp.file("primary.log"));
  wait_video_out(server, 30);
  CHECK(lg_server_switch_input(server.get(), e.id, nullptr, LG_ROLE_BACKUP) == LG_E_STATE);
  char names[64];
  size_t needed = 0;
  REQUIRE(lg_server_list_outputs(server.get(), e.id, names, sizeof(names), &needed) == LG_OK);
  CHECK(std::string(names) == "1");
  CHECK(lg_server_list_outputs(server.get(), e.id, names, 1, &needed) == LG_E_BUFFER_TOO_SMALL);
  CHECK(needed == 2);

  Process backup(ffmpeg_realtime(src.path, server.ffmpeg_url(e, LG_ROLE_BACKUP)),
                 tmp.file("backup.log"));
  REQUIRE(server.wait_for([](const Events &ev) { return ev.starts.size() == 2; }, 20s));
  REQUIRE(lg_server_switch_input(server.get(), e.id, "1", LG_ROLE_BACKUP) == LG_OK);
  wait_failovers(server, 1);
  Events ev = server.snapshot();
  CHECK(ev.failovers[0].kind == LG_SWITCH_MANUAL);
  CHECK(ev.failovers[0].to == LG_ROLE_BACKUP);
  const lg_failover_stats s = stats_of(server, e);
  CHECK(s.active == LG_ROLE_BACKUP);
  CHECK(s.switches == 1);
  CHECK(s.last_kind == LG_SWITCH_MANUAL);
  CHECK(s.last_unix_ms > 0);
  primary.signal(SIGKILL);
  backup.signal(SIGKILL);
}

namespace {

// ffmpeg encoding lavfi sources live, as a camera-fed encoder would.
std::vector<std::string> ffmpeg_live(const std::string &video, const std::string &audio,
                                     const std::string &url) {
  return {"ffmpeg",  "-hide_banner", "-loglevel", "error",   "-nostdin",  "-re", "-f",  "lavfi",
          "-i",      video,          "-re",       "-f",      "lavfi",     "-i",  audio, "-t",
          "8",       "-c:v",         "libx264",   "-preset", "ultrafast", "-g",  "15",  "-pix_fmt",
          "yuv420p", "-c:a",         "aac",       "-f",      "flv",       url};
}

}  // namespace

TEST_CASE(
    "failover: black video and silent audio, as decoded by the content checks, fail an "
    "input that is connected and sending",
    "[failover][content]") {
  struct Case {
    const char *name;
    uint32_t check;
    const char *video, *audio;
    lg_input_fault fault;
  };
  const Case cases[] = {
      {"black", LG_CHECK_BLACK, "color=black:s=320x240:r=30",
       "sine=frequency=440:sample_rate=48000", LG_FAULT_BLACK},
      {"silence", LG_CHECK_SILENCE, "testsrc2=s=320x240:r=30", "anullsrc=r=48000:cl=stereo",
       LG_FAULT_SILENT},
  };
  for (const auto &c : cases) {
    INFO(c.name);
    TestServer server([&](lg_server_options &o) {
      o.content_checks = c.check;
      o.black_after_ms = 1000;
      o.silence_after_ms = 1000;
    });
    lg_entry e = server.create_entry();
    TempDir tmp;
    Process primary(ffmpeg_live(c.video, c.audio, server.ffmpeg_url(e, LG_ROLE_PRIMARY)),
                    tmp.file("primary.log"));
    Process backup(ffmpeg_live("testsrc2=s=320x240:r=30", "sine=frequency=440:sample_rate=48000",
                               server.ffmpeg_url(e, LG_ROLE_BACKUP)),
                   tmp.file("backup.log"));
    wait_failovers(server, 1);
    Events ev = server.snapshot();
    INFO(server.log_text());
    REQUIRE(ev.failovers.size() == 1);
    CHECK(ev.failovers[0].kind == LG_SWITCH_FAILOVER);
    CHECK(ev.failovers[0].fault == c.fault);
    CHECK(ev.failovers[0].to == LG_ROLE_BACKUP);
    const lg_failover_stats s = stats_of(server, e);
    CHECK(s.primary_fault == c.fault);
    CHECK(s.backup_fault == LG_FAULT_NONE);
    primary.signal(SIGKILL);
    backup.signal(SIGKILL);
  }
}

TEST_CASE("failover: an RTMP primary and an SRT backup feed one output across protocols",
          "[failover]") {
  const Source &src = test_source(10);
  TestServer server([](lg_server_options &o) {
    o.playlist_end_ms = 1;
    o.srt_port = 0;
    o.stall_ms = 4000;
  });
  lg_entry e = server.create_entry();
  TempDir tmp;
  Process primary(ffmpeg_realtime(src.path, server.ffmpeg_url(e, LG_ROLE_PRIMARY)),
                  tmp.file("primary.log"));
  Process backup({"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", src.path,
                  "-c", "copy", "-f", "mpegts", server.url_for(LG_SCHEME_SRT, e, LG_ROLE_BACKUP)},
                 tmp.file("backup.log"));
  wait_video_out(server, 100);
  primary.signal(SIGKILL);
  REQUIRE(backup.wait(60s) == std::optional<int>(0));
  check_vod(server, e, 10.0);

  Events ev = server.snapshot();
  INFO(server.log_text());
  REQUIRE(ev.failovers.size() == 1);
  CHECK(ev.failovers[0].to == LG_ROLE_BACKUP);
  CHECK(ev.failovers[0].fault == LG_FAULT_DISCONNECTED);
  check_rising(ev);
  const auto video = output_of(ev, LG_TRACK_VIDEO);
  const size_t first_backup = ev.failovers[0].output_frames;
  size_t i = first_backup;
  while (ev.output_frames[i].track != LG_TRACK_VIDEO) ++i;
  CHECK((ev.output_frames[i].key || ev.failovers[0].aligned));
  // FLV and MPEG-TS carry the same coded frames, on timelines 21 ms apart:
  // recognised as one stream, the output is every frame, once.
  CHECK(ev.failovers[0].aligned);
  CHECK(ev.failovers[0].lost_ms == 0);
  uint64_t backup_session = 0;
  for (const auto &st : ev.starts) {
    if (st.role == LG_ROLE_BACKUP) backup_session = st.session_id;
  }
  // The SRT session got its last packets too, those still inside its
  // receive latency when the caller closed.
  CHECK(static_cast<int>(frames_of(ev, backup_session, LG_TRACK_VIDEO).size()) == src.video_frames);
  CHECK(static_cast<int>(video.size()) == src.video_frames);
  std::printf(
      "RTMP primary -> SRT backup: aligned %d, gap %lld ms, lost %lld ms, %zu of %d "
      "video frames\n",
      ev.failovers[0].aligned ? 1 : 0, static_cast<long long>(ev.failovers[0].gap_ms),
      static_cast<long long>(ev.failovers[0].lost_ms), video.size(), src.video_frames);
}
