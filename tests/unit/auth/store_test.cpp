#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "auth/random.h"
#include "auth/store.h"
#include "auth/token.h"

using namespace lg::auth;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lg_store_XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  std::string file(const std::string &name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::unique_ptr<Random> make_random() {
  std::string error;
  auto random = Random::create(error);
  REQUIRE(random);
  return random;
}

std::unique_ptr<Store> open_store(const std::string &path) {
  std::string error;
  auto store = Store::open(path, error);
  INFO(error);
  REQUIRE(store);
  return store;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A raw connection, as another tool or a test fixture would open it.
class RawDb {
 public:
  explicit RawDb(const std::string &path) {
    REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb &) = delete;
  RawDb &operator=(const RawDb &) = delete;
  void exec(const std::string &sql) {
    char *err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    INFO(sql << ": " << (err ? err : ""));
    sqlite3_free(err);
    REQUIRE(rc == SQLITE_OK);
  }
  std::string text(const std::string &sql) {
    sqlite3_stmt *stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
      out = reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3 *db_ = nullptr;
};

}  // namespace

TEST_CASE("auth::Store creates the file, schema and WAL journal", "[auth][store]") {
  TempDir dir;
  const std::string path = dir.file("entries.db");
  auto store = open_store(path);

  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // it holds tokens

  RawDb raw(path);
  CHECK(raw.text("PRAGMA journal_mode;") == "wal");
  CHECK(raw.text("PRAGMA user_version;") == std::to_string(Store::schema_version()));
  CHECK(Store::schema_version() == 3);
  CHECK(raw.text("SELECT count(*) FROM pragma_table_info('entries') WHERE name = "
                 "'srt_passphrase';") == "1");
}

TEST_CASE("auth::Store creates, reads, lists, renames and deletes entries", "[auth][store]") {
  TempDir dir;
  auto random = make_random();
  auto store = open_store(dir.file("entries.db"));

  const int64_t before = now_ms();
  Entry a;
  REQUIRE(store->create_entry("Morning show", *random, a) == LG_OK);
  CHECK(store->last_error().empty());
  CHECK(is_valid_entry_id(a.id));
  CHECK(a.id.rfind("1_", 0) == 0);
  CHECK(a.token.size() == kGeneratedTokenLength);
  CHECK(is_valid_token(a.token));
  CHECK(a.name == "Morning show");
  CHECK(a.token_generation == 1);
  CHECK(a.created_at_ms >= before);
  CHECK(a.created_at_ms <= now_ms());
  CHECK(a.updated_at_ms == a.created_at_ms);
  CHECK_FALSE(a.srt_passphrase.has_value());

  Entry got;
  REQUIRE(store->get_entry(a.id, got) == LG_OK);
  CHECK(got.id == a.id);
  CHECK(got.name == a.name);
  CHECK(got.token == a.token);
  CHECK(got.token_generation == 1);
  CHECK(got.created_at_ms == a.created_at_ms);

  Entry b, c;
  REQUIRE(store->create_entry("", *random, b) == LG_OK);
  REQUIRE(store->create_entry("Évènement 🎥", *random, c) == LG_OK);
  CHECK(b.id != a.id);
  CHECK(b.token != a.token);

  std::vector<Entry> all;
  REQUIRE(store->list_entries(all) == LG_OK);
  REQUIRE(all.size() == 3);
  CHECK(all[0].id == a.id);  // oldest first
  CHECK(all[1].id == b.id);
  CHECK(all[2].id == c.id);
  CHECK(all[2].name == "Évènement 🎥");

  REQUIRE(store->set_name(b.id, "Renamed") == LG_OK);
  REQUIRE(store->get_entry(b.id, got) == LG_OK);
  CHECK(got.name == "Renamed");
  CHECK(got.updated_at_ms >= b.updated_at_ms);
  CHECK(got.token == b.token);

  REQUIRE(store->delete_entry(a.id) == LG_OK);
  CHECK(store->get_entry(a.id, got) == LG_E_NOT_FOUND);
  CHECK(store->last_error().find(a.id) != std::string::npos);
  CHECK(store->delete_entry(a.id) == LG_E_NOT_FOUND);
  REQUIRE(store->list_entries(all) == LG_OK);
  CHECK(all.size() == 2);
}

TEST_CASE("auth::Store rejects malformed ids, names and unknown entries", "[auth][store]") {
  TempDir dir;
  auto random = make_random();
  auto store = open_store(dir.file("entries.db"));
  Entry e, got;
  REQUIRE(store->create_entry("x", *random, e) == LG_OK);

  CHECK(store->get_entry("1_zzzzzzzz", got) == LG_E_NOT_FOUND);
  CHECK(store->regenerate_token("1_zzzzzzzz", *random, got) == LG_E_NOT_FOUND);
  CHECK(store->set_name("1_zzzzzzzz", "n") == LG_E_NOT_FOUND);
  CHECK(store->set_srt_passphrase("1_zzzzzzzz", std::nullopt) == LG_E_NOT_FOUND);

  for (std::string_view bad : {"", "1_ABC", "x' OR '1'='1", "1_abc/../x"}) {
    INFO(bad);
    CHECK(store->get_entry(bad, got) == LG_E_INVALID_ARG);
    CHECK(store->last_error().find("malformed entry id") != std::string::npos);
    CHECK(store->delete_entry(bad) == LG_E_INVALID_ARG);
  }

  const std::string longest = std::string(kEntryNameMaxBytes - 2, 'n') + "é";  // 256 bytes
  CHECK(store->set_name(e.id, longest) == LG_OK);
  for (const std::string &bad : {std::string(kEntryNameMaxBytes + 1, 'n'), std::string("tab\there"),
                                 std::string("nul\0x", 5), std::string("bad \xc3"),
                                 std::string("overlong \xc0\xaf"), std::string("\xed\xa0\x80")}) {
    INFO(bad);
    CHECK(store->set_name(e.id, bad) == LG_E_INVALID_ARG);
    CHECK(store->create_entry(bad, *random, got) == LG_E_INVALID_ARG);
  }
  std::vector<Entry> all;
  REQUIRE(store->list_entries(all) == LG_OK);
  CHECK(all.size() == 1);  // no failed create left a row behind
  REQUIRE(store->get_entry(e.id, got) == LG_OK);
  CHECK(got.name == longest);
}

TEST_CASE("auth::Store regenerates tokens", "[auth][store]") {
  TempDir dir;
  auto random = make_random();
  auto store = open_store(dir.file("entries.db"));
  Entry e;
  REQUIRE(store->create_entry("x", *random, e) == LG_OK);

  std::set<std::string> tokens = {e.token};
  for (int generation = 2; generation <= 5; ++generation) {
    Entry r;
    REQUIRE(store->regenerate_token(e.id, *random, r) == LG_OK);
    CHECK(r.id == e.id);
    CHECK(r.name == "x");
    CHECK(r.token_generation == generation);
    CHECK(r.created_at_ms == e.created_at_ms);
    CHECK(r.updated_at_ms >= e.updated_at_ms);
    CHECK(is_valid_token(r.token));
    CHECK(tokens.insert(r.token).second);
    Entry got;
    REQUIRE(store->get_entry(e.id, got) == LG_OK);
    CHECK(got.token == r.token);
    CHECK(got.token_generation == generation);
    CHECK_FALSE(tokens_equal(e.token, got.token));
  }
}

TEST_CASE("auth::Store keeps an SRT passphrase per entry", "[auth][store]") {
  TempDir dir;
  auto random = make_random();
  auto store = open_store(dir.file("entries.db"));
  Entry e, got;
  REQUIRE(store->create_entry("x", *random, e) == LG_OK);

  REQUIRE(store->set_srt_passphrase(e.id, "0123456789") == LG_OK);
  REQUIRE(store->get_entry(e.id, got) == LG_OK);
  REQUIRE(got.srt_passphrase.has_value());
  CHECK(*got.srt_passphrase == "0123456789");

  const std::string longest(kSrtPassphraseMaxLength, 'P');
  REQUIRE(store->set_srt_passphrase(e.id, longest) == LG_OK);
  REQUIRE(store->get_entry(e.id, got) == LG_OK);
  CHECK(got.srt_passphrase == longest);

  for (const std::string &bad : {std::string(9, 'a'), std::string(80, 'a'), std::string(""),
                                 std::string("with space!"), std::string("tab\tinside!!")}) {
    INFO(bad);
    CHECK(store->set_srt_passphrase(e.id, bad) == LG_E_INVALID_ARG);
    CHECK(store->last_error().find("SRT passphrase") != std::string::npos);
  }
  REQUIRE(store->get_entry(e.id, got) == LG_OK);
  CHECK(got.srt_passphrase == longest);  // unchanged by the refusals

  REQUIRE(store->set_srt_passphrase(e.id, std::nullopt) == LG_OK);
  REQUIRE(store->get_entry(e.id, got) == LG_OK);
  CHECK_FALSE(got.srt_passphrase.has_value());
}

TEST_CASE("auth::Store data survives closing and reopening", "[auth][store]") {
  TempDir dir;
  auto random = make_random();
  const std::string path = dir.file("entries.db");
  Entry e, r;
  {
    auto store = open_store(path);
    REQUIRE(store->create_entry("kept", *random, e) == LG_OK);
    REQUIRE(store->regenerate_token(e.id, *random, r) == LG_OK);
    REQUIRE(store->set_srt_passphrase(e.id, "secret-pass-1") == LG_OK);
  }
  auto store = open_store(path);
  Entry got;
  REQUIRE(store->get_entry(e.id, got) == LG_OK);
  CHECK(got.name == "kept");
  CHECK(got.token == r.token);
  CHECK(got.token_generation == 2);
  CHECK(got.srt_passphrase == std::optional<std::string>("secret-pass-1"));
}

TEST_CASE("auth::Store: two stores on one file see each other's commits", "[auth][store]") {
  // The server and the command-line tool each hold their own connection.
  TempDir dir;
  auto random = make_random();
  const std::string path = dir.file("entries.db");
  auto server = open_store(path);
  auto tool = open_store(path);

  Entry e, got;
  REQUIRE(server->create_entry("shared", *random, e) == LG_OK);
  REQUIRE(tool->get_entry(e.id, got) == LG_OK);
  CHECK(got.token == e.token);

  for (int i = 0; i < 20; ++i) {
    // Alternate writers; each read right after a commit must see it.
    Store &writer = i % 2 ? *server : *tool;
    Store &reader = i % 2 ? *tool : *server;
    Entry r;
    REQUIRE(writer.regenerate_token(e.id, *random, r) == LG_OK);
    REQUIRE(reader.get_entry(e.id, got) == LG_OK);
    CHECK(got.token == r.token);
    CHECK(got.token_generation == i + 2);
    CHECK_FALSE(tokens_equal(e.token, got.token));
  }

  REQUIRE(tool->delete_entry(e.id) == LG_OK);
  CHECK(server->get_entry(e.id, got) == LG_E_NOT_FOUND);
}

TEST_CASE("auth::Store: a token regenerated by another process is seen at once", "[auth][store]") {
  TempDir dir;
  const std::string path = dir.file("entries.db");
  int to_child[2], to_parent[2];
  REQUIRE(pipe(to_child) == 0);
  REQUIRE(pipe(to_parent) == 0);
  // Fork before this process opens the database: SQLite connections must not
  // cross a fork.
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(to_child[1]);
    close(to_parent[0]);
    char id[64] = {};
    ssize_t n = read(to_child[0], id, sizeof(id) - 1);
    if (n <= 0) _exit(2);
    std::string error;
    auto random = Random::create(error);
    auto store = random ? Store::open(path, error) : nullptr;
    Entry seen, r;
    if (!store || store->get_entry(id, seen) != LG_OK ||
        store->regenerate_token(id, *random, r) != LG_OK) {
      _exit(3);
    }
    const std::string msg = seen.token + " " + r.token;
    n = write(to_parent[1], msg.data(), msg.size());
    store.reset();
    _exit(n == static_cast<ssize_t>(msg.size()) ? 0 : 4);
  }
  close(to_child[0]);
  close(to_parent[1]);
  auto random = make_random();
  auto server = open_store(path);
  Entry e;
  REQUIRE(server->create_entry("cross-process", *random, e) == LG_OK);
  REQUIRE(write(to_child[1], e.id.data(), e.id.size()) == static_cast<ssize_t>(e.id.size()));
  close(to_child[1]);
  std::string reply;
  char buf[256];
  ssize_t n;
  while ((n = read(to_parent[0], buf, sizeof(buf))) > 0) reply.append(buf, static_cast<size_t>(n));
  close(to_parent[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  const size_t space = reply.find(' ');
  REQUIRE(space != std::string::npos);
  CHECK(reply.substr(0, space) == e.token);  // the child saw our commit
  const std::string regenerated = reply.substr(space + 1);
  Entry got;
  REQUIRE(server->get_entry(e.id, got) == LG_OK);
  CHECK(got.token == regenerated);  // and we see the child's
  CHECK(got.token_generation == 2);
}

TEST_CASE("auth::Store waits for another writer's lock", "[auth][store]") {
  TempDir dir;
  auto random = make_random();
  const std::string path = dir.file("entries.db");
  auto store = open_store(path);
  RawDb other(path);
  other.exec("BEGIN IMMEDIATE;");
  std::atomic<bool> released{false};
  std::thread holder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    released = true;
    other.exec("COMMIT;");
  });
  Entry e;
  const lg_status rc = store->create_entry("patient", *random, e);
  const bool was_released = released;
  holder.join();
  INFO(store->last_error());
  CHECK(rc == LG_OK);
  CHECK(was_released);  // it waited rather than failing with SQLITE_BUSY
}

TEST_CASE("auth::Store is safe from many threads", "[auth][store]") {
  TempDir dir;
  auto random = make_random();
  auto store = open_store(dir.file("entries.db"));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        Entry e, got, r;
        if (store->create_entry("t", *random, e) != LG_OK || store->get_entry(e.id, got) != LG_OK ||
            got.token != e.token || store->regenerate_token(e.id, *random, r) != LG_OK) {
          ++failures;
        }
      }
    });
  }
  for (auto &t : threads) t.join();
  CHECK(failures == 0);
  std::vector<Entry> all;
  REQUIRE(store->list_entries(all) == LG_OK);
  CHECK(all.size() == 100);
}

TEST_CASE("auth::Store keeps each thread's last error apart", "[auth][store]") {
  TempDir dir;
  auto store = open_store(dir.file("entries.db"));
  Entry got;
  REQUIRE(store->get_entry("1_missing0", got) == LG_E_NOT_FOUND);
  std::thread other([&] {
    std::vector<Entry> all;
    CHECK(store->list_entries(all) == LG_OK);
    CHECK(store->last_error().empty());
  });
  other.join();
  CHECK(store->last_error().find("1_missing0") != std::string::npos);
  std::vector<Entry> all;
  REQUIRE(store->list_entries(all) == LG_OK);
  CHECK(store->last_error().empty());
}

TEST_CASE("auth::Store migrates a version 1 database", "[auth][store]") {
  TempDir dir;
  const std::string path = dir.file("old.db");
  {
    RawDb raw(path);
    raw.exec(
        "CREATE TABLE entries (id TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL DEFAULT '',"
        " token TEXT NOT NULL, token_generation INTEGER NOT NULL DEFAULT 1,"
        " created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL);"
        "INSERT INTO entries VALUES ('1_oldentry', 'old', 'abcdefghijklmnopqrstuvwxyz', 3,"
        " 1000, 2000);"
        "PRAGMA user_version = 1;");
  }
  auto store = open_store(path);
  Entry got;
  REQUIRE(store->get_entry("1_oldentry", got) == LG_OK);
  CHECK(got.name == "old");
  CHECK(got.token == "abcdefghijklmnopqrstuvwxyz");
  CHECK(got.token_generation == 3);
  CHECK(got.created_at_ms == 1000);
  CHECK(got.updated_at_ms == 2000);
  CHECK_FALSE(got.srt_passphrase.has_value());
  // Outputs are on for entries that predate them.
  CHECK(got.dvr);
  CHECK(got.recording);
  REQUIRE(store->set_srt_passphrase("1_oldentry", "migrated-ok") == LG_OK);
  REQUIRE(store->set_outputs("1_oldentry", false, true) == LG_OK);
  REQUIRE(store->get_entry("1_oldentry", got) == LG_OK);
  CHECK_FALSE(got.dvr);
  CHECK(got.recording);
  CHECK(store->set_outputs("1_nothere0", true, true) == LG_E_NOT_FOUND);
  RawDb raw(path);
  CHECK(raw.text("PRAGMA user_version;") == "3");
}

TEST_CASE("auth::Store refuses what it cannot use", "[auth][store]") {
  TempDir dir;
  std::string error;

  SECTION("a schema newer than this build") {
    const std::string path = dir.file("future.db");
    {
      RawDb raw(path);
      raw.exec("PRAGMA user_version = 99;");
    }
    CHECK_FALSE(Store::open(path, error));
    CHECK(error.find("schema version 99") != std::string::npos);
    CHECK(error.find("newer") != std::string::npos);
    RawDb raw(path);
    CHECK(raw.text("PRAGMA user_version;") == "99");  // left as it was
  }
  SECTION("a file that is not a database") {
    const std::string path = dir.file("text.db");
    std::ofstream(path) << std::string(4096, 'x');
    CHECK_FALSE(Store::open(path, error));
    CHECK(error.find(path) != std::string::npos);
    CHECK(error.find("not a database") != std::string::npos);
  }
  SECTION("a folder that does not exist") {
    const std::string path = dir.file("missing/entries.db");
    CHECK_FALSE(Store::open(path, error));
    CHECK(error.find(path) != std::string::npos);
  }
  SECTION("an empty path") {
    CHECK_FALSE(Store::open("", error));
    CHECK_FALSE(error.empty());
  }
}
