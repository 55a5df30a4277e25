#include "media/frame.h"

#include <cstdio>

namespace lg::media {

namespace {

std::string hex_upper(uint32_t value) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%X", static_cast<unsigned>(value));
  return buf;
}

uint32_t reverse_bits(uint32_t v) {
  uint32_t r = 0;
  for (int i = 0; i < 32; ++i) {
    r = (r << 1) | (v & 1);
    v >>= 1;
  }
  return r;
}

std::string avc_codec_string(const VideoParams &p) {
  char buf[32];
  if (p.config.size() >= 4 && p.config[0] == 1) {
    std::snprintf(buf, sizeof(buf), "avc1.%02x%02x%02x", p.config[1], p.config[2], p.config[3]);
  } else if (p.profile > 0 && p.profile < 256 && p.level >= 0 && p.level < 256) {
    std::snprintf(buf, sizeof(buf), "avc1.%02x00%02x", p.profile, p.level);
  } else {
    return "avc1";
  }
  return buf;
}

// ISO/IEC 14496-15 Annex E: profile space and idc, the compatibility flags
// in reverse bit order, tier and level, then the constraint bytes with
// trailing zero bytes left out.
std::string hevc_codec_string(const VideoParams &p) {
  const auto &c = p.config;
  if (c.size() < 13) {
    if (p.profile <= 0 || p.profile > 31) return "hvc1";
    return "hvc1." + std::to_string(p.profile) + "." + hex_upper(1u << p.profile) + ".L" +
           std::to_string(p.level);
  }
  const int space = c[1] >> 6;
  const bool high_tier = (c[1] >> 5) & 1;
  const int idc = c[1] & 0x1f;
  const uint32_t compat =
      (uint32_t{c[2]} << 24) | (uint32_t{c[3]} << 16) | (uint32_t{c[4]} << 8) | uint32_t{c[5]};
  std::string s = "hvc1.";
  if (space > 0) s += static_cast<char>('A' + space - 1);
  s += std::to_string(idc) + "." + hex_upper(reverse_bits(compat)) + "." + (high_tier ? "H" : "L") +
       std::to_string(c[12]);
  size_t last = 11;
  while (last >= 6 && c[last] == 0) --last;
  for (size_t i = 6; i <= last; ++i) s += "." + hex_upper(c[i]);
  return s;
}

// AV1 codec ISO media file format binding, "Codecs Parameter String".
std::string av1_codec_string(const VideoParams &p) {
  const auto &c = p.config;
  if (c.size() < 4 || c[0] != 0x81) return "av01";
  const int profile = c[1] >> 5;
  const int level = c[1] & 0x1f;
  const bool high_tier = c[2] & 0x80;
  const bool high_bitdepth = c[2] & 0x40;
  const bool twelve_bit = c[2] & 0x20;
  const int depth = high_bitdepth ? (twelve_bit ? 12 : 10) : 8;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "av01.%d.%02d%c.%02d", profile, level, high_tier ? 'H' : 'M',
                depth);
  return buf;
}

}  // namespace

const char *codec_name(Codec codec) {
  switch (codec) {
    case Codec::H264:
      return "h264";
    case Codec::HEVC:
      return "hevc";
    case Codec::AV1:
      return "av1";
    case Codec::AAC:
      return "aac";
    case Codec::MP3:
      return "mp3";
    case Codec::Opus:
      return "opus";
    default:
      return "unknown";
  }
}

std::string VideoParams::codec_string() const {
  switch (codec) {
    case Codec::H264:
      return avc_codec_string(*this);
    case Codec::HEVC:
      return hevc_codec_string(*this);
    case Codec::AV1:
      return av1_codec_string(*this);
    default:
      return {};
  }
}

std::string AudioParams::codec_string() const {
  switch (codec) {
    case Codec::AAC:
      return object_type > 0 ? "mp4a.40." + std::to_string(object_type) : "mp4a.40";
    case Codec::MP3:
      return "mp4a.40.34";
    case Codec::Opus:
      return "opus";
    default:
      return {};
  }
}

}  // namespace lg::media
