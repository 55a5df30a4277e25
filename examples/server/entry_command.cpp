#include "entry_command.h"

#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admin_client.h"
#include "data_dir.h"
#include "endpoints.h"
#include "json.h"

namespace lgserver {

namespace {

struct StoreClose {
  void operator()(lg_store *store) const { lg_store_close(store); }
};
using Store = std::unique_ptr<lg_store, StoreClose>;

int fail(const std::string &message) {
  std::fprintf(stderr, "livegate-server: %s\n", message.c_str());
  return 1;
}

// A failed store call, with the store's own detail when it has one.
int fail(lg_store *store, lg_status status, const std::string &what) {
  std::string message = what + ": ";
  if (status == LG_E_NOT_FOUND) {
    message += "no such entry";
  } else {
    message += lg_strerror(status);
    const char *detail = lg_store_last_error(store);
    if (detail && *detail) message += std::string(" (") + detail + ")";
  }
  return fail(message);
}

void print(const std::string &text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

lg_entry empty_entry() {
  lg_entry entry{};
  entry.struct_size = sizeof(entry);
  return entry;
}

int print_entry(const lg_entry &entry, const Options &options, const UrlSettings &urls) {
  print(options.json ? entry_json(entry, urls) + "\n" : describe_entry(entry, urls));
  return 0;
}

// "2026-11-30T20:15:00Z" from Unix milliseconds.
std::string utc_time(int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string member_text(const JsonValue &object, std::string_view key) {
  const JsonValue *value = object.find(key);
  if (!value || value->is_null()) return {};
  return value->text;
}

// "1 switch", "2 switches" from a count in the reply.
std::string counted(const JsonValue &object, std::string_view key, const char *one,
                    const char *many) {
  const std::string n = member_text(object, key);
  return n + " " + (n == "1" ? one : many);
}

std::string input_state(const JsonValue &stream, const char *role) {
  const JsonValue *present = stream.find(std::string(role) + "Present");
  if (!present || !present->boolean) return std::string(role) + " not connected";
  const std::string fault = member_text(stream, std::string(role) + "Fault");
  return std::string(role) + " " + (fault.empty() ? "healthy" : fault);
}

// A few lines on each output, from the admin API's "failover" object.
std::string describe_failover(const JsonValue &failover) {
  if (failover.members.empty()) return "  failover    no live stream\n";
  std::string out;
  for (const auto &[name, stream] : failover.members) {
    const std::string active = member_text(stream, "activeInput");
    out += "  failover    stream " + name + ": " +
           (active.empty() ? "awaiting a reconnect" : active + " active") + "; " +
           input_state(stream, "primary") + ", " + input_state(stream, "backup") + "\n";
    out += "              " + counted(stream, "switches", "switch", "switches") + ", " +
           counted(stream, "resumes", "resume", "resumes") + ", longest gap " +
           member_text(stream, "maxGapMs") + " ms, " + member_text(stream, "backupMs") +
           " ms on the backup\n";
    const JsonValue *last = stream.find("lastSwitch");
    if (last && last->type == JsonValue::Type::Object) {
      const std::string fault = member_text(*last, "fault");
      const std::optional<int64_t> when =
          last->find("unixMs") ? last->find("unixMs")->integer() : std::nullopt;
      out += "              last " + member_text(*last, "kind") +
             (fault.empty() ? "" : " (" + fault + ")") + " at " + utc_time(when.value_or(0)) +
             ", gap " + member_text(*last, "gapMs") + " ms, lost " + member_text(*last, "lostMs") +
             " ms\n";
    }
  }
  return out;
}

// The "failover" object of the running server's reply to GET entry, or
// nullptr with the reason in `why`.
const JsonValue *failover_state(const AdminCall &call, JsonValue &reply, std::string &why) {
  if (call.result == AdminCall::Result::NotRunning) {
    why = "no server is running on this data directory";
    return nullptr;
  }
  if (call.result == AdminCall::Result::Failed) {
    why = call.error;
    return nullptr;
  }
  if (call.status != 200) {
    why = "the server at " + call.server + " answered " + std::to_string(call.status) + ": " +
          admin_error_message(call);
    return nullptr;
  }
  std::string ignored;
  const JsonValue *failover =
      parse_json(call.body, reply, ignored) ? reply.find("failover") : nullptr;
  if (!failover || failover->type != JsonValue::Type::Object) {
    why = "the server at " + call.server + " sent no failover state";
    return nullptr;
  }
  return failover;
}

// The entry from the store, with the failover state of its outputs when a
// server runs on the same data directory (null in JSON when none does or it
// cannot be asked).
int show(const lg_entry &entry, const Options &options, const UrlSettings &urls) {
  const AdminCall call = call_admin_api(options.data_dir, options.admin_key, "GET",
                                        std::string("/api/v1/entries/") + entry.id);
  JsonValue reply;
  std::string why;
  const JsonValue *failover = failover_state(call, reply, why);
  if (options.json) {
    if (!failover && call.result != AdminCall::Result::NotRunning) {
      std::fprintf(stderr, "livegate-server: failover state unknown: %s\n", why.c_str());
    }
    JsonWriter json;
    json.begin_object();
    write_entry_fields(json, entry, urls);
    json.key("failover");
    if (failover) {
      write_json(json, *failover);
    } else {
      json.null();
    }
    json.end_object();
    print(json.str() + "\n");
    return 0;
  }
  print(describe_entry(entry, urls) +
        (failover ? describe_failover(*failover) : "  failover    unknown: " + why + "\n"));
  return 0;
}

// Asks the running server to feed the entry's outputs from another input.
int switch_input(const Options &options) {
  const char *role = lg_role_name(options.role.value_or(LG_ROLE_PRIMARY));
  JsonWriter body;
  body.begin_object().key("role").string(role);
  if (options.stream) body.key("streamName").string(*options.stream);
  body.end_object();
  const AdminCall call =
      call_admin_api(options.data_dir, options.admin_key, "POST",
                     "/api/v1/entries/" + options.entry_id + "/switch", body.str());
  if (call.result == AdminCall::Result::NotRunning) {
    return fail("no server with HTTP is running on the data directory '" + options.data_dir +
                "' (no live " + server_file_path(options.data_dir) + ")");
  }
  if (call.result == AdminCall::Result::Failed) return fail(call.error);
  if (call.status != 200) {
    return fail("cannot switch entry '" + options.entry_id + "' to its " + role +
                " input: " + admin_error_message(call));
  }
  if (options.json) {
    print(call.body);
    return 0;
  }
  JsonValue reply;
  std::string ignored;
  const JsonValue *failover = nullptr;
  if (parse_json(call.body, reply, ignored)) failover = reply.find("failover");
  print("entry " + options.entry_id + ": switching " +
        (options.stream ? "stream " + *options.stream : std::string("every stream")) + " to the " +
        role + " input at its next keyframe\n" +
        (failover && failover->type == JsonValue::Type::Object ? describe_failover(*failover)
                                                               : std::string()));
  return 0;
}

int list(lg_store *store, const Options &options, const UrlSettings &urls) {
  std::vector<lg_entry> entries;
  const lg_status rc = list_entries(store, entries);
  if (rc != LG_OK) return fail(store, rc, "cannot list the entries");
  if (options.json) {
    print(entries_json(entries, urls) + "\n");
  } else {
    std::string text;
    for (const lg_entry &entry : entries) text += summarize_entry(entry) + "\n";
    print(text);
  }
  return 0;
}

}  // namespace

int run_entry_command(const Options &options) {
  UrlSettings urls;
  urls.host = options.public_host;
  urls.rtmp_port = options.rtmp_port;
  urls.rtmps_port = options.rtmps_port;
  urls.srt_port = options.srt_port;
  urls.http_port = options.http_port;
  std::string error;
  if (!check_url_settings(urls, error)) return fail(error);
  if (!ensure_data_dir(options.data_dir, error)) return fail(error);

  lg_store *raw_store = nullptr;
  char open_error[512] = "";
  const std::string path = store_path(options.data_dir);
  const lg_status open_rc = lg_store_open(&raw_store, path.c_str(), open_error, sizeof(open_error));
  Store store(raw_store);
  if (open_rc != LG_OK || !store) {
    return fail("cannot open the entry store '" + path + "': " +
                (open_error[0] ? std::string(open_error) : std::string(lg_strerror(open_rc))));
  }

  const std::string &action = options.action;
  const char *id = options.entry_id.c_str();
  lg_entry entry = empty_entry();
  if (action == "list") return list(store.get(), options, urls);
  if (action == "create") {
    const lg_status rc =
        lg_store_create_entry(store.get(), &entry, options.name ? options.name->c_str() : nullptr);
    if (rc != LG_OK) return fail(store.get(), rc, "cannot create an entry");
    return print_entry(entry, options, urls);
  }
  if (action == "show" || action == "switch") {
    const lg_status rc = lg_store_get_entry(store.get(), &entry, id);
    if (rc != LG_OK) return fail(store.get(), rc, "entry '" + options.entry_id + "'");
    return action == "show" ? show(entry, options, urls) : switch_input(options);
  }
  if (action == "regenerate-token") {
    const lg_status rc = lg_store_regenerate_token(store.get(), &entry, id);
    if (rc != LG_OK) return fail(store.get(), rc, "entry '" + options.entry_id + "'");
    return print_entry(entry, options, urls);
  }
  if (action == "set-srt-passphrase") {
    std::optional<std::string> passphrase = options.passphrase;
    if (passphrase && *passphrase == "-") {
      std::string line;
      int c;
      while ((c = std::getchar()) != EOF && c != '\n') line.push_back(static_cast<char>(c));
      if (!line.empty() && line.back() == '\r') line.pop_back();
      passphrase = line;
    }
    const lg_status rc = lg_store_set_srt_passphrase(store.get(), &entry, id,
                                                     passphrase ? passphrase->c_str() : nullptr);
    if (rc != LG_OK) return fail(store.get(), rc, "entry '" + options.entry_id + "'");
    return print_entry(entry, options, urls);
  }
  if (action == "set-outputs") {
    lg_status rc = lg_store_get_entry(store.get(), &entry, id);
    if (rc != LG_OK) return fail(store.get(), rc, "entry '" + options.entry_id + "'");
    // A switch not given keeps its current value.
    const bool dvr = options.dvr.value_or(entry.dvr_enabled != 0);
    const bool recording = options.recording.value_or(entry.recording_enabled != 0);
    rc = lg_store_set_outputs(store.get(), &entry, id, dvr, recording);
    if (rc != LG_OK) return fail(store.get(), rc, "entry '" + options.entry_id + "'");
    return print_entry(entry, options, urls);
  }
  if (action == "delete") {
    const lg_status rc = lg_store_delete_entry(store.get(), id);
    if (rc != LG_OK) return fail(store.get(), rc, "entry '" + options.entry_id + "'");
    if (options.json) {
      JsonWriter json;
      json.begin_object().key("entryId").string(options.entry_id);
      json.key("deleted").boolean(true).end_object();
      print(json.str() + "\n");
    } else {
      print("deleted entry " + options.entry_id + "\n");
    }
    return 0;
  }
  return fail("unknown entry action '" + action + "'");
}

}  // namespace lgserver
