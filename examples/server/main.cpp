// livegate-server: a thin host over LiveGate's C API.
//
//   livegate-server [options]                 run the ingest server
//   livegate-server entry SUBCOMMAND [...]    manage entries in the same store
//
// Events go to stdout as one JSON object per line; logs go to stderr.
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "json.h"
#include "livegate/livegate.h"

using example::Json;

namespace {

constexpr const char *kUsage = R"(usage:
  livegate-server [options]
  livegate-server entry create [--name NAME] [--json] [options]
  livegate-server entry list [--json] [options]
  livegate-server entry show ID [--json] [options]
  livegate-server entry regenerate-token ID [--json] [options]
  livegate-server entry delete ID [options]

options:
  --data-dir DIR          where the entry store lives (default ./livegate-data)
  --rtmp-port N           RTMP port; 0 picks a free one (default 1935). For the
                          entry subcommands: the port written into URLs
  --rtmp-address IP       RTMP listen address (default 0.0.0.0)
  --public-host HOST      host name or address put into URLs (default localhost)
  --log-level LEVEL       error, warn, info or debug (default info)
  --revoke-policy POLICY  keep or disconnect: what happens to a live session
                          whose token is regenerated (default keep)
  --help                  this text
)";

struct Config {
  std::string data_dir = "./livegate-data";
  int rtmp_port = 1935;
  std::string rtmp_address = "0.0.0.0";
  std::string public_host = "localhost";
  lg_log_level log_level = LG_LOG_INFO;
  lg_revoke_policy revoke_policy = LG_REVOKE_KEEP;
  bool json = false;
  std::string name;
  std::vector<std::string> positional;
};

[[noreturn]] void usage_error(const std::string &message) {
  std::fprintf(stderr, "livegate-server: %s\n\n%s", message.c_str(), kUsage);
  std::exit(1);
}

bool parse_int(const std::string &s, int lo, int hi, int &out) {
  char *end = nullptr;
  errno = 0;
  long v = std::strtol(s.c_str(), &end, 10);
  if (errno != 0 || end == s.c_str() || *end != '\0' || v < lo || v > hi) return false;
  out = static_cast<int>(v);
  return true;
}

Config parse_args(int argc, char **argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--data-dir") {
      c.data_dir = next();
    } else if (a == "--rtmp-port") {
      if (!parse_int(next(), 0, 65535, c.rtmp_port)) usage_error("--rtmp-port takes 0..65535");
    } else if (a == "--rtmp-address") {
      c.rtmp_address = next();
    } else if (a == "--public-host") {
      c.public_host = next();
    } else if (a == "--log-level") {
      std::string l = next();
      if (l == "error")
        c.log_level = LG_LOG_ERROR;
      else if (l == "warn")
        c.log_level = LG_LOG_WARN;
      else if (l == "info")
        c.log_level = LG_LOG_INFO;
      else if (l == "debug")
        c.log_level = LG_LOG_DEBUG;
      else
        usage_error("--log-level takes error, warn, info or debug");
    } else if (a == "--revoke-policy") {
      std::string p = next();
      if (p == "keep")
        c.revoke_policy = LG_REVOKE_KEEP;
      else if (p == "disconnect")
        c.revoke_policy = LG_REVOKE_DISCONNECT;
      else
        usage_error("--revoke-policy takes keep or disconnect");
    } else if (a == "--json") {
      c.json = true;
    } else if (a == "--name") {
      c.name = next();
    } else if (a.rfind("--", 0) == 0) {
      usage_error("unknown option " + a);
    } else {
      c.positional.push_back(a);
    }
  }
  return c;
}

std::string take(char *s) {
  std::string out = s ? s : "";
  lg_free(s);
  return out;
}

// One protocol's endpoint object; later protocols add a function like it.
void add_rtmp(Json &j, const Config &c, int port, const lg_entry &e, lg_role role) {
  lg_url_options o;
  lg_url_options_init(&o);
  o.host = c.public_host.c_str();
  o.port = static_cast<uint16_t>(port);
  char *url = nullptr, *name = nullptr, *ff = nullptr;
  if (lg_url_build(&url, &name, &ff, &o, e.id, role, e.token, "1") != LG_OK) return;
  j.key("rtmp").begin_object();
  j.field("url", take(url)).field("streamName", take(name)).field("ffmpeg", take(ff));
  j.end_object();
}

std::string entry_json(const Config &c, int port, const lg_entry &e, const char *event = nullptr) {
  Json j;
  j.begin_object();
  if (event) j.field("event", event);
  j.field("entryId", e.id).field("name", e.name).field("token", e.token).field("streamName", "1");
  j.field("tokenGeneration", static_cast<int64_t>(e.token_generation));
  for (lg_role role : {LG_ROLE_PRIMARY, LG_ROLE_BACKUP}) {
    j.key(lg_role_name(role)).begin_object();
    add_rtmp(j, c, port, e, role);
    j.end_object();
  }
  j.end_object();
  return j.str();
}

void print_entry_human(const Config &c, int port, const lg_entry &e, FILE *out) {
  std::fprintf(out, "entry %s%s%s%s\n  token: %s\n", e.id, e.name[0] ? " (" : "", e.name,
               e.name[0] ? ")" : "", e.token);
  for (lg_role role : {LG_ROLE_PRIMARY, LG_ROLE_BACKUP}) {
    lg_url_options o;
    lg_url_options_init(&o);
    o.host = c.public_host.c_str();
    o.port = static_cast<uint16_t>(port);
    char *url = nullptr, *name = nullptr, *ff = nullptr;
    if (lg_url_build(&url, &name, &ff, &o, e.id, role, e.token, "1") != LG_OK) continue;
    std::fprintf(out, "  %s: server %s  stream key %s\n           ffmpeg -f flv \"%s\"\n",
                 lg_role_name(role), take(url).c_str(), take(name).c_str(), take(ff).c_str());
  }
}

std::string store_path(const Config &c) {
  return c.data_dir + "/livegate.db";
}

bool ensure_dir(const std::string &dir) {
  // One level is enough for the defaults; deeper paths are the operator's.
  if (mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return true;
  std::fprintf(stderr, "livegate-server: cannot create %s: %s\n", dir.c_str(),
               std::strerror(errno));
  return false;
}

int entry_command(const Config &c) {
  if (c.positional.size() < 2) usage_error("entry needs a subcommand");
  const std::string &sub = c.positional[1];
  if (!ensure_dir(c.data_dir)) return 1;
  lg_store *store = nullptr;
  char error[512] = "";
  if (lg_store_open(&store, store_path(c).c_str(), error, sizeof(error)) != LG_OK) {
    std::fprintf(stderr, "livegate-server: cannot open the store: %s\n", error);
    return 1;
  }
  auto need_id = [&]() -> const char * {
    if (c.positional.size() < 3) usage_error("entry " + sub + " needs an entry id");
    return c.positional[2].c_str();
  };
  auto fail = [&](lg_status rc, const std::string &what) {
    std::fprintf(stderr, "livegate-server: %s: %s%s%s\n", what.c_str(), lg_strerror(rc),
                 lg_store_last_error(store)[0] ? ": " : "", lg_store_last_error(store));
    lg_store_close(store);
    return 1;
  };
  lg_entry e{};
  e.struct_size = sizeof(e);
  lg_status rc = LG_OK;
  if (sub == "create") {
    rc = lg_store_create_entry(store, &e, c.name.c_str());
  } else if (sub == "show") {
    rc = lg_store_get_entry(store, &e, need_id());
  } else if (sub == "regenerate-token") {
    rc = lg_store_regenerate_token(store, &e, need_id());
  } else if (sub == "delete") {
    const char *id = need_id();
    rc = lg_store_delete_entry(store, id);
    if (rc != LG_OK) return fail(rc, std::string("entry ") + id);
    if (c.json) {
      std::printf("%s\n", Json().begin_object().field("deleted", id).end_object().str().c_str());
    } else {
      std::printf("deleted %s\n", id);
    }
    lg_store_close(store);
    return 0;
  } else if (sub == "list") {
    struct Ctx {
      const Config *c;
      std::vector<lg_entry> entries;
    } ctx{&c, {}};
    rc = lg_store_list_entries(
        store,
        [](void *user, const lg_entry *x) { static_cast<Ctx *>(user)->entries.push_back(*x); },
        &ctx);
    if (rc != LG_OK) return fail(rc, "entry list");
    if (c.json) {
      std::string out = "[";
      for (size_t i = 0; i < ctx.entries.size(); ++i) {
        if (i) out += ",";
        out += entry_json(c, c.rtmp_port, ctx.entries[i]);
      }
      std::printf("%s]\n", out.c_str());
    } else {
      for (const auto &x : ctx.entries) print_entry_human(c, c.rtmp_port, x, stdout);
    }
    lg_store_close(store);
    return 0;
  } else {
    usage_error("unknown entry subcommand " + sub);
  }
  if (rc != LG_OK) {
    return fail(rc, "entry " + sub + (c.positional.size() > 2 ? " " + c.positional[2] : ""));
  }
  if (c.json) {
    std::printf("%s\n", entry_json(c, c.rtmp_port, e).c_str());
  } else {
    print_entry_human(c, c.rtmp_port, e, stdout);
  }
  lg_store_close(store);
  return 0;
}

// ---- the running server ----------------------------------------------------

std::mutex g_out_mutex;  // stdout lines come from the loop thread and main

void emit(const std::string &line) {
  std::lock_guard lock(g_out_mutex);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void add_publish_fields(Json &j, const lg_publish_info *info) {
  j.field("sessionId", info->session_id)
      .field("entryId", info->entry_id)
      .field("role", lg_role_name(info->role))
      .field("streamName", info->stream_name)
      .field("protocol", lg_protocol_name(info->protocol))
      .field("remote", info->remote_address);
}

void on_log(void *, lg_log_level level, const char *message) {
  std::lock_guard lock(g_out_mutex);
  std::fprintf(stderr, "[%s] %s\n", lg_log_level_name(level), message);
}

void on_start(void *, const lg_publish_info *info) {
  Json j;
  j.begin_object().field("event", "publish_start");
  add_publish_fields(j, info);
  j.field("encoder", info->encoder);
  j.key("video").begin_object();
  j.field("codec", lg_codec_name(info->video->codec))
      .field("width", info->video->width)
      .field("height", info->video->height)
      .field("profile", info->video->profile)
      .field("level", info->video->level)
      .field("codecString", info->video->codec_string);
  j.end_object();
  j.key("audio").begin_object();
  j.field("codec", lg_codec_name(info->audio->codec))
      .field("sampleRate", info->audio->sample_rate)
      .field("channels", info->audio->channels)
      .field("codecString", info->audio->codec_string);
  j.end_object();
  j.key("metadata").raw(info->metadata_json);
  j.end_object();
  emit(j.str());
}

void on_reject(void *, const lg_reject_info *info) {
  Json j;
  j.begin_object()
      .field("event", "publish_reject")
      .field("reason", info->reason)
      .field("status", lg_status_name(info->status))
      .field("remote", info->remote_address)
      .field("protocol", lg_protocol_name(info->protocol))
      .field("entryId", info->entry_id)
      .field("role", lg_role_name(info->role))
      .field("streamName", info->stream_name)
      .end_object();
  emit(j.str());
}

void on_stop(void *, const lg_publish_info *info, const lg_session_stats *stats, lg_status status,
             const char *reason) {
  Json j;
  j.begin_object().field("event", "publish_stop");
  add_publish_fields(j, info);
  j.field("videoFrames", stats->video_frames)
      .field("audioFrames", stats->audio_frames)
      .field("bytes", stats->bytes_in)
      .field("durationMs", stats->duration_ms)
      .field("status", lg_status_name(status))
      .field("reason", reason)
      .end_object();
  emit(j.str());
}

int run_server(const Config &c) {
  // The loop thread inherits this mask, so only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (!ensure_dir(c.data_dir)) return 1;
  lg_server_options opts;
  lg_server_options_init(&opts);
  opts.data_dir = c.data_dir.c_str();
  opts.rtmp_address = c.rtmp_address.c_str();
  opts.rtmp_port = c.rtmp_port;
  opts.log = on_log;
  opts.log_level = c.log_level;
  opts.revoke_policy = c.revoke_policy;
  lg_server_callbacks cb{};
  cb.struct_size = sizeof(cb);
  cb.on_publish_start = on_start;
  cb.on_publish_reject = on_reject;
  cb.on_publish_stop = on_stop;

  lg_server *server = nullptr;
  lg_status rc = lg_server_create(&server, &opts, &cb);
  if (rc != LG_OK) {
    std::fprintf(stderr, "livegate-server: cannot start: %s\n", lg_strerror(rc));
    return 1;
  }
  rc = lg_server_start(server);
  if (rc != LG_OK) {
    std::fprintf(stderr, "livegate-server: cannot listen on %s:%d: %s\n", c.rtmp_address.c_str(),
                 c.rtmp_port, lg_strerror(rc));
    lg_server_destroy(server);
    return 1;
  }
  int port = 0;
  lg_server_get_port(server, LG_PROTOCOL_RTMP, &port);
  emit(Json()
           .begin_object()
           .field("event", "listening")
           .field("rtmp", port)
           .field("dataDir", c.data_dir)
           .end_object()
           .str());

  // A first entry, so a newcomer can publish straight away.
  lg_store *store = lg_server_get_store(server);
  struct First {
    bool any = false;
    lg_entry entry{};
  } first;
  lg_store_list_entries(
      store,
      [](void *user, const lg_entry *e) {
        auto *f = static_cast<First *>(user);
        if (!f->any) f->entry = *e;
        f->any = true;
      },
      &first);
  if (!first.any) {
    first.entry.struct_size = sizeof(first.entry);
    if (lg_store_create_entry(store, &first.entry, "first entry") != LG_OK) {
      std::fprintf(stderr, "livegate-server: cannot create an entry: %s\n",
                   lg_store_last_error(store));
    } else {
      first.any = true;
    }
  }
  if (first.any) {
    emit(entry_json(c, port, first.entry, "entry"));
    std::lock_guard lock(g_out_mutex);
    print_entry_human(c, port, first.entry, stderr);
  }

  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "[info] %s: shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  lg_server_destroy(server);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  Config c = parse_args(argc, argv);
  if (!c.positional.empty()) {
    if (c.positional[0] == "entry") return entry_command(c);
    usage_error("unknown command " + c.positional[0]);
  }
  return run_server(c);
}
