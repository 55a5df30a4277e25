#include "pack/files.h"

#include <signal.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "unit/media/media_test_support.h"

using namespace lg;

TEST_CASE("pack::AppendFile takes a write cut short back out of the file", "[pack]") {
  media::test::TempDir dir;
  const std::string path = dir.file("0.ts");
  pack::AppendFile file;
  std::string error;
  REQUIRE(file.open(path, error));
  const std::vector<uint8_t> first(1000, 1);
  const std::vector<uint8_t> second(1000, 2);
  REQUIRE(file.append(first, error));

  // A file size limit cuts the next write short, as a full disk does: the
  // kernel takes the first 500 bytes, then refuses the rest.
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 1500;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  const bool ok = file.append(second, error);
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);

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
