#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "auth/random.h"

using lg::auth::Random;

namespace {

std::unique_ptr<Random> make_random() {
  std::string error;
  auto random = Random::create(error);
  INFO(error);
  REQUIRE(random);
  CHECK(error.empty());
  return random;
}

}  // namespace

TEST_CASE("auth::Random fills buffers of any size", "[auth][random]") {
  auto random = make_random();

  std::vector<uint8_t> empty;
  CHECK(random->fill(empty));

  // Larger than one CTR-DRBG request (1024 bytes): the tail must be filled
  // too, not left as it was.
  std::vector<uint8_t> big(5000, 0);
  REQUIRE(random->fill(big));
  for (size_t block = 0; block < big.size(); block += 500) {
    size_t nonzero = 0;
    for (size_t i = block; i < block + 500 && i < big.size(); ++i) nonzero += big[i] != 0;
    INFO("block at " << block);
    CHECK(nonzero > 450);  // ~498 expected
  }

  std::array<uint8_t, 32> a{}, b{};
  REQUIRE(random->fill(a));
  REQUIRE(random->fill(b));
  CHECK(a != b);
}

TEST_CASE("auth::Random bytes are uniformly distributed", "[auth][random]") {
  auto random = make_random();
  std::vector<uint8_t> bytes(1 << 20);
  REQUIRE(random->fill(bytes));
  std::array<double, 256> counts{};
  for (uint8_t v : bytes) counts[v] += 1;
  const double expected = static_cast<double>(bytes.size()) / 256;
  double chi2 = 0;
  for (double c : counts) chi2 += (c - expected) * (c - expected) / expected;
  // 255 degrees of freedom: mean 255, sd ~22.6; 400 is beyond 6 sd.
  CHECK(chi2 < 400);
}

TEST_CASE("auth::Random generators seeded alike still differ", "[auth][random]") {
  auto r1 = make_random();
  auto r2 = make_random();
  std::array<uint8_t, 32> a{}, b{};
  REQUIRE(r1->fill(a));
  REQUIRE(r2->fill(b));
  CHECK(a != b);
}

TEST_CASE("auth::Random is safe from many threads", "[auth][random]") {
  auto random = make_random();
  std::mutex mutex;
  std::set<std::array<uint8_t, 16>> seen;
  bool all_ok = true;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        std::array<uint8_t, 16> v{};
        const bool ok = random->fill(v);
        std::lock_guard lock(mutex);
        all_ok = all_ok && ok;
        seen.insert(v);
      }
    });
  }
  for (auto &t : threads) t.join();
  CHECK(all_ok);
  CHECK(seen.size() == 8000);
}

TEST_CASE("auth::Random does not repeat its output in a forked child", "[auth][random]") {
  auto random = make_random();
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::array<uint8_t, 32> child{};
    const bool ok = random->fill(child);
    const ssize_t n = write(fds[1], child.data(), child.size());
    _exit(ok && n == static_cast<ssize_t>(child.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::array<uint8_t, 32> parent{}, child{};
  REQUIRE(random->fill(parent));
  size_t got = 0;
  while (got < child.size()) {
    const ssize_t n = read(fds[0], child.data() + got, child.size() - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(got == child.size());
  CHECK(parent != child);
}
