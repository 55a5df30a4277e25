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
  livegate-server entry show ID [--json] [STORE OPTIONS]
  livegate-server entry regenerate-token ID [--json] [STORE OPTIONS]
  livegate-server entry set-srt-passphrase ID (PASSPHRASE | - | --clear) [--json] [STORE OPTIONS]
  livegate-server entry set-outputs ID [--dvr on|off] [--recording on|off] [--json] [STORE OPTIONS]
  livegate-server entry delete ID [--json] [STORE OPTIONS]
      Manage entries. Safe while a server runs on the same data directory;
      it sees every change on the next publish. --json prints the entry with
      its token and every endpoint URL. set-srt-passphrase sets the
      passphrase SRT callers must encrypt with (10 to 79 characters; "-"
      reads it from the first line of stdin, keeping it out of the process
      list); --clear removes it. set-outputs switches the entry's DVR window
      and recording (a running server applies it to the next broadcast; the
      admin API applies it at once). Exit status: 0 ok, 1 on error (no such
      entry, bad usage, store failure) with a message on stderr.

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
                          publish has been gone MS milliseconds; a publish
                          back sooner continues them (default 10000)

HTTP (when --http-port is not off):
  GET /live/ID/master.m3u8, /live/ID/master-dvr.m3u8, /live/ID/STREAM/live.m3u8,
      /live/ID/STREAM/dvr.m3u8 and segments; /recordings/ID/...; /clips/ID/FILE
  /api/v1/entries[/ID[/token|/srt-passphrase|/outputs|/clips[/N]|/streams/S]]
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
    {"--admin-key", true, Scope::Server},
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

bool parse_number(std::string_view text, uint32_t &out) {
  uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  out = value;
  return true;
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
    if (value == "ts") {
      out.segment_format = LG_SEGMENT_TS;
    } else if (value == "fmp4") {
      out.segment_format = LG_SEGMENT_FMP4;
    } else {
      error = "--segment-format takes ts or fmp4, not '" + std::string(value) + "'";
      return false;
    }
  } else if (flag.name == "--dvr" || flag.name == "--recording") {
    std::optional<bool> &field = flag.name == "--dvr" ? out.dvr : out.recording;
    if (value == "on") {
      field = true;
    } else if (value == "off") {
      field = false;
    } else {
      error = name + " takes on or off, not '" + std::string(value) + "'";
      return false;
    }
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
    if (value == "error") {
      out.log_level = LG_LOG_ERROR;
    } else if (value == "warn") {
      out.log_level = LG_LOG_WARN;
    } else if (value == "info") {
      out.log_level = LG_LOG_INFO;
    } else if (value == "debug") {
      out.log_level = LG_LOG_DEBUG;
    } else {
      error = "--log-level takes error, warn, info or debug, not '" + std::string(value) + "'";
      return false;
    }
  } else if (flag.name == "--revoke-policy") {
    if (value == "keep") {
      out.revoke_policy = LG_REVOKE_KEEP;
    } else if (value == "disconnect") {
      out.revoke_policy = LG_REVOKE_DISCONNECT;
    } else {
      error = "--revoke-policy takes keep or disconnect, not '" + std::string(value) + "'";
      return false;
    }
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
          "set-outputs or delete";
      return false;
    }
    out.action = std::string(positional[1]);
    size_t arity = 0;
    if (!entry_action_arity(out.action, arity)) {
      error = "unknown entry action '" + out.action +
              "' (expected create, list, show, regenerate-token, set-srt-passphrase, "
              "set-outputs or delete)";
      return false;
    }
    if (out.action == "set-srt-passphrase" && out.clear) arity = 1;
    if (positional.size() < 2 + arity) {
      error = out.action == "set-srt-passphrase" && positional.size() == 3
                  ? "entry set-srt-passphrase needs a passphrase (or - to read it from stdin, "
                    "or --clear)"
                  : "entry " + out.action + " needs an entry id";
      return false;
    }
    if (positional.size() > 2 + arity) {
      error = "unexpected argument '" + std::string(positional[2 + arity]) + "' for entry " +
              out.action;
      return false;
    }
    if (arity >= 1) out.entry_id = std::string(positional[2]);
    if (arity == 2) out.passphrase = std::string(positional[3]);
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
  return true;
}

}  // namespace lgserver
