// Small helpers shared by the fuzz targets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

namespace lg::fuzz {

// Reads control bytes from the front of the input; the rest is the data.
class Input {
 public:
  Input(const uint8_t *data, size_t size) : rest_(data, size) {}

  // The next byte, or 0 once the input is exhausted.
  uint8_t byte() {
    if (rest_.empty()) return 0;
    const uint8_t b = rest_.front();
    rest_ = rest_.subspan(1);
    return b;
  }
  std::span<const uint8_t> rest() const { return rest_; }

 private:
  std::span<const uint8_t> rest_;
};

inline std::string_view as_text(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char *>(bytes.data()), bytes.size()};
}

// Splits `text` at the first `sep`: returns what precedes it and leaves the
// rest (after the separator) in `text`; the whole text if there is none.
inline std::string_view next_field(std::string_view &text, char sep = '\n') {
  const size_t at = text.find(sep);
  const std::string_view field = text.substr(0, at);
  text = at == std::string_view::npos ? std::string_view() : text.substr(at + 1);
  return field;
}

// A property the code under test must keep, whatever the input: aborts so
// that libFuzzer (or the standalone driver under a test) reports the input.
inline void check(bool ok, const char *what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz check failed: %s\n", what);
    std::abort();
  }
}

// A codec configuration record that was built (in `built`) must parse back,
// with `parse(record, params, error)`, to the same picture size.
template <typename Params, typename Parse>
void check_built_record(const Params &built, Parse parse) {
  Params again;
  std::string error;
  check(parse(built.config, again, error), "a built record parses");
  check(again.width == built.width && again.height == built.height, "the same size both ways");
}

// Predictable "random" bytes for the RTMP handshake.
inline void fill_pattern(std::span<uint8_t> out) {
  uint8_t v = 0x5a;
  for (auto &b : out) b = v = static_cast<uint8_t>(v * 33 + 7);
}

// Sizes of the pieces an input is fed in: 1 to 256 bytes, from one
// control byte, so that the fuzzer explores splits anywhere.
inline size_t piece_size(uint8_t control, size_t left) {
  const size_t n = static_cast<size_t>(control) + 1;
  return n < left ? n : left;
}

}  // namespace lg::fuzz
