#include "admin_api.h"

#include <charconv>
#include <initializer_list>
#include <vector>

#include "admin_key.h"
#include "failover_json.h"
#include "json.h"

namespace lgserver {

void ClipRegistry::insert_locked(uint64_t clip_id, Clip clip) {
  if (clips_.emplace(clip_id, std::move(clip)).second) order_.push_back(clip_id);
  while (order_.size() > kMaxClips) {
    clips_.erase(order_.front());
    order_.pop_front();
  }
}

void ClipRegistry::requested(uint64_t clip_id, const std::string &entry_id) {
  std::lock_guard lock(mutex_);
  insert_locked(clip_id, Clip{entry_id, State::Pending, 0, {}});
}

void ClipRegistry::finished(const lg_output_event &event) {
  if (event.type != LG_OUTPUT_CLIP_READY || event.clip_id == 0) return;
  Clip clip;
  clip.entry_id = event.entry_id ? event.entry_id : "";
  clip.state = event.status == LG_OK ? State::Ready : State::Failed;
  clip.duration_ms = event.duration_ms;
  if (event.status != LG_OK) {
    clip.reason = event.reason && *event.reason ? event.reason : lg_strerror(event.status);
  }
  std::lock_guard lock(mutex_);
  const auto found = clips_.find(event.clip_id);
  if (found != clips_.end()) {
    found->second = std::move(clip);
  } else {
    insert_locked(event.clip_id, std::move(clip));
  }
}

std::optional<ClipRegistry::Clip> ClipRegistry::find(uint64_t clip_id) const {
  std::lock_guard lock(mutex_);
  const auto found = clips_.find(clip_id);
  if (found == clips_.end()) return std::nullopt;
  return found->second;
}

namespace {

HttpReply json_reply(unsigned status, std::string body) {
  HttpReply reply;
  reply.status = status;
  reply.body = std::move(body);
  reply.body += '\n';
  reply.header("Content-Type", "application/json");
  // Entries carry tokens: nothing on the way may keep a copy.
  reply.header("Cache-Control", "no-store");
  return reply;
}

HttpReply error_reply(unsigned status, const std::string &message, const char *code = nullptr) {
  JsonWriter json;
  json.begin_object().key("error").string(message);
  if (code) json.key("status").string(code);
  json.end_object();
  return json_reply(status, json.str());
}

unsigned http_status(lg_status status) {
  switch (status) {
    case LG_E_INVALID_ARG:
    case LG_E_URL:
      return 400;
    case LG_E_NOT_FOUND:
      return 404;
    case LG_E_EXISTS:
    case LG_E_STATE:
      return 409;
    case LG_E_UNSUPPORTED:
      return 501;
    default:
      return 500;
  }
}

// A refused library call: the status mapped to HTTP, the store's own detail
// (for example why a passphrase is refused) when it has one.
HttpReply library_error(lg_status status, const std::string &what, lg_store *store = nullptr) {
  std::string message = what + ": ";
  if (status == LG_E_NOT_FOUND) {
    message += "not found";
  } else {
    message += lg_strerror(status);
    const char *detail = store ? lg_store_last_error(store) : nullptr;
    if (detail && *detail) message += std::string(" (") + detail + ")";
  }
  return error_reply(http_status(status), message, lg_status_name(status));
}

HttpReply no_such_entry(const std::string &id) {
  return error_reply(404, "no such entry '" + id + "'", lg_status_name(LG_E_NOT_FOUND));
}

HttpReply method_not_allowed(const char *allow) {
  HttpReply reply = error_reply(405, std::string("method not allowed; use ") + allow);
  reply.header("Allow", allow);
  return reply;
}

lg_entry empty_entry() {
  lg_entry entry{};
  entry.struct_size = sizeof(entry);
  return entry;
}

// The body as a JSON object. An empty body is {} when `optional`. On failure
// fills `error` with the 400 to send.
bool body_object(const HttpRequest &request, bool optional, JsonValue &out,
                 std::optional<HttpReply> &error) {
  std::string why;
  if (parse_request_body(request.body, optional, out, why)) return true;
  error = error_reply(400, why);
  return false;
}

// Refuses keys the endpoint does not know, so that a typo is not silently
// ignored.
bool known_keys(const JsonValue &body, std::initializer_list<std::string_view> keys,
                std::optional<HttpReply> &error) {
  for (const auto &[name, value] : body.members) {
    bool known = false;
    for (std::string_view key : keys) known = known || key == name;
    if (!known) {
      error = error_reply(400, "unknown key '" + name + "'");
      return false;
    }
  }
  return true;
}

// A string member (absent and null give nullopt with `present` false and
// true respectively). The C API takes NUL-terminated strings, so an embedded
// NUL is refused rather than cut short.
bool string_member(const JsonValue &body, std::string_view key, std::optional<std::string> &out,
                   bool &present, std::optional<HttpReply> &error) {
  out.reset();
  const JsonValue *value = body.find(key);
  present = value != nullptr;
  if (!value || value->is_null()) return true;
  if (value->type != JsonValue::Type::String) {
    error = error_reply(400, "'" + std::string(key) + "' must be a string or null");
    return false;
  }
  if (value->text.find('\0') != std::string::npos) {
    error = error_reply(400, "'" + std::string(key) + "' must not contain a NUL character");
    return false;
  }
  out = value->text;
  return true;
}

bool bool_member(const JsonValue &body, std::string_view key, std::optional<bool> &out,
                 std::optional<HttpReply> &error) {
  out.reset();
  const JsonValue *value = body.find(key);
  if (!value) return true;
  if (value->type != JsonValue::Type::Boolean) {
    error = error_reply(400, "'" + std::string(key) + "' must be true or false");
    return false;
  }
  out = value->boolean;
  return true;
}

bool integer_member(const JsonValue &body, std::string_view key, std::optional<int64_t> &out,
                    std::optional<HttpReply> &error) {
  out.reset();
  const JsonValue *value = body.find(key);
  if (!value) return true;
  out = value->integer();
  if (!out) {
    error = error_reply(400, "'" + std::string(key) + "' must be an integer");
    return false;
  }
  return true;
}

const char *clip_state_name(ClipRegistry::State state) {
  switch (state) {
    case ClipRegistry::State::Pending:
      return "pending";
    case ClipRegistry::State::Ready:
      return "ready";
    case ClipRegistry::State::Failed:
      return "failed";
  }
  return "pending";
}

std::string clip_url(const std::string &entry_id, uint64_t clip_id) {
  return "/clips/" + entry_id + "/" + std::to_string(clip_id) + ".mp4";
}

// "failover": the state of every output of the entry, or null if the
// library cannot list them.
void write_failover_member(JsonWriter &json, lg_server *server, const std::string &entry_id) {
  json.key("failover");
  if (write_entry_failover(json, server, entry_id) != LG_OK) json.null();
}

}  // namespace

HttpReply AdminApi::handle(const HttpRequest &request) const {
  // The key is checked before anything else, so that a client without it
  // learns nothing, not even which paths exist.
  constexpr std::string_view kScheme = "bearer ";
  std::string_view authorization = request.authorization;
  bool scheme_ok = authorization.size() > kScheme.size();
  for (size_t i = 0; scheme_ok && i < kScheme.size(); ++i) {
    const char c = authorization[i];
    scheme_ok = (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == kScheme[i];
  }
  std::string_view presented = scheme_ok ? authorization.substr(kScheme.size()) : "";
  while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
  while (!presented.empty() && presented.back() == ' ') presented.remove_suffix(1);
  if (!scheme_ok || !same_key(presented, key_)) {
    HttpReply reply =
        error_reply(401, "missing or wrong admin key (send Authorization: Bearer KEY)");
    reply.header("WWW-Authenticate", "Bearer realm=\"livegate\"");
    return reply;
  }

  std::vector<std::string_view> parts;
  if (!split_path(request.path, parts) || parts.size() < 3 || parts[0] != "api" ||
      parts[1] != "v1" || parts[2] != "entries") {
    return error_reply(404, "no such endpoint");
  }
  if (request.body_too_large) {
    return error_reply(413, "the request body is larger than " +
                                std::to_string(HttpServer::kMaxBodyBytes) + " bytes");
  }
  const std::string_view method = request.method;
  if (parts.size() == 3) {
    if (method == "GET") return list_entries();
    if (method == "POST") return create_entry(request);
    return method_not_allowed("GET, POST");
  }
  if (!is_safe_name(parts[3])) return error_reply(404, "no such entry");
  const std::string id(parts[3]);
  // Every route below names an entry: one that does not exist (or could
  // not, being malformed) is 404 whatever the rest of the path.
  lg_entry entry;
  if (auto missing = find_entry(id, entry)) return std::move(*missing);
  if (parts.size() == 4) {
    if (method == "GET") return show_entry(id);
    if (method == "DELETE") return delete_entry(id);
    return method_not_allowed("GET, DELETE");
  }
  const std::string_view what = parts[4];
  if (parts.size() == 5) {
    if (what == "token") {
      return method == "POST" ? regenerate_token(id, request) : method_not_allowed("POST");
    }
    if (what == "srt-passphrase") {
      return method == "PUT" ? set_srt_passphrase(id, request) : method_not_allowed("PUT");
    }
    if (what == "outputs") {
      return method == "PUT" ? set_outputs(id, request) : method_not_allowed("PUT");
    }
    if (what == "clips") {
      return method == "POST" ? request_clip(id, request) : method_not_allowed("POST");
    }
    if (what == "switch") {
      return method == "POST" ? switch_input(id, request) : method_not_allowed("POST");
    }
  }
  if (parts.size() == 6) {
    if (what == "clips") {
      return method == "GET" ? show_clip(id, parts[5]) : method_not_allowed("GET");
    }
    if (what == "streams") {
      return method == "GET" ? show_stream(id, parts[5]) : method_not_allowed("GET");
    }
  }
  return error_reply(404, "no such endpoint");
}

HttpReply AdminApi::entry_reply(unsigned status, const lg_entry &entry) const {
  return json_reply(status, entry_json(entry, urls_));
}

std::optional<HttpReply> AdminApi::find_entry(const std::string &id, lg_entry &entry) const {
  lg_store *store = lg_server_get_store(server_);
  entry = empty_entry();
  const lg_status rc = lg_store_get_entry(store, &entry, id.c_str());
  // The store refuses a malformed id as an invalid argument; to a client
  // it is just an entry that does not exist.
  if (rc == LG_E_NOT_FOUND || rc == LG_E_INVALID_ARG) return no_such_entry(id);
  if (rc != LG_OK) return library_error(rc, "cannot read entry '" + id + "'", store);
  return std::nullopt;
}

HttpReply AdminApi::list_entries() const {
  lg_store *store = lg_server_get_store(server_);
  std::vector<lg_entry> entries;
  const lg_status rc = lgserver::list_entries(store, entries);
  if (rc != LG_OK) return library_error(rc, "cannot list the entries", store);
  return json_reply(200, entries_json(entries, urls_));
}

HttpReply AdminApi::create_entry(const HttpRequest &request) const {
  JsonValue body;
  std::optional<HttpReply> error;
  std::optional<std::string> name;
  bool present = false;
  if (!body_object(request, true, body, error) || !known_keys(body, {"name"}, error) ||
      !string_member(body, "name", name, present, error)) {
    return std::move(*error);
  }
  lg_store *store = lg_server_get_store(server_);
  lg_entry entry = empty_entry();
  const lg_status rc = lg_store_create_entry(store, &entry, name ? name->c_str() : nullptr);
  if (rc != LG_OK) return library_error(rc, "cannot create an entry", store);
  HttpReply reply = entry_reply(201, entry);
  reply.header("Location", std::string("/api/v1/entries/") + entry.id);
  return reply;
}

HttpReply AdminApi::show_entry(const std::string &id) const {
  lg_entry entry;
  if (auto error = find_entry(id, entry)) return std::move(*error);
  JsonWriter json;
  json.begin_object();
  write_entry_fields(json, entry, urls_);
  write_failover_member(json, server_, id);
  json.end_object();
  return json_reply(200, json.str());
}

HttpReply AdminApi::delete_entry(const std::string &id) const {
  lg_store *store = lg_server_get_store(server_);
  const lg_status rc = lg_store_delete_entry(store, id.c_str());
  if (rc == LG_E_NOT_FOUND) return no_such_entry(id);
  if (rc != LG_OK) return library_error(rc, "cannot delete entry '" + id + "'", store);
  HttpReply reply;
  reply.status = 204;
  return reply;
}

HttpReply AdminApi::regenerate_token(const std::string &id, const HttpRequest &request) const {
  JsonValue body;
  std::optional<HttpReply> error;
  std::optional<bool> disconnect;
  if (!body_object(request, true, body, error) || !known_keys(body, {"disconnect"}, error) ||
      !bool_member(body, "disconnect", disconnect, error)) {
    return std::move(*error);
  }
  lg_revoke_policy policy = revoke_policy_;
  if (disconnect) policy = *disconnect ? LG_REVOKE_DISCONNECT : LG_REVOKE_KEEP;
  lg_entry entry = empty_entry();
  const lg_status rc = lg_server_regenerate_token(server_, id.c_str(), policy, &entry);
  if (rc == LG_E_NOT_FOUND) return no_such_entry(id);
  if (rc != LG_OK) {
    return library_error(rc, "cannot regenerate the token of entry '" + id + "'",
                         lg_server_get_store(server_));
  }
  return entry_reply(200, entry);
}

HttpReply AdminApi::set_srt_passphrase(const std::string &id, const HttpRequest &request) const {
  JsonValue body;
  std::optional<HttpReply> error;
  std::optional<std::string> passphrase;
  bool present = false;
  if (!body_object(request, false, body, error) || !known_keys(body, {"passphrase"}, error) ||
      !string_member(body, "passphrase", passphrase, present, error)) {
    return std::move(*error);
  }
  if (!present) {
    return error_reply(400, "'passphrase' is required: a string, or null to remove it");
  }
  lg_store *store = lg_server_get_store(server_);
  lg_entry entry = empty_entry();
  const lg_status rc = lg_store_set_srt_passphrase(store, &entry, id.c_str(),
                                                   passphrase ? passphrase->c_str() : nullptr);
  if (rc == LG_E_NOT_FOUND) return no_such_entry(id);
  if (rc != LG_OK) {
    return library_error(rc, "cannot set the SRT passphrase of entry '" + id + "'", store);
  }
  return entry_reply(200, entry);
}

HttpReply AdminApi::set_outputs(const std::string &id, const HttpRequest &request) const {
  JsonValue body;
  std::optional<HttpReply> error;
  std::optional<bool> dvr;
  std::optional<bool> recording;
  if (!body_object(request, false, body, error) || !known_keys(body, {"dvr", "recording"}, error) ||
      !bool_member(body, "dvr", dvr, error) || !bool_member(body, "recording", recording, error)) {
    return std::move(*error);
  }
  if (!dvr && !recording) return error_reply(400, "give 'dvr', 'recording' or both");
  lg_entry entry;
  if (auto missing = find_entry(id, entry)) return std::move(*missing);
  // A switch left out keeps its current value.
  const bool want_dvr = dvr.value_or(entry.dvr_enabled != 0);
  const bool want_recording = recording.value_or(entry.recording_enabled != 0);
  const lg_status rc = lg_server_set_outputs(server_, id.c_str(), want_dvr, want_recording);
  if (rc == LG_E_NOT_FOUND) return no_such_entry(id);
  if (rc != LG_OK) {
    return library_error(rc, "cannot set the outputs of entry '" + id + "'",
                         lg_server_get_store(server_));
  }
  if (auto missing = find_entry(id, entry)) return std::move(*missing);
  return entry_reply(200, entry);
}

HttpReply AdminApi::request_clip(const std::string &id, const HttpRequest &request) const {
  JsonValue body;
  std::optional<HttpReply> error;
  std::optional<std::string> stream;
  std::optional<std::string> broadcast;
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
  bool present = false;
  if (!body_object(request, false, body, error) ||
      !known_keys(body, {"stream", "broadcast", "startMs", "endMs"}, error) ||
      !string_member(body, "stream", stream, present, error) ||
      !string_member(body, "broadcast", broadcast, present, error) ||
      !integer_member(body, "startMs", start_ms, error) ||
      !integer_member(body, "endMs", end_ms, error)) {
    return std::move(*error);
  }
  if (!stream || !is_safe_name(*stream)) {
    return error_reply(400, "'stream' must name a stream, such as \"1\"");
  }
  if (!start_ms) return error_reply(400, "'startMs' is required");
  lg_entry entry;
  if (auto missing = find_entry(id, entry)) return std::move(*missing);
  lg_clip_request clip{};
  clip.struct_size = sizeof(clip);
  clip.entry_id = id.c_str();
  clip.stream_name = stream->c_str();
  clip.broadcast = broadcast ? broadcast->c_str() : nullptr;
  clip.start_ms = *start_ms;
  clip.end_ms = end_ms.value_or(-1);
  uint64_t clip_id = 0;
  const lg_status rc = lg_server_request_clip(server_, &clip, &clip_id);
  if (rc != LG_OK) return library_error(rc, "cannot make a clip of entry '" + id + "'");
  clips_.requested(clip_id, id);
  JsonWriter json;
  json.begin_object();
  json.key("clipId").number(clip_id);
  json.key("state").string("pending");
  json.key("url").string(clip_url(id, clip_id));
  json.end_object();
  HttpReply reply = json_reply(202, json.str());
  reply.header("Location", "/api/v1/entries/" + id + "/clips/" + std::to_string(clip_id));
  return reply;
}

HttpReply AdminApi::show_clip(const std::string &id, std::string_view clip_text) const {
  uint64_t clip_id = 0;
  const auto [end, ec] =
      std::from_chars(clip_text.data(), clip_text.data() + clip_text.size(), clip_id);
  std::optional<ClipRegistry::Clip> clip;
  if (ec == std::errc() && end == clip_text.data() + clip_text.size()) clip = clips_.find(clip_id);
  if (!clip || clip->entry_id != id) {
    return error_reply(404, "no clip " + std::string(clip_text) + " of entry '" + id + "'",
                       lg_status_name(LG_E_NOT_FOUND));
  }
  JsonWriter json;
  json.begin_object();
  json.key("clipId").number(clip_id);
  json.key("state").string(clip_state_name(clip->state));
  json.key("url").string(clip_url(id, clip_id));
  json.key("durationMs");
  if (clip->state == ClipRegistry::State::Ready) {
    json.number(clip->duration_ms);
  } else {
    json.null();
  }
  json.key("reason").string_or_null(
      clip->state == ClipRegistry::State::Failed ? clip->reason.c_str() : nullptr);
  json.end_object();
  return json_reply(200, json.str());
}

HttpReply AdminApi::show_stream(const std::string &id, std::string_view stream) const {
  lg_entry entry;
  if (auto missing = find_entry(id, entry)) return std::move(*missing);
  const std::string name(stream);
  lg_hls_info info{};
  info.struct_size = sizeof(info);
  const lg_status rc = lg_server_get_hls_info(server_, id.c_str(), name.c_str(), &info);
  if (rc == LG_E_NOT_FOUND) {
    return error_reply(404, "stream '" + name + "' of entry '" + id + "' has no output",
                       lg_status_name(rc));
  }
  if (rc != LG_OK) return library_error(rc, "cannot read stream '" + name + "'");
  JsonWriter json;
  json.begin_object();
  json.key("entryId").string(id);
  json.key("streamName").string(name);
  json.key("live").boolean(info.live != 0);
  json.key("dvrEnabled").boolean(info.dvr_enabled != 0);
  json.key("recordingEnabled").boolean(info.recording_enabled != 0);
  json.key("format").string(info.format == LG_SEGMENT_FMP4 ? "fmp4" : "ts");
  json.key("firstSequence").number(info.first_sequence);
  json.key("lastSequence").number(info.last_sequence);
  json.key("segmentCount").number(info.segment_count);
  json.key("windowMs").number(info.window_ms);
  json.key("windowStartUnixMs").number(info.window_start_unix_ms);
  json.key("peakBandwidthBps").number(info.peak_bandwidth_bps);
  json.key("framesDropped").number(info.frames_dropped);
  info.broadcast[sizeof(info.broadcast) - 1] = '\0';
  json.key("broadcast").string_or_null(info.broadcast[0] ? info.broadcast : nullptr);
  const std::string base = http_base_url(urls_);
  const std::string prefix = base + "/live/" + id + "/" + name;
  json.key("liveUrl").string_or_null(base.empty() ? nullptr : (prefix + "/live.m3u8").c_str());
  json.key("dvrUrl").string_or_null(base.empty() ? nullptr : (prefix + "/dvr.m3u8").c_str());
  // Null once the output has stopped: the playlists outlive it.
  lg_failover_stats stats{};
  stats.struct_size = sizeof(stats);
  json.key("failover");
  if (lg_server_get_failover_stats(server_, id.c_str(), name.c_str(), &stats) == LG_OK) {
    write_failover_stats(json, stats);
  } else {
    json.null();
  }
  json.end_object();
  return json_reply(200, json.str());
}

HttpReply AdminApi::switch_input(const std::string &id, const HttpRequest &request) const {
  JsonValue body;
  std::optional<HttpReply> error;
  std::optional<std::string> role;
  std::optional<std::string> stream;
  bool present = false;
  if (!body_object(request, false, body, error) ||
      !known_keys(body, {"role", "streamName"}, error) ||
      !string_member(body, "role", role, present, error) ||
      !string_member(body, "streamName", stream, present, error)) {
    return std::move(*error);
  }
  if (!role || (*role != "primary" && *role != "backup")) {
    return error_reply(400, "'role' must be \"primary\" or \"backup\"");
  }
  if (stream && !is_safe_name(*stream)) {
    return error_reply(400, "'streamName' must name a stream, such as \"1\", or be null");
  }
  const lg_role target = *role == "backup" ? LG_ROLE_BACKUP : LG_ROLE_PRIMARY;
  const lg_status rc =
      lg_server_switch_input(server_, id.c_str(), stream ? stream->c_str() : nullptr, target);
  const std::string what =
      stream ? "stream '" + *stream + "' of entry '" + id + "'" : "entry '" + id + "'";
  if (rc == LG_E_NOT_FOUND) {
    return error_reply(404, what + " has no output", lg_status_name(rc));
  }
  if (rc == LG_E_STATE) {
    return error_reply(409, "the " + *role + " input of " + what + " is not connected",
                       lg_status_name(rc));
  }
  if (rc != LG_OK) return library_error(rc, "cannot switch " + what);
  // The switch itself waits for that input's next keyframe: the state is
  // as it stands, for a client to poll from.
  JsonWriter json;
  json.begin_object();
  json.key("entryId").string(id);
  json.key("role").string(*role);
  json.key("streamName").string_or_null(stream ? stream->c_str() : nullptr);
  write_failover_member(json, server_, id);
  json.end_object();
  return json_reply(200, json.str());
}

}  // namespace lgserver
