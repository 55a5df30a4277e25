// Outputs of a live stream: HLS live and DVR playlists, recordings, clips,
// read back with the real ffprobe from the files the server wrote.
#include <sys/mount.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "integration/support.h"

using namespace lgtest;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<double> extinf_durations(const std::string &playlist) {
  std::vector<double> out;
  std::istringstream in(playlist);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#EXTINF:", 0) == 0) out.push_back(std::stod(line.substr(8)));
  }
  return out;
}

uint64_t media_sequence(const std::string &playlist) {
  const auto at = playlist.find("#EXT-X-MEDIA-SEQUENCE:");
  return at == std::string::npos ? 0 : std::stoull(playlist.substr(at + 22));
}

size_t count(const std::string &text, const std::string &what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Media duration of a file as ffprobe reads it, in seconds.
double probe_duration(const std::string &path) {
  std::string out;
  run({"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path}, 30s,
      &out);
  return out.empty() ? -1 : std::stod(out);
}

std::vector<std::string> ffmpeg_publish(const std::string &src, const std::string &url) {
  return {"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i",
          src,      "-c",           "copy",      "-f",    "flv",      url};
}

void publish(TestServer &server, const lg_entry &e, const Source &src, TempDir &tmp,
             const std::string &stream = "1") {
  Process ff(
      ffmpeg_publish(src.path, server.url_for(LG_SCHEME_RTMP, e, LG_ROLE_PRIMARY, stream.c_str())),
      tmp.file("ff-" + stream + ".log"));
  REQUIRE(ff.wait(60s) == std::optional<int>(0));
}

// Waits until the playlist ends, as it does once its publish is gone.
bool wait_ended(const std::string &playlist) {
  for (int i = 0; i < 100; ++i) {
    if (slurp(playlist).find("#EXT-X-ENDLIST") != std::string::npos) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

void quick_end(lg_server_options &o) {
  o.playlist_end_ms = 1;
}

bool has_output(const Events &ev, lg_output_event_type type, const std::string &stream = "") {
  for (const auto &o : ev.outputs) {
    if (o.type == type && (stream.empty() || o.stream_name == stream)) return true;
  }
  return false;
}

// The stream's output state; the test fails if there is none.
lg_hls_info hls_info_of(TestServer &server, const char *entry_id) {
  lg_hls_info info{};
  info.struct_size = sizeof(info);
  REQUIRE(lg_server_get_hls_info(server.get(), entry_id, "1", &info) == LG_OK);
  return info;
}

// Publishes `src` and waits until the output thread has handled the stop:
// the recording's last file is closed after the last segment.
void publish_and_finish(TestServer &server, const lg_entry &e, const Source &src, TempDir &tmp) {
  publish(server, e, src, tmp);
  REQUIRE(server.wait_for(
      [](const Events &ev) { return has_output(ev, LG_OUTPUT_RECORDING_ROTATED); }, 60s));
}

}  // namespace

TEST_CASE("a published stream becomes HLS with every frame, a recording and a VOD", "[hls]") {
  const Source &src = test_source(7);
  TestServer server(quick_end);
  lg_entry e = server.create_entry();
  TempDir tmp;
  publish(server, e, src, tmp);
  REQUIRE(
      server.wait_for([](const Events &ev) { return has_output(ev, LG_OUTPUT_CLIP_READY); }, 60s));
  Events ev = server.snapshot();
  INFO(server.log_text());

  const std::string hls = server.data_dir() + "/media/" + e.id + "/hls";
  REQUIRE(wait_ended(hls + "/1/live.m3u8"));
  REQUIRE(wait_ended(hls + "/1/dvr.m3u8"));
  const std::string dvr = slurp(hls + "/1/dvr.m3u8");
  const std::string live = slurp(hls + "/1/live.m3u8");
  const std::string master = slurp(hls + "/master.m3u8");
  INFO(dvr << master);
  // 7 s at a 1 s GOP cut around 2 s: 2, 2, 2, 1.
  const auto durations = extinf_durations(dvr);
  REQUIRE(durations.size() == 4);
  double total = 0;
  for (double d : durations) total += d;
  CHECK(total == Approx(7.0).margin(1.0 / 30));
  CHECK(durations[0] == Approx(2.0).margin(0.001));
  CHECK(live.find("#EXT-X-TARGETDURATION:2\n") != std::string::npos);
  CHECK(count(dvr, "#EXT-X-DISCONTINUITY\n") == 0);
  CHECK(count(dvr, "#EXT-X-PROGRAM-DATE-TIME:") == 4);
  CHECK(master.find("CODECS=\"avc1.") != std::string::npos);
  CHECK(master.find(",mp4a.40.2\",RESOLUTION=320x240") != std::string::npos);
  CHECK(master.find("\n1/live.m3u8\n") != std::string::npos);
  CHECK(slurp(hls + "/master-dvr.m3u8").find("\n1/dvr.m3u8\n") != std::string::npos);

  // Every frame, read the way a player reads it.
  CHECK(count_frames(hls + "/1/dvr.m3u8", "v:0") == src.video_frames);
  CHECK(count_frames(hls + "/1/dvr.m3u8", "a:0") >= src.audio_frames - 1);

  size_t segments = 0;
  for (const auto &o : ev.outputs) {
    if (o.type != LG_OUTPUT_SEGMENT) continue;
    CHECK(o.entry_id == e.id);
    CHECK(fs::exists(o.path));
    CHECK(o.bytes == fs::file_size(o.path));
    CHECK(o.latency_us >= 0);
    CHECK(o.sequence == segments++);
  }
  CHECK(segments == 4);

  // The recording and the broadcast's VOD: every frame, moov first.
  const lg_hls_info info = hls_info_of(server, e.id);
  CHECK(info.live == 0);
  CHECK(info.segment_count == 4);
  CHECK(info.first_sequence == 0);
  CHECK(info.last_sequence == 3);
  CHECK(info.window_ms == Approx(7000).margin(40));
  CHECK(info.peak_bandwidth_bps > 0);
  const std::string rec = server.data_dir() + "/media/" + e.id + "/recordings/1/";
  REQUIRE(std::strlen(info.broadcast) == 16);
  CHECK(count_frames(rec + info.broadcast + "/0.ts", "v:0") == src.video_frames);
  const std::string vod = rec + info.broadcast + ".mp4";
  bool vod_event = false;
  for (const auto &o : ev.outputs) {
    if (o.type == LG_OUTPUT_CLIP_READY) {
      CHECK(o.status == LG_OK);
      CHECK(o.clip_id == 0);
      CHECK(o.path == vod);
      vod_event = true;
    }
  }
  CHECK(vod_event);
  CHECK(count_frames(vod, "v:0") == src.video_frames);
  const std::string head = slurp(vod).substr(0, 4096);
  CHECK(head.find("moov") != std::string::npos);
  CHECK(has_output(ev, LG_OUTPUT_RECORDING_ROTATED));
}

TEST_CASE("a clip of [t0, t1] starts at the keyframe before t0 and plays", "[hls][clip]") {
  const Source &src = test_source(7);
  TestServer server;
  lg_entry e = server.create_entry();
  TempDir tmp;
  publish_and_finish(server, e, src, tmp);

  lg_clip_request req{};
  req.struct_size = sizeof(req);
  req.entry_id = e.id;
  req.stream_name = "1";
  req.start_ms = 2500;
  req.end_ms = 5000;
  uint64_t id = 0;
  REQUIRE(lg_server_request_clip(server.get(), &req, &id) == LG_OK);
  REQUIRE(id != 0);
  REQUIRE(server.wait_for(
      [id](const Events &ev) {
        for (const auto &o : ev.outputs) {
          if (o.type == LG_OUTPUT_CLIP_READY && o.clip_id == id) return true;
        }
        return false;
      },
      60s));
  Events ev = server.snapshot();
  for (const auto &o : ev.outputs) {
    if (o.type != LG_OUTPUT_CLIP_READY || o.clip_id != id) continue;
    INFO(o.reason);
    REQUIRE(o.status == LG_OK);
    CHECK(o.path == server.data_dir() + "/media/" + e.id + "/clips/" + std::to_string(id) + ".mp4");
    // From the keyframe at 2 s to 5 s: 3 s, 90 frames at 30 fps.
    CHECK(count_frames(o.path, "v:0") == Approx(90).margin(1));
    CHECK(probe_duration(o.path) == Approx(3.0).margin(0.1));
  }

  req.start_ms = 5000;
  req.end_ms = 4000;
  CHECK(lg_server_request_clip(server.get(), &req, &id) == LG_E_INVALID_ARG);
  req.start_ms = 0;
  req.end_ms = -1;
  req.stream_name = "nothing";
  CHECK(lg_server_request_clip(server.get(), &req, &id) == LG_E_NOT_FOUND);
  req.stream_name = "../../etc";
  CHECK(lg_server_request_clip(server.get(), &req, &id) == LG_E_INVALID_ARG);
}

TEST_CASE("after a restart the DVR playlist continues where it stopped", "[hls][restart]") {
  const Source &src = test_source(5);
  TempDir data;
  const std::string dir = data.file("data");
  auto same_dir = [&](lg_server_options &o) {
    o.data_dir = dir.c_str();
    o.playlist_end_ms = 1;
  };
  TempDir tmp;
  std::string id;
  std::string before;
  {
    TestServer server(same_dir);
    lg_entry e = server.create_entry();
    id = e.id;
    publish(server, e, src, tmp);
    REQUIRE(server.wait_for([](const Events &ev) { return !ev.stops.empty(); }, 60s));
    REQUIRE(wait_ended(dir + "/media/" + id + "/hls/1/dvr.m3u8"));
    before = slurp(dir + "/media/" + id + "/hls/1/dvr.m3u8");
  }
  const size_t old_segments = extinf_durations(before).size();
  REQUIRE(old_segments == 3);
  TestServer server(same_dir);
  lg_entry e{};
  e.struct_size = sizeof(e);
  REQUIRE(lg_store_get_entry(lg_server_get_store(server.get()), &e, id.c_str()) == LG_OK);
  // The window is served before anything new is published.
  lg_hls_info info{};
  info.struct_size = sizeof(info);
  // The output thread reads the disk back as it starts.
  for (int i = 0; i < 100 && lg_server_get_hls_info(server.get(), id.c_str(), "1", &info) != LG_OK;
       ++i) {
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(lg_server_get_hls_info(server.get(), id.c_str(), "1", &info) == LG_OK);
  CHECK(info.segment_count == old_segments);
  publish_and_finish(server, e, src, tmp);
  REQUIRE(wait_ended(dir + "/media/" + id + "/hls/1/dvr.m3u8"));
  const std::string after = slurp(dir + "/media/" + id + "/hls/1/dvr.m3u8");
  INFO(before << "---\n" << after);
  CHECK(media_sequence(after) == 0);
  CHECK(extinf_durations(after).size() == old_segments * 2);
  CHECK(after.find(before.substr(before.find("#EXT-X-PROGRAM-DATE-TIME")).substr(0, 40)) !=
        std::string::npos);
  CHECK(count(after, "#EXT-X-DISCONTINUITY\n") == 1);
  CHECK(after.find("\n3.ts\n") != std::string::npos);
  CHECK(count_frames(dir + "/media/" + id + "/hls/1/dvr.m3u8", "v:0") == 2 * src.video_frames);
}

TEST_CASE("a full disk stops one entry's recording with an event; the other keeps going",
          "[hls][storage]") {
  if (geteuid() != 0) {
    WARN("not root: cannot mount a size-limited tmpfs; test not exercised");
    return;
  }
  const Source &src = test_source(7);
  TempDir data;
  const std::string dir = data.file("data");
  auto same_dir = [&](lg_server_options &o) {
    o.data_dir = dir.c_str();
    o.playlist_end_ms = 1;
  };
  TestServer server(same_dir);
  lg_entry full = server.create_entry("full");
  lg_entry fine = server.create_entry("fine");
  const std::string limited = dir + "/media/" + full.id + "/recordings";
  fs::create_directories(limited);
  if (::mount("tmpfs", limited.c_str(), "tmpfs", 0, "size=256k") != 0) {
    WARN("cannot mount tmpfs here: test not exercised");
    return;
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{limited};
  TempDir tmp;
  Process a(ffmpeg_publish(src.path, server.url_for(LG_SCHEME_RTMP, full)), tmp.file("a.log"));
  Process b(ffmpeg_publish(src.path, server.url_for(LG_SCHEME_RTMP, fine)), tmp.file("b.log"));
  REQUIRE(a.wait(60s) == std::optional<int>(0));
  REQUIRE(b.wait(60s) == std::optional<int>(0));
  REQUIRE(server.wait_for([](const Events &ev) { return ev.stops.size() == 2; }, 60s));
  REQUIRE(server.wait_for(
      [&](const Events &ev) {
        for (const auto &o : ev.outputs) {
          if (o.type == LG_OUTPUT_CLIP_READY && o.entry_id == fine.id) return true;
        }
        return false;
      },
      60s));
  Events ev = server.snapshot();
  size_t errors = 0;
  for (const auto &o : ev.outputs) {
    if (o.type != LG_OUTPUT_STORAGE_ERROR) continue;
    CHECK(o.entry_id == std::string(full.id));
    CHECK(o.status == LG_E_IO);
    CHECK(o.reason.find("No space left on device") != std::string::npos);
    ++errors;
  }
  CHECK(errors >= 1);
  // Both entries' HLS is complete; the other entry's recording too.
  for (const lg_entry *e : {&full, &fine}) {
    REQUIRE(wait_ended(dir + "/media/" + e->id + "/hls/1/dvr.m3u8"));
    CHECK(count_frames(dir + "/media/" + e->id + "/hls/1/dvr.m3u8", "v:0") == src.video_frames);
  }
  const lg_hls_info info = hls_info_of(server, fine.id);
  CHECK(count_frames(dir + "/media/" + fine.id + "/recordings/1/" + info.broadcast + ".mp4",
                     "v:0") == src.video_frames);
}

namespace {

// `src` re-encoded at another size, as an encoder whose settings changed.
Source rescaled(const Source &src, const std::string &path, const std::string &size) {
  std::string log;
  const int rc =
      run({"ffmpeg", "-hide_banner",  "-loglevel", "error",   "-y",      "-i",        src.path,
           "-vf",    "scale=" + size, "-c:v",      "libx264", "-preset", "ultrafast", "-g",
           "30",     "-pix_fmt",      "yuv420p",   "-c:a",    "copy",    path},
          120s, &log);
  if (rc != 0) throw std::runtime_error("cannot rescale: " + log);
  Source out;
  out.path = path;
  out.video_frames = count_frames(path, "v:0");
  out.audio_frames = count_frames(path, "a:0");
  return out;
}

}  // namespace

TEST_CASE("fMP4 segments carry an init segment, and new codec parameters start a new one",
          "[hls][fmp4]") {
  const Source &src = test_source(5);
  TempDir tmp;
  const Source big = rescaled(src, tmp.file("big.flv"), "640:360");
  TestServer server([](lg_server_options &o) {
    o.segment_format = LG_SEGMENT_FMP4;
    o.playlist_end_ms = 1;
  });
  lg_entry e = server.create_entry();
  publish(server, e, src, tmp);
  REQUIRE(server.wait_for([](const Events &ev) { return ev.stops.size() == 1; }, 60s));
  publish(server, e, big, tmp);
  REQUIRE(server.wait_for([](const Events &ev) { return ev.stops.size() == 2; }, 60s));
  const std::string hls = server.data_dir() + "/media/" + e.id + "/hls";
  REQUIRE(wait_ended(hls + "/1/dvr.m3u8"));
  const std::string dvr = slurp(hls + "/1/dvr.m3u8");
  INFO(dvr << server.log_text());
  CHECK(dvr.find("#EXT-X-VERSION:6\n") != std::string::npos);
  CHECK(dvr.find("#EXT-X-MAP:URI=\"init-0.mp4\"\n") != std::string::npos);
  CHECK(dvr.find("#EXT-X-MAP:URI=\"init-1.mp4\"\n") != std::string::npos);
  CHECK(dvr.find("\n0.m4s\n") != std::string::npos);
  // The size changed between the publishes: one discontinuity, there.
  CHECK(count(dvr, "#EXT-X-DISCONTINUITY\n") == 1);
  CHECK(dvr.find("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-1.mp4\"") != std::string::npos);
  CHECK(fs::exists(hls + "/1/init-0.mp4"));
  // Each init segment with its media segments is a whole fragmented MP4.
  // (ffmpeg's HLS reader does not apply a new init segment's parameters,
  // so the two parts are checked one by one.)
  auto joined = [&](const std::string &name, std::initializer_list<const char *> parts) {
    std::ofstream out(tmp.file(name), std::ios::binary);
    for (const char *p : parts) out << slurp(hls + "/1/" + p);
    return tmp.file(name);
  };
  CHECK(count_frames(joined("a.mp4", {"init-0.mp4", "0.m4s", "1.m4s", "2.m4s"}), "v:0") ==
        src.video_frames);
  CHECK(count_frames(joined("b.mp4", {"init-1.mp4", "3.m4s", "4.m4s", "5.m4s"}), "v:0") ==
        big.video_frames);
  // Program date-time rises across the publishes though they ran faster
  // than real time.
  std::vector<std::string> dates;
  for (size_t at = dvr.find("DATE-TIME:"); at != std::string::npos;
       at = dvr.find("DATE-TIME:", at + 1)) {
    dates.push_back(dvr.substr(at + 10, 24));
  }
  CHECK(std::is_sorted(dates.begin(), dates.end()));
  CHECK(slurp(hls + "/master.m3u8").find("RESOLUTION=640x360") != std::string::npos);

  const lg_hls_info info = hls_info_of(server, e.id);
  CHECK(info.format == LG_SEGMENT_FMP4);
  const std::string rec =
      server.data_dir() + "/media/" + e.id + "/recordings/1/" + info.broadcast + "/0.mp4";
  CHECK(count_frames(rec, "v:0") == big.video_frames);
}

TEST_CASE("the same encoder publishing again continues the playlist without a discontinuity",
          "[hls]") {
  const Source &src = test_source(4);
  TestServer server(quick_end);
  lg_entry e = server.create_entry();
  TempDir tmp;
  publish(server, e, src, tmp);
  REQUIRE(server.wait_for([](const Events &ev) { return ev.stops.size() == 1; }, 60s));
  publish(server, e, src, tmp);
  REQUIRE(server.wait_for([](const Events &ev) { return ev.stops.size() == 2; }, 60s));
  const std::string dvr_path = server.data_dir() + "/media/" + e.id + "/hls/1/dvr.m3u8";
  REQUIRE(wait_ended(dvr_path));
  const std::string dvr = slurp(dvr_path);
  INFO(dvr);
  CHECK(count(dvr, "#EXT-X-DISCONTINUITY\n") == 0);
  CHECK(count_frames(dvr_path, "v:0") == 2 * src.video_frames);
  // Output timestamps run on across the publishes.
  std::string out;
  run({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=dts_time",
       "-of", "csv=p=0", dvr_path},
      60s, &out);
  std::istringstream lines(out);
  std::string line;
  double last = -1;
  int backwards = 0, n = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const double t = std::stod(line);
    if (t <= last) ++backwards;
    last = t;
    ++n;
  }
  CHECK(n == 2 * src.video_frames);
  CHECK(backwards == 0);
  CHECK(last == Approx(2 * 4.0 - 1.0 / 30).margin(0.2));
}

TEST_CASE("an entry's DVR and recording can be switched off", "[hls]") {
  const Source &src = test_source(4);
  TestServer server(quick_end);
  lg_entry e = server.create_entry();
  REQUIRE(lg_server_set_outputs(server.get(), e.id, 0, 0) == LG_OK);
  CHECK(lg_server_set_outputs(server.get(), "1_missing0", 0, 0) == LG_E_NOT_FOUND);
  lg_entry got{};
  got.struct_size = sizeof(got);
  REQUIRE(lg_store_get_entry(lg_server_get_store(server.get()), &got, e.id) == LG_OK);
  CHECK(got.dvr_enabled == 0);
  CHECK(got.recording_enabled == 0);
  TempDir tmp;
  publish(server, e, src, tmp);
  REQUIRE(server.wait_for([](const Events &ev) { return ev.stops.size() == 1; }, 60s));
  const std::string media = server.data_dir() + "/media/" + e.id;
  REQUIRE(wait_ended(media + "/hls/1/live.m3u8"));
  CHECK_FALSE(fs::exists(media + "/hls/1/dvr.m3u8"));
  CHECK_FALSE(fs::exists(media + "/hls/master-dvr.m3u8"));
  CHECK_FALSE(fs::exists(media + "/recordings"));
  CHECK(count_frames(media + "/hls/1/live.m3u8", "v:0") == src.video_frames);
  const lg_hls_info info = hls_info_of(server, e.id);
  CHECK(info.dvr_enabled == 0);
  CHECK(info.recording_enabled == 0);
}

TEST_CASE("HEVC over SRT is packaged as fragmented MP4 with an hvc1 codec string",
          "[hls][fmp4][hevc][srt]") {
  std::string encoders;
  run({"ffmpeg", "-hide_banner", "-encoders"}, 20s, &encoders);
  if (encoders.find(" libx265 ") == std::string::npos) {
    WARN("ffmpeg has no libx265: test not exercised");
    return;
  }
  TempDir tmp;
  const Source src = make_source(tmp.file("hevc.ts"), 5, "libx265");
  TestServer server([](lg_server_options &o) {
    o.srt_address = "127.0.0.1";
    o.srt_port = 0;
    o.playlist_end_ms = 1;
  });
  lg_entry e = server.create_entry();
  Process ff({"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", src.path, "-c",
              "copy", "-f", "mpegts", server.url_for(LG_SCHEME_SRT, e) + "&linger=5"},
             tmp.file("ff.log"));
  REQUIRE(ff.wait(60s) == std::optional<int>(0));
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.stops.empty(); }, 40s));
  const std::string hls = server.data_dir() + "/media/" + e.id + "/hls";
  REQUIRE(wait_ended(hls + "/1/dvr.m3u8"));
  const std::string dvr = slurp(hls + "/1/dvr.m3u8");
  INFO(dvr << server.log_text());
  CHECK(dvr.find("#EXT-X-MAP:URI=\"init-0.mp4\"") != std::string::npos);
  CHECK(dvr.find(".m4s\n") != std::string::npos);
  CHECK(slurp(hls + "/master.m3u8").find("CODECS=\"hvc1.") != std::string::npos);
  CHECK(count_frames(hls + "/1/dvr.m3u8", "v:0") == src.video_frames);
}

TEST_CASE("segments that leave the DVR window are dropped from it and deleted from disk",
          "[hls][dvr]") {
  const Source &src = test_source(7);
  TestServer server([](lg_server_options &o) {
    o.dvr_window_s = 3;
    o.live_playlist_segments = 1;
    o.playlist_end_ms = 1;
  });
  lg_entry e = server.create_entry();
  TempDir tmp;
  publish_and_finish(server, e, src, tmp);
  const std::string hls = server.data_dir() + "/media/" + e.id + "/hls/1";
  REQUIRE(wait_ended(hls + "/dvr.m3u8"));
  const std::string dvr = slurp(hls + "/dvr.m3u8");
  const std::string live = slurp(hls + "/live.m3u8");
  INFO(dvr << live);
  // Segments of 2, 2, 2 and 1 s: a 3 s window keeps the last two.
  CHECK(media_sequence(dvr) == 2);
  CHECK(extinf_durations(dvr).size() == 2);
  CHECK(media_sequence(live) == 3);
  CHECK(extinf_durations(live).size() == 1);
  // Dropped segments stay a while for players still fetching them (one
  // live playlist length and a target duration: 4 s here), then go.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = !fs::exists(hls + "/0.ts") && !fs::exists(hls + "/1.ts");
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  CHECK(gone);
  CHECK(fs::exists(hls + "/2.ts"));
  CHECK(fs::exists(hls + "/3.ts"));
  // The recording keeps everything.
  const lg_hls_info info = hls_info_of(server, e.id);
  CHECK(info.first_sequence == 2);
  CHECK(info.segment_count == 2);
  CHECK(count_frames(
            server.data_dir() + "/media/" + e.id + "/recordings/1/" + info.broadcast + "/0.ts",
            "v:0") == src.video_frames);
}

TEST_CASE("an output thread that falls behind drops frames up to a keyframe and counts them",
          "[hls][backpressure]") {
  const Source &src = test_source(7);
  // Room for a few frames only: a publish pushed faster than real time
  // outruns the output thread.
  TestServer server([](lg_server_options &o) {
    o.output_queue_bytes = 24 * 1024;
    o.playlist_end_ms = 1;
  });
  lg_entry e = server.create_entry();
  TempDir tmp;
  publish_and_finish(server, e, src, tmp);
  const std::string dvr = server.data_dir() + "/media/" + e.id + "/hls/1/dvr.m3u8";
  REQUIRE(wait_ended(dvr));
  const lg_hls_info info = hls_info_of(server, e.id);
  const int packaged = count_frames(dvr, "v:0");
  INFO("dropped " << info.frames_dropped << ", packaged " << packaged);
  if (info.frames_dropped == 0) {
    WARN("the output thread kept up with this publish: drop policy not exercised");
    return;
  }
  CHECK(packaged < src.video_frames);
  // The server-wide counter adds up every stream's drops.
  lg_server_counters counters{};
  counters.struct_size = sizeof counters;
  REQUIRE(lg_server_get_counters(server.get(), &counters) == LG_OK);
  CHECK(counters.output_frames_dropped == info.frames_dropped);
  // What is kept decodes: dropping resumes only at a keyframe.
  std::string errors;
  run({"ffmpeg", "-v", "error", "-i", dvr, "-f", "null", "-"}, 60s, &errors);
  CHECK(errors.empty());
}
