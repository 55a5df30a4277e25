// What hurt other RTMP servers, sent to a real server over real sockets. Each
// case names the report it reproduces. Hostile input is refused with a clear
// reason and bounded memory; input that is merely unusual interoperates; and
// other encoders on the same server never notice.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <thread>

#include "unit/ingest/live_server.h"
#include "unit/ingest/raw_rtmp_client.h"

using namespace lg;
using namespace lg::test;
using rtmp::amf0::Value;

namespace {

// A field of /proc/self/status in KiB (VmPeak, VmHWM, ...).
uint64_t proc_status_kib(const std::string &field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      std::istringstream fields(line.substr(field.size() + 1));
      uint64_t kib = 0;
      fields >> kib;
      return kib;
    }
  }
  FAIL("no " << field << " in /proc/self/status");
  return 0;
}

// Handshake, connect and publish to `path`; returns the onStatus code.
std::string start_publish(RawRtmpClient &client, const PublishPath &path) {
  REQUIRE(client.connected());
  REQUIRE(client.handshake());
  REQUIRE(client.connect(path.app, path.tc_url));
  REQUIRE(client.publish(path.stream));
  return client.wait_status();
}

// Sends the captured publish's media, each message on `csid_for(msg)` and
// with `ts_offset` added to its timestamp.
void send_media(RawRtmpClient &client, const std::vector<rtmp::Message> &media,
                uint32_t ts_offset = 0,
                const std::function<uint32_t(const rtmp::Message &)> &csid_for = {}) {
  for (rtmp::Message msg : media) {
    msg.stream_id = 1;
    msg.timestamp += ts_offset;
    if (csid_for) msg.csid = csid_for(msg);
    REQUIRE(client.write(msg));
  }
}

// Video frames: AVC NAL unit packets, not the sequence header or its end.
int count_frames(const std::vector<rtmp::Message> &media) {
  int n = 0;
  for (const auto &m : media) {
    n += m.type_id == rtmp::msg_type::kVideo && m.payload.size() > 1 && m.payload[1] == 1;
  }
  return n;
}

// The encoder leaves; then every video frame it sent has arrived in one
// session, dts rising.
void require_whole_stream(LiveServer &live, RawRtmpClient &client,
                          const std::vector<rtmp::Message> &media) {
  client.close();
  REQUIRE(live.events.wait([&] {
    const auto &sessions = live.events.sessions_locked();
    return !sessions.empty() && sessions.begin()->second.stopped;
  }));
  const auto sessions = live.events.sessions();
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[0].video_frames == count_frames(media));
  CHECK(sessions[0].audio_frames > 0);
  CHECK(sessions[0].dts_rising);
}

}  // namespace

TEST_CASE("hostile peers: a huge Set Chunk Size is taken and allocates nothing (nginx-rtmp 1042)",
          "[ingest][limits]") {
  // nginx-rtmp allocated the announced chunk size: 0x7FFFFFFF cost 2 GiB.
  // Real peers announce up to 128 MiB and must interoperate.
  const uint32_t size = GENERATE(uint32_t{128} << 20, uint32_t{0x7FFFFFFF});
  LiveServer live;
  const auto entry = live.create_entry();
  const auto &media = encoded_media();
  const uint64_t peak_before = proc_status_kib("VmPeak");

  RawRtmpClient client(live.port());
  REQUIRE(client.connected());
  REQUIRE(client.handshake());
  client.set_chunk_size(size);
  const PublishPath path = live.path(entry);
  REQUIRE(client.connect(path.app, path.tc_url));
  REQUIRE(client.publish(path.stream));
  REQUIRE(client.wait_status() == "NetStream.Publish.Start");
  send_media(client, media);
  require_whole_stream(live, client, media);
  // Address space, not just resident memory: an untouched 2 GiB allocation
  // would show here.
  CHECK(proc_status_kib("VmPeak") - peak_before < 512 * 1024);
}

TEST_CASE(
    "hostile peers: app, stream name and tcUrl longer than any buffer "
    "(nginx-http-flv-module 170)",
    "[ingest][limits]") {
  LiveServer live;
  const auto entry = live.create_entry();
  const PublishPath good = live.path(entry);

  SECTION("longer than an AMF string may be: the connection ends") {
    const std::string huge(200 * 1024, 'a');
    for (int field = 0; field < 2; ++field) {
      RawRtmpClient client(live.port());
      REQUIRE(client.handshake());
      REQUIRE(client.connect(field == 0 ? huge : good.app, field == 1 ? huge : good.tc_url));
      CHECK(client.closed_within(5000));
    }
    RawRtmpClient client(live.port());
    REQUIRE(client.handshake());
    REQUIRE(client.connect(good.app, good.tc_url));
    REQUIRE(client.publish(std::string(200 * 1024, 's')));
    CHECK(client.closed_within(5000));
  }
  SECTION("within AMF limits but past any URL: refused with a reason") {
    const std::string long_text(60000, 'x');
    struct Case {
      PublishPath path;
      std::string what;
    };
    const std::vector<Case> cases = {
        {{good.app + long_text, good.tc_url, good.stream}, "app"},
        {{good.app, good.tc_url + long_text, good.stream}, "tcUrl"},
        {{good.app, good.tc_url, good.stream + long_text}, "stream"},
    };
    for (const Case &c : cases) {
      INFO(c.what);
      RawRtmpClient client(live.port());
      const std::string code = start_publish(client, c.path);
      CHECK((code == "NetStream.Publish.BadName" || code == "NetStream.Publish.Denied"));
      CHECK(client.closed_within(5000));
    }
    const auto rejects = live.events.rejects();
    REQUIRE(rejects.size() == cases.size());
    for (const auto &reject : rejects) {
      CHECK(reject.status == LG_E_URL);
      CHECK_FALSE(reject.reason.empty());
      CHECK(reject.reason.size() < 300);  // the reason does not echo the input
    }
  }
  // And the server still takes a normal publish.
  RawRtmpClient client(live.port());
  CHECK(start_publish(client, good) == "NetStream.Publish.Start");
}

TEST_CASE("hostile peers: chunk stream ids across the whole 3-byte range (nginx-rtmp 246)",
          "[ingest][limits]") {
  LiveServer live;
  const auto entry = live.create_entry();
  const auto &media = encoded_media();
  RawRtmpClient client(live.port());
  REQUIRE(start_publish(client, live.path(entry)) == "NetStream.Publish.Start");
  // Video on the highest csid there is, audio on the lowest 3-byte one,
  // data on the highest 2-byte one.
  send_media(client, media, 0, [](const rtmp::Message &m) -> uint32_t {
    return m.type_id == rtmp::msg_type::kVideo   ? rtmp::kMaxCsid
           : m.type_id == rtmp::msg_type::kAudio ? 320
                                                 : 319;
  });
  require_whole_stream(live, client, media);

  SECTION("more chunk streams than the limit end the connection, not the server") {
    RawRtmpClient spray(live.port());
    REQUIRE(spray.handshake());
    bool open = true;
    for (uint32_t i = 0; i < 70 && open; ++i) {
      rtmp::Message m;
      m.csid = 2 + i * 937;
      m.type_id = rtmp::msg_type::kDataAmf0;
      m.stream_id = 0;
      m.payload = {0x05};
      open = spray.write(m);
    }
    CHECK(spray.closed_within(5000));
    CHECK(live.server().counters().limit_errors + live.server().counters().protocol_errors == 1);
  }
}

TEST_CASE("hostile peers: extended timestamps on type-3 chunks", "[ingest][limits]") {
  LiveServer live;
  const auto entry = live.create_entry();
  const auto &media = encoded_media();
  RawRtmpClient client(live.port());
  REQUIRE(start_publish(client, live.path(entry)) == "NetStream.Publish.Start");
  // Past 0xFFFFFF every header carries an extended timestamp, and at the
  // default 128-byte chunk size every video frame continues in type-3 chunks.
  send_media(client, media, 0x01000000);
  require_whole_stream(live, client, media);
}

TEST_CASE("hostile peers: a 0xFFFFFF-byte message opened on every chunk stream at once",
          "[ingest][limits]") {
  LiveServer live;
  const auto entry = live.create_entry();
  const auto &media = encoded_media();
  // A real publish runs meanwhile on its own connection.
  RawRtmpClient good(live.port());
  REQUIRE(start_publish(good, live.path(entry)) == "NetStream.Publish.Start");
  const uint64_t hwm_before = proc_status_kib("VmHWM");

  RawRtmpClient hostile(live.port());
  REQUIRE(hostile.handshake());
  // Every chunk stream the default limit allows (64, the Set Chunk Size on
  // csid 2 included), each a type-0 header announcing
  // 0xFFFFFF bytes, then 64 KiB chunks round-robin until the server cuts.
  hostile.set_chunk_size(65536);
  const std::vector<uint8_t> filler(65536, 0xAB);
  bool open = true;
  size_t sent = 0;
  for (int round = 0; open && round < 64; ++round) {
    for (uint32_t csid = 3; csid < 3 + 63 && open; ++csid) {
      // Basic header: one byte up to csid 63, two bytes from 64.
      std::vector<uint8_t> chunk;
      const uint8_t fmt = round == 0 ? 0 : 3;
      if (csid < 64) {
        chunk = {static_cast<uint8_t>(fmt << 6 | csid)};
      } else {
        chunk = {static_cast<uint8_t>(fmt << 6), static_cast<uint8_t>(csid - 64)};
      }
      if (round == 0) {
        // Timestamp 0, length 0xFFFFFF, video, message stream 1.
        static constexpr uint8_t kHeader[] = {0, 0, 0, 0xFF, 0xFF, 0xFF, 0x09, 1, 0, 0, 0};
        for (uint8_t b : kHeader) chunk.push_back(b);
      }
      chunk.insert(chunk.end(), filler.begin(), filler.end());
      open = hostile.send(chunk);
      sent += filler.size();
    }
  }
  CHECK(hostile.closed_within(5000));
  CHECK(live.server().counters().limit_errors == 1);
  CHECK(sent < size_t{256} << 20);  // cut well before 64 x 16 MiB
  // What the server held is bounded by max_incomplete_bytes (32 MiB), not by
  // 64 x 16 MiB; the margin covers allocator and sanitizer overhead.
  CHECK(proc_status_kib("VmHWM") - hwm_before < 256 * 1024);

  // The other encoder never noticed.
  send_media(good, media);
  require_whole_stream(live, good, media);
}

TEST_CASE("hostile peers: slowloris is cut off by the handshake timeout", "[ingest][limits]") {
  LiveServer live([](ingest::ServerConfig &config) { config.handshake_timeout_ms = 1000; });
  const auto start = Clock::now();
  SECTION("connect and send nothing") {
    RawRtmpClient client(live.port());
    REQUIRE(client.connected());
    CHECK(client.closed_within(10000));
  }
  SECTION("one byte every 100 ms, forever") {
    RawRtmpClient client(live.port());
    REQUIRE(client.connected());
    std::vector<uint8_t> c0c1(1537, 0);
    c0c1[0] = 3;
    bool open = true;
    for (size_t i = 0; i < c0c1.size() && open; ++i) {
      open = client.send(std::span<const uint8_t>(&c0c1[i], 1)) && !client.closed_within(100);
    }
    CHECK_FALSE(open);
  }
  SECTION("a finished handshake and connect, then nothing") {
    RawRtmpClient client(live.port());
    REQUIRE(client.handshake());
    const auto entry = live.create_entry();
    const PublishPath path = live.path(entry);
    REQUIRE(client.connect(path.app, path.tc_url));
    CHECK(client.closed_within(10000));
  }
  // Cut by the timeout, not by something else at once.
  CHECK(Clock::now() - start >= std::chrono::milliseconds(900));
  CHECK(live.server().counters().handshake_timeouts == 1);
}

TEST_CASE("limits: connections per source address", "[ingest][limits]") {
  LiveServer live([](ingest::ServerConfig &config) { config.max_connections_per_source = 3; });
  std::vector<std::unique_ptr<RawRtmpClient>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<RawRtmpClient>(live.port()));
    REQUIRE(idle.back()->handshake());
  }
  RawRtmpClient fourth(live.port());
  CHECK(fourth.closed_within(5000));
  CHECK(live.server().counters().connections_refused == 1);
  // One leaves: a new one is taken again.
  idle.pop_back();
  const auto entry = live.create_entry();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // for the close to land
  RawRtmpClient again(live.port());
  CHECK(start_publish(again, live.path(entry)) == "NetStream.Publish.Start");
}

TEST_CASE("limits: failed token attempts are throttled per source address", "[ingest][limits]") {
  LiveServer live([](ingest::ServerConfig &config) { config.max_auth_failures_per_minute = 3; });
  const auto trusted_entry = live.create_entry("trusted");
  const auto target = live.create_entry("target");
  {
    // An encoder that already published with its right token.
    RawRtmpClient encoder(live.port());
    REQUIRE(start_publish(encoder, live.path(trusted_entry)) == "NetStream.Publish.Start");
  }
  const std::string wrong(target.token.size(), 'A');
  for (int i = 0; i < 3; ++i) {
    RawRtmpClient guess(live.port());
    CHECK(start_publish(guess, live.path(target, "main", &wrong)) != "NetStream.Publish.Start");
  }
  // The fourth try is refused unchecked, even with the right token...
  {
    RawRtmpClient client(live.port());
    CHECK(start_publish(client, live.path(target)) != "NetStream.Publish.Start");
  }
  live.events.wait([&] { return live.events.rejects_locked().size() >= 4; });
  auto rejects = live.events.rejects();
  for (const auto &r : rejects) UNSCOPED_INFO(r.status << " " << r.reason);
  REQUIRE(rejects.size() == 4);
  for (int i = 0; i < 3; ++i) CHECK(rejects[i].status == LG_E_AUTH);
  CHECK(rejects[3].status == LG_E_LIMIT);
  CHECK_THAT(rejects[3].reason,
             Catch::Contains("too many failed publish attempts") && Catch::Contains("retry in"));
  CHECK(live.server().counters().publishes_throttled == 1);
  // ...but the encoder that proved its token before is not locked out.
  RawRtmpClient encoder(live.port());
  CHECK(start_publish(encoder, live.path(trusted_entry, "second")) == "NetStream.Publish.Start");
}
