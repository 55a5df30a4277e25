#include "auth/random.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/platform_util.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

namespace lg::auth {

namespace {

std::string mbedtls_message(int rc) {
  char text[160];
  mbedtls_strerror(rc, text, sizeof(text));
  char out[200];
  snprintf(out, sizeof(out), "%s (-0x%04x)", text, static_cast<unsigned>(-rc));
  return out;
}

}  // namespace

struct Random::State {
  std::mutex mutex;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  // A forked child inherits the DRBG state and would repeat the parent's
  // output, so a change of process id forces a reseed first.
  pid_t seeded_pid = 0;

  State() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
  }
  ~State() {
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  State(const State &) = delete;
  State &operator=(const State &) = delete;
};

Random::Random() : state_(std::make_unique<State>()) {}

Random::~Random() = default;

std::unique_ptr<Random> Random::create(std::string &error, std::string_view personalization) {
  std::unique_ptr<Random> random(new Random());
  State &s = *random->state_;
  const int rc = mbedtls_ctr_drbg_seed(
      &s.drbg, mbedtls_entropy_func, &s.entropy,
      reinterpret_cast<const unsigned char *>(personalization.data()), personalization.size());
  if (rc != 0) {
    error = "cannot seed the random generator: " + mbedtls_message(rc);
    return nullptr;
  }
  s.seeded_pid = getpid();
  return random;
}

bool Random::fill(std::span<uint8_t> out) {
  std::lock_guard lock(state_->mutex);
  State &s = *state_;
  bool ok = true;
  const pid_t pid = getpid();
  if (pid != s.seeded_pid) {
    if (mbedtls_ctr_drbg_reseed(&s.drbg, nullptr, 0) == 0) {
      s.seeded_pid = pid;
    } else {
      ok = false;
    }
  }
  size_t done = 0;
  while (ok && done < out.size()) {
    const size_t n = std::min<size_t>(out.size() - done, MBEDTLS_CTR_DRBG_MAX_REQUEST);
    if (mbedtls_ctr_drbg_random(&s.drbg, out.data() + done, n) != 0) ok = false;
    done += n;
  }
  if (!ok && !out.empty()) mbedtls_platform_zeroize(out.data(), out.size());
  return ok;
}

}  // namespace lg::auth
