// The publishing state machine, driven by what real encoders sent (captured
// byte streams of ffmpeg and librtmp), fed whole, byte by byte and at random
// split points.
#include <catch2/catch.hpp>
#include <random>

#include "rtmp/messages.h"
#include "rtmp/session.h"
#include "unit/rtmp/rtmp_test_support.h"

using namespace lg::rtmp;
using lg::rtmp::test::read_fixture;

namespace {

// What an encoder sends: C0+C1, C2 (content not checked by servers), then
// its chunk stream.
std::vector<uint8_t> client_bytes(const std::string &prefix) {
  std::vector<uint8_t> bytes = read_fixture(prefix + "_c0c1.bin");
  bytes.resize(bytes.size() + 1536, 0x5a);
  auto chunks = read_fixture(prefix + "_chunks.bin");
  bytes.insert(bytes.end(), chunks.begin(), chunks.end());
  return bytes;
}

// The same encoder's bytes cut before it unpublishes: its messages are
// decoded and written again, up to the first FCUnpublish/deleteStream.
std::vector<uint8_t> client_bytes_until_unpublish(const std::string &prefix) {
  std::vector<uint8_t> out = read_fixture(prefix + "_c0c1.bin");
  out.resize(out.size() + 1536, 0x5a);
  const auto chunks = read_fixture(prefix + "_chunks.bin");
  std::span<const uint8_t> rest(chunks);
  ChunkReader reader;
  ChunkWriter writer;
  for (;;) {
    size_t used = 0;
    Message msg;
    auto st = reader.feed(rest, used, msg);
    rest = rest.subspan(used);
    REQUIRE(st != ChunkReader::Status::Error);
    if (st == ChunkReader::Status::NeedMore) break;
    if (msg.type_id == msg_type::kCommandAmf0) {
      std::vector<amf0::Value> values;
      std::string error;
      REQUIRE(amf0::decode_all(msg.payload, {}, values, error));
      auto name = values.at(0).as_string();
      if (name == "FCUnpublish" || name == "deleteStream") break;
    }
    writer.write(msg, out);
    if (msg.type_id == msg_type::kSetChunkSize) writer.set_chunk_size(reader.chunk_size());
  }
  return out;
}

struct Recorder : ServerSession::Handler {
  std::vector<uint8_t> sent;
  std::vector<std::string> events;
  ConnectInfo connect;
  std::string stream_name;
  int media = 0, video = 0, audio = 0;
  std::vector<uint32_t> video_ts;
  std::string metadata_keys;
  bool accept_on_publish = true;
  ServerSession *session = nullptr;

  void on_rtmp_send(std::vector<uint8_t> bytes) override {
    sent.insert(sent.end(), bytes.begin(), bytes.end());
  }
  void on_rtmp_connect(const ConnectInfo &info) override {
    connect = info;
    events.push_back("connect");
  }
  void on_rtmp_publish(std::string_view name, std::string_view) override {
    stream_name = std::string(name);
    events.push_back("publish");
    if (accept_on_publish) session->accept_publish();
  }
  void on_rtmp_unpublish() override { events.push_back("unpublish"); }
  void on_rtmp_metadata(const amf0::Value &m) override {
    events.push_back("metadata");
    if (m.get("width")) metadata_keys += "width ";
    if (m.get("audiosamplerate")) metadata_keys += "audiosamplerate ";
  }
  void on_rtmp_media(uint8_t type, uint32_t ts, std::vector<uint8_t> payload) override {
    ++media;
    REQUIRE(!payload.empty());
    if (type == msg_type::kVideo) {
      ++video;
      video_ts.push_back(ts);
    } else {
      ++audio;
    }
  }
};

struct Reply {
  std::string name;  // command name, or "type:N" for other messages
  std::vector<amf0::Value> values;
  Message msg;
};

// Decodes what the server sent: S0+S1+S2, then its chunk stream.
std::vector<Reply> decode_replies(const std::vector<uint8_t> &sent) {
  REQUIRE(sent.size() >= 3073);
  CHECK(sent[0] == 3);
  std::span<const uint8_t> rest(sent.data() + 3073, sent.size() - 3073);
  ChunkReader reader;
  std::vector<Reply> out;
  while (!rest.empty()) {
    size_t used = 0;
    Message msg;
    auto st = reader.feed(rest, used, msg);
    rest = rest.subspan(used);
    REQUIRE(st != ChunkReader::Status::Error);
    if (st == ChunkReader::Status::NeedMore) break;
    Reply r;
    if (msg.type_id == msg_type::kCommandAmf0) {
      std::string error;
      REQUIRE(amf0::decode_all(msg.payload, {}, r.values, error));
      r.name = std::string(r.values.at(0).as_string());
    } else {
      r.name = "type:" + std::to_string(msg.type_id);
    }
    r.msg = std::move(msg);
    out.push_back(std::move(r));
  }
  return out;
}

std::string status_code(const Reply &r) {
  if (r.values.size() < 4) return "";
  const amf0::Value *code = r.values[3].get("code");
  return code ? std::string(code->as_string()) : "";
}

void feed_in_pieces(ServerSession &session, const std::vector<uint8_t> &bytes, size_t max_piece,
                    uint32_t seed) {
  std::mt19937 rng(seed);
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t n = max_piece == 1 ? 1 : 1 + rng() % max_piece;
    n = std::min(n, bytes.size() - pos);
    REQUIRE(session.feed(std::span<const uint8_t>(bytes.data() + pos, n)) == LG_OK);
    pos += n;
  }
}

auto random_fill = [](std::span<uint8_t> out) {
  for (auto &b : out) b = 0x42;
};

}  // namespace

TEST_CASE("a captured ffmpeg publish runs through the session at any split", "[rtmp][session]") {
  const auto bytes = client_bytes("ffmpeg_publish");
  size_t piece = GENERATE(size_t(1), size_t(7), size_t(1000), size_t(1 << 20));
  Recorder rec;
  ServerSession session(rec, random_fill);
  rec.session = &session;
  feed_in_pieces(session, bytes, piece, 1234);

  CHECK(session.handshake_done());
  CHECK(session.used_digest_handshake());  // ffmpeg sends an FP9 C1
  CHECK(rec.connect.app == "app");
  CHECK(rec.connect.tc_url.find("rtmp://127.0.0.1:") == 0);
  CHECK(rec.connect.flash_ver.find("FMLE") != std::string::npos);
  CHECK(rec.stream_name == "stream");
  REQUIRE(rec.events.size() >= 3);
  CHECK(rec.events[0] == "connect");
  CHECK(rec.events[1] == "publish");
  CHECK(rec.events[2] == "metadata");
  CHECK(rec.metadata_keys == "width audiosamplerate ");
  CHECK(rec.video > 0);
  CHECK(rec.audio > 0);
  for (size_t i = 1; i < rec.video_ts.size(); ++i) CHECK(rec.video_ts[i] >= rec.video_ts[i - 1]);
  if (rec.events.back() == "unpublish") CHECK_FALSE(session.publishing());

  // The replies ffmpeg waits for, in order.
  auto replies = decode_replies(rec.sent);
  std::vector<std::string> names;
  for (auto &r : replies) names.push_back(r.name);
  REQUIRE(names.size() >= 7);
  CHECK(names[0] == "type:5");  // Window Acknowledgement Size
  CHECK(names[1] == "type:6");  // Set Peer Bandwidth
  CHECK(names[2] == "type:1");  // Set Chunk Size
  CHECK(names[3] == "_result");
  CHECK(status_code(replies[3]) == "NetConnection.Connect.Success");
  auto start = std::find_if(replies.begin(), replies.end(), [](const Reply &r) {
    return r.name == "onStatus" && status_code(r) == "NetStream.Publish.Start";
  });
  REQUIRE(start != replies.end());
  CHECK(start->msg.stream_id == 1);  // on the stream createStream returned
  auto begin = std::find_if(replies.begin(), replies.end(),
                            [](const Reply &r) { return r.name == "type:4"; });
  REQUIRE(begin != replies.end());
  CHECK(begin < start);  // StreamBegin precedes Publish.Start
}

TEST_CASE("a captured librtmp publish runs through the session", "[rtmp][session]") {
  const auto bytes = client_bytes("librtmp_publish");
  Recorder rec;
  ServerSession session(rec, random_fill);
  rec.session = &session;
  feed_in_pieces(session, bytes, 13, 99);
  CHECK(rec.events.at(0) == "connect");
  CHECK(rec.events.at(1) == "publish");
  CHECK(rec.media > 0);
}

TEST_CASE("media sent before the publish is authorised is held, then delivered in order",
          "[rtmp][session]") {
  const auto bytes = client_bytes_until_unpublish("ffmpeg_publish");
  Recorder rec;
  rec.accept_on_publish = false;
  ServerSession session(rec, random_fill);
  rec.session = &session;
  REQUIRE(session.feed(bytes) == LG_OK);
  CHECK(rec.media == 0);
  CHECK_FALSE(session.publishing());
  session.accept_publish();
  CHECK(session.publishing());
  CHECK(rec.video > 0);
  CHECK(rec.audio > 0);
  for (size_t i = 1; i < rec.video_ts.size(); ++i) CHECK(rec.video_ts[i] >= rec.video_ts[i - 1]);

  // The held media is exactly what a session that accepted at once delivers.
  Recorder direct;
  ServerSession other(direct, random_fill);
  direct.session = &other;
  REQUIRE(other.feed(bytes) == LG_OK);
  CHECK(direct.video == rec.video);
  CHECK(direct.audio == rec.audio);
  CHECK(direct.video_ts == rec.video_ts);
}

TEST_CASE("a refused publish tells the encoder why", "[rtmp][session]") {
  const auto bytes = client_bytes("ffmpeg_publish");
  Recorder rec;
  rec.accept_on_publish = false;
  ServerSession session(rec, random_fill);
  rec.session = &session;
  REQUIRE(session.feed(bytes) == LG_OK);
  session.reject_publish("NetStream.Publish.Denied", "authentication failed: wrong token");
  auto replies = decode_replies(rec.sent);
  const Reply &last = replies.back();
  CHECK(last.name == "onStatus");
  CHECK(status_code(last) == "NetStream.Publish.Denied");
  CHECK(last.values[3].get("level")->as_string() == "error");
  CHECK(last.values[3].get("description")->as_string() == "authentication failed: wrong token");
  CHECK(rec.media == 0);
  // Nothing more is accepted once refused.
  CHECK(session.feed(bytes) != LG_OK);
}

TEST_CASE("what is not RTMP is refused with a reason an operator understands", "[rtmp][session]") {
  Recorder rec;
  SECTION("TLS on the plain port") {
    ServerSession session(rec, random_fill);
    const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
    CHECK(session.feed(hello) == LG_E_PROTOCOL);
    CHECK(session.error().find("TLS") != std::string::npos);
  }
  SECTION("HTTP on the RTMP port") {
    ServerSession session(rec, random_fill);
    const std::string get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(session.feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(get.data()),
                                                get.size())) == LG_E_PROTOCOL);
    CHECK(session.error().find("HTTP") != std::string::npos);
  }
  SECTION("a command before connect") {
    ServerSession session(rec, random_fill);
    std::vector<uint8_t> bytes(1537 + 1536, 0);
    bytes[0] = 3;
    amf0::Value cmd[] = {amf0::Value::string("publish"), amf0::Value::number(5),
                         amf0::Value::null(), amf0::Value::string("1")};
    ChunkWriter writer;
    writer.write(make_command(3, 1, cmd), bytes);
    CHECK(session.feed(bytes) == LG_E_PROTOCOL);
    CHECK(session.error().find("before connect") != std::string::npos);
  }
}

TEST_CASE("ping requests are answered and play is refused", "[rtmp][session]") {
  Recorder rec;
  ServerSession session(rec, random_fill);
  rec.session = &session;
  std::vector<uint8_t> bytes(1537 + 1536, 0);
  bytes[0] = 3;
  ChunkWriter writer;
  amf0::Value connect[] = {amf0::Value::string("connect"), amf0::Value::number(1),
                           amf0::Value::object({{"app", amf0::Value::string("kLive")},
                                                {"tcUrl", amf0::Value::string("rtmp://h/kLive")}})};
  writer.write(make_command(3, 0, connect), bytes);
  const uint8_t ping[] = {0, 0, 0x12, 0x34};
  writer.write(make_user_control(user_control::kPingRequest, ping), bytes);
  REQUIRE(session.feed(bytes) == LG_OK);
  auto replies = decode_replies(rec.sent);
  auto pong = std::find_if(replies.begin(), replies.end(), [](const Reply &r) {
    return r.name == "type:4" && r.msg.payload.size() == 6 && r.msg.payload[1] == 7;
  });
  REQUIRE(pong != replies.end());
  CHECK(pong->msg.payload[4] == 0x12);
  CHECK(pong->msg.payload[5] == 0x34);

  std::vector<uint8_t> more;
  amf0::Value play[] = {amf0::Value::string("play"), amf0::Value::number(0), amf0::Value::null(),
                        amf0::Value::string("1")};
  writer.write(make_command(8, 1, play), more);
  CHECK(session.feed(more) == LG_E_UNSUPPORTED);
  CHECK(status_code(decode_replies(rec.sent).back()) == "NetStream.Play.Failed");
}

TEST_CASE("malformed metadata is skipped without ending the stream", "[rtmp][session]") {
  const auto bytes = client_bytes_until_unpublish("ffmpeg_publish");
  Recorder rec;
  ServerSession session(rec, random_fill);
  rec.session = &session;
  REQUIRE(session.feed(bytes) == LG_OK);
  const int video_before = rec.video;
  std::vector<uint8_t> more;
  ChunkWriter writer;
  writer.set_chunk_size(4096);  // ffmpeg announced this size earlier in the capture
  Message bad;
  bad.csid = 4;
  bad.type_id = msg_type::kDataAmf0;
  bad.stream_id = 1;
  bad.payload = {0x02, 0x00, 0x0a, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 0x03, 0x00};
  writer.write(bad, more);
  CHECK(session.feed(more) == LG_OK);
  CHECK(session.malformed_data() == 1);
  CHECK(session.publishing());
  CHECK(rec.video == video_before);
}
