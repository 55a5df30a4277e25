// A cryptographically secure random generator: mbedTLS CTR-DRBG (AES-256)
// seeded from the platform entropy source.
#ifndef LG_AUTH_RANDOM_H
#define LG_AUTH_RANDOM_H

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace lg::auth {

class Random {
 public:
  // Seeds a new generator. `personalization` separates the output streams of
  // generators seeded at the same instant from the same entropy. Returns null
  // and says why in `error` if the entropy source or the DRBG fails: there is
  // no weak fallback.
  static std::unique_ptr<Random> create(std::string &error,
                                        std::string_view personalization = "livegate");

  ~Random();
  Random(const Random &) = delete;
  Random &operator=(const Random &) = delete;

  // Fills `out` with random bytes. Safe from any thread. Returns false (and
  // zeroes `out`) if the DRBG fails, e.g. when a reseed finds no entropy;
  // callers must then not use the bytes.
  [[nodiscard]] bool fill(std::span<uint8_t> out);

 private:
  Random();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace lg::auth

#endif  // LG_AUTH_RANDOM_H
