// HEVC parameter sets and the HEVCDecoderConfigurationRecord.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "media/frame.h"

namespace lg::media {

namespace hevc_nal {
constexpr int kIdrWRadl = 19;
constexpr int kIdrNLp = 20;
constexpr int kCraNut = 21;
constexpr int kVps = 32;
constexpr int kSps = 33;
constexpr int kPps = 34;
constexpr int kAud = 35;
}  // namespace hevc_nal

// The NAL unit type of an HEVC NAL unit (2-byte header), or -1 if it is too short.
inline int hevc_nal_type(std::span<const uint8_t> nal) {
  return nal.size() < 2 ? -1 : (nal[0] >> 1) & 0x3f;
}

struct HevcSpsInfo {
  int profile_space = 0;
  bool high_tier = false;
  int profile_idc = 0;  // general_profile_idc
  int level_idc = 0;    // general_level_idc (93 = level 3.1)
  int max_sub_layers = 1;
  bool temporal_id_nesting = false;
  int chroma_format_idc = 1;
  int width = 0;  // display size, conformance window applied
  int height = 0;
  int bit_depth_luma = 8;
  int bit_depth_chroma = 8;
  // general_profile_space .. general_level_idc as coded: the 12 bytes an
  // HEVCDecoderConfigurationRecord repeats.
  uint8_t general_ptl[12] = {};
};

// nal: one SPS NAL unit with its 2-byte NAL header, without a start code or
// length prefix.
bool parse_hevc_sps(std::span<const uint8_t> nal, HevcSpsInfo &info, std::string &error);

// An HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1), as in an
// Enhanced RTMP sequence start or an MP4 hvcC box. Fills codec, profile,
// level and nal_length_size from the record, the size from its first SPS,
// and keeps the record in config.
bool parse_hevc_config(std::span<const uint8_t> hvcc, VideoParams &params, std::string &error);

// Builds an HEVCDecoderConfigurationRecord (nal_length_size 4) from VPS, SPS
// and PPS NAL units found in band in an Annex-B stream, and fills params as
// parse_hevc_config would.
bool build_hevc_config_from_annexb(std::span<const uint8_t> vps, std::span<const uint8_t> sps,
                                   std::span<const uint8_t> pps, VideoParams &params,
                                   std::string &error);

}  // namespace lg::media
