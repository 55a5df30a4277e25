// RTMPS and SRT: real encoders (ffmpeg, srt-live-transmit, a libsrt caller)
// publish to an in-process server on 127.0.0.1.
#include <netinet/in.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "integration/support.h"

using namespace lgtest;

namespace {

constexpr const char *kPassphrase = "correct-horse-battery";

void enable_all(lg_server_options &o) {
  o.rtmps_address = "127.0.0.1";
  o.rtmps_port = 0;
  o.srt_address = "127.0.0.1";
  o.srt_port = 0;
}

// The test source remuxed to MPEG-TS, as an SRT encoder sends it.
const std::string &ts_source() {
  static const std::string path = [] {
    static TempDir dir;
    const std::string out = dir.file("src.ts");
    std::string log;
    if (run({"ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", test_source().path, "-c",
             "copy", "-f", "mpegts", out},
            60s, &log) != 0) {
      throw std::runtime_error("cannot remux to MPEG-TS: " + log);
    }
    return out;
  }();
  return path;
}

std::vector<std::string> ffmpeg_srt(const std::string &url, const std::string &extra) {
  return {"ffmpeg",           "-hide_banner", "-loglevel", "error", "-nostdin", "-i",
          test_source().path, "-c",           "copy",      "-f",    "mpegts",   url + extra};
}

// A real libsrt caller: connects with a stream id and passphrase and returns
// the reject reason (0 if the connection was accepted).
int srt_connect(int port, const std::string &stream_id, const std::string &passphrase,
                int pbkeylen = 16) {
  srt_startup();
  SRTSOCKET s = srt_create_socket();
  int yes = 1;
  srt_setsockflag(s, SRTO_SENDER, &yes, sizeof(yes));
  srt_setsockflag(s, SRTO_STREAMID, stream_id.data(), static_cast<int>(stream_id.size()));
  if (!passphrase.empty()) {
    srt_setsockflag(s, SRTO_PASSPHRASE, passphrase.data(), static_cast<int>(passphrase.size()));
    srt_setsockflag(s, SRTO_PBKEYLEN, &pbkeylen, sizeof(pbkeylen));
  }
  int timeout_ms = 5000;
  srt_setsockflag(s, SRTO_CONNTIMEO, &timeout_ms, sizeof(timeout_ms));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int reason = 0;
  if (srt_connect(s, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) == SRT_ERROR) {
    reason = srt_getrejectreason(s);
    if (reason == 0) reason = -1;
  }
  srt_close(s);
  srt_cleanup();
  return reason;
}

void set_passphrase(TestServer &server, const lg_entry &e, const char *passphrase) {
  REQUIRE(lg_store_set_srt_passphrase(lg_server_get_store(server.get()), nullptr, e.id,
                                      passphrase) == LG_OK);
}

}  // namespace

TEST_CASE("ffmpeg publishes over rtmps:// and every frame arrives", "[rtmps][ffmpeg]") {
  const Source &src = test_source();
  TestServer server(enable_all);
  lg_entry e = server.create_entry();
  const std::string url = server.url_for(LG_SCHEME_RTMPS, e);
  CHECK(url.rfind("rtmps://127.0.0.1:", 0) == 0);
  TempDir tmp;
  Process ff({"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", src.path, "-c",
              "copy", "-f", "flv", url},
             tmp.file("ff.log"));
  auto rc = ff.wait(60s);
  REQUIRE(rc.has_value());
  INFO(ff.output() << server.log_text());
  CHECK(*rc == 0);
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.stops.empty(); }));
  Events ev = server.snapshot();
  REQUIRE(ev.starts.size() == 1);
  CHECK(ev.rejects.empty());
  CHECK(ev.starts[0].entry_id == e.id);
  CHECK(ev.starts[0].vcodec == LG_CODEC_H264);
  check_complete(ev, ev.starts[0].session_id, src);
  CHECK(ev.stops[0].status == LG_OK);
  CHECK(server.log_text().find("rtmps 127.0.0.1") != std::string::npos);
}

TEST_CASE("a plain RTMP client on the RTMPS port is refused cleanly", "[rtmps][ffmpeg]") {
  TestServer server(enable_all);
  lg_entry e = server.create_entry();
  // The RTMP URL, pointed at the TLS port.
  std::string url = server.ffmpeg_url(e);
  const std::string rtmp_port = ":" + std::to_string(server.port());
  url.replace(url.find(rtmp_port), rtmp_port.size(),
              ":" + std::to_string(server.port_of(LG_PROTOCOL_RTMPS)));
  TempDir tmp;
  Process ff({"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", test_source().path,
              "-c", "copy", "-f", "flv", url},
             tmp.file("ff.log"));
  auto rc = ff.wait(60s);
  REQUIRE(rc.has_value());
  CHECK(*rc != 0);
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.rejects.empty(); }, 20s));
  Events ev = server.snapshot();
  CHECK(ev.starts.empty());
  CHECK(ev.rejects[0].status == LG_E_TLS);
  INFO(ev.rejects[0].reason);
  CHECK(ev.rejects[0].reason.find("TLS") != std::string::npos);
  // The listener is unharmed: a real RTMPS publish still works.
  Process ok({"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", test_source().path,
              "-c", "copy", "-f", "flv", server.url_for(LG_SCHEME_RTMPS, e)},
             tmp.file("ok.log"));
  REQUIRE(ok.wait(60s) == std::optional<int>(0));
  REQUIRE(server.wait_for([](const Events &ev2) { return !ev2.stops.empty(); }));
}

TEST_CASE("the RTMPS certificate is self-signed once and its fingerprint reported",
          "[rtmps][tls]") {
  std::string first;
  TempDir data;
  const std::string dir = data.file("d");
  auto same_dir = [&](lg_server_options &o) {
    enable_all(o);
    o.data_dir = dir.c_str();
  };
  {
    TestServer server(same_dir);
    char fp[128];
    REQUIRE(lg_server_get_tls_fingerprint(server.get(), fp, sizeof(fp)) == LG_OK);
    first = fp;
    char small[16];
    CHECK(lg_server_get_tls_fingerprint(server.get(), small, sizeof(small)) ==
          LG_E_BUFFER_TOO_SMALL);
  }
  CHECK(first.size() == 95);
  if (have_program("openssl")) {
    std::string out;
    REQUIRE(
        run({"openssl", "x509", "-in", dir + "/tls/cert.pem", "-noout", "-fingerprint", "-sha256"},
            20s, &out) == 0);
    CHECK(out.find(first) != std::string::npos);
  }
  TestServer again(same_dir);
  char fp[128];
  REQUIRE(lg_server_get_tls_fingerprint(again.get(), fp, sizeof(fp)) == LG_OK);
  CHECK(first == fp);
  TestServer without;  // no RTMPS listener
  CHECK(lg_server_get_tls_fingerprint(without.get(), fp, sizeof(fp)) == LG_E_NOT_FOUND);
}

TEST_CASE("ffmpeg publishes over SRT with a passphrase and every frame arrives", "[srt][ffmpeg]") {
  const Source &src = test_source();
  TestServer server(enable_all);
  lg_entry e = server.create_entry();
  set_passphrase(server, e, kPassphrase);
  const std::string url = server.url_for(LG_SCHEME_SRT, e);
  CHECK(url.find("?streamid=%23%21%3A%3Ar%3D") != std::string::npos);
  TempDir tmp;
  Process ff(ffmpeg_srt(url, std::string("&passphrase=") + kPassphrase + "&pbkeylen=16&linger=5"),
             tmp.file("ff.log"));
  auto rc = ff.wait(60s);
  REQUIRE(rc.has_value());
  INFO(ff.output() << server.log_text());
  CHECK(*rc == 0);
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.stops.empty(); }, 40s));
  Events ev = server.snapshot();
  REQUIRE(ev.starts.size() == 1);
  CHECK(ev.rejects.empty());
  const auto &start = ev.starts[0];
  CHECK(start.entry_id == e.id);
  CHECK(start.role == LG_ROLE_PRIMARY);
  CHECK(start.stream_name == "1");
  CHECK(start.vcodec == LG_CODEC_H264);
  CHECK(start.width == 320);
  CHECK(start.height == 240);
  CHECK(start.video_codec.rfind("avc1.", 0) == 0);
  CHECK(start.acodec == LG_CODEC_AAC);
  CHECK(start.sample_rate == 48000);
  CHECK(start.audio_codec == "mp4a.40.2");
  check_complete(ev, start.session_id, src);
  const auto &stop = ev.stops[0];
  CHECK(stop.stats.srt_valid == 1);
  CHECK(stop.stats.video_frames == static_cast<uint64_t>(src.video_frames));
  CHECK(stop.stats.srt_latency_ms >= 120);
  CHECK(stop.stats.ts_continuity_errors == 0);
}

TEST_CASE("srt-live-transmit publishes the backup over SRT and every frame arrives",
          "[srt][srt-live-transmit]") {
  if (!have_program("srt-live-transmit")) {
    WARN("srt-live-transmit not installed: test not exercised");
    return;
  }
  const Source &src = test_source();
  TestServer server(enable_all);
  lg_entry e = server.create_entry();
  set_passphrase(server, e, kPassphrase);
  const std::string url = server.url_for(LG_SCHEME_SRT, e, LG_ROLE_BACKUP, "720p") +
                          "&passphrase=" + kPassphrase + "&pbkeylen=16&linger=5";
  TempDir tmp;
  // As an encoder feeds it: MPEG-TS at the media's own pace on stdin
  // (file://con, polled, so a pipe), 7 TS packets per SRT packet. Live
  // mode is for paced input: a burst of seconds of media overruns the
  // sender's latency window. srt-live-transmit holds back the last
  // partial packet of its input (an srt-live-transmit listener receives
  // the same bytes as we do), so null packets, which carry no media, follow
  // the stream to push all of it out. It does not exit at the end of its
  // input: -t:12 ends it.
  const std::string nulls = tmp.file("nulls.ts");
  {
    std::ofstream out(nulls, std::ios::binary);
    for (int i = 0; i < 14; ++i) {
      const char head[4] = {0x47, 0x1f, static_cast<char>(0xff), 0x10};
      out.write(head, 4);
      out << std::string(184, static_cast<char>(0xff));
    }
  }
  Process slt({"sh", "-c",
               "{ ffmpeg -hide_banner -loglevel error -nostdin -re -i " + ts_source() +
                   " -c copy -f mpegts -; cat " + nulls +
                   "; } | srt-live-transmit -q -chunk:1316 -a:no -t:12 file://con '" + url + "'"},
              tmp.file("slt.log"));
  auto rc = slt.wait(60s);
  REQUIRE(rc.has_value());
  INFO(slt.output() << server.log_text());
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.stops.empty(); }, 40s));
  Events ev = server.snapshot();
  REQUIRE(ev.starts.size() == 1);
  CHECK(ev.starts[0].role == LG_ROLE_BACKUP);
  CHECK(ev.starts[0].stream_name == "720p");
  check_complete(ev, ev.starts[0].session_id, src);
}

TEST_CASE("SRT callers are refused during the handshake with the right reason", "[srt][auth]") {
  TestServer server(enable_all);
  lg_entry e = server.create_entry();
  lg_entry open = server.create_entry("unencrypted");
  set_passphrase(server, e, kPassphrase);
  const int port = server.port_of(LG_PROTOCOL_SRT);
  const std::string good = server.srt_stream_id(e);
  bool accepted = false;

  SECTION("the right passphrase is accepted, and no passphrase where the entry has none") {
    CHECK(srt_connect(port, good, kPassphrase) == 0);
    CHECK(srt_connect(port, server.srt_stream_id(open), "") == 0);
    accepted = true;
    // The handshake is where passphrase and token are checked; nothing
    // refuses these callers afterwards either (they close at once, which may
    // be before or after the publish is authorised: no start is promised).
    CHECK_FALSE(server.wait_for([](const Events &ev) { return !ev.rejects.empty(); }, 2s));
  }
  SECTION("a wrong passphrase fails the handshake") {
    CHECK(srt_connect(port, good, "wrong-passphrase-123") == SRT_REJ_BADSECRET);
  }
  SECTION("a missing passphrase fails the handshake") {
    CHECK(srt_connect(port, good, "") == SRT_REJ_UNSECURE);
  }
  SECTION("a wrong token is unauthorized and the host is told") {
    std::string wrong_token = e.token;
    wrong_token[0] = wrong_token[0] == 'a' ? 'b' : 'a';
    CHECK(srt_connect(port, server.srt_stream_id(e, LG_ROLE_PRIMARY, "1", wrong_token.c_str()),
                      kPassphrase) == SRT_REJX_UNAUTHORIZED);
    REQUIRE(server.wait_for([](const Events &ev) { return !ev.rejects.empty(); }, 10s));
    Events ev = server.snapshot();
    CHECK(ev.rejects[0].status == LG_E_AUTH);
    CHECK(ev.rejects[0].entry_id == e.id);
    CHECK(ev.rejects[0].reason.find("wrong or revoked token") != std::string::npos);
    CHECK(ev.rejects[0].reason.find(wrong_token) == std::string::npos);
  }
  SECTION("a regenerated-away token is refused at once") {
    lg_entry fresh{};
    fresh.struct_size = sizeof(fresh);
    REQUIRE(lg_server_regenerate_token(server.get(), e.id, LG_REVOKE_KEEP, &fresh) == LG_OK);
    CHECK(srt_connect(port, good, kPassphrase) == SRT_REJX_UNAUTHORIZED);
    CHECK(srt_connect(port, server.srt_stream_id(fresh), kPassphrase) == 0);
    accepted = true;
  }
  SECTION("a missing token is unauthorized") {
    const std::string no_token = "#!::r=" + std::string(e.id) + ".p/1,m=publish";
    CHECK(srt_connect(port, no_token, kPassphrase) == SRT_REJX_UNAUTHORIZED);
  }
  SECTION("a malformed stream id is a bad request and the host is told") {
    CHECK(srt_connect(port, "live/stream", "") == SRT_REJX_BAD_REQUEST);
    REQUIRE(server.wait_for([](const Events &ev) { return !ev.rejects.empty(); }, 10s));
    Events ev = server.snapshot();
    CHECK(ev.rejects[0].status == LG_E_URL);
    CHECK(ev.rejects[0].reason.find("stream id") != std::string::npos);
  }
  SECTION("no stream id at all is a bad request") {
    CHECK(srt_connect(port, "", "") == SRT_REJX_BAD_REQUEST);
  }
  SECTION("a request to play is a bad mode") {
    std::string play = good;
    play.replace(play.find("m=publish"), 9, "m=request");
    CHECK(srt_connect(port, play, kPassphrase) == SRT_REJX_BAD_MODE);
  }
  SECTION("an unknown entry is not found") {
    CHECK(srt_connect(port, "#!::r=1_zzzzzzzz.p/1,m=publish,livegate_token=" + std::string(e.token),
                      "") == SRT_REJX_NOTFOUND);
  }
  if (!accepted) CHECK(server.snapshot().starts.empty());
}

TEST_CASE("ffmpeg sees an SRT refusal for a wrong passphrase or token", "[srt][ffmpeg][auth]") {
  TestServer server(enable_all);
  lg_entry e = server.create_entry();
  set_passphrase(server, e, kPassphrase);
  TempDir tmp;
  Process wrong_pass(ffmpeg_srt(server.url_for(LG_SCHEME_SRT, e),
                                "&passphrase=not-the-passphrase&connect_timeout=4000000"),
                     tmp.file("p.log"));
  auto rc = wrong_pass.wait(30s);
  REQUIRE(rc.has_value());
  CHECK(*rc != 0);
  std::string wrong_token = e.token;
  wrong_token[0] = wrong_token[0] == 'a' ? 'b' : 'a';
  Process wrong_tok(
      ffmpeg_srt(server.url_for(LG_SCHEME_SRT, e, LG_ROLE_PRIMARY, "1", wrong_token.c_str()),
                 std::string("&passphrase=") + kPassphrase),
      tmp.file("t.log"));
  rc = wrong_tok.wait(30s);
  REQUIRE(rc.has_value());
  CHECK(*rc != 0);
  // libsrt in ffmpeg reports the listener's rejection.
  std::string said = wrong_tok.output();
  for (char &c : said) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  INFO(said);
  CHECK(said.find("reject") != std::string::npos);
  CHECK(server.snapshot().starts.empty());
}

// Seconds of `kbps` that a receive buffer of `bytes` holds: libsrt counts it
// in 1472-byte units, each carrying one 1316-byte payload.
double receive_buffer_payload_s(uint64_t bytes, double kbps) {
  return static_cast<double>(bytes) / 1472.0 * 1316.0 * 8.0 / (kbps * 1000.0);
}

TEST_CASE("SRT statistics are part of a live session's stats", "[srt][stats]") {
  TestServer server(enable_all);
  lg_entry e = server.create_entry();
  TempDir tmp;
  Process ff(
      {"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1",
       "-i", test_source().path, "-c", "copy", "-f", "mpegts", server.url_for(LG_SCHEME_SRT, e)},
      tmp.file("ff.log"));
  REQUIRE(server.wait_for(
      [](const Events &ev) {
        return !ev.starts.empty() && ev.frames.size() > 150;  // a few seconds in
      },
      30s));
  const uint64_t session = server.snapshot().starts[0].session_id;
  lg_session_stats stats{};
  stats.struct_size = sizeof(stats);
  REQUIRE(lg_server_get_session_stats(server.get(), session, &stats) == LG_OK);
  CHECK(stats.srt_valid == 1);
  CHECK(stats.srt_packets_received > 50);
  CHECK(stats.srt_rtt_ms >= 0);
  CHECK(stats.srt_receive_rate_mbps > 0);
  CHECK(stats.srt_latency_ms >= 120);
  CHECK(stats.srt_packets_lost == 0);
  CHECK(stats.bytes_in > 50000);
  // The buffer holds the latency + 1 s of srt_max_bitrate_kbps (50 Mbit/s),
  // in payload, and is far from libsrt's own 8192 x 1472 bytes.
  CHECK(receive_buffer_payload_s(stats.srt_receive_buffer_bytes, 50000) >= 1.12);
  CHECK(receive_buffer_payload_s(stats.srt_receive_buffer_bytes, 50000) < 1.2);
  // A caller built against the older, shorter struct still gets what it has.
  lg_session_stats old{};
  old.struct_size = offsetof(lg_session_stats, srt_valid);
  old.srt_valid = 7;
  REQUIRE(lg_server_get_session_stats(server.get(), session, &old) == LG_OK);
  CHECK(old.srt_valid == 7);
  CHECK(old.video_frames > 0);
  REQUIRE(lg_server_disconnect(server.get(), session, "enough") == LG_OK);
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.stops.empty(); }, 10s));
  CHECK(server.snapshot().stops[0].reason == "enough");
}

TEST_CASE("libsrt's buffers per caller follow srt_max_bitrate_kbps and the latency",
          "[srt][limits]") {
  TestServer server([](lg_server_options &o) {
    enable_all(o);
    o.srt_max_bitrate_kbps = 8000;
    o.srt_latency_ms = 400;
  });
  lg_entry e = server.create_entry();
  TempDir tmp;
  Process ff(
      {"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", test_source().path,
       "-c", "copy", "-f", "mpegts", server.url_for(LG_SCHEME_SRT, e) + "&linger=5"},
      tmp.file("ff.log"));
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.starts.empty(); }, 30s));
  lg_session_stats stats{};
  stats.struct_size = sizeof(stats);
  REQUIRE(lg_server_get_session_stats(server.get(), server.snapshot().starts[0].session_id,
                                      &stats) == LG_OK);
  INFO(stats.srt_receive_buffer_bytes);
  CHECK(receive_buffer_payload_s(stats.srt_receive_buffer_bytes, 8000) >= 1.4);
  CHECK(receive_buffer_payload_s(stats.srt_receive_buffer_bytes, 8000) < 1.5);
  // Small as it is, the buffer loses nothing of a stream within the bitrate.
  const auto rc = ff.wait(60s);
  INFO(ff.output());
  REQUIRE(rc == std::optional<int>(0));
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.stops.empty(); }, 30s));
  const Events ev = server.snapshot();
  CHECK(ev.stops[0].stats.srt_packets_dropped == 0);
  check_complete(ev, ev.starts[0].session_id, test_source());
}

TEST_CASE("AES-256 is selectable for SRT callers", "[srt][auth]") {
  TestServer server([](lg_server_options &o) {
    enable_all(o);
    o.srt_pbkeylen = 32;
  });
  lg_entry e = server.create_entry();
  set_passphrase(server, e, kPassphrase);
  const int port = server.port_of(LG_PROTOCOL_SRT);
  CHECK(srt_connect(port, server.srt_stream_id(e), kPassphrase, 32) == 0);
  CHECK(srt_connect(port, server.srt_stream_id(e), "wrong-passphrase-123", 32) ==
        SRT_REJ_BADSECRET);
  lg_server_options bad;
  lg_server_options_init(&bad);
  bad.srt_pbkeylen = 20;
  lg_server *s = nullptr;
  CHECK(lg_server_create(&s, &bad, nullptr) == LG_E_INVALID_ARG);
  CHECK(s == nullptr);
}

TEST_CASE("a TLS client that never finishes its handshake is cut off", "[rtmps][limits]") {
  TestServer server([](lg_server_options &o) {
    enable_all(o);
    o.handshake_timeout_ms = 500;
  });
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(server.port_of(LG_PROTOCOL_RTMPS)));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) == 0);
  // Half a ClientHello record header, then silence.
  const unsigned char partial[] = {0x16, 0x03, 0x01};
  REQUIRE(::send(fd, partial, sizeof(partial), 0) == 3);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[64];
  const auto t0 = std::chrono::steady_clock::now();
  const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  const int err = errno;
  const auto waited = std::chrono::steady_clock::now() - t0;
  ::close(fd);
  // The server closed it (EOF or reset); our own 10 s receive timeout did
  // not fire.
  CHECK((n == 0 || (n < 0 && err == ECONNRESET)));
  CHECK(waited < 8s);
}

TEST_CASE("RTMPS serves a certificate and key given as PEM files", "[rtmps][tls]") {
  if (!have_program("openssl")) {
    WARN("openssl not installed: test not exercised");
    return;
  }
  TempDir pem;
  const std::string cert = pem.file("cert.pem"), key = pem.file("key.pem");
  const std::string other_cert = pem.file("other.pem"), other_key = pem.file("other-key.pem");
  for (const auto &[c, k] : {std::pair{cert, key}, {other_cert, other_key}}) {
    REQUIRE(
        run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", k, "-out", c, "-days", "2", "-subj", "/CN=localhost"},
            30s) == 0);
  }
  std::string expected;
  REQUIRE(run({"openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256"}, 20s,
              &expected) == 0);
  TestServer server([&](lg_server_options &o) {
    enable_all(o);
    o.tls_cert_file = cert.c_str();
    o.tls_key_file = key.c_str();
  });
  char fp[128];
  REQUIRE(lg_server_get_tls_fingerprint(server.get(), fp, sizeof(fp)) == LG_OK);
  CHECK(expected.find(fp) != std::string::npos);
  lg_entry e = server.create_entry();
  TempDir tmp;
  Process ff({"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", test_source().path,
              "-c", "copy", "-f", "flv", server.url_for(LG_SCHEME_RTMPS, e)},
             tmp.file("ff.log"));
  REQUIRE(ff.wait(60s) == std::optional<int>(0));
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.stops.empty(); }));
  check_complete(server.snapshot(), server.snapshot().starts.at(0).session_id, test_source());

  // A key that is not the certificate's stops the server from starting.
  TempDir data;
  const std::string dir = data.file("d");
  lg_server_options o;
  lg_server_options_init(&o);
  o.data_dir = dir.c_str();
  o.rtmp_port = -1;
  enable_all(o);
  o.tls_cert_file = cert.c_str();
  o.tls_key_file = other_key.c_str();
  lg_server *bad = nullptr;
  REQUIRE(lg_server_create(&bad, &o, nullptr) == LG_OK);
  CHECK(lg_server_start(bad) == LG_E_TLS);
  lg_server_destroy(bad);
}

TEST_CASE("ffmpeg publishes HEVC over SRT and every frame arrives", "[srt][ffmpeg][hevc]") {
  std::string encoders;
  run({"ffmpeg", "-hide_banner", "-encoders"}, 20s, &encoders);
  if (encoders.find(" libx265 ") == std::string::npos) {
    WARN("ffmpeg has no libx265: test not exercised");
    return;
  }
  TempDir tmp;
  const Source src = make_source(tmp.file("hevc.ts"), 3, "libx265");
  TestServer server(enable_all);
  lg_entry e = server.create_entry();
  Process ff({"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", src.path, "-c",
              "copy", "-f", "mpegts", server.url_for(LG_SCHEME_SRT, e) + "&linger=5"},
             tmp.file("ff.log"));
  REQUIRE(ff.wait(60s) == std::optional<int>(0));
  REQUIRE(server.wait_for([](const Events &ev) { return !ev.stops.empty(); }, 40s));
  Events ev = server.snapshot();
  REQUIRE(ev.starts.size() == 1);
  CHECK(ev.starts[0].vcodec == LG_CODEC_HEVC);
  CHECK(ev.starts[0].video_codec.rfind("hvc1.", 0) == 0);
  CHECK(ev.starts[0].width == 320);
  CHECK(ev.starts[0].height == 240);
  check_complete(ev, ev.starts[0].session_id, src);
}

TEST_CASE("SRT: failed token attempts are throttled per address in the handshake",
          "[srt][limits]") {
  TestServer server([](lg_server_options &o) {
    enable_all(o);
    o.max_auth_failures_per_minute = 3;
  });
  const int port = server.port_of(LG_PROTOCOL_SRT);
  const lg_entry e = server.create_entry();
  std::string wrong_token = e.token;
  wrong_token[0] = wrong_token[0] == 'a' ? 'b' : 'a';
  const std::string wrong = server.srt_stream_id(e, LG_ROLE_PRIMARY, "1", wrong_token.c_str());
  for (int i = 0; i < 3; ++i) CHECK(srt_connect(port, wrong, "") == SRT_REJX_UNAUTHORIZED);
  // Now even the right token is refused unchecked, as overload, with a reason
  // that says when to retry.
  CHECK(srt_connect(port, server.srt_stream_id(e), "") == SRT_REJX_OVERLOAD);
  REQUIRE(server.wait_for([](const Events &ev) { return ev.rejects.size() == 4; }, 10s));
  const Events ev = server.snapshot();
  CHECK(ev.rejects[3].status == LG_E_LIMIT);
  CHECK(ev.rejects[3].reason.find("too many failed publish attempts") != std::string::npos);
  lg_server_counters c{};
  c.struct_size = sizeof c;
  REQUIRE(lg_server_get_counters(server.get(), &c) == LG_OK);
  CHECK(c.publishes_throttled == 1);
}
