// An entry as operators see it: its token and, per role and protocol, the
// URLs an encoder needs, as JSON or as short human-readable text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "json.h"
#include "livegate/livegate.h"

namespace lgserver {

// The stream name every URL carries; one live stream per entry and role.
inline constexpr const char *kStreamName = "1";

// The example server's HTTP port for playback and the admin API.
inline constexpr int kDefaultHttpPort = 8080;

struct UrlSettings {
  std::string host = "localhost";
  // 0: the scheme's default; -1: the protocol is off and has no URLs.
  int rtmp_port = LG_DEFAULT_RTMP_PORT;
  int rtmps_port = LG_DEFAULT_RTMPS_PORT;
  int srt_port = LG_DEFAULT_SRT_PORT;
  // The HTTP delivery port (livegate-server's own web server); -1: none, and
  // entries have no HLS URLs.
  int http_port = kDefaultHttpPort;
};

// "http://HOST:PORT" of the HTTP delivery, or "" when it is off.
std::string http_base_url(const UrlSettings &settings);

// What an encoder is given for one protocol. RTMP(S): `url` and
// `stream_name` go into OBS's Server and Stream Key fields; `ffmpeg` is one
// URL for `ffmpeg -f flv`. SRT: `stream_name` is the stream id, `ffmpeg` the
// URL with it percent-encoded, and `obs` the URL with it pasted as is (OBS's
// Server field, Stream Key left empty).
struct Endpoint {
  std::string url;
  std::string stream_name;
  std::string ffmpeg;
  std::string obs;
};

// Fails, saying why, if no URL can be built with these settings (a host that
// is neither a DNS name nor an address), so commands can refuse before they
// change anything.
bool check_url_settings(const UrlSettings &settings, std::string &error);

// Writes the entry's keys (entryId, name, token, streamName, primary, backup,
// dvr, recording, hls, ...) into the object that `json` has open.
void write_entry_fields(JsonWriter &json, const lg_entry &entry, const UrlSettings &settings);

// The entry as one JSON object.
std::string entry_json(const lg_entry &entry, const UrlSettings &settings);

// Every entry of the store, oldest first.
lg_status list_entries(lg_store *store, std::vector<lg_entry> &out);
// Entries as one JSON array of entry objects.
std::string entries_json(const std::vector<lg_entry> &entries, const UrlSettings &settings);

// The entry and every URL, a few lines of text ending in a newline.
std::string describe_entry(const lg_entry &entry, const UrlSettings &settings);

// One line (no newline) for listings: id, name, token generation.
std::string summarize_entry(const lg_entry &entry);

}  // namespace lgserver
