// H.264 parameter sets and NAL unit framing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "media/frame.h"

namespace lg::media {

namespace h264_nal {
constexpr int kSlice = 1;
constexpr int kIdr = 5;
constexpr int kSei = 6;
constexpr int kSps = 7;
constexpr int kPps = 8;
constexpr int kAud = 9;
}  // namespace h264_nal

struct SpsInfo {
  int profile_idc = 0;
  int constraint_flags = 0;  // the byte after profile_idc: constraint_set0..5 and reserved bits
  int level_idc = 0;
  int width = 0;  // display size, frame cropping applied
  int height = 0;
  int chroma_format_idc = 1;
  int bit_depth_luma = 8;
  int bit_depth_chroma = 8;
  bool frame_mbs_only = true;  // false: the stream may code fields (interlaced)
};

// Removes emulation-prevention bytes (00 00 03 -> 00 00) from a NAL unit.
std::vector<uint8_t> nal_to_rbsp(std::span<const uint8_t> nal);

// nal: one sequence parameter set NAL unit, with its 1-byte NAL header and
// without a start code or length prefix.
bool parse_sps(std::span<const uint8_t> nal, SpsInfo &info, std::string &error);

// An AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1), as in an FLV
// sequence header or an MP4 avcC box. Fills codec, profile, level, size and
// nal_length_size from it and its first SPS, and keeps the record in config.
bool parse_avc_config(std::span<const uint8_t> avcc, VideoParams &params, std::string &error);

// Splits a payload of NAL units each preceded by its big-endian length of
// nal_length_size (1, 2, 3 or 4) bytes. Fails on a zero or overlong length
// or a truncated prefix rather than returning a partial list. The spans point
// into in.
std::vector<std::span<const uint8_t>> split_length_prefixed(std::span<const uint8_t> in,
                                                            int nal_length_size,
                                                            std::string &error);

// Splits an Annex-B byte stream (00 00 01 / 00 00 00 01 start codes) into NAL
// units without start codes or trailing zero bytes. Bytes before the first
// start code are not a NAL unit and are dropped, as are empty NAL units. The
// spans point into in. Works for H.264 and HEVC alike.
std::vector<std::span<const uint8_t>> split_annexb(std::span<const uint8_t> in);

// The NAL units of an Annex-B stream, each with a 4-byte length prefix: the
// frame payload format (nal_length_size 4).
std::vector<uint8_t> annexb_to_length_prefixed(std::span<const uint8_t> annexb);

// Builds an AVCDecoderConfigurationRecord (nal_length_size 4) from an SPS and
// a PPS NAL unit, as found in band in an Annex-B stream, and fills params as
// parse_avc_config would.
bool build_avc_config_from_annexb(std::span<const uint8_t> sps, std::span<const uint8_t> pps,
                                  VideoParams &params, std::string &error);

}  // namespace lg::media
