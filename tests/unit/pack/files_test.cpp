#include "pack/files.h"

#include <signal.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "unit/media/media_test_support.h"

using namespace lg;

namespace {

// Runs `f` with the process's file size limit at `bytes`: the kernel takes
// writes up to it and refuses the rest, as a full disk does.
template <class F>
auto with_file_size_limit(rlim_t bytes, F &&f) {
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = bytes;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  auto result = f();
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  return result;
}

}  // namespace

TEST_CASE("pack::AppendFile takes a write cut short back out of the file", "[pack]") {
  media::test::TempDir dir;
  const std::string path = dir.file("0.ts");
  pack::AppendFile file;
  std::string error;
  REQUIRE(file.open(path, error));
  const std::vector<uint8_t> first(1000, 1);
  const std::vector<uint8_t> second(1000, 2);
  REQUIRE(file.append(first, error));

  // The kernel takes the first 500 bytes of the next write, then refuses.
  const bool ok = with_file_size_limit(1500, [&] { return file.append(second, error); });

  CHECK_FALSE(ok);
  CHECK(error.find("File too large") != std::string::npos);
  // Nothing of the failed segment stays: the file ends where it did.
  CHECK(std::filesystem::file_size(path) == 1000);
  CHECK(file.size() == 1000);
  // And it goes on from there once writes succeed again.
  REQUIRE(file.append(second, error));
  CHECK(std::filesystem::file_size(path) == 2000);
  const auto bytes = media::test::read_file(path);
  CHECK(bytes[999] == 1);
  CHECK(bytes[1000] == 2);
}

TEST_CASE("pack::PendingFile shows readers all of a file or nothing", "[pack]") {
  media::test::TempDir dir;
  const std::string path = dir.file("7.ts");
  pack::PendingFile file;
  file.open(path);
  file.write(std::vector<uint8_t>(1000, 1));
  file.write(std::vector<uint8_t>(500, 2));
  CHECK(file.size() == 1500);
  // Written, not yet in place.
  CHECK_FALSE(std::filesystem::exists(path));
  std::string error;
  REQUIRE(file.commit(error));
  CHECK(std::filesystem::file_size(path) == 1500);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  // Committed, it can still be read through its descriptor: a recording
  // copies it from there.
  pack::AppendFile recording;
  REQUIRE(recording.open(dir.file("rec.ts"), error));
  REQUIRE(recording.append(std::vector<uint8_t>(10, 9), error));
  REQUIRE(recording.append_from(file.fd(), file.size(), error));
  REQUIRE(recording.append_from(file.fd(), 1000, error));
  file.close();
  CHECK(std::filesystem::exists(path));
  const auto copied = media::test::read_file(dir.file("rec.ts"));
  REQUIRE(copied.size() == 2510);
  CHECK(copied[9] == 9);
  CHECK(copied[10] == 1);
  CHECK(copied[1509] == 2);
  CHECK(copied[1510] == 1);
  CHECK(copied[2509] == 1);

  // One that is never committed leaves nothing behind.
  file.open(dir.file("8.ts"));
  file.write(std::vector<uint8_t>(100, 3));
  file.close();
  CHECK_FALSE(std::filesystem::exists(dir.file("8.ts")));
  CHECK_FALSE(std::filesystem::exists(dir.file("8.ts.tmp")));
}

TEST_CASE("pack::PendingFile reports a write cut short at commit, and is not put in place",
          "[pack]") {
  media::test::TempDir dir;
  const std::string path = dir.file("3.ts");
  pack::PendingFile file;
  file.open(path);
  with_file_size_limit(1500, [&] {
    file.write(std::vector<uint8_t>(1000, 1));
    file.write(std::vector<uint8_t>(1000, 2));
    return 0;
  });
  // Later writes would leave a hole: they are skipped.
  file.write(std::vector<uint8_t>(10, 3));
  std::string error;
  CHECK(file.failed());
  CHECK(file.size() == 1000);
  CHECK_FALSE(file.commit(error));
  CHECK(error.find("File too large") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(path));
  file.close();
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  // A folder that is not there fails the same way.
  file.open(dir.file("missing/0.ts"));
  CHECK(file.failed());
  file.write(std::vector<uint8_t>(10, 1));
  // Nothing was written, and the segment is still a failure, not an empty one.
  CHECK(file.size() == 0);
  CHECK_FALSE(file.commit(error));
  CHECK(error.find("cannot create") != std::string::npos);
}

TEST_CASE("pack::AppendFile takes a copy from a file cut short back out", "[pack]") {
  media::test::TempDir dir;
  pack::PendingFile segment;
  segment.open(dir.file("0.ts"));
  segment.write(std::vector<uint8_t>(1000, 2));
  std::string error;
  REQUIRE(segment.commit(error));
  pack::AppendFile file;
  REQUIRE(file.open(dir.file("rec.ts"), error));
  REQUIRE(file.append(std::vector<uint8_t>(1000, 1), error));
  const bool ok = with_file_size_limit(
      1500, [&] { return file.append_from(segment.fd(), segment.size(), error); });
  CHECK_FALSE(ok);
  CHECK(error.find("File too large") != std::string::npos);
  CHECK(std::filesystem::file_size(dir.file("rec.ts")) == 1000);
  // The next append lands right after the last whole one.
  REQUIRE(file.append_from(segment.fd(), segment.size(), error));
  const auto bytes = media::test::read_file(dir.file("rec.ts"));
  REQUIRE(bytes.size() == 2000);
  CHECK(bytes[999] == 1);
  CHECK(bytes[1000] == 2);
}
