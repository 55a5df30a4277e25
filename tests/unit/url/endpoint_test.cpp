#include <catch2/catch.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "auth/random.h"
#include "auth/token.h"
#include "url/endpoint.h"

using namespace lg::url;

namespace {

const std::string kToken = "b9106yth4abcdefghijk2345";  // 24 characters

Endpoint must_build(const BuildOptions &o, std::string_view entry, Role role,
                    std::string_view token, std::string_view stream) {
  Endpoint e;
  std::string error;
  const bool ok = build(o, entry, role, token, stream, e, error);
  INFO(error);
  REQUIRE(ok);
  return e;
}

BuildOptions options(std::string host, uint16_t port = 1935, Scheme scheme = Scheme::Rtmp) {
  BuildOptions o;
  o.host = std::move(host);
  o.port = port;
  o.scheme = scheme;
  return o;
}

}  // namespace

TEST_CASE("url::build emits the reference document's production form", "[url]") {
  const Endpoint p =
      must_build(options("kpublish.kaltura.com"), "1_gdrt137u", Role::Primary, kToken, "1");
  CHECK(p.url == "rtmp://1_gdrt137u.p.kpublish.kaltura.com:1935/kLive/?t=" + kToken);
  CHECK(p.stream_name == "1");
  CHECK(p.ffmpeg_url == "rtmp://1_gdrt137u.p.kpublish.kaltura.com:1935/kLive/1?t=" + kToken);

  const Endpoint b =
      must_build(options("kpublish.kaltura.com"), "1_gdrt137u", Role::Backup, kToken, "audio_fr");
  CHECK(b.url == "rtmp://1_gdrt137u.b.kpublish.kaltura.com:1935/kLive/?t=" + kToken);
  CHECK(b.stream_name == "audio_fr");
  CHECK(b.ffmpeg_url == "rtmp://1_gdrt137u.b.kpublish.kaltura.com:1935/kLive/audio_fr?t=" + kToken);

  // RTMPS: the scheme's default port when none is given, as in the reference.
  const Endpoint s = must_build(options("kpublish.kaltura.com", 0, Scheme::Rtmps), "1_gdrt137u",
                                Role::Primary, kToken, "1");
  CHECK(s.url == "rtmps://1_gdrt137u.p.kpublish.kaltura.com:443/kLive/?t=" + kToken);
  const Endpoint r =
      must_build(options("emea.publish.example.com", 0), "1_gdrt137u", Role::Primary, kToken, "1");
  CHECK(r.url == "rtmp://1_gdrt137u.p.emea.publish.example.com:1935/kLive/?t=" + kToken);
}

TEST_CASE("url::build emits the single-host form for addresses", "[url]") {
  const Endpoint v4 = must_build(options("127.0.0.1"), "1_abcd1234", Role::Primary, kToken, "1");
  CHECK(v4.url == "rtmp://127.0.0.1:1935/kLive/1_abcd1234.p/?t=" + kToken);
  CHECK(v4.stream_name == "1");
  CHECK(v4.ffmpeg_url == "rtmp://127.0.0.1:1935/kLive/1_abcd1234.p/1?t=" + kToken);

  const Endpoint v6 = must_build(options("::1", 19350), "1_abcd1234", Role::Backup, kToken, "2");
  CHECK(v6.url == "rtmp://[::1]:19350/kLive/1_abcd1234.b/?t=" + kToken);
  CHECK(v6.ffmpeg_url == "rtmp://[::1]:19350/kLive/1_abcd1234.b/2?t=" + kToken);
  const Endpoint v6b =
      must_build(options("[2001:db8::7]"), "1_abcd1234", Role::Backup, kToken, "2");
  CHECK(v6b.url == "rtmp://[2001:db8::7]:1935/kLive/1_abcd1234.b/?t=" + kToken);

  BuildOptions lo = options("localhost", 0, Scheme::Rtmps);
  lo.app = "live";
  const Endpoint l = must_build(lo, "1_abcd1234", Role::Primary, "", "1");
  CHECK(l.url == "rtmps://localhost:443/live/1_abcd1234.p/");
  CHECK(l.ffmpeg_url == "rtmps://localhost:443/live/1_abcd1234.p/1");
}

TEST_CASE("url::build refuses malformed arguments", "[url]") {
  struct Case {
    BuildOptions o;
    std::string entry, token, stream, why;
  };
  BuildOptions bad_app = options("example.com");
  bad_app.app = "k/Live";
  BuildOptions ondemand = options("example.com");
  ondemand.app = "ondemand";
  const std::vector<Case> cases = {
      {options("example.com"), "1_ABCD", kToken, "1", "invalid entry id"},
      {options("example.com"), "1_abcd1234", "short", "1", "invalid token"},
      {options("example.com"), "1_abcd1234", kToken + "?", "1", "invalid token"},
      {options("example.com"), "1_abcd1234", kToken, "", "invalid stream name"},
      {options("example.com"), "1_abcd1234", kToken, "a.flv", "invalid stream name"},
      {bad_app, "1_abcd1234", kToken, "1", "invalid app"},
      {ondemand, "1_abcd1234", kToken, "1", "invalid app 'ondemand'"},
      {options(""), "1_abcd1234", kToken, "1", "invalid host"},
      {options("exa mple.com"), "1_abcd1234", kToken, "1", "invalid host"},
      {options("-x.example.com"), "1_abcd1234", kToken, "1", "invalid host"},
      {options("a..b"), "1_abcd1234", kToken, "1", "invalid host"},
      {options("300.1.1.1"), "1_abcd1234", kToken, "1", "not a valid IPv4 address"},
      {options("[::1"), "1_abcd1234", kToken, "1", "invalid host"},
      {options(std::string(250, 'a') + ".com"), "1_abcd1234", kToken, "1", "invalid host"},
  };
  for (const Case &c : cases) {
    Endpoint e;
    std::string error;
    INFO(c.o.host << " " << c.entry << " " << c.stream);
    CHECK_FALSE(build(c.o, c.entry, Role::Primary, c.token, c.stream, e, error));
    CHECK(error.find(c.why) != std::string::npos);
    CHECK(e.url.empty());
    const Endpoint plain = build(c.o, c.entry, Role::Primary, c.token, c.stream);
    CHECK(plain.url.empty());
    CHECK(plain.stream_name.empty());
    CHECK(plain.ffmpeg_url.empty());
  }
}

TEST_CASE("url::is_single_host, role and scheme names", "[url]") {
  CHECK(is_single_host("127.0.0.1"));
  CHECK(is_single_host("10.1.2.3"));
  CHECK(is_single_host("::1"));
  CHECK(is_single_host("[::1]"));
  CHECK(is_single_host("2001:db8::1"));
  CHECK(is_single_host("localhost"));
  CHECK(is_single_host("LocalHost"));
  CHECK_FALSE(is_single_host("example.com"));
  // inet_pton stops at a NUL: what follows it must not be ignored (found by
  // fuzzing: build() accepted such a host and parse_url refused its URL).
  using namespace std::string_view_literals;
  CHECK_FALSE(is_single_host("::1\0garbage"sv));
  CHECK_FALSE(is_single_host("[::1\0\xf5]"sv));
  CHECK_FALSE(is_single_host("10.0.0.1\0x"sv));
  CHECK_FALSE(is_single_host("1_abcd1234.p.example.com"));
  CHECK_FALSE(is_single_host("127.0.0"));
  CHECK_FALSE(is_single_host("localhost.example.com"));
  CHECK_FALSE(is_single_host(""));
  CHECK(std::string(role_letter(Role::Primary)) == "p");
  CHECK(std::string(role_letter(Role::Backup)) == "b");
  CHECK(std::string(role_name(Role::Primary)) == "primary");
  CHECK(std::string(role_name(Role::Backup)) == "backup");
  CHECK(default_port(Scheme::Rtmp) == 1935);
  CHECK(default_port(Scheme::Rtmps) == 443);
}

TEST_CASE("url::parse_url is the exact inverse of build", "[url][property]") {
  std::string error;
  auto random = lg::auth::Random::create(error);
  REQUIRE(random);
  std::mt19937 rng(20240611);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };

  const std::vector<std::string> domains = {"kpublish.kaltura.com",
                                            "publish.example.com",
                                            "emea.publish.example.com",
                                            "Live.Example.ORG",
                                            "x-1.b.example.net",
                                            "p.example.com",
                                            "example",
                                            "a.b.c.d.e.example.com"};
  const std::vector<std::string> apps = {"kLive", "live", "app_1-x", "K"};
  const std::string word = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

  for (int i = 0; i < 3000; ++i) {
    BuildOptions o;
    std::string expected_host;
    switch (pick(6)) {
      case 0:
      case 1:
        o.host = domains[pick(domains.size())];
        break;
      case 2:
        o.host = std::to_string(pick(256)) + "." + std::to_string(pick(256)) + "." +
                 std::to_string(pick(256)) + "." + std::to_string(pick(256));
        break;
      case 3: {
        const std::vector<std::string> v6 = {"::1", "2001:db8::1", "fe80::1:2:3:4",
                                             "2001:db8:0:0:1:0:0:1", "::ffff:192.0.2.1"};
        o.host = v6[pick(v6.size())];
        if (pick(2)) o.host = "[" + o.host + "]";
        break;
      }
      case 4:
        o.host = pick(2) ? "localhost" : "LOCALHOST";
        break;
      default:
        o.host = "r" + std::to_string(i) + "." + domains[pick(domains.size())];
    }
    expected_host = o.host;
    if (expected_host.front() == '[')
      expected_host = expected_host.substr(1, expected_host.size() - 2);
    o.scheme = pick(2) ? Scheme::Rtmps : Scheme::Rtmp;
    const uint16_t ports[] = {0, 1935, 443, 1, 65535, 19350, 80};
    o.port = ports[pick(std::size(ports))];
    if (pick(4) == 0) o.port = static_cast<uint16_t>(1 + pick(65535));
    o.app = apps[pick(apps.size())];

    const std::string entry =
        pick(5) ? lg::auth::generate_entry_id(*random) : std::to_string(pick(10)) + "_" + "0a9z";
    REQUIRE(lg::auth::is_valid_entry_id(entry));
    const Role role = pick(2) ? Role::Backup : Role::Primary;
    std::string token;
    switch (pick(4)) {
      case 0:
        break;  // no token
      case 1: {
        const size_t len = 16 + pick(113);
        for (size_t k = 0; k < len; ++k) token.push_back(word[pick(word.size())]);
        break;
      }
      default:
        token = lg::auth::generate_token(*random);
    }
    std::string stream;
    switch (pick(4)) {
      case 0:
        stream = "audio_fr";
        break;
      case 1: {
        const size_t len = 1 + pick(64);
        for (size_t k = 0; k < len; ++k) stream.push_back(word[pick(word.size())]);
        break;
      }
      default:
        stream = std::to_string(1 + pick(12));
    }

    Endpoint e;
    INFO("case " << i << ": host=" << o.host << " port=" << o.port << " app=" << o.app
                 << " entry=" << entry << " token=" << token << " stream=" << stream);
    REQUIRE(build(o, entry, role, token, stream, e, error));
    INFO("url=" << e.url << " ffmpeg_url=" << e.ffmpeg_url);
    CHECK(e.stream_name == stream);

    for (int form = 0; form < 2; ++form) {
      ParsedUrl p;
      const bool ok = form == 0 ? parse_url(e.url, e.stream_name, p, error)
                                : parse_url(e.ffmpeg_url, "", p, error);
      INFO("form " << form << " error: " << error);
      REQUIRE(ok);
      CHECK(p.scheme == o.scheme);
      CHECK(p.host == expected_host);
      CHECK(p.port == (o.port ? o.port : default_port(o.scheme)));
      CHECK(p.app == o.app);
      CHECK(p.target.app == o.app);
      CHECK(p.target.entry_id == entry);
      CHECK(p.target.role == role);
      CHECK(p.target.token == token);
      CHECK(p.target.stream_name == stream);
    }
  }
}

TEST_CASE("url::parse_url accepts what people paste", "[url]") {
  ParsedUrl p;
  std::string error;
  // The reference document's other spelling, without '/' before the query.
  REQUIRE(
      parse_url("rtmp://1_gdrt137u.p.kpublish.kaltura.com:1935/kLive?t=" + kToken, "1", p, error));
  CHECK(p.target.entry_id == "1_gdrt137u");
  CHECK(p.target.token == kToken);
  CHECK(p.host == "kpublish.kaltura.com");
  // No port: the scheme's default.
  REQUIRE(parse_url("rtmps://1_gdrt137u.b.example.com/kLive/1?t=" + kToken, "", p, error));
  CHECK(p.port == 443);
  CHECK(p.target.role == Role::Backup);
  // Upper-case scheme and host; DNS is case-insensitive, ids are lowercase.
  REQUIRE(parse_url("RTMP://1_GDRT137U.P.Example.com/kLive/", "1", p, error));
  CHECK(p.scheme == Scheme::Rtmp);
  CHECK(p.target.entry_id == "1_gdrt137u");
  CHECK(p.host == "Example.com");
  // Percent-encoding where a client or a person would use it.
  REQUIRE(parse_url("rtmp://127.0.0.1/kLive/1_abcd1234.p/audio%5Ffr?t=b9106yth4abcdefghijk%2D2345",
                    "", p, error));
  CHECK(p.target.stream_name == "audio_fr");
  CHECK(p.target.token == "b9106yth4abcdefghijk-2345");
  // The token in the stream key as well as in the URL, agreeing.
  REQUIRE(parse_url("rtmp://127.0.0.1/kLive/1_abcd1234.p/?t=" + kToken, "1?t=" + kToken, p, error));
  CHECK(p.target.token == kToken);
  // Only in the stream key.
  REQUIRE(parse_url("rtmp://127.0.0.1/kLive/1_abcd1234.p/", "1?t=" + kToken, p, error));
  CHECK(p.target.token == kToken);
  // Other query parameters are ignored.
  REQUIRE(parse_url("rtmp://127.0.0.1/kLive/1_abcd1234.p/?x=1&t=" + kToken + "&&y", "1", p, error));
  CHECK(p.target.token == kToken);
  // A domain without entry labels, with the entry in the path.
  REQUIRE(parse_url("rtmp://ingest.example.com/kLive/1_abcd1234.b/1", "", p, error));
  CHECK(p.host == "ingest.example.com");
  CHECK(p.target.role == Role::Backup);
  CHECK(p.target.token.empty());
}

TEST_CASE("url::parse_url reports each malformed URL precisely", "[url]") {
  const std::string t = "?t=" + kToken;
  struct Case {
    std::string url, stream, why;
  };
  const std::vector<Case> cases = {
      {"http://1_abcd1234.p.example.com/kLive/1", "", "unsupported scheme 'http'"},
      {"rtmp:/1_abcd1234.p.example.com/kLive/1", "", "malformed URL: no scheme:// prefix"},
      {"1_abcd1234.p.example.com/kLive/1", "", "malformed URL: no scheme:// prefix"},
      {"rtmp://", "", "malformed URL: no host"},
      {"rtmp://:1935/kLive/1", "", "malformed URL: no host"},
      {"rtmp://1_abcd1234.p.example.com:0/kLive/1", "", "invalid port '0'"},
      {"rtmp://1_abcd1234.p.example.com:65536/kLive/1", "", "invalid port '65536'"},
      {"rtmp://1_abcd1234.p.example.com:/kLive/1", "", "invalid port ''"},
      {"rtmp://1_abcd1234.p.example.com:19x/kLive/1", "", "invalid port '19x'"},
      {"rtmp://[::1/kLive/1", "", "no ']' after an IPv6 address"},
      {"rtmp://[zz::1]:1935/kLive/1", "", "invalid IPv6 address 'zz::1'"},
      {"rtmp://[::1]x/kLive/1", "", "unexpected 'x' after ']'"},
      {"rtmp://user:pw@1_abcd1234.p.example.com/kLive/1", "", "user credentials"},
      {"rtmp://1_abcd1234.p.exa$mple.com/kLive/1", "", "invalid character in the host"},
      {"rtmp://1_abcd1234.p.example.com/kLive/1 " + t, "", "space or control character"},
      {"rtmp://1_abcd1234.p.example.com/kLive/1#x", "", "fragments"},
      {"rtmp://1_abcd1234.p.example.com:1935", "1", "no application path"},
      {"rtmp://1_abcd1234.p.example.com/k.Live/", "1", "invalid app name 'k.Live'"},
      {"rtmp://1_abcd1234.p.example.com/kLive//1", "", "empty path segment"},
      {"rtmp://1_abcd1234.p.example.com/kLive/%zz", "", "bad percent-escape in the URL path"},
      {"rtmp://1_abcd1234.x.example.com/kLive/1", "", "unknown role letter 'x' in the URL host"},
      {"rtmp://1_abcd1234.primary.example.com/kLive/1", "", "unknown role letter 'primary'"},
      {"rtmp://1_ab-d1234.p.example.com/kLive/1", "", "malformed entry id '1_ab-d1234'"},
      {"rtmp://example.com/kLive/1", "", "no entry id found: the host 'example.com'"},
      {"rtmp://127.0.0.1:1935/kLive/1" + t, "", "no entry id found: a URL to the address"},
      {"rtmp://[::1]/kLive/", "1", "no entry id found: a URL to the address '::1'"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234/1", "", "malformed entry segment '1_abcd1234'"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.q/1", "", "unknown role letter 'q' in the URL path"},
      {"rtmp://127.0.0.1/kLive/1_ABCD.p/1", "", "malformed entry id '1_ABCD' in the URL path"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/1/2", "", "unexpected path segment '2'"},
      {"rtmp://1_aaaa1111.p.example.com/kLive/1_bbbb2222.p/1", "", "conflicting entries"},
      {"rtmp://1_aaaa1111.p.example.com/kLive/1_aaaa1111.b/1", "", "conflicting entries"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/1" + t, "1", "the stream name is given twice"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/" + t, "", "no stream name"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/" + t, "a.b", "invalid stream name 'a.b'"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/" + t, "?t=" + kToken, "the stream name is empty"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/a.flv", "", "invalid stream name 'a.flv'"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/" + t, "1?t=" + kToken + "x",
       "conflicting tokens: the URL and the stream key"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/1" + t + "&t=" + kToken + "x", "",
       "conflicting tokens: the URL repeats t="},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/1?t=short", "", "malformed token in the URL"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/1?t=%zz", "", "malformed query in the URL"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/1?t=%00" + kToken, "", "malformed query in the URL"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/1?=x", "", "a parameter has no name"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/", "1?t=short", "malformed token in the stream key"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/" + std::string(2100, 'a'), "", "the URL is too long"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/", std::string(1100, '1'),
       "the stream key is too long"},
  };
  std::vector<std::string> messages;
  for (const Case &c : cases) {
    ParsedUrl p;
    std::string error;
    INFO("url=" << c.url.substr(0, 120) << " stream=" << c.stream.substr(0, 40));
    CHECK_FALSE(parse_url(c.url, c.stream, p, error));
    INFO("error=" << error);
    CHECK(error.find(c.why) != std::string::npos);
    CHECK(error.find(kToken) == std::string::npos);  // tokens are never quoted
    messages.push_back(error);
  }
  // Precise means different failures read differently.
  for (size_t i = 0; i < cases.size(); ++i) {
    for (size_t j = i + 1; j < cases.size(); ++j) {
      if (cases[i].why == cases[j].why) continue;
      INFO(cases[i].url.substr(0, 80) << " vs " << cases[j].url.substr(0, 80));
      CHECK(messages[i] != messages[j]);
    }
  }
}

TEST_CASE("url::parse_publish reports each refusal precisely", "[url]") {
  const std::string t = "?t=" + kToken;
  struct Case {
    std::string tc_url, app, stream, why;
  };
  const std::string tc = "rtmp://127.0.0.1:1935/kLive/1_abcd1234.p";
  const std::vector<Case> cases = {
      {tc, "kLive/1_abcd1234.p", "", "the stream name is empty"},
      {tc, "kLive/1_abcd1234.p", t, "the stream name is empty"},
      {tc, "kLive/1_abcd1234.p", "a b", "invalid stream name 'a b'"},
      {tc, "kLive/1_abcd1234.p", "mp4:x", "invalid stream name 'mp4:x'"},
      {tc, "kLive/1_abcd1234.p", std::string(65, 'x'), "invalid stream name"},
      {tc, "kLive/1_abcd1234.p", "%4", "bad percent-escape in the published stream name"},
      {tc, "kLive/1_abcd1234.p", "1?t=%zz", "malformed query in the stream name"},
      {tc, "kLive/1_abcd1234.p", "1?=x", "malformed query in the stream name: a parameter has"},
      {tc, "kLive/1_abcd1234.p", "1?t=short", "malformed token in the stream name"},
      {tc, "kLive/1_abcd1234.p", "1?t=" + kToken + "&t=" + kToken + "z",
       "conflicting tokens: the stream name repeats"},
      {tc, "", "1", "the app is empty"},
      {tc, "/", "1", "the app is empty"},
      {tc, "k.Live/1_abcd1234.p", "1", "invalid app name 'k.Live'"},
      {tc, "kLive//1_abcd1234.p", "1", "empty path segment in the app"},
      {tc, "kLive/1_abcd1234.p/extra", "1", "unexpected segment 'extra' in the app"},
      {tc, "kLive/1_abcd1234", "1", "malformed entry segment '1_abcd1234' in the app"},
      {tc, "kLive/1_abcd1234.z", "1", "unknown role letter 'z' in the app"},
      {tc, "kLive/1_ABCD.p", "1", "malformed entry id '1_ABCD' in the app"},
      {tc, "kLive/1_abcd1234.p?t=%g0", "1", "malformed query in the app"},
      {tc, "kLive/1_abcd1234.p?t=short", "1", "malformed token in the app"},
      {"rtmp://127.0.0.1:1935/kLive", "kLive", "1" + t,
       "no entry id found: a connection to the address '127.0.0.1'"},
      {"rtmp://localhost/kLive", "kLive", "1" + t,
       "no entry id found: a connection to the address 'localhost'"},
      {"", "kLive", "1" + t, "no entry id found: no tcUrl host"},
      {"rtmp://ingest.example.com/kLive", "kLive", "1",
       "no entry id found: the host 'ingest.example.com'"},
      {"rtmp://1_abcd1234.x.example.com/kLive", "kLive", "1",
       "unknown role letter 'x' in the tcUrl host"},
      {"rtmp://1_ab-cd.p.example.com/kLive", "kLive", "1",
       "malformed entry id '1_ab-cd' in the tcUrl host"},
      {"not a url", "kLive/1_abcd1234.p", "1", "malformed tcUrl: a space"},
      {"kLive/1_abcd1234.p", "kLive/1_abcd1234.p", "1", "malformed tcUrl: no scheme:// prefix"},
      {"rtmp://h$st/kLive", "kLive/1_abcd1234.p", "1", "malformed tcUrl: invalid character"},
      {"rtmp://1_abcd1234.p.example.com:99999/kLive", "kLive", "1",
       "malformed tcUrl: invalid port"},
      {"rtmp://127.0.0.1/kLive/1_abcd1234.p/?t=%", "kLive/1_abcd1234.p", "1",
       "malformed query in the tcUrl"},
      {"rtmp://1_aaaa1111.p.example.com/kLive", "kLive/1_bbbb2222.p", "1",
       "conflicting entries: the app names 1_bbbb2222.p but the tcUrl host names 1_aaaa1111.p"},
      {"rtmp://1_aaaa1111.p.example.com/kLive", "kLive/1_aaaa1111.b", "1",
       "conflicting entries: the app names 1_aaaa1111.b"},
      {tc, "kLive/1_abcd1234.p" + t, "1?t=" + kToken + "x",
       "conflicting tokens: the stream name and the app"},
      {tc + t, "kLive/1_abcd1234.p", "1?t=" + kToken + "x",
       "conflicting tokens: the stream name and the tcUrl"},
      {tc + "/?t=" + kToken + "x", "kLive/1_abcd1234.p/" + t, "1",
       "conflicting tokens: the app and the tcUrl"},
      {std::string(2100, 'r'), "kLive", "1", "the tcUrl is too long"},
      {tc, std::string(2100, 'k'), "1", "the app is too long"},
      {tc, "kLive/1_abcd1234.p", std::string(1100, '1'), "the stream name is too long"},
  };
  std::vector<std::string> messages;
  for (const Case &c : cases) {
    PublishTarget target;
    std::string error;
    INFO("tcUrl=" << c.tc_url.substr(0, 100) << " app=" << c.app.substr(0, 100)
                  << " stream=" << c.stream.substr(0, 60));
    CHECK_FALSE(parse_publish(c.tc_url, c.app, c.stream, target, error));
    INFO("error=" << error);
    CHECK(error.find(c.why) != std::string::npos);
    CHECK(error.find(kToken) == std::string::npos);
    messages.push_back(error);
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    for (size_t j = i + 1; j < cases.size(); ++j) {
      if (cases[i].why == cases[j].why) continue;
      INFO(cases[i].app.substr(0, 60)
           << " " << cases[i].stream.substr(0, 40) << " vs " << cases[j].app.substr(0, 60) << " "
           << cases[j].stream.substr(0, 40));
      CHECK(messages[i] != messages[j]);
    }
  }
}

TEST_CASE("url::parse_publish accepts every place and spelling of the token", "[url]") {
  PublishTarget p;
  std::string error;
  const std::string pct = "abcdefgh%2Dijklmnopq";  // "abcdefgh-ijklmnopq"
  struct Case {
    std::string tc_url, app, stream, token;
  };
  const std::vector<Case> cases = {
      // No token anywhere is not a parse error: authorization refuses it.
      {"rtmp://1_abcd1234.p.example.com:1935/kLive", "kLive", "1", ""},
      {"rtmp://1_abcd1234.p.example.com:1935/kLive", "kLive", "1?t=" + kToken, kToken},
      {"rtmp://1_abcd1234.p.example.com:1935/kLive/?t=" + kToken, "kLive/?t=" + kToken, "1",
       kToken},
      {"rtmp://1_abcd1234.p.example.com:1935/kLive?t=" + kToken, "kLive?t=" + kToken, "1", kToken},
      {"rtmp://1_abcd1234.p.example.com/kLive", "kLive", "1?t=" + pct, "abcdefgh-ijklmnopq"},
      {"rtmp://1_abcd1234.p.example.com/kLive", "kLive", "1?t=abcdefgh-ijklmnopq",
       "abcdefgh-ijklmnopq"},
      {"rtmp://1_abcd1234.p.example.com/kLive/?t=" + kToken, "kLive", "1?t=" + kToken, kToken},
      {"rtmp://1_abcd1234.p.example.com/kLive", "kLive", "1?t=", ""},
      {"rtmp://1_abcd1234.p.example.com/kLive", "kLive", "1?x=y&t=" + kToken + "&z", kToken},
  };
  for (const Case &c : cases) {
    INFO("tcUrl=" << c.tc_url << " app=" << c.app << " stream=" << c.stream);
    REQUIRE(parse_publish(c.tc_url, c.app, c.stream, p, error));
    CHECK(p.entry_id == "1_abcd1234");
    CHECK(p.role == Role::Primary);
    CHECK(p.stream_name == "1");
    CHECK(p.app == "kLive");
    CHECK(p.token == c.token);
  }
}

TEST_CASE("url::parse_publish reads the entry from the host or the app", "[url]") {
  PublishTarget p;
  std::string error;
  REQUIRE(parse_publish("rtmp://1_ABCD1234.B.Emea.Publish.Example.com/kLive", "kLive", "audio_fr",
                        p, error));
  CHECK(p.entry_id == "1_abcd1234");
  CHECK(p.role == Role::Backup);
  CHECK(p.stream_name == "audio_fr");

  REQUIRE(
      parse_publish("rtmp://[::1]:19350/kLive/1_abcd1234.b", "kLive/1_abcd1234.b", "2", p, error));
  CHECK(p.entry_id == "1_abcd1234");
  CHECK(p.role == Role::Backup);

  // A tcUrl without a host part of ours, or none at all: the app decides.
  REQUIRE(parse_publish("", "kLive/1_abcd1234.p", "1", p, error));
  CHECK(p.entry_id == "1_abcd1234");
  REQUIRE(parse_publish("rtmp://ingest.example.com/kLive/1_abcd1234.p", "kLive/1_abcd1234.p/", "1",
                        p, error));
  CHECK(p.entry_id == "1_abcd1234");
  // Host and app agreeing.
  REQUIRE(parse_publish("rtmp://1_abcd1234.p.example.com/kLive/1_abcd1234.p", "kLive/1_abcd1234.p",
                        "1", p, error));
  CHECK(p.role == Role::Primary);
  // A leading '/' in the app, as some encoders send.
  REQUIRE(
      parse_publish("rtmp://127.0.0.1/kLive/1_abcd1234.p", "/kLive/1_abcd1234.p", "1", p, error));
  CHECK(p.app == "kLive");
  // Other schemes in the tcUrl do not matter to the entry.
  REQUIRE(parse_publish("rtmpt://1_abcd1234.p.example.com:80/kLive", "kLive", "1", p, error));
  CHECK(p.entry_id == "1_abcd1234");
}
