// What real publishers derive from the URLs we emit, and whether the server
// recovers entry, role, token and stream name from it.
//
// Each function below re-implements, in a few lines, how one client splits
// a server URL (and an optional separate stream name) into the connect
// command's tcUrl and app and the publish command's stream name. They follow
// the clients' own code:
//   FFmpeg 5.1    libavformat/rtmpproto.c rtmp_open(), av_url_split(),
//                 ff_url_join()
//   librtmp 2.4   librtmp/parseurl.c RTMP_ParseURL(), RTMP_ParsePlaypath(),
//                 rtmp.c RTMP_SetupURL() (GStreamer rtmpsink uses it as is)
//   OBS           plugins/obs-outputs/librtmp (its fork of the above) and
//                 rtmp-stream.c (RTMP_SetupURL(server), RTMP_AddStream(key))
//   GStreamer     gst/rtmp2/gstrtmp2locationhandler.c uri_handler_set_uri(),
//   rtmp2         rtmp/rtmpclient.c gst_rtmp_location_get_string()
// The last test case holds triples captured from FFmpeg 5.1 and GStreamer
// 1.22 (rtmpsink on librtmp 2.4, rtmp2sink) publishing to a listener that
// recorded connect and publish, so the models are checked against reality.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "auth/random.h"
#include "auth/token.h"
#include "url/endpoint.h"

using namespace lg::url;

namespace {

struct Sent {
  std::string tc_url;
  std::string app;
  std::string stream;
};

bool ends_with(const std::string &s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int atoi_prefix(std::string_view s) {
  return std::atoi(std::string(s).c_str());
}

// FFmpeg: `ffmpeg -f flv URL [-rtmp_playpath P]`.
Sent ffmpeg_sends(const std::string &url, std::optional<std::string> playpath_option = {}) {
  // av_url_split
  std::string proto, hostname, path;
  int port = -1;
  const size_t colon = url.find(':');
  REQUIRE(colon != std::string::npos);
  proto = url.substr(0, colon);
  size_t p = colon + 1;
  if (p < url.size() && url[p] == '/') ++p;
  if (p < url.size() && url[p] == '/') ++p;
  const size_t ls = std::min(url.find_first_of("/?#", p), url.size());
  path = url.substr(ls);
  std::string_view authority(url.data() + p, ls - p);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (!authority.empty() && authority[0] == '[' && authority.find(']') != std::string_view::npos) {
    const size_t brk = authority.find(']');
    hostname = std::string(authority.substr(1, brk - 1));
    if (brk + 1 < authority.size() && authority[brk + 1] == ':') {
      port = atoi_prefix(authority.substr(brk + 2));
    }
  } else if (const size_t col = authority.find(':'); col != std::string_view::npos) {
    hostname = std::string(authority.substr(0, col));
    port = atoi_prefix(authority.substr(col + 1));
  } else {
    hostname = std::string(authority);
  }
  // rtmp_open: default ports, then app / playpath.
  if (port < 0) port = proto == "rtmps" ? 443 : 1935;
  std::string app;
  std::optional<std::string> fname;
  const size_t qmark = path.find('?');
  if (qmark != std::string::npos && path.find("slist=", qmark) != std::string::npos) {
    app = path.substr(1);
    std::string f = path.substr(path.find("slist=") + 6);
    fname = f.substr(0, f.find('&'));
  } else if (path.rfind("/ondemand/", 0) == 0) {
    fname = path.substr(10);
    app = "ondemand";
  } else {
    const size_t next = path.empty() ? 0 : 1;
    const size_t slash = path.find('/', next);
    if (slash == std::string::npos) {
      app = path.substr(next);  // no playpath in the URL
    } else {
      const size_t c = path.find(':', slash + 1);
      const size_t f = path.find('/', slash + 1);
      if (f == std::string::npos || (c != std::string::npos && c < f)) {
        fname = path.substr(slash + 1);
        app = path.substr(1, slash - 1);
      } else {
        fname = path.substr(f + 1);
        app = path.substr(1, f - 1);
      }
    }
  }
  std::string playpath;
  if (playpath_option) {
    playpath = *playpath_option;
  } else if (fname) {
    std::string f = *fname;
    if (f.find(':') == std::string::npos && (ends_with(f, ".f4v") || ends_with(f, ".mp4"))) {
      playpath = "mp4:" + f;
    } else {
      if (ends_with(f, ".flv")) f.resize(f.size() - 4);
      playpath = f;
    }
  }
  // ff_url_join brackets hosts that hold a ':' and always writes the port.
  const std::string host =
      hostname.find(':') != std::string::npos ? "[" + hostname + "]" : hostname;
  return {proto + "://" + host + ":" + std::to_string(port) + "/" + app, app, playpath};
}

// RTMP_ParsePlaypath, shared by librtmp and OBS's fork for what we emit:
// extensions before the query and percent-decoding.
std::string parse_playpath(const std::string &in) {
  const size_t q = in.find('?');
  const std::string head = in.substr(0, q == std::string::npos ? in.size() : q);
  std::string prefix;
  std::string body = in;
  if (in.size() >= 4) {
    if (ends_with(head, ".f4v") || ends_with(head, ".mp4")) {
      prefix = head.rfind("mp4:", 0) == 0 ? "" : "mp4:";
      body = head.substr(0, head.size() - 4) + in.substr(head.size());
    } else if (ends_with(head, ".flv")) {
      body = head.substr(0, head.size() - 4) + in.substr(head.size());
    }
  }
  std::string out = prefix;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '%' && i + 2 < body.size()) {
      out.push_back(static_cast<char>(std::strtol(body.substr(i + 1, 2).c_str(), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(body[i]);
    }
  }
  return out;
}

// librtmp 2.4 as GStreamer rtmpsink uses it: `location=URL [playpath=P] ...`.
// Returns nothing where librtmp cannot connect at all (IPv6 literals: its
// host parser stops at the first ':').
std::optional<Sent> librtmp_sends(const std::string &location) {
  const size_t space = location.find(' ');
  const std::string url = location.substr(0, space);
  std::optional<std::string> playpath_option;
  if (space != std::string::npos) {
    const std::string options = location.substr(space);
    const size_t pp = options.find(" playpath=");
    if (pp != std::string::npos) {
      const size_t start = pp + 10;
      playpath_option = options.substr(start, options.find(' ', start) - start);
    }
  }
  const size_t sep = url.find("://");
  REQUIRE(sep != std::string::npos);
  const size_t p = sep + 3;
  if (url[p] == '[') return std::nullopt;
  const size_t slash = url.find('/', p);
  if (slash == std::string::npos) return Sent{url, "", playpath_option.value_or("")};
  // The application: app[/appinstance], i.e. up to the third '/'.
  const size_t a = slash + 1;
  const size_t ques = url.find('?', p);
  const size_t slash2 = url.find('/', a);
  const size_t slash3 = slash2 == std::string::npos ? slash2 : url.find('/', slash2 + 1);
  size_t applen = url.size() - a;
  size_t appnamelen = applen;
  if (ques != std::string::npos && url.find("slist=", a) != std::string::npos) {
    appnamelen = ques - a;
  } else if (url.compare(a, 9, "ondemand/") == 0) {
    applen = appnamelen = 8;
  } else {
    if (slash3 != std::string::npos) {
      appnamelen = slash3 - a;
    } else if (slash2 != std::string::npos) {
      appnamelen = slash2 - a;
    }
    applen = appnamelen;
  }
  const std::string app = url.substr(a, applen);
  size_t rest = a + appnamelen;
  if (rest < url.size() && url[rest] == '/') ++rest;
  std::string playpath = rest < url.size() ? parse_playpath(url.substr(rest)) : "";
  // RTMP_SetOpt stores a playpath option as given.
  if (playpath_option) playpath = *playpath_option;
  // RTMP_SetupURL: the tcUrl is the URL up to the end of the app.
  const std::string tc_url = app.empty() ? url : url.substr(0, a + applen);
  return Sent{tc_url, app, playpath};
}

// OBS: "Server" = URL, "Stream Key" = key.
Sent obs_sends(const std::string &url, const std::string &key) {
  const size_t sep = url.find("://");
  REQUIRE(sep != std::string::npos);
  const size_t slash = url.find('/', sep + 3);
  REQUIRE(slash != std::string::npos);
  std::string app = url.substr(slash + 1);
  if (!app.empty() && app.back() == '/') app.pop_back();
  return {url.substr(0, slash + 1 + app.size()), app, parse_playpath(key)};
}

// GStreamer rtmp2sink: `location=URL [stream=S]`.
std::optional<Sent> rtmp2_sends(const std::string &location,
                                std::optional<std::string> stream_property = {}) {
  const size_t sep = location.find("://");
  REQUIRE(sep != std::string::npos);
  const size_t path_sep = location.find('/', sep + 3);
  if (path_sep == std::string::npos) return std::nullopt;
  const size_t stream_sep = location.rfind('/');
  if (stream_sep <= path_sep) return std::nullopt;  // "URI lacks stream"
  std::string scheme = location.substr(0, sep);
  std::string authority = location.substr(sep + 3, path_sep - sep - 3);
  // GstUri: brackets off an IPv6 host; gst_uri_normalize lowercases it.
  std::string host;
  int port = -1;
  if (authority[0] == '[') {
    const size_t brk = authority.find(']');
    host = authority.substr(1, brk - 1);
    if (brk + 1 < authority.size()) port = std::atoi(authority.c_str() + brk + 2);
  } else {
    const size_t col = authority.find(':');
    host = authority.substr(0, col);
    if (col != std::string::npos) port = std::atoi(authority.c_str() + col + 1);
  }
  for (char &c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const int default_port = scheme == "rtmps" ? 443 : 1935;
  if (port < 0) port = default_port;
  const std::string application = location.substr(path_sep + 1, stream_sep - path_sep - 1);
  std::string stream = location.substr(stream_sep + 1);
  if (stream_property) stream = *stream_property;
  // gst_rtmp_location_get_string(location, FALSE): the port only if not the
  // scheme's default.
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const std::string tc_url = scheme + "://" + h +
                             (port == default_port ? "" : ":" + std::to_string(port)) + "/" +
                             application;
  return Sent{tc_url, application, stream};
}

struct Expect {
  std::string entry;
  Role role;
  std::string token;
  std::string stream;
};

void check_recovers(const Sent &sent, const Expect &want) {
  PublishTarget target;
  std::string error;
  INFO("tcUrl=" << sent.tc_url << " app=" << sent.app << " stream=" << sent.stream);
  const bool ok = parse_publish(sent.tc_url, sent.app, sent.stream, target, error);
  INFO("error=" << error);
  REQUIRE(ok);
  CHECK(target.entry_id == want.entry);
  CHECK(target.role == want.role);
  CHECK(target.token == want.token);
  CHECK(target.stream_name == want.stream);
}

}  // namespace

TEST_CASE("url: the client models give the triples documented in endpoint.h", "[url][clients]") {
  BuildOptions prod;
  prod.host = "publish.example.com";
  BuildOptions single;
  single.host = "127.0.0.1";
  const std::string t = "abcdefghijklmnopqrstuvwxyz";
  const Endpoint p = build(prod, "1_abcd1234", Role::Primary, t, "1");
  const Endpoint s = build(single, "1_abcd1234", Role::Backup, t, "1");
  REQUIRE_FALSE(p.url.empty());
  REQUIRE_FALSE(s.url.empty());

  auto same = [](const Sent &a, const Sent &b) {
    INFO("got (" << a.tc_url << ", " << a.app << ", " << a.stream << ")");
    INFO("want (" << b.tc_url << ", " << b.app << ", " << b.stream << ")");
    CHECK(a.tc_url == b.tc_url);
    CHECK(a.app == b.app);
    CHECK(a.stream == b.stream);
  };
  const std::string ph = "rtmp://1_abcd1234.p.publish.example.com";
  same(ffmpeg_sends(p.ffmpeg_url), {ph + ":1935/kLive", "kLive", "1?t=" + t});
  same(ffmpeg_sends(s.ffmpeg_url),
       {"rtmp://127.0.0.1:1935/kLive/1_abcd1234.b", "kLive/1_abcd1234.b", "1?t=" + t});
  same(obs_sends(p.url, p.stream_name), {ph + ":1935/kLive/?t=" + t, "kLive/?t=" + t, "1"});
  same(obs_sends(s.url, s.stream_name),
       {"rtmp://127.0.0.1:1935/kLive/1_abcd1234.b/?t=" + t, "kLive/1_abcd1234.b/?t=" + t, "1"});
  same(*librtmp_sends(p.ffmpeg_url + " live=1"), {ph + ":1935/kLive", "kLive", "1?t=" + t});
  same(*librtmp_sends(s.ffmpeg_url),
       {"rtmp://127.0.0.1:1935/kLive/1_abcd1234.b", "kLive/1_abcd1234.b", "1?t=" + t});
  same(*rtmp2_sends(p.ffmpeg_url), {ph + "/kLive", "kLive", "1?t=" + t});
  same(*rtmp2_sends(s.ffmpeg_url),
       {"rtmp://127.0.0.1/kLive/1_abcd1234.b", "kLive/1_abcd1234.b", "1?t=" + t});
}

TEST_CASE("url: every client's derivation of every emitted form reaches the server intact",
          "[url][clients][property]") {
  std::string error;
  auto random = lg::auth::Random::create(error);
  REQUIRE(random);
  std::mt19937 rng(7);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  const std::vector<std::string> hosts = {"publish.example.com",  "emea.publish.example.com",
                                          "Kpublish.Kaltura.com", "127.0.0.1",
                                          "192.168.10.20",        "::1",
                                          "[2001:db8::5]",        "localhost"};
  const std::vector<std::string> streams = {"1", "2", "3", "audio_fr", "audio_en", "v-1080p"};
  const std::vector<uint16_t> ports = {0, 1935, 443, 19350, 8443};

  for (int i = 0; i < 400; ++i) {
    BuildOptions o;
    o.host = hosts[pick(hosts.size())];
    o.scheme = pick(2) ? Scheme::Rtmps : Scheme::Rtmp;
    o.port = ports[pick(ports.size())];
    const std::string entry = lg::auth::generate_entry_id(*random);
    const Role role = pick(2) ? Role::Backup : Role::Primary;
    const std::string token = pick(5) ? lg::auth::generate_token(*random) : std::string();
    const std::string stream = streams[pick(streams.size())];
    Endpoint e;
    REQUIRE(build(o, entry, role, token, stream, e, error));
    INFO("url=" << e.url << " stream=" << e.stream_name << " ffmpeg_url=" << e.ffmpeg_url);
    const Expect want{entry, role, token, stream};
    const Expect no_token{entry, role, "", stream};
    const bool ipv6 = o.host.find(':') != std::string::npos;

    // The single URL, as each client takes it.
    check_recovers(ffmpeg_sends(e.ffmpeg_url), want);
    check_recovers(*rtmp2_sends(e.ffmpeg_url), want);
    const auto lib = librtmp_sends(e.ffmpeg_url + " live=1");
    CHECK(lib.has_value() == !ipv6);
    if (lib) check_recovers(*lib, want);

    // Server URL plus stream key, as OBS takes them.
    check_recovers(obs_sends(e.url, e.stream_name), want);
    // ... and the token in the stream key too (some users do this): agrees.
    if (!token.empty()) check_recovers(obs_sends(e.url, e.stream_name + "?t=" + token), want);

    // Server URL plus a separate stream name where librtmp and rtmp2 take it:
    // the URL's "?t=" is lost (see endpoint.h), the rest arrives; the token
    // must then travel in the stream name.
    if (!ipv6) {
      check_recovers(*librtmp_sends(e.url + " playpath=" + e.stream_name + " live=1"), no_token);
      if (!token.empty()) {
        check_recovers(
            *librtmp_sends(e.url + " playpath=" + e.stream_name + "?t=" + token + " live=1"), want);
      }
    }
    check_recovers(*rtmp2_sends(e.url, e.stream_name), no_token);
    // FFmpeg with the server URL and -rtmp_playpath: likewise.
    check_recovers(ffmpeg_sends(e.url, e.stream_name), no_token);
  }
}

TEST_CASE("url: FFmpeg given only the server URL gets a precise refusal", "[url][clients]") {
  BuildOptions single;
  single.host = "127.0.0.1";
  const Endpoint e = build(single, "1_abcd1234", Role::Primary, "abcdefghijklmnopqrstuvwxyz", "1");
  // `ffmpeg -f flv URL` with the OBS "Server" URL: the query becomes the
  // stream name, which is then empty.
  const Sent sent = ffmpeg_sends(e.url);
  CHECK(sent.stream == "?t=abcdefghijklmnopqrstuvwxyz");
  PublishTarget target;
  std::string error;
  CHECK_FALSE(parse_publish(sent.tc_url, sent.app, sent.stream, target, error));
  CHECK(error.find("the stream name is empty") != std::string::npos);
}

TEST_CASE("url: triples captured from real clients", "[url][clients]") {
  // Recorded from FFmpeg 5.1.x, GStreamer 1.22 rtmpsink (librtmp
  // 2.4+20151223) and rtmp2sink, each publishing to a listener that logged
  // the connect command's tcUrl and app and the publish command's name. The
  // domain was mapped to 127.0.0.1.
  struct Capture {
    const char *client;
    const char *location;  // what the client was given
    Sent sent;             // what it sent
    Expect want;           // what parse_publish must recover
  };
  const std::string t = "abcdefghijklmnopqrstuvwxyz";
  const std::vector<Capture> captures = {
      {"ffmpeg",
       "rtmp://127.0.0.1:19351/kLive/1_abcd1234.p/1?t=T",
       {"rtmp://127.0.0.1:19351/kLive/1_abcd1234.p", "kLive/1_abcd1234.p", "1?t=" + t},
       {"1_abcd1234", Role::Primary, t, "1"}},
      {"ffmpeg",
       "rtmp://[::1]:19353/kLive/1_abcd1234.b/audio_fr?t=T",
       {"rtmp://[::1]:19353/kLive/1_abcd1234.b", "kLive/1_abcd1234.b", "audio_fr?t=" + t},
       {"1_abcd1234", Role::Backup, t, "audio_fr"}},
      {"ffmpeg",
       "rtmp://1_abcd1234.p.example.com:19361/kLive/1?t=T",
       {"rtmp://1_abcd1234.p.example.com:19361/kLive", "kLive", "1?t=" + t},
       {"1_abcd1234", Role::Primary, t, "1"}},
      {"ffmpeg",
       "rtmp://1_abcd1234.b.emea.publish.example.com/kLive/audio_fr?t=T",
       {"rtmp://1_abcd1234.b.emea.publish.example.com:1935/kLive", "kLive", "audio_fr?t=" + t},
       {"1_abcd1234", Role::Backup, t, "audio_fr"}},
      {"ffmpeg",
       "rtmp://1_abcd1234.p.example.com:19371/kLive/1?t=abcdefgh%2Dijklmnopq",
       {"rtmp://1_abcd1234.p.example.com:19371/kLive", "kLive", "1?t=abcdefgh%2Dijklmnopq"},
       {"1_abcd1234", Role::Primary, "abcdefgh-ijklmnopq", "1"}},
      {"ffmpeg -rtmp_playpath 1",
       "rtmp://127.0.0.1:19352/kLive/1_abcd1234.p/?t=T",
       {"rtmp://127.0.0.1:19352/kLive/1_abcd1234.p", "kLive/1_abcd1234.p", "1"},
       {"1_abcd1234", Role::Primary, "", "1"}},
      {"rtmpsink",
       "rtmp://127.0.0.1:19354/kLive/1_abcd1234.p/1?t=T live=1",
       {"rtmp://127.0.0.1:19354/kLive/1_abcd1234.p", "kLive/1_abcd1234.p", "1?t=" + t},
       {"1_abcd1234", Role::Primary, t, "1"}},
      {"rtmpsink",
       "rtmp://localhost:19375/kLive/1_abcd1234.b/audio_fr?t=T live=1",
       {"rtmp://localhost:19375/kLive/1_abcd1234.b", "kLive/1_abcd1234.b", "audio_fr?t=" + t},
       {"1_abcd1234", Role::Backup, t, "audio_fr"}},
      {"rtmpsink",
       "rtmp://1_abcd1234.p.example.com:19362/kLive/1?t=T live=1",
       {"rtmp://1_abcd1234.p.example.com:19362/kLive", "kLive", "1?t=" + t},
       {"1_abcd1234", Role::Primary, t, "1"}},
      {"rtmpsink",
       "rtmp://1_abcd1234.p.example.com:19372/kLive/1?t=abcdefgh%2Dijklmnopq live=1",
       {"rtmp://1_abcd1234.p.example.com:19372/kLive", "kLive", "1?t=abcdefgh-ijklmnopq"},
       {"1_abcd1234", Role::Primary, "abcdefgh-ijklmnopq", "1"}},
      {"rtmpsink",
       "rtmp://127.0.0.1:19355/kLive/1_abcd1234.p/?t=T playpath=1 live=1",
       {"rtmp://127.0.0.1:19355/kLive/1_abcd1234.p", "kLive/1_abcd1234.p", "1"},
       {"1_abcd1234", Role::Primary, "", "1"}},
      {"rtmpsink",
       "rtmp://1_abcd1234.p.example.com:19363/kLive/?t=T playpath=1 live=1",
       {"rtmp://1_abcd1234.p.example.com:19363/kLive", "kLive", "1"},
       {"1_abcd1234", Role::Primary, "", "1"}},
      {"rtmpsink",
       "rtmp://1_abcd1234.p.example.com:19364/kLive?t=T playpath=1 live=1",
       {"rtmp://1_abcd1234.p.example.com:19364/kLive?t=" + t, "kLive?t=" + t, "1"},
       {"1_abcd1234", Role::Primary, t, "1"}},
      {"rtmp2sink",
       "rtmp://127.0.0.1:19356/kLive/1_abcd1234.p/1?t=T",
       {"rtmp://127.0.0.1:19356/kLive/1_abcd1234.p", "kLive/1_abcd1234.p", "1?t=" + t},
       {"1_abcd1234", Role::Primary, t, "1"}},
      {"rtmp2sink",
       "rtmp://[::1]:19357/kLive/1_abcd1234.p/1?t=T",
       {"rtmp://[::1]:19357/kLive/1_abcd1234.p", "kLive/1_abcd1234.p", "1?t=" + t},
       {"1_abcd1234", Role::Primary, t, "1"}},
      {"rtmp2sink",
       "rtmp://1_abcd1234.p.example.com:1935/kLive/1?t=T",
       {"rtmp://1_abcd1234.p.example.com/kLive", "kLive", "1?t=" + t},
       {"1_abcd1234", Role::Primary, t, "1"}},
      {"rtmp2sink",
       "rtmp://1_ABCD1234.P.Example.com:19366/kLive/1?t=T",
       {"rtmp://1_abcd1234.p.example.com:19366/kLive", "kLive", "1?t=" + t},
       {"1_abcd1234", Role::Primary, t, "1"}},
      {"rtmp2sink",
       "rtmp://1_abcd1234.p.example.com:19373/kLive/1?t=abcdefgh%2Dijklmnopq",
       {"rtmp://1_abcd1234.p.example.com:19373/kLive", "kLive", "1?t=abcdefgh%2Dijklmnopq"},
       {"1_abcd1234", Role::Primary, "abcdefgh-ijklmnopq", "1"}},
      {"rtmp2sink stream=1",
       "rtmp://127.0.0.1:19358/kLive/1_abcd1234.p/?t=T",
       {"rtmp://127.0.0.1:19358/kLive/1_abcd1234.p", "kLive/1_abcd1234.p", "1"},
       {"1_abcd1234", Role::Primary, "", "1"}},
  };
  for (const Capture &c : captures) {
    INFO(c.client << " given " << c.location);
    check_recovers(c.sent, c.want);

    // The models above must predict exactly what was captured.
    std::string location = c.location;
    const size_t tpos = location.find("t=T");
    if (tpos != std::string::npos) location.replace(tpos + 2, 1, t);
    const std::string client = c.client;
    std::optional<Sent> model;
    if (client == "ffmpeg") {
      model = ffmpeg_sends(location);
    } else if (client == "ffmpeg -rtmp_playpath 1") {
      model = ffmpeg_sends(location, "1");
    } else if (client == "rtmpsink") {
      model = librtmp_sends(location);
    } else if (client == "rtmp2sink") {
      model = rtmp2_sends(location);
    } else if (client == "rtmp2sink stream=1") {
      model = rtmp2_sends(location, "1");
    }
    REQUIRE(model.has_value());
    CHECK(model->tc_url == c.sent.tc_url);
    CHECK(model->app == c.sent.app);
    CHECK(model->stream == c.sent.stream);
  }
}
