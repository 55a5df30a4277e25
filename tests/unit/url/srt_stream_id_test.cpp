#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "auth/random.h"
#include "auth/token.h"
#include "url/endpoint.h"
#include "url/srt_stream_id.h"

using namespace lg::url;

namespace {

const std::string kToken = "b9106yth4abcdefghijk2345";

PublishTarget must_parse_id(std::string_view sid) {
  PublishTarget t;
  StreamIdRefusal why = StreamIdRefusal::None;
  std::string error;
  const bool ok = parse_srt_stream_id(sid, t, why, error);
  INFO(sid << " -> " << error);
  REQUIRE(ok);
  CHECK(why == StreamIdRefusal::None);
  return t;
}

StreamIdRefusal refusal_of(std::string_view sid, std::string *message = nullptr) {
  PublishTarget t;
  StreamIdRefusal why = StreamIdRefusal::None;
  std::string error;
  const bool ok = parse_srt_stream_id(sid, t, why, error);
  INFO(sid);
  CHECK_FALSE(ok);
  CHECK_FALSE(error.empty());
  if (message) *message = error;
  return why;
}

BuildOptions srt_options(std::string host, uint16_t port = 0) {
  BuildOptions o;
  o.host = std::move(host);
  o.port = port;
  o.scheme = Scheme::Srt;
  return o;
}

}  // namespace

TEST_CASE("SRT stream id: built in the access-control syntax", "[url][srt]") {
  CHECK(build_srt_stream_id("1_gdrt137u", Role::Primary, kToken, "1") ==
        "#!::r=1_gdrt137u.p/1,m=publish,livegate_token=" + kToken);
  CHECK(build_srt_stream_id("1_gdrt137u", Role::Backup, "", "audio_en") ==
        "#!::r=1_gdrt137u.b/audio_en,m=publish");
}

TEST_CASE("SRT stream id: the parser is the builder's inverse", "[url][srt]") {
  for (Role role : {Role::Primary, Role::Backup}) {
    for (std::string token : {kToken, std::string()}) {
      for (std::string stream : {"1", "720p", "audio-fr_2"}) {
        const PublishTarget t =
            must_parse_id(build_srt_stream_id("1_gdrt137u", role, token, stream));
        CHECK(t.entry_id == "1_gdrt137u");
        CHECK(t.role == role);
        CHECK(t.token == token);
        CHECK(t.stream_name == stream);
      }
    }
  }
}

TEST_CASE("SRT stream id: key order, extra standard keys and foreign keys", "[url][srt]") {
  const PublishTarget t = must_parse_id("#!::livegate_token=" + kToken +
                                        ",u=alice,h=ingest.example.com,t=stream,"
                                        "acme_x=1,r=1_abc123.b/2,m=publish");
  CHECK(t.entry_id == "1_abc123");
  CHECK(t.role == Role::Backup);
  CHECK(t.stream_name == "2");
  CHECK(t.token == kToken);
  // No mode: an ingest listener takes it as a publish.
  CHECK(must_parse_id("#!::r=1_abc123.p/1").stream_name == "1");
}

TEST_CASE("SRT stream id: each malformed form is refused with its reason", "[url][srt]") {
  std::string msg;
  CHECK(refusal_of("", &msg) == StreamIdRefusal::BadRequest);
  CHECK(refusal_of("1_abc123.p/1", &msg) == StreamIdRefusal::BadRequest);
  CHECK(msg.find("access-control") != std::string::npos);
  CHECK(refusal_of("#!:{r=1_abc123.p/1}") == StreamIdRefusal::BadRequest);
  CHECK(refusal_of("#!::m=publish") == StreamIdRefusal::BadRequest);
  CHECK(refusal_of("#!::r=1_abc123.p", &msg) == StreamIdRefusal::BadRequest);
  CHECK(msg.find("names no stream") != std::string::npos);
  CHECK(refusal_of("#!::r=1_abc123.x/1", &msg) == StreamIdRefusal::BadRequest);
  CHECK(msg.find("role") != std::string::npos);
  CHECK(refusal_of("#!::r=1_abc123/1") == StreamIdRefusal::BadRequest);
  CHECK(refusal_of("#!::r=NOPE.p/1") == StreamIdRefusal::BadRequest);
  CHECK(refusal_of("#!::r=1_abc123.p/a b") == StreamIdRefusal::BadRequest);
  CHECK(refusal_of("#!::r=1_abc123.p/1,r=1_abc123.p/2") == StreamIdRefusal::BadRequest);
  CHECK(refusal_of("#!::r=1_abc123.p/1,oops") == StreamIdRefusal::BadRequest);
  CHECK(refusal_of("#!::r=1_abc123.p/1,livegate_token=bad!token") == StreamIdRefusal::BadRequest);
  CHECK(refusal_of("#!::r=1_abc123.p/1,m=request", &msg) == StreamIdRefusal::BadMode);
  CHECK(msg.find("m=publish") != std::string::npos);
  CHECK(refusal_of("#!::r=1_abc123.p/1,m=bidirectional") == StreamIdRefusal::BadMode);
  CHECK(refusal_of("#!::r=1_abc123.p/1,t=file") == StreamIdRefusal::UnsupportedType);
  CHECK(refusal_of("#!::r=1_abc123.p/1\n") == StreamIdRefusal::BadRequest);
  CHECK(refusal_of("#!::r=1_abc123.p/1," + std::string(600, 'x')) == StreamIdRefusal::BadRequest);
  std::string many = "#!::r=1_abc123.p/1";
  for (int i = 0; i < 20; ++i) many += ",k" + std::to_string(i) + "=v";
  CHECK(refusal_of(many) == StreamIdRefusal::BadRequest);
}

TEST_CASE("SRT stream id: one that arrives still percent-encoded is decoded", "[url][srt]") {
  // FFmpeg 5.1 sends streamid= from its URL without decoding it.
  const PublishTarget t = must_parse_id(
      "%23%21%3A%3Ar%3D1_abc123.b%2F1%2Cm%3Dpublish%2C"
      "livegate_token%3D" +
      kToken);
  CHECK(t.entry_id == "1_abc123");
  CHECK(t.role == Role::Backup);
  CHECK(t.token == kToken);
  CHECK(refusal_of("%23%21%3A%3Ar%3D1_abc123.b%2F1%0A") == StreamIdRefusal::BadRequest);
  CHECK(refusal_of("%23%2") == StreamIdRefusal::BadRequest);
}

TEST_CASE("SRT stream id: a wrong token is never echoed in the reason", "[url][srt]") {
  std::string msg;
  refusal_of("#!::r=1_abc123.p/1,livegate_token=SECRET-but-bad!", &msg);
  CHECK(msg.find("SECRET") == std::string::npos);
}

TEST_CASE("SRT URLs: production and single-host forms", "[url][srt]") {
  Endpoint e;
  std::string error;
  REQUIRE(build(srt_options("kpublish.example.com"), "1_gdrt137u", Role::Backup, kToken, "1", e,
                error));
  CHECK(e.url == "srt://1_gdrt137u.b.kpublish.example.com:9000");
  CHECK(e.stream_name == "#!::r=1_gdrt137u.b/1,m=publish,livegate_token=" + kToken);
  CHECK(e.ffmpeg_url ==
        "srt://1_gdrt137u.b.kpublish.example.com:9000?streamid=%23%21%3A%3Ar%3D1_gdrt137u.b%2F1%"
        "2Cm%3Dpublish%2Clivegate_token%3D" +
            kToken);
  REQUIRE(
      build(srt_options("127.0.0.1", 7001), "1_gdrt137u", Role::Primary, kToken, "1", e, error));
  CHECK(e.url == "srt://127.0.0.1:7001");
  REQUIRE(build(srt_options("::1", 7001), "1_gdrt137u", Role::Primary, kToken, "1", e, error));
  CHECK(e.url == "srt://[::1]:7001");
}

TEST_CASE("SRT URLs: parse_url inverts build for every form", "[url][srt]") {
  std::mt19937 rng(7);
  for (const std::string host : {"kpublish.example.com", "127.0.0.1", "localhost", "::1"}) {
    for (Role role : {Role::Primary, Role::Backup}) {
      for (std::string token : {kToken, std::string()}) {
        Endpoint e;
        std::string error;
        REQUIRE(build(srt_options(host, 0), "1_gdrt137u", role, token, "hd", e, error));
        for (const auto &[url, key] : {std::pair{e.url, e.stream_name}, {e.ffmpeg_url, ""}}) {
          ParsedUrl p;
          INFO(url << " + " << key);
          REQUIRE(parse_url(url, key, p, error));
          CHECK(p.scheme == Scheme::Srt);
          CHECK(p.host == host);
          CHECK(p.port == 9000);
          CHECK(p.target.entry_id == "1_gdrt137u");
          CHECK(p.target.role == role);
          CHECK(p.target.token == token);
          CHECK(p.target.stream_name == "hd");
        }
      }
    }
  }
}

TEST_CASE("SRT URLs: what OBS users paste", "[url][srt]") {
  ParsedUrl p;
  std::string error;
  // The stream id pasted after ?streamid= as is, with the passphrase and
  // latency options some encoders want in the same field.
  const std::string raw =
      "srt://1_gdrt137u.p.kpublish.example.com:9000?streamid=#!::r=1_gdrt137u.p/"
      "1,m=publish,livegate_token=" +
      kToken + "&passphrase=0123456789ab&latency=200000";
  REQUIRE(parse_url(raw, "", p, error));
  CHECK(p.target.entry_id == "1_gdrt137u");
  CHECK(p.target.token == kToken);
  CHECK(p.host == "kpublish.example.com");
  // A trailing slash before the query is tolerated.
  REQUIRE(parse_url("srt://127.0.0.1:9000/?streamid=%23!::r=1_gdrt137u.b/1", "", p, error));
  CHECK(p.target.role == Role::Backup);
}

TEST_CASE("SRT URLs: conflicts and misplaced parts are refused", "[url][srt]") {
  ParsedUrl p;
  std::string error;
  const std::string sid = build_srt_stream_id("1_gdrt137u", Role::Primary, kToken, "1");
  CHECK_FALSE(parse_url("srt://1_other99.p.example.com:9000", sid, p, error));
  CHECK(error.find("conflicting entries") != std::string::npos);
  CHECK_FALSE(parse_url("srt://1_gdrt137u.b.example.com:9000", sid, p, error));
  CHECK_FALSE(parse_url("srt://127.0.0.1:9000/kLive", sid, p, error));
  CHECK_FALSE(parse_url("srt://127.0.0.1:9000?streamid=" + sid, sid, p, error));
  CHECK(error.find("twice") != std::string::npos);
  CHECK_FALSE(parse_url("srt://127.0.0.1:9000", "", p, error));
  CHECK_FALSE(parse_url("srt://127.0.0.1:9000?streamid=%zz", "", p, error));
  CHECK_FALSE(parse_url("srt://127.0.0.1:9000#frag?streamid=" + sid, "", p, error));
  CHECK_FALSE(parse_url("rtmp://127.0.0.1:1935/kLive/1_gdrt137u.p/1?t=x#!::", "", p, error));
}

TEST_CASE("SRT URLs: random stream ids round-trip through the percent-encoded URL", "[url][srt]") {
  std::string rng_error;
  auto random = lg::auth::Random::create(rng_error);
  REQUIRE(random);
  for (int i = 0; i < 200; ++i) {
    const std::string token = lg::auth::generate_token(*random);
    Endpoint e;
    std::string error;
    const Role role = i % 2 ? Role::Backup : Role::Primary;
    REQUIRE(build(srt_options("10.1.2.3", 9001), "1_abcd1234", role, token, std::to_string(i), e,
                  error));
    ParsedUrl p;
    REQUIRE(parse_url(e.ffmpeg_url, "", p, error));
    CHECK(p.target.token == token);
    CHECK(p.target.stream_name == std::to_string(i));
    CHECK(p.target.role == role);
  }
}
