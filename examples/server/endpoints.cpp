#include "endpoints.h"

#include <cstring>
#include <memory>
#include <optional>

namespace lgserver {

namespace {

struct LgFree {
  void operator()(char *p) const { lg_free(p); }
};
using LgString = std::unique_ptr<char, LgFree>;

struct Protocol {
  const char *key;         // the JSON key beside the others under "primary"/"backup"
  const char *label;       // for people
  const char *stream_key;  // the JSON key of Endpoint::stream_name
  lg_scheme scheme;
  int UrlSettings::*port;  // -1 there: the protocol is off
};

// A protocol is one row here; nothing else changes.
constexpr Protocol kProtocols[] = {
    {"rtmp", "RTMP", "streamName", LG_SCHEME_RTMP, &UrlSettings::rtmp_port},
    {"rtmps", "RTMPS", "streamName", LG_SCHEME_RTMPS, &UrlSettings::rtmps_port},
    {"srt", "SRT", "streamId", LG_SCHEME_SRT, &UrlSettings::srt_port},
};

std::optional<Endpoint> build_endpoint(const Protocol &protocol, const UrlSettings &settings,
                                       const char *entry_id, lg_role role, const char *token) {
  const int port = settings.*protocol.port;
  if (port < 0) return std::nullopt;
  lg_url_options opts;
  lg_url_options_init(&opts);
  opts.host = settings.host.c_str();
  opts.port = static_cast<uint16_t>(port);
  opts.scheme = protocol.scheme;
  char *url = nullptr;
  char *stream_name = nullptr;
  char *ffmpeg = nullptr;
  const lg_status rc =
      lg_url_build(&url, &stream_name, &ffmpeg, &opts, entry_id, role, token, kStreamName);
  LgString owned_url(url), owned_stream_name(stream_name), owned_ffmpeg(ffmpeg);
  if (rc != LG_OK || !url || !stream_name || !ffmpeg) return std::nullopt;
  Endpoint endpoint{url, stream_name, ffmpeg, {}};
  if (protocol.scheme == LG_SCHEME_SRT) endpoint.obs = endpoint.url + "?streamid=" + stream_name;
  return endpoint;
}

constexpr lg_role kRoles[] = {LG_ROLE_PRIMARY, LG_ROLE_BACKUP};

}  // namespace

bool check_url_settings(const UrlSettings &settings, std::string &error) {
  // A well-formed id and token, so a failure can only be the settings'.
  const char *probe_id = "1_aaaaaaaa";
  const char *probe_token = "aaaaaaaaaaaaaaaaaaaaaaaaaa";
  for (const Protocol &protocol : kProtocols) {
    if (settings.*protocol.port < 0) continue;
    if (!build_endpoint(protocol, settings, probe_id, LG_ROLE_PRIMARY, probe_token)) {
      error = std::string("cannot build ") + protocol.label + " URLs for host '" + settings.host +
              "': --public-host must be a DNS name, an IP address or localhost";
      return false;
    }
  }
  return true;
}

std::string http_base_url(const UrlSettings &settings) {
  if (settings.http_port < 0) return "";
  // An IPv6 literal is bracketed in a URL.
  const bool ipv6 = settings.host.find(':') != std::string::npos;
  std::string url = "http://" + (ipv6 ? "[" + settings.host + "]" : settings.host);
  if (settings.http_port != 0 && settings.http_port != 80) {
    url += ":" + std::to_string(settings.http_port);
  }
  return url;
}

void write_entry_fields(JsonWriter &json, const lg_entry &entry, const UrlSettings &settings) {
  json.key("entryId").string(entry.id);
  json.key("name").string(entry.name);
  json.key("token").string(entry.token);
  json.key("tokenGeneration").number(entry.token_generation);
  json.key("createdAtMs").number(entry.created_at_ms);
  json.key("updatedAtMs").number(entry.updated_at_ms);
  json.key("streamName").string(kStreamName);
  const bool srt_encrypted = entry.has_srt_passphrase && entry.srt_passphrase[0];
  json.key("srtPassphrase").string_or_null(srt_encrypted ? entry.srt_passphrase : nullptr);
  for (lg_role role : kRoles) {
    json.key(lg_role_name(role)).begin_object();
    for (const Protocol &protocol : kProtocols) {
      json.key(protocol.key);
      const auto endpoint = build_endpoint(protocol, settings, entry.id, role, entry.token);
      if (!endpoint) {
        json.null();
        continue;
      }
      json.begin_object();
      json.key("url").string(endpoint->url);
      json.key(protocol.stream_key).string(endpoint->stream_name);
      json.key("ffmpeg").string(endpoint->ffmpeg);
      if (!endpoint->obs.empty()) {
        json.key("obs").string(endpoint->obs);
        json.key("encrypted").boolean(srt_encrypted);
      }
      json.end_object();
    }
    json.end_object();
  }
  json.key("dvr").boolean(entry.dvr_enabled != 0);
  json.key("recording").boolean(entry.recording_enabled != 0);
  json.key("hls");
  const std::string base = http_base_url(settings);
  if (base.empty()) {
    json.null();
  } else {
    const std::string live = base + "/live/" + entry.id;
    json.begin_object();
    json.key("master").string(live + "/master.m3u8");
    json.key("dvr").string(live + "/master-dvr.m3u8");
    json.end_object();
  }
}

std::string entry_json(const lg_entry &entry, const UrlSettings &settings) {
  JsonWriter json;
  json.begin_object();
  write_entry_fields(json, entry, settings);
  json.end_object();
  return json.str();
}

lg_status list_entries(lg_store *store, std::vector<lg_entry> &out) {
  return lg_store_list_entries(
      store,
      [](void *user, const lg_entry *entry) {
        static_cast<std::vector<lg_entry> *>(user)->push_back(*entry);
      },
      &out);
}

std::string entries_json(const std::vector<lg_entry> &entries, const UrlSettings &settings) {
  JsonWriter json;
  json.begin_array();
  for (const lg_entry &entry : entries) {
    json.begin_object();
    write_entry_fields(json, entry, settings);
    json.end_object();
  }
  json.end_array();
  return json.str();
}

std::string describe_entry(const lg_entry &entry, const UrlSettings &settings) {
  std::string out = "entry " + std::string(entry.id);
  if (entry.name[0]) {
    out += ' ';
    JsonWriter::append_quoted(out, entry.name);
  }
  out += "\n  token " + std::string(entry.token) + " (generation " +
         std::to_string(entry.token_generation) + ")\n";
  const bool srt_encrypted = entry.has_srt_passphrase && entry.srt_passphrase[0];
  out +=
      std::string("  SRT passphrase ") + (srt_encrypted ? entry.srt_passphrase : "(none)") + "\n";
  out += std::string("  outputs DVR ") + (entry.dvr_enabled ? "on" : "off") + ", recording " +
         (entry.recording_enabled ? "on" : "off") + "\n";
  const std::string base = http_base_url(settings);
  if (!base.empty()) {
    out += "  HLS         " + base + "/live/" + entry.id + "/master.m3u8\n";
    out += "  HLS DVR     " + base + "/live/" + entry.id + "/master-dvr.m3u8\n";
  }
  for (lg_role role : kRoles) {
    for (const Protocol &protocol : kProtocols) {
      if (settings.*protocol.port < 0) continue;
      const auto endpoint = build_endpoint(protocol, settings, entry.id, role, entry.token);
      out += "  " + std::string(lg_role_name(role)) + " " + protocol.label + "\n";
      if (!endpoint) {
        out += "    (no URL could be built)\n";
        continue;
      }
      if (!endpoint->obs.empty()) {
        out += "    server      " + endpoint->obs + "   (OBS: stream key empty)\n";
        out += "    stream id   " + endpoint->stream_name + "\n";
        out += "    ffmpeg      " + endpoint->ffmpeg + "\n";
        continue;
      }
      out += "    server      " + endpoint->url + "\n";
      out += "    stream key  " + endpoint->stream_name + "\n";
      out += "    ffmpeg      " + endpoint->ffmpeg + "\n";
    }
  }
  return out;
}

std::string summarize_entry(const lg_entry &entry) {
  std::string out = entry.id;
  out += "  ";
  JsonWriter::append_quoted(out, entry.name);
  out += "  token generation " + std::to_string(entry.token_generation);
  return out;
}

}  // namespace lgserver
