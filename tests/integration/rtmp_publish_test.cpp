// Real encoders publish to an in-process server over RTMP on 127.0.0.1.
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <mutex>
#include <thread>

#include "integration/support.h"

using namespace lgtest;

namespace {

std::vector<std::string> ffmpeg_publish(const std::string &src, const std::string &url,
                                        bool realtime = false) {
  std::vector<std::string> argv = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin"};
  if (realtime) argv.push_back("-re");
  for (const char *a : {"-i", src.c_str(), "-c", "copy", "-f", "flv", url.c_str()}) {
    argv.emplace_back(a);
  }
  return argv;
}

// A looping real-time publisher that runs until killed.
std::vector<std::string> ffmpeg_live(const std::string &src, const std::string &url) {
  return {"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
          "-re",    "-stream_loop", "-1",        "-i",    src,
          "-c",     "copy",         "-f",        "flv",   url};
}

}  // namespace

TEST_CASE("ffmpeg publishes with the single URL and every frame arrives", "[rtmp][ffmpeg]") {
  const Source &src = test_source();
  TestServer server;
  lg_entry e = server.create_entry();
  TempDir tmp;
  Process ff(ffmpeg_publish(src.path, server.ffmpeg_url(e)), tmp.file("ff.log"));
  auto rc = ff.wait(60s);
  REQUIRE(rc.has_value());
  INFO(ff.output() << server.log_text());
  CHECK(*rc == 0);
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.stops.empty(); }));
  Events ev = server.snapshot();
  REQUIRE(ev.starts.size() == 1);
  REQUIRE(ev.rejects.empty());
  const auto &start = ev.starts[0];
  CHECK(start.entry_id == e.id);
  CHECK(start.role == LG_ROLE_PRIMARY);
  CHECK(start.stream_name == "1");
  CHECK(start.vcodec == LG_CODEC_H264);
  CHECK(start.width == 320);
  CHECK(start.height == 240);
  CHECK(start.acodec == LG_CODEC_AAC);
  CHECK(start.sample_rate == 48000);
  CHECK(start.channels == 1);
  CHECK(start.audio_codec == "mp4a.40.2");
  CHECK(start.video_codec.rfind("avc1.", 0) == 0);
  CHECK(start.encoder.find("FMLE") != std::string::npos);  // ffmpeg's flashVer
  CHECK(start.metadata.find("\"width\":320") != std::string::npos);
  check_complete(ev, start.session_id, src);
  REQUIRE(ev.stops.size() == 1);
  CHECK(ev.stops[0].status == LG_OK);
  CHECK(ev.stops[0].stats.video_frames == static_cast<uint64_t>(src.video_frames));
  CHECK(ev.stops[0].stats.audio_frames == static_cast<uint64_t>(src.audio_frames));
  CHECK(ev.stops[0].stats.bytes_in > 10000);
}

TEST_CASE("an OBS-style server URL plus stream key is accepted", "[rtmp][ffmpeg]") {
  // OBS puts the URL in "Server" and the name in "Stream Key"; ffmpeg's
  // -rtmp_app / -rtmp_tcurl / -rtmp_playpath send exactly what librtmp would.
  const Source &src = test_source();
  TestServer server;
  lg_entry e = server.create_entry();
  auto [url, key] = server.obs_url(e, LG_ROLE_BACKUP, "1");
  const std::string prefix = "rtmp://127.0.0.1:" + std::to_string(server.port()) + "/";
  REQUIRE(url.rfind(prefix, 0) == 0);
  std::string app = url.substr(prefix.size());
  // OBS sends the whole path after the host, query included, as its app.
  std::vector<std::string> argv = {
      "ffmpeg", "-hide_banner",   "-loglevel", "error",       "-nostdin",    "-i", src.path,
      "-c",     "copy",           "-f",        "flv",         "-rtmp_tcurl", url,  "-rtmp_app",
      app,      "-rtmp_playpath", key,         prefix + "x/y"};
  TempDir tmp;
  Process ff(argv, tmp.file("ff.log"));
  auto rc = ff.wait(60s);
  REQUIRE(rc.has_value());
  INFO(ff.output() << server.log_text());
  CHECK(*rc == 0);
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.stops.empty(); }));
  Events ev = server.snapshot();
  REQUIRE(ev.starts.size() == 1);
  CHECK(ev.starts[0].role == LG_ROLE_BACKUP);
  check_complete(ev, ev.starts[0].session_id, src);
}

namespace {

// Publishes the test source with GStreamer to `sink` + its properties and
// checks that every frame arrives. rtmpsink may not exit at EOS, so the test
// waits for the frames and then stops it.
void gst_publish(TestServer &server, const lg_entry &e, const std::vector<std::string> &sink) {
  const Source &src = test_source();
  std::vector<std::string> argv = {"gst-launch-1.0",
                                   "-q",
                                   "filesrc",
                                   "location=" + src.path,
                                   "!",
                                   "flvdemux",
                                   "name=d",
                                   "d.video",
                                   "!",
                                   "queue",
                                   "!",
                                   "h264parse",
                                   "!",
                                   "flvmux",
                                   "name=m",
                                   "streamable=true",
                                   "!"};
  argv.insert(argv.end(), sink.begin(), sink.end());
  for (const char *a : {"d.audio", "!", "queue", "!", "aacparse", "!", "m."}) argv.emplace_back(a);
  TempDir tmp;
  Process gst(argv, tmp.file("gst.log"));
  const size_t want = static_cast<size_t>(src.video_frames + src.audio_frames);
  bool all = server.wait_for([&](const Events &ev) { return ev.frames.size() >= want; }, 60s);
  gst.wait(5s);
  gst.signal(SIGINT);
  gst.wait(5s);
  INFO(gst.output() << server.log_text());
  REQUIRE(all);
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.stops.empty(); }, 15s));
  Events ev = server.snapshot();
  REQUIRE(ev.starts.size() == 1);
  CHECK(ev.starts[0].entry_id == e.id);
  check_complete(ev, ev.starts[0].session_id, src);
}

}  // namespace

TEST_CASE("GStreamer rtmpsink (librtmp) publishes and every frame arrives", "[rtmp][gstreamer]") {
  if (!have_gst_element("rtmpsink")) {
    WARN("GStreamer rtmpsink is not installed; skipped");
    return;
  }
  TestServer server;
  lg_entry e = server.create_entry();
  SECTION("the single-host URL") {
    gst_publish(server, e, {"rtmpsink", "location=" + server.ffmpeg_url(e) + " live=1"});
  }
  SECTION("a production tcUrl (entry and role in the host name) sent to 127.0.0.1") {
    // librtmp's options after the URL let it claim the production host
    // while connecting to loopback, as an encoder behind DNS would.
    const std::string tc = "rtmp://" + std::string(e.id) + ".p.publish.example.com:1935/kLive";
    const std::string location = "rtmp://127.0.0.1:" + std::to_string(server.port()) +
                                 "/kLive/1 app=kLive tcUrl=" + tc + " playpath=1?t=" + e.token +
                                 " live=1";
    gst_publish(server, e, {"rtmpsink", "location=" + location});
  }
}

TEST_CASE("GStreamer rtmp2sink publishes and every frame arrives", "[rtmp][gstreamer]") {
  if (!have_gst_element("rtmp2sink")) {
    WARN("GStreamer rtmp2sink is not installed; skipped");
    return;
  }
  TestServer server;
  lg_entry e = server.create_entry();
  gst_publish(server, e, {"rtmp2sink", "location=" + server.ffmpeg_url(e)});
}

TEST_CASE("a wrong, missing or regenerated-away token is refused", "[rtmp][auth]") {
  const Source &src = test_source(1);
  TestServer server;
  lg_entry e = server.create_entry();
  TempDir tmp;

  auto expect_refused = [&](const std::string &url, const std::string &reason_part) {
    std::string out;
    int rc = run(ffmpeg_publish(src.path, url), 60s, &out);
    INFO(url << "\n" << out << server.log_text());
    CHECK(rc != 0);
    // The encoder is told why, in words a person can act on.
    CHECK(out.find(reason_part) != std::string::npos);
  };

  SECTION("wrong token") {
    std::string wrong(e.token);
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    expect_refused(server.ffmpeg_url(e, LG_ROLE_PRIMARY, "1", wrong.c_str()),
                   "authentication failed");
    REQUIRE(server.wait_for([](const Events &ev) { return ev.rejects.size() == 1; }));
    auto ev = server.snapshot();
    CHECK(ev.rejects[0].status == LG_E_AUTH);
    CHECK(ev.rejects[0].entry_id == e.id);
    CHECK(ev.starts.empty());
  }
  SECTION("missing token") {
    std::string url = server.ffmpeg_url(e);
    url = url.substr(0, url.find('?'));
    expect_refused(url, "no token");
    REQUIRE(server.wait_for([](const Events &ev) { return ev.rejects.size() == 1; }));
    CHECK(server.snapshot().rejects[0].status == LG_E_AUTH);
  }
  SECTION("regenerated token: the old one fails at once, the new one works") {
    const std::string old_url = server.ffmpeg_url(e);
    lg_entry fresh{};
    fresh.struct_size = sizeof(fresh);
    REQUIRE(lg_server_regenerate_token(server.get(), e.id, LG_REVOKE_KEEP, &fresh) == LG_OK);
    CHECK(std::string(fresh.token) != e.token);
    CHECK(fresh.token_generation == e.token_generation + 1);
    expect_refused(old_url, "authentication failed");
    CHECK(run(ffmpeg_publish(src.path, server.ffmpeg_url(fresh)), 60s) == 0);
    REQUIRE(server.wait_for([](const Events &ev) { return ev.stops.size() == 1; }));
    auto ev = server.snapshot();
    CHECK(ev.rejects.size() == 1);
    CHECK(ev.starts.size() == 1);
  }
  SECTION("unknown entry") {
    lg_entry other = e;
    std::memcpy(other.id, "1_zzzzzzzz", 11);
    expect_refused(server.ffmpeg_url(other), "unknown entry");
  }
  SECTION("a malformed stream name is a bad name, not a crash") {
    expect_refused(server.ffmpeg_url(e, LG_ROLE_PRIMARY, "1") + "%00", "");
    REQUIRE(server.wait_for([](const Events &ev) { return ev.rejects.size() == 1; }));
  }
}

TEST_CASE("a reconnecting encoder takes over its own stream", "[rtmp][takeover]") {
  const Source &src = test_source();
  TestServer server;
  lg_entry e = server.create_entry();
  TempDir tmp;
  Process first(ffmpeg_live(src.path, server.ffmpeg_url(e)), tmp.file("first.log"));
  REQUIRE(server.wait_for([](const Events &ev) { return ev.starts.size() == 1; }));
  // The first encoder stalls (a half-open socket as seen from the server).
  first.signal(SIGSTOP);
  Process second(ffmpeg_publish(src.path, server.ffmpeg_url(e), true), tmp.file("second.log"));
  REQUIRE(server.wait_for([](const Events &ev) { return ev.starts.size() == 2; }));
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.stops.empty(); }));
  {
    Events ev = server.snapshot();
    CHECK(ev.rejects.empty());
    CHECK(ev.stops[0].session_id == ev.starts[0].session_id);
    CHECK(ev.stops[0].reason.find("taken over") != std::string::npos);
  }
  auto rc = second.wait(60s);
  INFO(second.output() << server.log_text());
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  REQUIRE(server.wait_for([](const Events &ev) { return ev.stops.size() == 2; }));
  Events ev = server.snapshot();
  check_complete(ev, ev.starts[1].session_id, src);
  first.signal(SIGKILL);
}

TEST_CASE("several stream names of one entry publish at once", "[rtmp][streams]") {
  const Source &src = test_source();
  TestServer server;
  lg_entry e = server.create_entry();
  TempDir tmp;
  Process a(ffmpeg_publish(src.path, server.ffmpeg_url(e, LG_ROLE_PRIMARY, "1"), true),
            tmp.file("a.log"));
  Process b(ffmpeg_publish(src.path, server.ffmpeg_url(e, LG_ROLE_PRIMARY, "2"), true),
            tmp.file("b.log"));
  Process c(ffmpeg_publish(src.path, server.ffmpeg_url(e, LG_ROLE_BACKUP, "1"), true),
            tmp.file("c.log"));
  REQUIRE(a.wait(60s) == 0);
  REQUIRE(b.wait(60s) == 0);
  REQUIRE(c.wait(60s) == 0);
  REQUIRE(server.wait_for([](const Events &ev) { return ev.stops.size() == 3; }));
  Events ev = server.snapshot();
  REQUIRE(ev.starts.size() == 3);
  CHECK(ev.rejects.empty());
  for (const auto &s : ev.starts) check_complete(ev, s.session_id, src);
  for (const auto &s : ev.stops) CHECK(s.reason.find("taken over") == std::string::npos);
}

TEST_CASE("the host can authorise publishes itself, later and from another thread",
          "[rtmp][auth]") {
  const Source &src = test_source(1);
  TestServer server([](lg_server_options &o) { o.host_authorization = 1; });
  // The host answers from a thread of its own after a delay, as a host
  // that asks a remote service would.
  // The hook runs on the loop thread, the joins on this one.
  std::mutex answers_mutex;
  std::vector<std::thread> answers;
  server.set_on_authorize_hook([&](const lg_auth_request *r) {
    const uint64_t id = r->request_id;
    const bool ok = std::string(r->token) == "letmein0123456789";
    lg_server *s = server.get();
    std::lock_guard lock(answers_mutex);
    answers.emplace_back([s, id, ok] {
      std::this_thread::sleep_for(300ms);
      lg_server_authorize(s, id, ok ? LG_OK : LG_E_AUTH, ok ? nullptr : "no such subscriber");
    });
  });
  lg_entry fake{};
  fake.struct_size = sizeof(fake);
  std::strcpy(fake.id, "1_abcdefgh");
  std::string out;
  CHECK(run(ffmpeg_publish(src.path,
                           server.ffmpeg_url(fake, LG_ROLE_PRIMARY, "1", "letmein0123456789")),
            60s, &out) == 0);
  CHECK(run(ffmpeg_publish(src.path,
                           server.ffmpeg_url(fake, LG_ROLE_PRIMARY, "1", "wrongwrongwrong0000")),
            60s, &out) != 0);
  CHECK(out.find("no such subscriber") != std::string::npos);
  // Both requests were answered (the second publish saw its refusal), so
  // both threads are listed by now.
  {
    std::lock_guard lock(answers_mutex);
    for (auto &t : answers) t.join();
  }
  Events ev = server.snapshot();
  REQUIRE(ev.auth.size() == 2);
  CHECK(ev.auth_tokens[0] == "letmein0123456789");
  CHECK(ev.starts.size() == 1);
  CHECK(ev.rejects.size() == 1);
  CHECK(lg_server_authorize(server.get(), 9999, LG_OK, nullptr) == LG_E_NOT_FOUND);
}

TEST_CASE("with the disconnect policy a regenerated token ends live sessions",
          "[rtmp][auth][revoke]") {
  const Source &src = test_source();
  TestServer server;
  lg_entry e = server.create_entry();
  TempDir tmp;
  Process live(ffmpeg_live(src.path, server.ffmpeg_url(e)), tmp.file("live.log"));
  REQUIRE(server.wait_for([](const Events &ev) { return ev.starts.size() == 1; }));

  SECTION("keep (the default): the session goes on") {
    REQUIRE(lg_server_regenerate_token(server.get(), e.id, LG_REVOKE_KEEP, nullptr) == LG_OK);
    std::this_thread::sleep_for(1500ms);
    CHECK(server.snapshot().stops.empty());
    lg_session_stats stats{};
    stats.struct_size = sizeof(stats);
    REQUIRE(lg_server_get_session_stats(server.get(), server.snapshot().starts[0].session_id,
                                        &stats) == LG_OK);
    CHECK(stats.video_frames > 0);
    CHECK(stats.fps > 20);
    CHECK(stats.fps < 40);
    CHECK(stats.bitrate_bps > 0);
  }
  SECTION("disconnect: the session ends with an auth status") {
    REQUIRE(lg_server_regenerate_token(server.get(), e.id, LG_REVOKE_DISCONNECT, nullptr) == LG_OK);
    REQUIRE(server.wait_for([](const Events &ev) { return ev.stops.size() == 1; }, 5s));
    auto ev = server.snapshot();
    CHECK(ev.stops[0].status == LG_E_AUTH);
    CHECK(ev.stops[0].reason.find("token") != std::string::npos);
  }
}

TEST_CASE("the host may disconnect a session and destroy the server from a callback",
          "[rtmp][lifecycle]") {
  const Source &src = test_source();
  TempDir tmp;
  SECTION("disconnect") {
    TestServer server;
    lg_entry e = server.create_entry();
    Process live(ffmpeg_live(src.path, server.ffmpeg_url(e)), tmp.file("live.log"));
    REQUIRE(server.wait_for([](const Events &ev) { return ev.starts.size() == 1; }));
    uint64_t id = server.snapshot().starts[0].session_id;
    CHECK(lg_server_disconnect(server.get(), id, "maintenance") == LG_OK);
    REQUIRE(server.wait_for([](const Events &ev) { return ev.stops.size() == 1; }, 5s));
    CHECK(server.snapshot().stops[0].reason == "maintenance");
    CHECK(lg_server_disconnect(server.get(), id, "again") == LG_E_NOT_FOUND);
    lg_session_stats stats{};
    stats.struct_size = sizeof(stats);
    CHECK(lg_server_get_session_stats(server.get(), id, &stats) == LG_E_NOT_FOUND);
  }
  SECTION("destroy from inside on_publish_start completes without deadlock") {
    std::atomic<bool> destroyed{false};
    struct Ctx {
      lg_server *server = nullptr;
      std::atomic<bool> *destroyed;
    } ctx{nullptr, &destroyed};
    lg_server_options opts;
    lg_server_options_init(&opts);
    std::string data = tmp.file("data");
    opts.data_dir = data.c_str();
    opts.rtmp_address = "127.0.0.1";
    opts.rtmp_port = 0;
    lg_server_callbacks cb{};
    cb.struct_size = sizeof(cb);
    cb.user = &ctx;
    cb.on_publish_start = [](void *user, const lg_publish_info *) {
      auto *c = static_cast<Ctx *>(user);
      lg_server_destroy(c->server);
      c->destroyed->store(true);
    };
    REQUIRE(lg_server_create(&ctx.server, &opts, &cb) == LG_OK);
    REQUIRE(lg_server_start(ctx.server) == LG_OK);
    int port = 0;
    REQUIRE(lg_server_get_port(ctx.server, LG_PROTOCOL_RTMP, &port) == LG_OK);
    lg_entry e{};
    e.struct_size = sizeof(e);
    REQUIRE(lg_store_create_entry(lg_server_get_store(ctx.server), &e, "x") == LG_OK);
    lg_url_options o;
    lg_url_options_init(&o);
    o.host = "127.0.0.1";
    o.port = static_cast<uint16_t>(port);
    char *url = nullptr;
    REQUIRE(lg_url_build(nullptr, nullptr, &url, &o, e.id, LG_ROLE_PRIMARY, e.token, "1") == LG_OK);
    std::string u = url;
    lg_free(url);
    Process ff(ffmpeg_publish(src.path, u, true), tmp.file("ff.log"));
    for (int i = 0; i < 300 && !destroyed; ++i) std::this_thread::sleep_for(100ms);
    CHECK(destroyed);
    // The encoder sees its connection closed.
    auto rc = ff.wait(30s);
    REQUIRE(rc.has_value());
    CHECK(*rc != 0);
  }
}
