// The entry store: live entries and their publish tokens in an embedded
// SQLite database.
//
// Several processes may open the same file at once (a running server and the
// command-line tool): the database runs in WAL mode, waits up to 5 s for
// another writer's lock, and nothing is cached here, so a change committed by
// one process is what the next read in another returns.
//
// A Store is safe to use from any thread: one connection, one mutex.
#ifndef LG_AUTH_STORE_H
#define LG_AUTH_STORE_H

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/random.h"
#include "livegate/common.h"

struct sqlite3;
struct sqlite3_stmt;

namespace lg::auth {

// Names are for people (UTF-8, no control characters); LG_ENTRY_NAME_MAX in
// the C API is the same bound.
inline constexpr size_t kEntryNameMaxBytes = 256;
// SRT's own limits on a passphrase.
inline constexpr size_t kSrtPassphraseMinLength = 10;
inline constexpr size_t kSrtPassphraseMaxLength = 79;

struct Entry {
  std::string id;
  std::string name;
  std::string token;
  int64_t token_generation = 0;  // 1 for the first token, +1 per regeneration
  int64_t created_at_ms = 0;     // Unix time, milliseconds
  int64_t updated_at_ms = 0;
  std::optional<std::string> srt_passphrase;  // none: SRT unencrypted
  bool dvr = true;                            // keep a DVR window of the HLS output
  bool recording = true;                      // record every broadcast
};

// 10..79 printable ASCII characters, no space.
bool is_valid_srt_passphrase(std::string_view passphrase);

class Store {
 public:
  // Opens `path`, creating the file (mode 0600: it holds secrets) and the
  // schema if missing, and migrating an older schema. The folder must exist.
  // Returns null and says why in `error`.
  static std::unique_ptr<Store> open(const std::string &path, std::string &error);

  ~Store();
  Store(const Store &) = delete;
  Store &operator=(const Store &) = delete;

  // Every call returns LG_OK, LG_E_NOT_FOUND (no such entry),
  // LG_E_INVALID_ARG (a malformed id, name or passphrase), LG_E_INTERNAL (the
  // random generator failed) or LG_E_STORE (SQLite failed); after an error,
  // last_error() says which and why.

  // A fresh id (retried on the rare collision) and token; generation 1.
  lg_status create_entry(std::string_view name, Random &random, Entry &out);
  lg_status get_entry(std::string_view id, Entry &out);
  // All entries, oldest first.
  lg_status list_entries(std::vector<Entry> &out);
  lg_status delete_entry(std::string_view id);
  // A new token and token_generation + 1, in one statement; `out` is the row
  // as committed.
  lg_status regenerate_token(std::string_view id, Random &random, Entry &out);
  lg_status set_name(std::string_view id, std::string_view name);
  // nullopt clears the passphrase.
  lg_status set_srt_passphrase(std::string_view id, std::optional<std::string_view> passphrase);
  lg_status set_outputs(std::string_view id, bool dvr, bool recording);

  // The message of the calling thread's last failed call on this store, or
  // "" after a success. Valid until that thread's next call on this store.
  const std::string &last_error() const;

  // The schema version this build writes (PRAGMA user_version).
  static int schema_version();

 private:
  Store() = default;
  lg_status fail(lg_status status, std::string message);
  lg_status sqlite_fail(std::string_view what);
  lg_status succeed();
  lg_status prepare_all();

  mutable std::mutex mutex_;
  sqlite3 *db_ = nullptr;
  // Per-thread messages: worker threads share one store, and one thread's
  // failure must not be reported to another. Only threads whose last call
  // failed have one.
  std::map<std::thread::id, std::string> errors_;

  struct Statements;
  std::unique_ptr<Statements> stmts_;
};

}  // namespace lg::auth

#endif  // LG_AUTH_STORE_H
