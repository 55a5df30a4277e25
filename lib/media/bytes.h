// Byte helpers shared by the codec-configuration parsers and builders.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace lg::media {

// The caller has checked that pos + 2 <= p.size().
inline uint16_t read_u16(std::span<const uint8_t> p, size_t pos) {
  return static_cast<uint16_t>((p[pos] << 8) | p[pos + 1]);
}

inline void put_u16(std::vector<uint8_t> &out, size_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// True if `p` starts with an Annex-B start code rather than a configuration
// record: some encoders send parameter sets that way in a sequence header.
inline bool looks_like_annexb(std::span<const uint8_t> p) {
  return (p.size() >= 3 && p[0] == 0 && p[1] == 0 && p[2] == 1) ||
         (p.size() >= 4 && p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 1);
}

}  // namespace lg::media
