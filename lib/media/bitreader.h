// A bounds-checked, MSB-first bit reader for codec headers (SPS, ASC, ...).
//
// Reading past the end never touches memory outside the input: the read
// returns 0 and the reader remembers that it failed, so a parser can read a
// whole syntax structure and check ok() once, where it matters, instead of
// after every field. error() says what went wrong first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace lg::media {

class BitReader {
 public:
  explicit BitReader(std::span<const uint8_t> data) : data_(data) {}

  // Reads n bits (0..32) as an unsigned big-endian number.
  uint32_t bits(int n) {
    if (n < 0 || n > 32) {
      fail("a read of more than 32 bits");
      return 0;
    }
    if (static_cast<size_t>(n) > bits_left()) {
      fail("truncated");
      pos_ = data_.size() * 8;
      return 0;
    }
    uint64_t value = 0;
    for (int i = 0; i < n; ++i) {
      const size_t byte = pos_ >> 3;
      const int shift = 7 - static_cast<int>(pos_ & 7);
      value = (value << 1) | ((data_[byte] >> shift) & 1u);
      ++pos_;
    }
    return static_cast<uint32_t>(value);
  }

  bool flag() { return bits(1) != 0; }

  void skip(size_t n) {
    if (n > bits_left()) {
      fail("truncated");
      pos_ = data_.size() * 8;
      return;
    }
    pos_ += n;
  }

  // Unsigned exp-Golomb, ue(v). Codes longer than 32 bits cannot be produced
  // by a conforming encoder; they mark the reader failed.
  uint32_t ue() {
    int leading_zeros = 0;
    while (true) {
      if (bits_left() == 0) {
        fail("truncated");
        return 0;
      }
      if (flag()) break;
      if (++leading_zeros > 31) {
        fail("an exp-Golomb code longer than 32 bits");
        return 0;
      }
    }
    if (leading_zeros == 0) return 0;
    const uint64_t value = (uint64_t{1} << leading_zeros) - 1 + bits(leading_zeros);
    if (!ok()) return 0;
    return static_cast<uint32_t>(value);
  }

  // Signed exp-Golomb, se(v): 1, -1, 2, -2, ... for codes 1, 2, 3, 4, ...
  int32_t se() {
    const uint32_t k = ue();
    const int64_t magnitude = (static_cast<int64_t>(k) + 1) / 2;
    return static_cast<int32_t>((k & 1) ? magnitude : -magnitude);
  }

  size_t bits_left() const { return data_.size() * 8 - pos_; }
  size_t position() const { return pos_; }
  bool byte_aligned() const { return (pos_ & 7) == 0; }
  bool ok() const { return error_ == nullptr; }
  // nullptr while ok(); otherwise "truncated" or what was malformed.
  const char *error() const { return error_; }

 private:
  void fail(const char *why) {
    if (!error_) error_ = why;
  }

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  const char *error_ = nullptr;
};

}  // namespace lg::media
