// Endpoint URLs: the builder, its exact inverse, and the server-side parser of
// what an encoder actually sends.
//
// Forms built (E = entry id, r = p|b, T = token, S = stream name, port always
// written out):
//
//   production, host is a DNS domain D (the reference document's form):
//     url        rtmp://E.r.D:1935/kLive/?t=T          stream name  S
//     ffmpeg_url rtmp://E.r.D:1935/kLive/S?t=T
//   single host, host is an IPv4/IPv6 literal or localhost (no DNS needed):
//     url        rtmp://H:1935/kLive/E.r/?t=T          stream name  S
//     ffmpeg_url rtmp://H:1935/kLive/E.r/S?t=T         (IPv6: rtmp://[::1]:1935/...)
//   RTMPS: rtmps:// and, by default, port 443.
//   SRT (see url/srt_stream_id.h for the stream id I):
//     url        srt://E.r.D:9000  or  srt://H:9000
//     stream_name I, the stream id: #!::r=E.r/S,m=publish,livegate_token=T
//     ffmpeg_url url?streamid=I with I percent-encoded (ffmpeg, OBS, gst)
//
// What clients send for them, as (tcUrl, app, publish stream name). Read from
// their URL-splitting code and checked against FFmpeg 5.1, GStreamer 1.22
// rtmpsink (librtmp 2.4) and rtmp2sink with a capturing listener:
//
//   FFmpeg (libavformat rtmpproto.c) with ffmpeg_url: app = the first path
//   segment, or the first two when a third follows; playpath = the rest,
//   query included; tcUrl is rebuilt as scheme://host:port/app, the port
//   always written, IPv6 bracketed.
//     production  (rtmp://E.r.D:1935/kLive,       kLive,     S?t=T)
//     single      (rtmp://H:1935/kLive/E.r,       kLive/E.r, S?t=T)
//   OBS (its librtmp fork) with url + stream key: app = the whole path after
//   the host, query included, minus one trailing '/'; tcUrl = the URL up to
//   the end of that app; the key goes to publish percent-decoded.
//     production  (rtmp://E.r.D:1935/kLive/?t=T,  kLive/?t=T,     S)
//     single      (rtmp://H:1935/kLive/E.r/?t=T,  kLive/E.r/?t=T, S)
//   librtmp 2.4 (GStreamer rtmpsink, ffmpeg --enable-librtmp) with
//   ffmpeg_url: app = at most two path segments, playpath = the rest,
//   percent-decoded; tcUrl = the URL up to the end of app. No IPv6 literals.
//     production  (rtmp://E.r.D:1935/kLive,       kLive,     S?t=T)
//     single      (rtmp://H:1935/kLive/E.r,       kLive/E.r, S?t=T)
//   GStreamer rtmp2 with ffmpeg_url: app = the path up to its last '/',
//   stream = the rest, query included; tcUrl = scheme://host[:port]/app with
//   the host lowercased and the port left out when it is the scheme default.
//     production  (rtmp://E.r.D/kLive,            kLive,     S?t=T)
//     single      (rtmp://H:port/kLive/E.r,       kLive/E.r, S?t=T)
//
// So every client reaches the server with the entry and role (tcUrl host or
// app path) and the token (stream query, or app and tcUrl queries). One
// exception, inherent in the reference form: given url and a separate stream
// name (librtmp playpath=S, rtmp2 stream=S, FFmpeg -rtmp_playpath S), these
// clients take the "?t=T" after url's last '/' for a stream name, which S
// then replaces: the token is lost. They must use ffmpeg_url (or S?t=T as
// the stream name); otherwise parse_publish finds no token and authorization
// refuses the publish.
//
// Nothing here does I/O or throws; every function is safe from any thread.
#ifndef LG_URL_ENDPOINT_H
#define LG_URL_ENDPOINT_H

#include <cstdint>
#include <string>
#include <string_view>

namespace lg::url {

enum class Role { Primary, Backup };
enum class Scheme { Rtmp, Rtmps, Srt };

inline constexpr uint16_t kDefaultRtmpPort = 1935;
inline constexpr uint16_t kDefaultRtmpsPort = 443;
inline constexpr uint16_t kDefaultSrtPort = 9000;
// Bounds on what parse_publish and parse_url accept, well above any real URL.
inline constexpr size_t kMaxUrlLength = 2048;
inline constexpr size_t kMaxStreamLength = 1024;

struct BuildOptions {
  // A DNS domain ("publish.example.com", "emea.publish.example.com") for the
  // production form; an IPv4/IPv6 literal (brackets optional) or "localhost"
  // for the single-host form.
  std::string host;
  uint16_t port = kDefaultRtmpPort;  // 0: the scheme's default (1935 or 443)
  Scheme scheme = Scheme::Rtmp;
  // 1..64 characters of [A-Za-z0-9_-]; not "ondemand", which FFmpeg and
  // librtmp split differently.
  std::string app = "kLive";
};

struct Endpoint {
  std::string url;          // the encoder's "Server" field
  std::string stream_name;  // the encoder's "Stream Key" field; for SRT, the stream id
  std::string ffmpeg_url;   // one URL: `ffmpeg -f flv URL`, rtmpsink, rtmp2sink
};

// Builds the endpoint of one entry, role and stream name. `token` may be
// empty (the URLs then carry no query). Returns false and says why in `error`
// if an argument is malformed.
bool build(const BuildOptions &options, std::string_view entry_id, Role role,
           std::string_view token, std::string_view stream_name, Endpoint &out, std::string &error);
// The same, returning an Endpoint whose strings are all empty on bad input.
Endpoint build(const BuildOptions &options, std::string_view entry_id, Role role,
               std::string_view token, std::string_view stream_name);

struct PublishTarget {
  std::string entry_id;
  Role role = Role::Primary;
  std::string token;  // empty if the encoder presented none
  std::string stream_name;
  std::string app;  // the application: the first segment of the app path
};

// The server side: what the encoder sent in connect (tcUrl, app) and publish
// (the stream name, which may carry a query such as "1?t=T").
//
// Entry and role come from an "{entryId}.{p|b}" second segment of the app
// path (or of the tcUrl path), else from the first two labels of the tcUrl
// host; if both carry one they must agree. The token is the "t" query
// parameter of the stream name, the app or the tcUrl, wherever it is; where
// several carry it they must agree. A missing token is not an error here
// (out.token is empty): authorization refuses it with its own reason.
//
// On failure returns false and a precise reason, fit to send to the encoder
// and the host; tokens are never quoted in it.
bool parse_publish(std::string_view tc_url, std::string_view app, std::string_view stream,
                   PublishTarget &out, std::string &error);

struct ParsedUrl {
  Scheme scheme = Scheme::Rtmp;
  // The production form's domain (the host without its entry and role
  // labels) or the single host's address; IPv6 without brackets.
  std::string host;
  uint16_t port = 0;  // the scheme's default when the URL has none
  std::string app;
  PublishTarget target;
};

// The exact inverse of build(): parse_url(e.url, e.stream_name) and
// parse_url(e.ffmpeg_url, "") both give back what build() was given.
// `stream_name` is the separate stream key, or "" if the URL's last path
// segment is the stream name; it may carry its own "?t=T". For srt:// URLs
// it is the stream id, or "" when the URL has a streamid= query parameter,
// percent-encoded or pasted as is (what OBS users do); other SRT query
// parameters (passphrase, latency, ...) are allowed and ignored.
bool parse_url(std::string_view url, std::string_view stream_name, ParsedUrl &out,
               std::string &error);

// True for an IPv4 literal, an IPv6 literal (bracketed or not) and
// "localhost" (any case): hosts whose URLs carry the entry in the path.
bool is_single_host(std::string_view host);

uint16_t default_port(Scheme scheme);
const char *role_letter(Role role);      // "p" / "b"
const char *role_name(Role role);        // "primary" / "backup"
const char *scheme_name(Scheme scheme);  // "rtmp" / "rtmps" / "srt"

}  // namespace lg::url

#endif  // LG_URL_ENDPOINT_H
