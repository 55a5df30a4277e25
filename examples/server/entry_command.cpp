#include "entry_command.h"

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
  if (action == "show") {
    const lg_status rc = lg_store_get_entry(store.get(), &entry, id);
    if (rc != LG_OK) return fail(store.get(), rc, "entry '" + options.entry_id + "'");
    return print_entry(entry, options, urls);
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
