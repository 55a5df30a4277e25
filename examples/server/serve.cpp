#include "serve.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "admin_api.h"
#include "admin_key.h"
#include "data_dir.h"
#include "endpoints.h"
#include "failover_json.h"
#include "http_server.h"
#include "json.h"
#include "livegate/output.h"
#include "media_files.h"

namespace lgserver {

namespace {

// Serialises what the loop thread and the main thread print: one JSON event
// per stdout line, one log message per stderr line, each flushed at once so
// that a script reading a pipe sees it without delay.
class Output {
 public:
  explicit Output(lg_log_level level) : level_(level) {}

  void event(const std::string &json) {
    std::lock_guard lock(mutex_);
    std::fwrite(json.data(), 1, json.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }

  void log(lg_log_level level, std::string_view message) {
    if (level > level_) return;
    std::string line = timestamp();
    line += ' ';
    line += lg_log_level_name(level);
    line += ": ";
    for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
    line += '\n';
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }

 private:
  static std::string timestamp() {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const std::time_t seconds = system_clock::to_time_t(now);
    const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[40];
    const size_t n = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(text + n, sizeof(text) - n, ".%03dZ", static_cast<int>(millis));
    return text;
  }

  std::mutex mutex_;
  const lg_log_level level_;
};

// Keys naming an entry's stream; null where the server could not tell.
void write_target(JsonWriter &json, const char *entry_id, lg_role role, const char *stream_name) {
  const bool known = entry_id && *entry_id;
  json.key("entryId").string_or_null(known ? entry_id : nullptr);
  json.key("role");
  if (known) {
    json.string(lg_role_name(role));
  } else {
    json.null();
  }
  json.key("streamName").string_or_null(stream_name && *stream_name ? stream_name : nullptr);
}

void write_session(JsonWriter &json, const lg_publish_info &info) {
  json.key("sessionId").number(info.session_id);
  write_target(json, info.entry_id, info.role, info.stream_name);
  json.key("protocol").string(lg_protocol_name(info.protocol));
  json.key("remote").string_or_null(info.remote_address);
}

void write_video(JsonWriter &json, const lg_video_params *video) {
  json.key("video");
  if (!video || video->codec == LG_CODEC_UNKNOWN) {
    json.null();
    return;
  }
  json.begin_object();
  json.key("codec").string(lg_codec_name(video->codec));
  json.key("width").number(video->width);
  json.key("height").number(video->height);
  json.key("profile").number(video->profile);
  json.key("level").number(video->level);
  json.key("codecString").string_or_null(video->codec_string);
  json.end_object();
}

void write_audio(JsonWriter &json, const lg_audio_params *audio) {
  json.key("audio");
  if (!audio || audio->codec == LG_CODEC_UNKNOWN) {
    json.null();
    return;
  }
  json.begin_object();
  json.key("codec").string(lg_codec_name(audio->codec));
  json.key("sampleRate").number(audio->sample_rate);
  json.key("channels").number(audio->channels);
  json.key("codecString").string_or_null(audio->codec_string);
  json.end_object();
}

// The callbacks run on the server's loop thread: they format one line and
// write it, nothing more.
struct Host {
  Output &output;
  ClipRegistry &clips;

  static void on_log(void *user, lg_log_level level, const char *message) {
    static_cast<Host *>(user)->output.log(level, message ? message : "");
  }

  static void on_publish_start(void *user, const lg_publish_info *info) {
    JsonWriter json;
    json.begin_object().key("event").string("publish_start");
    write_session(json, *info);
    json.key("encoder").string(info->encoder ? info->encoder : "");
    write_video(json, info->video);
    write_audio(json, info->audio);
    const bool has_metadata = info->metadata_json && *info->metadata_json;
    json.key("metadata").raw(has_metadata ? info->metadata_json : "{}");
    json.end_object();
    static_cast<Host *>(user)->output.event(json.str());
  }

  static void on_publish_reject(void *user, const lg_reject_info *info) {
    JsonWriter json;
    json.begin_object().key("event").string("publish_reject");
    json.key("reason").string(info->reason ? info->reason : "");
    json.key("status").string(lg_status_name(info->status));
    json.key("remote").string_or_null(info->remote_address);
    write_target(json, info->entry_id, info->role, info->stream_name);
    json.key("protocol").string(lg_protocol_name(info->protocol));
    json.end_object();
    static_cast<Host *>(user)->output.event(json.str());
  }

  static void on_publish_stop(void *user, const lg_publish_info *info,
                              const lg_session_stats *stats, lg_status status, const char *reason) {
    JsonWriter json;
    json.begin_object().key("event").string("publish_stop");
    write_session(json, *info);
    json.key("videoFrames").number(stats ? stats->video_frames : 0);
    json.key("audioFrames").number(stats ? stats->audio_frames : 0);
    json.key("bytes").number(stats ? stats->bytes_in : 0);
    json.key("durationMs").number(stats ? stats->duration_ms : 0);
    json.key("status").string(lg_status_name(status));
    json.key("reason").string(reason ? reason : "");
    json.end_object();
    static_cast<Host *>(user)->output.event(json.str());
  }

  static const char *output_event_name(lg_output_event_type type) {
    switch (type) {
      case LG_OUTPUT_SEGMENT:
        return "segment";
      case LG_OUTPUT_RECORDING_ROTATED:
        return "recordingRotated";
      case LG_OUTPUT_CLIP_READY:
        return "clipReady";
      case LG_OUTPUT_STORAGE_ERROR:
        return "storageError";
    }
    return "output";
  }

  static void on_output(void *user, const lg_output_event *event) {
    auto *host = static_cast<Host *>(user);
    host->clips.finished(*event);
    JsonWriter json;
    json.begin_object().key("event").string(output_event_name(event->type));
    json.key("entryId").string_or_null(event->entry_id);
    json.key("streamName").string_or_null(event->stream_name);
    json.key("path").string_or_null(event->path && *event->path ? event->path : nullptr);
    json.key("sequence").number(event->sequence);
    json.key("durationMs").number(event->duration_ms);
    json.key("bytes").number(event->bytes);
    json.key("latencyUs").number(event->latency_us);
    json.key("clipId").number(event->clip_id);
    json.key("status").string(lg_status_name(event->status));
    json.key("reason").string(event->reason ? event->reason : "");
    json.end_object();
    host->output.event(json.str());
  }

  static void on_failover(void *user, const lg_failover_event *event) {
    JsonWriter json;
    json.begin_object().key("event").string("failover");
    write_failover_event(json, *event);
    json.end_object();
    static_cast<Host *>(user)->output.event(json.str());
  }
};

// Removes DATA_DIR/server.json on every way out, also a failed start.
class ServerFileGuard {
 public:
  ServerFileGuard(std::string dir, int64_t pid) : dir_(std::move(dir)), pid_(pid) {}
  ServerFileGuard(const ServerFileGuard &) = delete;
  ServerFileGuard &operator=(const ServerFileGuard &) = delete;
  ~ServerFileGuard() { remove_server_file(dir_, pid_); }

 private:
  std::string dir_;
  int64_t pid_;
};

struct ServerDestroy {
  void operator()(lg_server *server) const { lg_server_destroy(server); }
};
using Server = std::unique_ptr<lg_server, ServerDestroy>;

int fail(Output &output, const std::string &message) {
  output.log(LG_LOG_ERROR, message);
  return 1;
}

// The oldest entry, or a new one if the store has none.
bool first_entry(lg_store *store, lg_entry &out, bool &created, std::string &error) {
  struct First {
    bool found = false;
    lg_entry entry{};
  } first;
  lg_status rc = lg_store_list_entries(
      store,
      [](void *user, const lg_entry *entry) {
        auto *f = static_cast<First *>(user);
        if (!f->found) f->entry = *entry;
        f->found = true;
      },
      &first);
  if (rc != LG_OK) {
    error = std::string("cannot list the entries: ") + lg_strerror(rc);
    return false;
  }
  created = !first.found;
  if (first.found) {
    out = first.entry;
    return true;
  }
  out = lg_entry{};
  out.struct_size = sizeof(out);
  rc = lg_store_create_entry(store, &out, "default");
  if (rc != LG_OK) {
    error = std::string("cannot create the first entry: ") + lg_strerror(rc);
    const char *detail = lg_store_last_error(store);
    if (detail && *detail) error += std::string(" (") + detail + ")";
    return false;
  }
  return true;
}

std::string absolute_path(const std::string &path) {
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

// Logs text of several lines one line at a time.
void log_lines(Output &output, lg_log_level level, std::string_view text) {
  while (!text.empty()) {
    const size_t end = text.find('\n');
    output.log(level, text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

}  // namespace

int serve(const Options &options) {
  Output output(options.log_level);

  // Blocked before the loop thread exists so that it inherits the mask and
  // the signals reach only sigwait() below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A reader that goes away must not kill the server in the middle of a
  // write; the write fails and the server keeps ingesting.
  signal(SIGPIPE, SIG_IGN);

  UrlSettings urls;
  urls.host = options.public_host;
  std::string error;
  if (!check_url_settings(urls, error)) return fail(output, error);
  if (!ensure_data_dir(options.data_dir, error)) return fail(output, error);

  const std::string media_dir = absolute_path(
      options.media_dir.empty() ? (std::filesystem::path(options.data_dir) / "media").string()
                                : options.media_dir);
  if (!ensure_data_dir(media_dir, error)) return fail(output, error);

  // Outlives the server, whose loop thread reports clips into it.
  ClipRegistry clips;
  Host host{output, clips};
  lg_server_options server_options;
  lg_server_options_init(&server_options);
  server_options.data_dir = options.data_dir.c_str();
  server_options.rtmp_address = options.rtmp_address.c_str();
  server_options.rtmp_port = options.rtmp_port;
  server_options.log = Host::on_log;
  server_options.log_user = &host;
  server_options.log_level = options.log_level;
  server_options.revoke_policy = options.revoke_policy;
  server_options.rtmps_address = options.rtmps_address.c_str();
  server_options.rtmps_port = options.rtmps_port;
  server_options.tls_cert_file = options.tls_cert.empty() ? nullptr : options.tls_cert.c_str();
  server_options.tls_key_file = options.tls_key.empty() ? nullptr : options.tls_key.c_str();
  server_options.srt_address = options.srt_address.c_str();
  server_options.srt_port = options.srt_port;
  server_options.srt_latency_ms = options.srt_latency_ms;
  server_options.srt_pbkeylen = options.srt_pbkeylen;
  server_options.media_dir = media_dir.c_str();
  server_options.hls = options.hls ? 1 : 0;
  server_options.vod_on_stop = options.vod_on_stop ? 1 : 0;
  if (options.segment_format) server_options.segment_format = *options.segment_format;
  if (options.segment_target_ms) server_options.segment_target_ms = *options.segment_target_ms;
  if (options.live_segments) server_options.live_playlist_segments = *options.live_segments;
  if (options.dvr_window_s) server_options.dvr_window_s = *options.dvr_window_s;
  if (options.recording_rotate_s) server_options.recording_rotate_s = *options.recording_rotate_s;
  if (options.playlist_end_ms) server_options.playlist_end_ms = *options.playlist_end_ms;
  if (options.failover_policy) server_options.failover_policy = *options.failover_policy;
  struct Setting {
    const std::optional<uint32_t> &value;
    uint32_t &field;
  };
  for (const Setting &setting :
       {Setting{options.stall_ms, server_options.stall_ms},
        Setting{options.keyframe_timeout_ms, server_options.keyframe_timeout_ms},
        Setting{options.bitrate_collapse_percent, server_options.bitrate_collapse_percent},
        Setting{options.clear_ms, server_options.clear_ms},
        Setting{options.switch_back_ms, server_options.switch_back_ms},
        Setting{options.reconnect_window_ms, server_options.reconnect_window_ms},
        Setting{options.black_after_ms, server_options.black_after_ms},
        Setting{options.frozen_after_ms, server_options.frozen_after_ms},
        Setting{options.silence_after_ms, server_options.silence_after_ms},
        Setting{options.handshake_timeout_ms, server_options.handshake_timeout_ms},
        Setting{options.idle_timeout_ms, server_options.idle_timeout_ms},
        Setting{options.max_connections, server_options.max_connections},
        Setting{options.max_streams_per_entry, server_options.max_streams_per_entry},
        Setting{options.max_message_size, server_options.max_message_size},
        Setting{options.max_chunk_size, server_options.max_chunk_size},
        Setting{options.max_chunk_streams, server_options.max_chunk_streams},
        Setting{options.max_incomplete_bytes, server_options.max_incomplete_bytes},
        Setting{options.max_amf_depth, server_options.max_amf_depth},
        Setting{options.max_amf_items, server_options.max_amf_items},
        Setting{options.max_amf_string, server_options.max_amf_string},
        Setting{options.max_pending_bytes, server_options.max_pending_bytes},
        Setting{options.max_send_buffer, server_options.max_send_buffer},
        Setting{options.max_ts_streams, server_options.max_ts_streams},
        Setting{options.srt_queue_bytes, server_options.srt_queue_bytes},
        Setting{options.srt_max_bitrate_kbps, server_options.srt_max_bitrate_kbps},
        Setting{options.output_queue_bytes, server_options.output_queue_bytes}}) {
    if (setting.value) setting.field = *setting.value;
  }
  // 0 on the command line turns these off.
  for (const Setting &setting :
       {Setting{options.max_connections_per_address, server_options.max_connections_per_address},
        Setting{options.max_auth_failures_per_minute,
                server_options.max_auth_failures_per_minute}}) {
    if (setting.value) setting.field = *setting.value == 0 ? LG_UNLIMITED : *setting.value;
  }
  server_options.content_checks = options.content_checks;
  if (options.silence_dbfs) server_options.silence_dbfs = *options.silence_dbfs;
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return fail(output,
                "--tls-cert and --tls-key go together (or neither, for a self-signed "
                "certificate)");
  }

  lg_server_callbacks callbacks{};
  callbacks.struct_size = sizeof(callbacks);
  callbacks.user = &host;
  callbacks.on_publish_start = Host::on_publish_start;
  callbacks.on_publish_reject = Host::on_publish_reject;
  callbacks.on_publish_stop = Host::on_publish_stop;
  callbacks.on_output = Host::on_output;
  callbacks.on_failover = Host::on_failover;

  lg_server *raw_server = nullptr;
  lg_status rc = lg_server_create(&raw_server, &server_options, &callbacks);
  Server server(raw_server);
  if (rc != LG_OK || !server) {
    const std::string what = rc == LG_E_STORE || rc == LG_E_IO
                                 ? "cannot open the entry store " + store_path(options.data_dir)
                                 : std::string("cannot create the server");
    return fail(output, what + ": " + lg_strerror(rc));
  }
  rc = lg_server_start(server.get());
  if (rc != LG_OK) {
    // The library has logged which listener failed and why.
    if (rc == LG_E_ADDR_IN_USE) {
      return fail(output, "cannot start the server: a listen address is already in use");
    }
    return fail(output, std::string("cannot start the server: ") + lg_strerror(rc));
  }
  struct Listener {
    lg_protocol protocol;
    int UrlSettings::*port;
  };
  constexpr Listener kListeners[] = {{LG_PROTOCOL_RTMP, &UrlSettings::rtmp_port},
                                     {LG_PROTOCOL_RTMPS, &UrlSettings::rtmps_port},
                                     {LG_PROTOCOL_SRT, &UrlSettings::srt_port}};
  urls.rtmp_port = urls.rtmps_port = urls.srt_port = -1;
  for (const Listener &l : kListeners) {
    int port = 0;
    rc = lg_server_get_port(server.get(), l.protocol, &port);
    if (rc == LG_OK) urls.*l.port = port;
  }
  if (urls.rtmp_port <= 0) {
    return fail(output, std::string("cannot read the RTMP port: ") + lg_strerror(rc));
  }
  char fingerprint[128] = "";
  const bool have_tls =
      lg_server_get_tls_fingerprint(server.get(), fingerprint, sizeof(fingerprint)) == LG_OK;

  const std::string data_dir = absolute_path(options.data_dir);

  // HTTP: media files and the admin API. The API needs the port it is
  // reached on for the URLs it returns, known only once bound, so it is
  // published to the handler threads after the start; until then (an
  // instant, before the listening event) the API answers 503.
  AdminKey admin_key;
  MediaFiles media(media_dir);
  std::optional<AdminApi> admin;
  std::atomic<const AdminApi *> admin_ready{nullptr};
  std::unique_ptr<HttpServer> http;
  std::optional<ServerFileGuard> server_file;
  urls.http_port = -1;
  if (options.http_port >= 0) {
    if (!load_admin_key(options.admin_key, data_dir, admin_key, error)) {
      return fail(output, error);
    }
    HttpConfig config;
    config.address = options.http_address;
    config.port = options.http_port;
    auto handler = [&media, &admin_ready](const HttpRequest &request) {
      if (MediaFiles::handles(request.path)) return media.serve(request);
      HttpReply reply;
      reply.header("Content-Type", "text/plain; charset=utf-8");
      if (AdminApi::handles(request.path)) {
        if (const AdminApi *api = admin_ready.load(std::memory_order_acquire)) {
          return api->handle(request);
        }
        reply.status = 503;
        reply.body = "starting\n";
        return reply;
      }
      reply.status = 404;
      reply.body = "not found\n";
      return reply;
    };
    auto log = [&output](std::string_view message) {
      output.log(LG_LOG_WARN, "http: " + std::string(message));
    };
    http = HttpServer::start(config, std::move(handler), std::move(log), error);
    if (!http) return fail(output, "cannot start the HTTP server: " + error);
    urls.http_port = http->port();
    admin.emplace(server.get(), urls, admin_key.key, options.revoke_policy, clips);
    admin_ready.store(&*admin, std::memory_order_release);
    // Tells the entry subcommands where the admin API is (entry show, entry
    // switch); a server without it is simply not found by them.
    ServerFile file{getpid(), options.http_address, urls.http_port};
    if (write_server_file(data_dir, file, error)) {
      server_file.emplace(data_dir, file.pid);
    } else {
      output.log(LG_LOG_WARN, error + "; entry show and entry switch will not find this server");
    }
  }

  {
    JsonWriter json;
    json.begin_object().key("event").string("listening");
    json.key("rtmp").number(urls.rtmp_port);
    for (const auto &[key, port] : {std::pair{"rtmps", urls.rtmps_port}, {"srt", urls.srt_port}}) {
      json.key(key);
      if (port > 0) {
        json.number(port);
      } else {
        json.null();
      }
    }
    json.key("tlsFingerprint").string_or_null(have_tls ? fingerprint : nullptr);
    json.key("http");
    if (http) {
      json.number(urls.http_port);
    } else {
      json.null();
    }
    // Where the admin key is, never the key itself: stdout may be logged.
    json.key("adminKeyFile")
        .string_or_null(http && !admin_key.file.empty() ? admin_key.file.c_str() : nullptr);
    json.key("dataDir").string(data_dir);
    json.key("mediaDir").string(media_dir);
    json.end_object();
    output.event(json.str());
  }
  if (have_tls) {
    output.log(LG_LOG_INFO, std::string("RTMPS certificate SHA-256 fingerprint ") + fingerprint);
  }
  output.log(LG_LOG_INFO, "entries are kept in " + store_path(data_dir));
  if (http) {
    output.log(LG_LOG_INFO, "HTTP on port " + std::to_string(urls.http_port) + ": playback under " +
                                http_base_url(urls) + "/live/, admin API under /api/v1 (key " +
                                (admin_key.file.empty() ? std::string("from --admin-key")
                                                        : "in " + admin_key.file) +
                                ")");
  }

  lg_entry entry{};
  bool created = false;
  if (!first_entry(lg_server_get_store(server.get()), entry, created, error)) {
    return fail(output, error);
  }
  {
    JsonWriter json;
    json.begin_object().key("event").string("entry");
    write_entry_fields(json, entry, urls);
    json.end_object();
    output.event(json.str());
  }
  output.log(LG_LOG_INFO, std::string(created ? "created" : "using") + " entry " + entry.id +
                              "; in OBS use Server and Stream Key, or publish with ffmpeg:");
  log_lines(output, LG_LOG_INFO, describe_entry(entry, urls));

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  output.log(LG_LOG_INFO,
             std::string("stopping on ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM"));
  // Clients that look from now on find no server rather than a closed port.
  server_file.reset();
  // HTTP first: its handlers call into the server.
  http.reset();
  server.reset();
  output.log(LG_LOG_INFO, "stopped");
  return 0;
}

}  // namespace lgserver
