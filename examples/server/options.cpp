#include "options.h"

#include <charconv>
#include <set>
#include <string_view>
#include <vector>

namespace lgserver {

const char kUsage[] = R"(Usage:
  livegate-server [OPTIONS]
      Runs the ingest server. Creates a first entry if the store has none and
      prints its URLs. Events go to stdout as one JSON object per line; logs
      go to stderr. SIGINT or SIGTERM stops it cleanly.

  livegate-server entry create [--name NAME] [--json] [STORE OPTIONS]
  livegate-server entry list [--json] [STORE OPTIONS]
  livegate-server entry show ID [--json] [--admin-key KEY] [STORE OPTIONS]
  livegate-server entry regenerate-token ID [--json] [STORE OPTIONS]
  livegate-server entry set-srt-passphrase ID (PASSPHRASE | - | --clear) [--json] [STORE OPTIONS]
  livegate-server entry set-outputs ID [--dvr on|off] [--recording on|off] [--json] [STORE OPTIONS]
  livegate-server entry delete ID [--json] [STORE OPTIONS]
  livegate-server entry switch ID primary|backup [--stream NAME] [--json] [--admin-key KEY]
                               [STORE OPTIONS]
      Manage entries. Safe while a server runs on the same data directory;
      it sees every change on the next publish. --json prints the entry with
      its token and every endpoint URL. set-srt-passphrase sets the
      passphrase SRT callers must encrypt with (10 to 79 characters; "-"
      reads it from the first line of stdin, keeping it out of the process
      list); --clear removes it. set-outputs switches the entry's DVR window
      and recording (a running server applies it to the next broadcast; the
      admin API applies it at once). show also reports the failover state
      of the entry's live streams when a server with HTTP runs on the same
      data directory (it writes its HTTP address to DATA_DIR/server.json;
      the admin key is read from DATA_DIR/admin-key unless --admin-key is
      given). switch asks that server to feed the entry's outputs (every
      stream name, or only --stream NAME) from the primary or the backup
      input, from that input's next keyframe: a failover drill, or the way
      back under --failover-policy manual. Exit status: 0 ok, 1 on error (no
      such entry, bad usage, store failure; for switch, no server running or
      the server refusing) with a message on stderr.

Store options (server and entry subcommands):
  --data-dir DIR          where the entry store lives: DIR/livegate.db
                          (default ./livegate-data, created if missing)
  --public-host HOST      the host name or address put into URLs
                          (default localhost)
  --rtmp-port PORT        the RTMP listen port, 0 for an ephemeral one
                          (default 1935); for the entry subcommands, the port
                          written into URLs
  --rtmps-port PORT|off   the same for RTMPS (default 1936; 443 in production)
  --srt-port PORT|off     the same for SRT (default 9000)
  --http-port PORT|off    the HTTP port for playback (/live, /recordings,
                          /clips) and the admin API (/api/v1), 0 for an
                          ephemeral one (default 8080); for the entry
                          subcommands, the port written into HLS URLs

Server options:
  --rtmp-address ADDR     the RTMP listen address (default 0.0.0.0)
  --rtmps-address ADDR    the RTMPS listen address (default 0.0.0.0)
  --tls-cert FILE         PEM certificate chain for RTMPS
  --tls-key FILE          its PEM private key; without both, a self-signed
                          certificate is made once in DATA_DIR/tls/ and its
                          SHA-256 fingerprint printed
  --srt-address ADDR      the SRT listen address (default 0.0.0.0)
  --srt-latency MS        SRT receiver latency (default 120)
  --srt-pbkeylen BYTES    AES key length for encrypted SRT callers: 16
                          (default), 24 or 32
  --http-address ADDR     the HTTP listen address (default 0.0.0.0)
  --admin-key KEY         the admin API's bearer key (16 to 256 printable
                          characters). Without it the key is read from
                          DATA_DIR/admin-key, made once (mode 0600) if missing;
                          the file keeps it out of the process list
  --log-level LEVEL       error, warn, info or debug (default info)
  --revoke-policy POLICY  keep: a regenerated token refuses new publishes only
                          (default); disconnect: it also ends live sessions
                          that used the old token, within a few seconds
  --help                  print this text

Limit options (server): what one peer can make the server hold or do; see
docs/LIMITS.md. Sizes are in bytes.
  --handshake-timeout-ms MS
                          a connection that has not started a publish after
                          MS is closed (default 10000)
  --idle-timeout-ms MS    a connection that sends nothing for MS is closed
                          (default 30000)
  --max-connections N     connections at once, over every listener; more
                          are refused (default 1024)
  --max-connections-per-address N
                          connections at once from one IPv4 address or IPv6
                          /64; 0: no limit (default 64)
  --max-auth-failures-per-minute N
                          failed publish attempts one address may make in a
                          minute before its attempts are refused unchecked;
                          an address that published to an entry with the
                          right token in the last day is never refused for
                          it; 0: no limit (default 10)
  --max-streams-per-entry N
                          live stream names per entry and endpoint
                          (default 16)
  --max-message-size B    one RTMP message or SRT frame (default 16777216)
  --max-chunk-size B      the largest RTMP Set Chunk Size taken
                          (default 2147483647: memory follows message sizes)
  --max-chunk-streams N   RTMP chunk streams per connection (default 64)
  --max-incomplete-bytes B
                          bytes in unfinished RTMP messages per connection
                          (default 33554432)
  --srt-max-bitrate KBPS  the most an SRT caller is expected to send; sizes
                          libsrt's buffers per caller to the latency + 1 s
                          of it (default 50000)
  --max-amf-depth N       AMF0 nesting (default 16)
  --max-amf-items N       AMF0 values in one message (default 1024)
  --max-amf-string B      one AMF0 string: app, tcUrl, stream name
                          (default 65536)
  --max-pending-bytes B   media held while a publish is authorised
                          (default 4194304)
  --max-send-buffer B     bytes queued to a peer that does not read before it
                          is cut (default 1048576)
  --max-ts-streams N      elementary streams read from an SRT stream's PMT
                          (default 32)
  --srt-queue-bytes B     SRT data waiting for the server's loop, over all
                          callers; newer data is dropped past it
                          (default 33554432)
  --output-queue-bytes B  frames waiting for the output threads; past it
                          frames are dropped until the next keyframe
                          (default 67108864)

Output options (server):
  --media-dir DIR         where HLS, recordings and clips are written and
                          served from (default DATA_DIR/media)
  --no-hls                do not package streams (nothing to play over HTTP)
  --segment-format FMT    ts (default) or fmp4; HEVC and AV1 always use fmp4
  --segment-target-ms MS  cut a segment at the first keyframe past MS
                          (default 2000)
  --live-segments N       segments in each live playlist (default 6)
  --dvr-window S          seconds of DVR window kept on disk (default 7200)
  --recording-rotate S    start a new recording file every S seconds
                          (default 600)
  --no-vod-on-stop        do not make an MP4 of each broadcast when it ends
  --playlist-end-ms MS    end a stream's playlists (EXT-X-ENDLIST) once its
                          output has been stopped MS milliseconds; a publish
                          back sooner continues them (default 10000)

Redundancy options (server): an entry's primary and backup inputs of one
stream name feed one output, from one input at a time.
  --failover-policy P     what the output does once the backup has taken
                          over: auto (default) goes back to the primary once
                          it has been healthy for --switch-back-ms; manual
                          stays until switched (admin API or entry switch);
                          sticky stays on the backup
  --stall-ms MS           an input without media for MS fails (default 1500)
  --keyframe-timeout-ms MS
                          an input without a keyframe for MS fails
                          (default 10000)
  --bitrate-collapse-percent N
                          an input fails when its bitrate over one second
                          falls below N% of the ten seconds before (0 to 99;
                          0, the default, does not check)
  --clear-ms MS           a failed input counts as healthy again after MS
                          without a fault (default 2000)
  --switch-back-ms MS     with auto, how long the primary must be healthy
                          before the output goes back to it (default 10000)
  --reconnect-window-ms MS
                          when the last input of a stream name leaves, its
                          output (live playlists, recording) waits MS for an
                          encoder to come back and continue the same
                          broadcast; then it stops and --playlist-end-ms
                          runs (default 10000)
  --content-checks LIST   also fail an input on its content: a comma list of
                          black, frozen and silence (default none)
  --black-after-ms MS     black video fails an input after MS (default 2000)
  --frozen-after-ms MS    frozen video fails an input after MS (default 4000)
  --silence-after-ms MS   audio silence fails an input after MS
                          (default 3000)
  --silence-dbfs DB       audio at or below DB dBFS (RMS) is silence, -120 to
                          -1 (default -60)

HTTP (when --http-port is not off):
  GET /live/ID/master.m3u8, /live/ID/master-dvr.m3u8, /live/ID/STREAM/live.m3u8,
      /live/ID/STREAM/dvr.m3u8 and segments; /recordings/ID/...; /clips/ID/FILE
  /api/v1/entries[/ID[/token|/srt-passphrase|/outputs|/switch|/clips[/N]|/streams/S]]
      with "Authorization: Bearer KEY"; see the README
)";

namespace {

enum class Scope { Shared, Server, Entry };

struct Flag {
  std::string_view name;
  bool takes_value;
  Scope scope;
};

constexpr Flag kFlags[] = {
    {"--data-dir", true, Scope::Shared},
    {"--public-host", true, Scope::Shared},
    {"--rtmp-port", true, Scope::Shared},
    {"--rtmp-address", true, Scope::Server},
    {"--log-level", true, Scope::Server},
    {"--revoke-policy", true, Scope::Server},
    {"--name", true, Scope::Entry},
    {"--json", false, Scope::Entry},
    {"--rtmps-port", true, Scope::Shared},
    {"--srt-port", true, Scope::Shared},
    {"--rtmps-address", true, Scope::Server},
    {"--srt-address", true, Scope::Server},
    {"--tls-cert", true, Scope::Server},
    {"--tls-key", true, Scope::Server},
    {"--srt-latency", true, Scope::Server},
    {"--srt-pbkeylen", true, Scope::Server},
    {"--clear", false, Scope::Entry},
    {"--http-port", true, Scope::Shared},
    {"--http-address", true, Scope::Server},
    // The server's key, or for entry show and switch the key to reach it with.
    {"--admin-key", true, Scope::Shared},
    {"--media-dir", true, Scope::Server},
    {"--segment-format", true, Scope::Server},
    {"--segment-target-ms", true, Scope::Server},
    {"--live-segments", true, Scope::Server},
    {"--dvr-window", true, Scope::Server},
    {"--recording-rotate", true, Scope::Server},
    {"--no-vod-on-stop", false, Scope::Server},
    {"--playlist-end-ms", true, Scope::Server},
    {"--no-hls", false, Scope::Server},
    {"--dvr", true, Scope::Entry},
    {"--recording", true, Scope::Entry},
    {"--failover-policy", true, Scope::Server},
    {"--stall-ms", true, Scope::Server},
    {"--keyframe-timeout-ms", true, Scope::Server},
    {"--bitrate-collapse-percent", true, Scope::Server},
    {"--clear-ms", true, Scope::Server},
    {"--switch-back-ms", true, Scope::Server},
    {"--reconnect-window-ms", true, Scope::Server},
    {"--content-checks", true, Scope::Server},
    {"--black-after-ms", true, Scope::Server},
    {"--frozen-after-ms", true, Scope::Server},
    {"--silence-after-ms", true, Scope::Server},
    {"--silence-dbfs", true, Scope::Server},
    {"--stream", true, Scope::Entry},
    {"--handshake-timeout-ms", true, Scope::Server},
    {"--idle-timeout-ms", true, Scope::Server},
    {"--max-connections", true, Scope::Server},
    {"--max-connections-per-address", true, Scope::Server},
    {"--max-auth-failures-per-minute", true, Scope::Server},
    {"--max-streams-per-entry", true, Scope::Server},
    {"--max-message-size", true, Scope::Server},
    {"--max-chunk-size", true, Scope::Server},
    {"--max-chunk-streams", true, Scope::Server},
    {"--max-incomplete-bytes", true, Scope::Server},
    {"--max-amf-depth", true, Scope::Server},
    {"--max-amf-items", true, Scope::Server},
    {"--max-amf-string", true, Scope::Server},
    {"--max-pending-bytes", true, Scope::Server},
    {"--max-send-buffer", true, Scope::Server},
    {"--max-ts-streams", true, Scope::Server},
    {"--srt-queue-bytes", true, Scope::Server},
    {"--srt-max-bitrate", true, Scope::Server},
    {"--output-queue-bytes", true, Scope::Server},
};

// Numeric flags with their bounds, one row each.
struct NumberFlag {
  std::string_view name;
  std::optional<uint32_t> Options::*field;
  uint32_t min;
  uint32_t max;
  const char *unit;
};

constexpr NumberFlag kNumberFlags[] = {
    {"--segment-target-ms", &Options::segment_target_ms, 100, 60000, "milliseconds"},
    {"--live-segments", &Options::live_segments, 2, 100, "a segment count"},
    {"--dvr-window", &Options::dvr_window_s, 1, 7 * 24 * 3600, "seconds"},
    {"--recording-rotate", &Options::recording_rotate_s, 10, 24 * 3600, "seconds"},
    {"--playlist-end-ms", &Options::playlist_end_ms, 100, 3600 * 1000, "milliseconds"},
    // The failover timers run every 50 ms: nothing shorter can be told apart.
    {"--stall-ms", &Options::stall_ms, 100, 60 * 1000, "milliseconds"},
    {"--keyframe-timeout-ms", &Options::keyframe_timeout_ms, 500, 300 * 1000, "milliseconds"},
    {"--bitrate-collapse-percent", &Options::bitrate_collapse_percent, 0, 99, "a percentage"},
    {"--clear-ms", &Options::clear_ms, 50, 600 * 1000, "milliseconds"},
    {"--switch-back-ms", &Options::switch_back_ms, 50, 3600 * 1000, "milliseconds"},
    {"--reconnect-window-ms", &Options::reconnect_window_ms, 50, 3600 * 1000, "milliseconds"},
    {"--black-after-ms", &Options::black_after_ms, 100, 600 * 1000, "milliseconds"},
    {"--frozen-after-ms", &Options::frozen_after_ms, 100, 600 * 1000, "milliseconds"},
    {"--silence-after-ms", &Options::silence_after_ms, 100, 600 * 1000, "milliseconds"},
    {"--handshake-timeout-ms", &Options::handshake_timeout_ms, 100, 3600 * 1000, "milliseconds"},
    {"--idle-timeout-ms", &Options::idle_timeout_ms, 100, 3600 * 1000, "milliseconds"},
    {"--max-connections", &Options::max_connections, 1, 1000000, "a connection count"},
    {"--max-connections-per-address", &Options::max_connections_per_address, 0, 1000000,
     "a connection count (0: no limit)"},
    {"--max-auth-failures-per-minute", &Options::max_auth_failures_per_minute, 0, 1000000,
     "an attempt count (0: no limit)"},
    {"--max-streams-per-entry", &Options::max_streams_per_entry, 1, 1024, "a stream count"},
    {"--max-message-size", &Options::max_message_size, 4096, 1u << 30, "bytes"},
    {"--max-chunk-size", &Options::max_chunk_size, 128, 0x7FFFFFFF, "bytes"},
    {"--max-chunk-streams", &Options::max_chunk_streams, 2, 65598, "a chunk stream count"},
    {"--max-incomplete-bytes", &Options::max_incomplete_bytes, 4096, 1u << 30, "bytes"},
    {"--max-amf-depth", &Options::max_amf_depth, 2, 1024, "a nesting depth"},
    {"--max-amf-items", &Options::max_amf_items, 16, 1000000, "a value count"},
    {"--max-amf-string", &Options::max_amf_string, 256, 1u << 24, "bytes"},
    {"--max-pending-bytes", &Options::max_pending_bytes, 4096, 1u << 30, "bytes"},
    {"--max-send-buffer", &Options::max_send_buffer, 65536, 1u << 30, "bytes"},
    {"--max-ts-streams", &Options::max_ts_streams, 1, 1024, "a stream count"},
    {"--srt-queue-bytes", &Options::srt_queue_bytes, 65536, 1u << 31, "bytes"},
    {"--srt-max-bitrate", &Options::srt_max_bitrate_kbps, 100, 1000000, "kbit/s"},
    {"--output-queue-bytes", &Options::output_queue_bytes, 65536, 1u << 31, "bytes"},
};

// Content checks by their --content-checks names.
struct ContentCheck {
  std::string_view name;
  uint32_t flag;
};

constexpr ContentCheck kContentChecks[] = {
    {"black", LG_CHECK_BLACK},
    {"frozen", LG_CHECK_FROZEN},
    {"silence", LG_CHECK_SILENCE},
};

// Flags that tune one content check, refused without it: a timing for a
// check that is off would be silently ignored.
struct CheckTuning {
  std::string_view flag;
  const ContentCheck &check;
  bool (*given)(const Options &);
};

constexpr CheckTuning kCheckTunings[] = {
    {"--black-after-ms", kContentChecks[0],
     [](const Options &o) { return o.black_after_ms.has_value(); }},
    {"--frozen-after-ms", kContentChecks[1],
     [](const Options &o) { return o.frozen_after_ms.has_value(); }},
    {"--silence-after-ms", kContentChecks[2],
     [](const Options &o) { return o.silence_after_ms.has_value(); }},
    {"--silence-dbfs", kContentChecks[2],
     [](const Options &o) { return o.silence_dbfs.has_value(); }},
};

const Flag *find_flag(std::string_view name) {
  for (const Flag &flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

bool parse_port(std::string_view text, int &out) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > 65535) {
    return false;
  }
  out = value;
  return true;
}

template <typename Number>
bool parse_number(std::string_view text, Number &out) {
  Number value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  out = value;
  return true;
}

// A value that is one of a few words.
template <typename T>
struct Word {
  std::string_view text;
  T value;
};

// The value of the word given; nullopt, saying which words `flag` takes,
// for any other.
template <typename T, size_t N>
std::optional<T> parse_word(const std::string &flag, std::string_view value,
                            const Word<T> (&words)[N], std::string &error) {
  std::string list;
  for (size_t i = 0; i < N; ++i) {
    if (words[i].text == value) return words[i].value;
    list += i == 0 ? "" : i + 1 == N ? " or " : ", ";
    list += words[i].text;
  }
  error = flag + " takes " + list + ", not '" + std::string(value) + "'";
  return std::nullopt;
}

// "black,frozen" and the like; "none" for no check.
bool parse_content_checks(std::string_view text, uint32_t &out) {
  out = 0;
  if (text == "none") return true;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view name = text.substr(0, comma);
    const ContentCheck *found = nullptr;
    for (const ContentCheck &check : kContentChecks) {
      if (check.name == name) found = &check;
    }
    if (!found) return false;
    out |= found->flag;
    if (comma == std::string_view::npos) return true;
    text.remove_prefix(comma + 1);
  }
}

bool apply(const Flag &flag, std::string_view value, Options &out, std::string &error) {
  const std::string name(flag.name);
  for (const NumberFlag &number : kNumberFlags) {
    if (flag.name != number.name) continue;
    uint32_t parsed = 0;
    if (!parse_number(value, parsed) || parsed < number.min || parsed > number.max) {
      error = name + " takes " + number.unit + " from " + std::to_string(number.min) + " to " +
              std::to_string(number.max) + ", not '" + std::string(value) + "'";
      return false;
    }
    out.*number.field = parsed;
    return true;
  }
  if (flag.name == "--json") {
    out.json = true;
  } else if (flag.name == "--no-hls") {
    out.hls = false;
  } else if (flag.name == "--no-vod-on-stop") {
    out.vod_on_stop = false;
  } else if (flag.name == "--clear") {
    out.clear = true;
  } else if (flag.name == "--name") {
    out.name = std::string(value);
  } else if (value.empty()) {
    error = name + " needs a non-empty value";
    return false;
  } else if (flag.name == "--data-dir") {
    out.data_dir = std::string(value);
  } else if (flag.name == "--public-host") {
    out.public_host = std::string(value);
  } else if (flag.name == "--rtmp-port") {
    if (!parse_port(value, out.rtmp_port)) {
      error = "--rtmp-port takes a port number from 0 to 65535, not '" + std::string(value) + "'";
      return false;
    }
  } else if (flag.name == "--rtmps-port" || flag.name == "--srt-port" ||
             flag.name == "--http-port") {
    int &port = flag.name == "--rtmps-port" ? out.rtmps_port
                : flag.name == "--srt-port" ? out.srt_port
                                            : out.http_port;
    if (value == "off") {
      port = -1;
    } else if (!parse_port(value, port)) {
      error =
          name + " takes a port number from 0 to 65535 or off, not '" + std::string(value) + "'";
      return false;
    }
  } else if (flag.name == "--rtmp-address") {
    out.rtmp_address = std::string(value);
  } else if (flag.name == "--rtmps-address") {
    out.rtmps_address = std::string(value);
  } else if (flag.name == "--srt-address") {
    out.srt_address = std::string(value);
  } else if (flag.name == "--http-address") {
    out.http_address = std::string(value);
  } else if (flag.name == "--admin-key") {
    out.admin_key = std::string(value);
  } else if (flag.name == "--media-dir") {
    out.media_dir = std::string(value);
  } else if (flag.name == "--segment-format") {
    static constexpr Word<lg_segment_format> kFormats[] = {{"ts", LG_SEGMENT_TS},
                                                           {"fmp4", LG_SEGMENT_FMP4}};
    out.segment_format = parse_word(name, value, kFormats, error);
    if (!out.segment_format) return false;
  } else if (flag.name == "--dvr" || flag.name == "--recording") {
    static constexpr Word<bool> kSwitch[] = {{"on", true}, {"off", false}};
    std::optional<bool> &field = flag.name == "--dvr" ? out.dvr : out.recording;
    field = parse_word(name, value, kSwitch, error);
    if (!field) return false;
  } else if (flag.name == "--tls-cert") {
    out.tls_cert = std::string(value);
  } else if (flag.name == "--tls-key") {
    out.tls_key = std::string(value);
  } else if (flag.name == "--srt-latency") {
    if (!parse_number(value, out.srt_latency_ms) || out.srt_latency_ms > 60000) {
      error = "--srt-latency takes milliseconds from 0 to 60000, not '" + std::string(value) + "'";
      return false;
    }
  } else if (flag.name == "--srt-pbkeylen") {
    if (!parse_number(value, out.srt_pbkeylen) ||
        (out.srt_pbkeylen != 16 && out.srt_pbkeylen != 24 && out.srt_pbkeylen != 32)) {
      error = "--srt-pbkeylen takes 16, 24 or 32, not '" + std::string(value) + "'";
      return false;
    }
  } else if (flag.name == "--log-level") {
    static constexpr Word<lg_log_level> kLevels[] = {{"error", LG_LOG_ERROR},
                                                     {"warn", LG_LOG_WARN},
                                                     {"info", LG_LOG_INFO},
                                                     {"debug", LG_LOG_DEBUG}};
    const auto level = parse_word(name, value, kLevels, error);
    if (!level) return false;
    out.log_level = *level;
  } else if (flag.name == "--failover-policy") {
    static constexpr Word<lg_failover_policy> kPolicies[] = {
        {"auto", LG_FAILOVER_AUTO}, {"manual", LG_FAILOVER_MANUAL}, {"sticky", LG_FAILOVER_STICKY}};
    out.failover_policy = parse_word(name, value, kPolicies, error);
    if (!out.failover_policy) return false;
  } else if (flag.name == "--content-checks") {
    if (!parse_content_checks(value, out.content_checks)) {
      error = "--content-checks takes a comma list of black, frozen and silence (or none), not '" +
              std::string(value) + "'";
      return false;
    }
  } else if (flag.name == "--silence-dbfs") {
    // 0 would mean the library's default, and RMS never exceeds full scale.
    int32_t dbfs = 0;
    if (!parse_number(value, dbfs) || dbfs < -120 || dbfs > -1) {
      error = "--silence-dbfs takes dBFS from -120 to -1, not '" + std::string(value) + "'";
      return false;
    }
    out.silence_dbfs = dbfs;
  } else if (flag.name == "--stream") {
    out.stream = std::string(value);
  } else if (flag.name == "--revoke-policy") {
    static constexpr Word<lg_revoke_policy> kPolicies[] = {{"keep", LG_REVOKE_KEEP},
                                                           {"disconnect", LG_REVOKE_DISCONNECT}};
    const auto policy = parse_word(name, value, kPolicies, error);
    if (!policy) return false;
    out.revoke_policy = *policy;
  }
  return true;
}

// How many positional arguments each entry action takes after its name.
bool entry_action_arity(std::string_view action, size_t &arity) {
  if (action == "create" || action == "list") {
    arity = 0;
  } else if (action == "show" || action == "regenerate-token" || action == "delete" ||
             action == "set-outputs") {
    arity = 1;
  } else if (action == "set-srt-passphrase") {
    arity = 2;  // or 1 with --clear
  } else if (action == "switch") {
    arity = 2;
  } else {
    return false;
  }
  return true;
}

}  // namespace

bool parse_options(std::span<const char *const> args, Options &out, std::string &error) {
  out = Options{};
  std::vector<std::string_view> positional;
  std::set<const Flag *> given;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i] ? args[i] : "";
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      out.mode = Mode::Help;
      return true;
    }
    const size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const Flag *flag = find_flag(name);
    if (!flag) {
      error = "unknown option '" + std::string(name) + "'";
      return false;
    }
    std::string_view value;
    if (eq != std::string_view::npos) {
      if (!flag->takes_value) {
        error = std::string(name) + " takes no value";
        return false;
      }
      value = arg.substr(eq + 1);
    } else if (flag->takes_value) {
      // A following option is almost surely a forgotten value, not the value.
      const std::string_view next = i + 1 < args.size() && args[i + 1] ? args[i + 1] : "";
      if (i + 1 >= args.size() || next.starts_with("--")) {
        error = std::string(name) + " needs a value (write " + std::string(name) +
                "=VALUE for a value that starts with --)";
        return false;
      }
      value = next;
      ++i;
    }
    if (!apply(*flag, value, out, error)) return false;
    given.insert(flag);
  }

  if (!positional.empty()) {
    if (positional[0] != "entry") {
      error = "unknown command '" + std::string(positional[0]) + "' (the only command is entry)";
      return false;
    }
    out.mode = Mode::Entry;
    if (positional.size() < 2) {
      error =
          "entry needs an action: create, list, show, regenerate-token, set-srt-passphrase, "
          "set-outputs, delete or switch";
      return false;
    }
    out.action = std::string(positional[1]);
    size_t arity = 0;
    if (!entry_action_arity(out.action, arity)) {
      error = "unknown entry action '" + out.action +
              "' (expected create, list, show, regenerate-token, set-srt-passphrase, "
              "set-outputs, delete or switch)";
      return false;
    }
    if (out.action == "set-srt-passphrase" && out.clear) arity = 1;
    if (positional.size() < 2 + arity) {
      if (out.action == "set-srt-passphrase" && positional.size() == 3) {
        error =
            "entry set-srt-passphrase needs a passphrase (or - to read it from stdin, or "
            "--clear)";
      } else if (out.action == "switch") {
        error = "entry switch needs an entry id and primary or backup";
      } else {
        error = "entry " + out.action + " needs an entry id";
      }
      return false;
    }
    if (positional.size() > 2 + arity) {
      error = "unexpected argument '" + std::string(positional[2 + arity]) + "' for entry " +
              out.action;
      return false;
    }
    if (arity >= 1) out.entry_id = std::string(positional[2]);
    if (out.action == "switch") {
      static constexpr Word<lg_role> kRoles[] = {{"primary", LG_ROLE_PRIMARY},
                                                 {"backup", LG_ROLE_BACKUP}};
      out.role = parse_word("entry switch", positional[3], kRoles, error);
      if (!out.role) return false;
    } else if (arity == 2) {
      out.passphrase = std::string(positional[3]);
    }
  }

  for (const Flag *flag : given) {
    if (out.mode == Mode::Serve && flag->scope == Scope::Entry) {
      error = std::string(flag->name) + " is only for the entry subcommands";
      return false;
    }
    if (out.mode == Mode::Entry && flag->scope == Scope::Server) {
      error = std::string(flag->name) + " is only for the server, not for entry " + out.action;
      return false;
    }
  }
  if (out.clear && out.action != "set-srt-passphrase") {
    error = "--clear is only for entry set-srt-passphrase";
    return false;
  }
  if ((out.dvr || out.recording) && out.action != "set-outputs") {
    error = "--dvr and --recording are only for entry set-outputs";
    return false;
  }
  if (out.action == "set-outputs" && !out.dvr && !out.recording) {
    error = "entry set-outputs needs --dvr on|off, --recording on|off or both";
    return false;
  }
  if (out.name && out.action != "create") {
    error = "--name is only for entry create";
    return false;
  }
  if (out.stream && out.action != "switch") {
    error = "--stream is only for entry switch";
    return false;
  }
  if (out.mode == Mode::Entry && !out.admin_key.empty() && out.action != "show" &&
      out.action != "switch") {
    error = "--admin-key is only for the server, entry show and entry switch";
    return false;
  }
  if (out.switch_back_ms && out.failover_policy.value_or(LG_FAILOVER_AUTO) != LG_FAILOVER_AUTO) {
    error = "--switch-back-ms is only for --failover-policy auto";
    return false;
  }
  for (const CheckTuning &tuning : kCheckTunings) {
    if (tuning.given(out) && (out.content_checks & tuning.check.flag) == 0) {
      error = std::string(tuning.flag) + " needs " + std::string(tuning.check.name) +
              " in --content-checks";
      return false;
    }
  }
  return true;
}

}  // namespace lgserver
