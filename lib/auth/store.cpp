#include "auth/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/clock.h"
#include "core/text.h"

#include "auth/token.h"

namespace lg::auth {

namespace {

using core::quoted;

// Applied in order; migration i brings the schema from version i to i + 1.
// Never edit one that has shipped: append a new one instead.
constexpr const char *kMigrations[] = {
    // 1: entries.
    "CREATE TABLE entries ("
    " id TEXT NOT NULL PRIMARY KEY,"
    " name TEXT NOT NULL DEFAULT '',"
    " token TEXT NOT NULL,"
    " token_generation INTEGER NOT NULL DEFAULT 1,"
    " created_at_ms INTEGER NOT NULL,"
    " updated_at_ms INTEGER NOT NULL);",
    // 2: the per-entry SRT passphrase (NULL: unencrypted).
    "ALTER TABLE entries ADD COLUMN srt_passphrase TEXT;",
    // 3: per-entry outputs: the DVR window and the continuous recording
    // (two statements in one migration).
    ("ALTER TABLE entries ADD COLUMN dvr INTEGER NOT NULL DEFAULT 1;"
     "ALTER TABLE entries ADD COLUMN recording INTEGER NOT NULL DEFAULT 1;"),
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

constexpr int kBusyTimeoutMs = 5000;
constexpr int kCreateAttempts = 8;

constexpr const char *kColumns =
    "id, name, token, token_generation, created_at_ms, updated_at_ms, srt_passphrase, dvr, "
    "recording";

bool is_valid_name(std::string_view name) {
  if (name.size() > kEntryNameMaxBytes) return false;
  size_t i = 0;
  while (i < name.size()) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    // UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > name.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(name[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

// Resets a statement when it leaves scope: a statement left mid-step keeps a
// read transaction open, and the connection would keep reading that stale
// snapshot instead of what other processes have committed since.
class Use {
 public:
  explicit Use(sqlite3_stmt *stmt) : stmt_(stmt) {}
  ~Use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Use(const Use &) = delete;
  Use &operator=(const Use &) = delete;
  sqlite3_stmt *operator*() const { return stmt_; }

 private:
  sqlite3_stmt *stmt_;
};

int bind(sqlite3_stmt *stmt, int index, std::string_view text) {
  return sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

std::string column_text(sqlite3_stmt *stmt, int col) {
  const auto *p = reinterpret_cast<const char *>(sqlite3_column_text(stmt, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt, col))) : std::string();
}

void read_entry(sqlite3_stmt *stmt, Entry &out) {
  out.id = column_text(stmt, 0);
  out.name = column_text(stmt, 1);
  out.token = column_text(stmt, 2);
  out.token_generation = sqlite3_column_int64(stmt, 3);
  out.created_at_ms = sqlite3_column_int64(stmt, 4);
  out.updated_at_ms = sqlite3_column_int64(stmt, 5);
  if (sqlite3_column_type(stmt, 6) == SQLITE_NULL) {
    out.srt_passphrase.reset();
  } else {
    out.srt_passphrase = column_text(stmt, 6);
  }
  out.dvr = sqlite3_column_int(stmt, 7) != 0;
  out.recording = sqlite3_column_int(stmt, 8) != 0;
}

std::string db_message(sqlite3 *db) {
  return std::string(sqlite3_errmsg(db)) + " (SQLite code " +
         std::to_string(sqlite3_extended_errcode(db)) + ")";
}

}  // namespace

bool is_valid_srt_passphrase(std::string_view passphrase) {
  if (passphrase.size() < kSrtPassphraseMinLength || passphrase.size() > kSrtPassphraseMaxLength) {
    return false;
  }
  for (char c : passphrase) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

struct Store::Statements {
  sqlite3_stmt *insert = nullptr;
  sqlite3_stmt *get = nullptr;
  sqlite3_stmt *list = nullptr;
  sqlite3_stmt *remove = nullptr;
  sqlite3_stmt *regenerate = nullptr;
  sqlite3_stmt *set_name = nullptr;
  sqlite3_stmt *set_srt = nullptr;
  sqlite3_stmt *set_outputs = nullptr;

  ~Statements() {
    for (sqlite3_stmt *s :
         {insert, get, list, remove, regenerate, set_name, set_srt, set_outputs}) {
      sqlite3_finalize(s);
    }
  }
};

int Store::schema_version() {
  return kSchemaVersion;
}

std::unique_ptr<Store> Store::open(const std::string &path, std::string &error) {
  if (path.empty() || path.find('\0') != std::string::npos) {
    error = "the database path is empty or holds a NUL byte";
    return nullptr;
  }
  // SQLite would create the file world-readable; the tokens in it are
  // secrets. Its -wal and -shm files inherit the database file's mode.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    error = "cannot create the database '" + path + "': " + std::strerror(errno);
    return nullptr;
  }

  std::unique_ptr<Store> store(new Store());
  const int rc =
      sqlite3_open_v2(path.c_str(), &store->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    error = "cannot open the database '" + path +
            "': " + (store->db_ ? db_message(store->db_) : std::string(sqlite3_errstr(rc)));
    return nullptr;
  }
  sqlite3 *db = store->db_;
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  auto exec = [&](const char *sql, const char *what) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK) return true;
    error = std::string(what) + " in '" + path + "': " + db_message(db);
    return false;
  };

  // WAL lets the server keep reading while the command-line tool writes.
  // Filesystems without shared memory refuse it; SQLite then stays in its
  // rollback journal, which is slower but just as correct across processes.
  if (!exec("PRAGMA journal_mode=WAL;", "cannot set the journal mode")) return nullptr;

  // BEGIN IMMEDIATE serialises two processes that open a new file at once:
  // the second waits, then finds the schema already current.
  if (!exec("BEGIN IMMEDIATE;", "cannot lock the database")) return nullptr;
  int version = -1;
  {
    sqlite3_stmt *stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version;", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      version = sqlite3_column_int(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  if (version < 0) {
    error = "cannot read the schema version of '" + path + "': " + db_message(db);
    sqlite3_exec(db, "ROLLBACK;", nullptr, nullptr, nullptr);
    return nullptr;
  }
  if (version > kSchemaVersion) {
    error = "the database '" + path + "' has schema version " + std::to_string(version) +
            ", newer than this build's " + std::to_string(kSchemaVersion) +
            "; use a newer LiveGate";
    sqlite3_exec(db, "ROLLBACK;", nullptr, nullptr, nullptr);
    return nullptr;
  }
  for (int v = version; v < kSchemaVersion; ++v) {
    if (!exec(kMigrations[v],
              ("cannot migrate the schema to version " + std::to_string(v + 1)).c_str())) {
      sqlite3_exec(db, "ROLLBACK;", nullptr, nullptr, nullptr);
      return nullptr;
    }
  }
  if (version != kSchemaVersion) {
    // PRAGMA takes no bound parameter; the number is ours, not input.
    const std::string set = "PRAGMA user_version = " + std::to_string(kSchemaVersion) + ";";
    if (!exec(set.c_str(), "cannot record the schema version")) {
      sqlite3_exec(db, "ROLLBACK;", nullptr, nullptr, nullptr);
      return nullptr;
    }
  }
  if (!exec("COMMIT;", "cannot commit the schema")) {
    sqlite3_exec(db, "ROLLBACK;", nullptr, nullptr, nullptr);
    return nullptr;
  }

  if (store->prepare_all() != LG_OK) {
    error = "cannot prepare statements on '" + path + "': " + db_message(db);
    return nullptr;
  }
  return store;
}

lg_status Store::prepare_all() {
  stmts_ = std::make_unique<Statements>();
  const std::string cols = kColumns;
  const struct {
    sqlite3_stmt **stmt;
    std::string sql;
  } all[] = {
      {&stmts_->insert,
       "INSERT INTO entries (id, name, token, token_generation, created_at_ms, updated_at_ms) "
       "VALUES (?1, ?2, ?3, 1, ?4, ?4);"},
      {&stmts_->get, "SELECT " + cols + " FROM entries WHERE id = ?1;"},
      {&stmts_->list, "SELECT " + cols + " FROM entries ORDER BY created_at_ms, rowid;"},
      {&stmts_->remove, "DELETE FROM entries WHERE id = ?1;"},
      {&stmts_->regenerate,
       "UPDATE entries SET token = ?2, token_generation = token_generation + 1, "
       "updated_at_ms = ?3 WHERE id = ?1 RETURNING " +
           cols + ";"},
      {&stmts_->set_name, "UPDATE entries SET name = ?2, updated_at_ms = ?3 WHERE id = ?1;"},
      {&stmts_->set_srt,
       "UPDATE entries SET srt_passphrase = ?2, updated_at_ms = ?3 WHERE id = ?1;"},
      {&stmts_->set_outputs,
       "UPDATE entries SET dvr = ?2, recording = ?3, updated_at_ms = ?4 WHERE id = ?1;"},
  };
  for (const auto &s : all) {
    if (sqlite3_prepare_v3(db_, s.sql.c_str(), static_cast<int>(s.sql.size() + 1),
                           SQLITE_PREPARE_PERSISTENT, s.stmt, nullptr) != SQLITE_OK) {
      return LG_E_STORE;
    }
  }
  return LG_OK;
}

Store::~Store() {
  stmts_.reset();
  if (db_) sqlite3_close_v2(db_);
}

lg_status Store::fail(lg_status status, std::string message) {
  errors_[std::this_thread::get_id()] = std::move(message);
  return status;
}

lg_status Store::sqlite_fail(std::string_view what) {
  return fail(LG_E_STORE, std::string(what) + ": " + db_message(db_));
}

lg_status Store::succeed() {
  // Erased rather than cleared, so that threads that come and go leave
  // nothing behind.
  errors_.erase(std::this_thread::get_id());
  return LG_OK;
}

const std::string &Store::last_error() const {
  static const std::string kNone;
  std::lock_guard lock(mutex_);
  auto it = errors_.find(std::this_thread::get_id());
  return it == errors_.end() ? kNone : it->second;
}

lg_status Store::create_entry(std::string_view name, Random &random, Entry &out) {
  std::lock_guard lock(mutex_);
  if (!is_valid_name(name)) {
    return fail(LG_E_INVALID_ARG, "invalid entry name: at most " +
                                      std::to_string(kEntryNameMaxBytes) +
                                      " bytes of UTF-8 without control characters");
  }
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    const std::string id = generate_entry_id(random);
    const std::string token = generate_token(random);
    if (id.empty() || token.empty()) {
      return fail(LG_E_INTERNAL, "the random generator failed");
    }
    const int64_t now = core::unix_ms();
    int rc;
    {
      Use use(stmts_->insert);
      bind(*use, 1, id);
      bind(*use, 2, name);
      bind(*use, 3, token);
      sqlite3_bind_int64(*use, 4, now);
      rc = sqlite3_step(*use);
    }
    if (rc == SQLITE_DONE) {
      out = Entry{};
      out.id = id;
      out.name = std::string(name);
      out.token = token;
      out.token_generation = 1;
      out.created_at_ms = now;
      out.updated_at_ms = now;
      return succeed();
    }
    const int ext = sqlite3_extended_errcode(db_);
    if (ext != SQLITE_CONSTRAINT_PRIMARYKEY && ext != SQLITE_CONSTRAINT_UNIQUE) {
      return sqlite_fail("cannot create an entry");
    }
  }
  return fail(LG_E_STORE, "cannot create an entry: " + std::to_string(kCreateAttempts) +
                              " fresh ids in a row were taken");
}

lg_status Store::get_entry(std::string_view id, Entry &out) {
  std::lock_guard lock(mutex_);
  if (!is_valid_entry_id(id)) return fail(LG_E_INVALID_ARG, "malformed entry id " + quoted(id));
  Use use(stmts_->get);
  bind(*use, 1, id);
  const int rc = sqlite3_step(*use);
  if (rc == SQLITE_DONE) return fail(LG_E_NOT_FOUND, "no entry " + std::string(id));
  if (rc != SQLITE_ROW) return sqlite_fail("cannot read entry " + std::string(id));
  read_entry(*use, out);
  return succeed();
}

lg_status Store::list_entries(std::vector<Entry> &out) {
  std::lock_guard lock(mutex_);
  std::vector<Entry> entries;
  Use use(stmts_->list);
  int rc;
  while ((rc = sqlite3_step(*use)) == SQLITE_ROW) {
    read_entry(*use, entries.emplace_back());
  }
  if (rc != SQLITE_DONE) return sqlite_fail("cannot list the entries");
  out = std::move(entries);
  return succeed();
}

lg_status Store::delete_entry(std::string_view id) {
  std::lock_guard lock(mutex_);
  if (!is_valid_entry_id(id)) return fail(LG_E_INVALID_ARG, "malformed entry id " + quoted(id));
  Use use(stmts_->remove);
  bind(*use, 1, id);
  if (sqlite3_step(*use) != SQLITE_DONE)
    return sqlite_fail("cannot delete entry " + std::string(id));
  if (sqlite3_changes(db_) == 0) return fail(LG_E_NOT_FOUND, "no entry " + std::string(id));
  return succeed();
}

lg_status Store::regenerate_token(std::string_view id, Random &random, Entry &out) {
  std::lock_guard lock(mutex_);
  if (!is_valid_entry_id(id)) return fail(LG_E_INVALID_ARG, "malformed entry id " + quoted(id));
  const std::string token = generate_token(random);
  if (token.empty()) return fail(LG_E_INTERNAL, "the random generator failed");
  Use use(stmts_->regenerate);
  bind(*use, 1, id);
  bind(*use, 2, token);
  sqlite3_bind_int64(*use, 3, core::unix_ms());
  int rc = sqlite3_step(*use);
  if (rc == SQLITE_DONE) return fail(LG_E_NOT_FOUND, "no entry " + std::string(id));
  if (rc != SQLITE_ROW) return sqlite_fail("cannot regenerate the token of " + std::string(id));
  Entry entry;
  read_entry(*use, entry);
  // The update commits when the statement runs to completion.
  rc = sqlite3_step(*use);
  if (rc != SQLITE_DONE) return sqlite_fail("cannot regenerate the token of " + std::string(id));
  out = std::move(entry);
  return succeed();
}

lg_status Store::set_name(std::string_view id, std::string_view name) {
  std::lock_guard lock(mutex_);
  if (!is_valid_entry_id(id)) return fail(LG_E_INVALID_ARG, "malformed entry id " + quoted(id));
  if (!is_valid_name(name)) {
    return fail(LG_E_INVALID_ARG, "invalid entry name: at most " +
                                      std::to_string(kEntryNameMaxBytes) +
                                      " bytes of UTF-8 without control characters");
  }
  Use use(stmts_->set_name);
  bind(*use, 1, id);
  bind(*use, 2, name);
  sqlite3_bind_int64(*use, 3, core::unix_ms());
  if (sqlite3_step(*use) != SQLITE_DONE) return sqlite_fail("cannot rename " + std::string(id));
  if (sqlite3_changes(db_) == 0) return fail(LG_E_NOT_FOUND, "no entry " + std::string(id));
  return succeed();
}

lg_status Store::set_srt_passphrase(std::string_view id,
                                    std::optional<std::string_view> passphrase) {
  std::lock_guard lock(mutex_);
  if (!is_valid_entry_id(id)) return fail(LG_E_INVALID_ARG, "malformed entry id " + quoted(id));
  if (passphrase && !is_valid_srt_passphrase(*passphrase)) {
    return fail(LG_E_INVALID_ARG,
                "invalid SRT passphrase: " + std::to_string(kSrtPassphraseMinLength) + " to " +
                    std::to_string(kSrtPassphraseMaxLength) +
                    " printable ASCII characters without spaces");
  }
  Use use(stmts_->set_srt);
  bind(*use, 1, id);
  if (passphrase) {
    bind(*use, 2, *passphrase);
  } else {
    sqlite3_bind_null(*use, 2);
  }
  sqlite3_bind_int64(*use, 3, core::unix_ms());
  if (sqlite3_step(*use) != SQLITE_DONE) {
    return sqlite_fail("cannot set the SRT passphrase of " + std::string(id));
  }
  if (sqlite3_changes(db_) == 0) return fail(LG_E_NOT_FOUND, "no entry " + std::string(id));
  return succeed();
}

lg_status Store::set_outputs(std::string_view id, bool dvr, bool recording) {
  std::lock_guard lock(mutex_);
  if (!is_valid_entry_id(id)) return fail(LG_E_INVALID_ARG, "malformed entry id " + quoted(id));
  Use use(stmts_->set_outputs);
  bind(*use, 1, id);
  sqlite3_bind_int(*use, 2, dvr ? 1 : 0);
  sqlite3_bind_int(*use, 3, recording ? 1 : 0);
  sqlite3_bind_int64(*use, 4, core::unix_ms());
  if (sqlite3_step(*use) != SQLITE_DONE) {
    return sqlite_fail("cannot set the outputs of " + std::string(id));
  }
  if (sqlite3_changes(db_) == 0) return fail(LG_E_NOT_FOUND, "no entry " + std::string(id));
  return succeed();
}

}  // namespace lg::auth
