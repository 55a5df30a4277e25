#include "media/h264.h"

#include <cstdint>
#include <limits>

#include "media/bitreader.h"
#include "media/bytes.h"

namespace lg::media {

namespace {

// Beyond any level's limits (level 6.2 allows 139264 macroblocks, at most
// 1055 across), and small enough that nothing derived from it overflows.
constexpr uint32_t kMaxMbsPerDimension = 2048;

bool set_error(std::string &error, std::string message) {
  error = std::move(message);
  return false;
}

bool is_high_profile(int profile_idc) {
  switch (profile_idc) {
    case 100:
    case 110:
    case 122:
    case 244:
    case 44:
    case 83:
    case 86:
    case 118:
    case 128:
    case 138:
    case 139:
    case 134:
    case 135:
      return true;
    default:
      return false;
  }
}

// scaling_list() of 7.3.2.1.1.1: only the delta_scale values are coded, and
// a list stops early once the next scale reaches 0 ("use the default").
bool skip_scaling_list(BitReader &br, int size) {
  int last_scale = 8;
  int next_scale = 8;
  for (int j = 0; j < size; ++j) {
    if (next_scale != 0) {
      const int32_t delta = br.se();
      if (!br.ok()) return false;
      if (delta < -128 || delta > 127) return false;
      next_scale = (last_scale + delta + 256) % 256;
    }
    if (next_scale != 0) last_scale = next_scale;
  }
  return true;
}

}  // namespace

std::vector<uint8_t> nal_to_rbsp(std::span<const uint8_t> nal) {
  std::vector<uint8_t> out;
  out.reserve(nal.size());
  int zeros = 0;
  for (uint8_t b : nal) {
    if (zeros >= 2 && b == 3) {
      zeros = 0;
      continue;
    }
    out.push_back(b);
    zeros = b == 0 ? zeros + 1 : 0;
  }
  return out;
}

bool parse_sps(std::span<const uint8_t> nal, SpsInfo &info, std::string &error) {
  info = SpsInfo{};
  if (nal.size() < 4) {
    return set_error(error, "H.264 SPS too short: " + std::to_string(nal.size()) + " bytes");
  }
  if ((nal[0] & 0x1f) != h264_nal::kSps) {
    return set_error(error, "not an H.264 SPS: NAL unit type " + std::to_string(nal[0] & 0x1f));
  }
  const std::vector<uint8_t> rbsp = nal_to_rbsp(nal.subspan(1));
  BitReader br(rbsp);
  info.profile_idc = static_cast<int>(br.bits(8));
  info.constraint_flags = static_cast<int>(br.bits(8));
  info.level_idc = static_cast<int>(br.bits(8));
  const uint32_t sps_id = br.ue();
  if (br.ok() && sps_id > 31) {
    return set_error(error, "H.264 SPS: seq_parameter_set_id " + std::to_string(sps_id) + " > 31");
  }

  bool separate_colour_planes = false;
  if (is_high_profile(info.profile_idc)) {
    const uint32_t chroma_format_idc = br.ue();
    if (br.ok() && chroma_format_idc > 3) {
      return set_error(
          error, "H.264 SPS: chroma_format_idc " + std::to_string(chroma_format_idc) + " > 3");
    }
    info.chroma_format_idc = static_cast<int>(chroma_format_idc);
    if (chroma_format_idc == 3) separate_colour_planes = br.flag();
    const uint32_t luma_minus8 = br.ue();
    const uint32_t chroma_minus8 = br.ue();
    if (br.ok() && (luma_minus8 > 6 || chroma_minus8 > 6)) {
      return set_error(error, "H.264 SPS: bit depth beyond 14 bits");
    }
    // Out of range only when the SPS is truncated (reported below): the
    // values read are then garbage, not to be computed with.
    if (luma_minus8 <= 6 && chroma_minus8 <= 6) {
      info.bit_depth_luma = static_cast<int>(luma_minus8) + 8;
      info.bit_depth_chroma = static_cast<int>(chroma_minus8) + 8;
    }
    br.skip(1);       // qpprime_y_zero_transform_bypass_flag
    if (br.flag()) {  // seq_scaling_matrix_present_flag
      const int lists = chroma_format_idc != 3 ? 8 : 12;
      for (int i = 0; i < lists && br.ok(); ++i) {
        if (br.flag() && !skip_scaling_list(br, i < 6 ? 16 : 64)) {
          if (!br.ok()) break;
          return set_error(error, "H.264 SPS: scaling list delta out of range");
        }
      }
    }
  }

  const uint32_t log2_max_frame_num_minus4 = br.ue();
  if (br.ok() && log2_max_frame_num_minus4 > 12) {
    return set_error(error, "H.264 SPS: log2_max_frame_num_minus4 " +
                                std::to_string(log2_max_frame_num_minus4) + " > 12");
  }
  const uint32_t poc_type = br.ue();
  if (br.ok() && poc_type > 2) {
    return set_error(error, "H.264 SPS: pic_order_cnt_type " + std::to_string(poc_type) + " > 2");
  }
  if (poc_type == 0) {
    const uint32_t log2_max_poc_lsb_minus4 = br.ue();
    if (br.ok() && log2_max_poc_lsb_minus4 > 12) {
      return set_error(error, "H.264 SPS: log2_max_pic_order_cnt_lsb_minus4 " +
                                  std::to_string(log2_max_poc_lsb_minus4) + " > 12");
    }
  } else if (poc_type == 1) {
    br.skip(1);  // delta_pic_order_always_zero_flag
    br.se();     // offset_for_non_ref_pic
    br.se();     // offset_for_top_to_bottom_field
    const uint32_t cycle = br.ue();
    if (br.ok() && cycle > 255) {
      return set_error(error, "H.264 SPS: num_ref_frames_in_pic_order_cnt_cycle " +
                                  std::to_string(cycle) + " > 255");
    }
    for (uint32_t i = 0; i < cycle && br.ok(); ++i) br.se();
  }
  const uint32_t max_num_ref_frames = br.ue();
  if (br.ok() && max_num_ref_frames > 16) {
    return set_error(
        error, "H.264 SPS: max_num_ref_frames " + std::to_string(max_num_ref_frames) + " > 16");
  }
  br.skip(1);  // gaps_in_frame_num_value_allowed_flag
  const uint64_t width_mbs = uint64_t{br.ue()} + 1;
  const uint64_t height_map_units = uint64_t{br.ue()} + 1;
  if (br.ok() && (width_mbs > kMaxMbsPerDimension || height_map_units > kMaxMbsPerDimension)) {
    return set_error(error, "H.264 SPS: absurd picture size of " + std::to_string(width_mbs) + "x" +
                                std::to_string(height_map_units) + " macroblocks");
  }
  info.frame_mbs_only = br.flag();
  if (!info.frame_mbs_only) br.skip(1);  // mb_adaptive_frame_field_flag
  br.skip(1);                            // direct_8x8_inference_flag
  uint64_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
  if (br.flag()) {
    crop_left = br.ue();
    crop_right = br.ue();
    crop_top = br.ue();
    crop_bottom = br.ue();
  }
  if (!br.ok()) return set_error(error, std::string("H.264 SPS: ") + br.error());

  // 7.4.2.1.1: crop offsets count in chroma samples, and in field pairs
  // when the picture may be coded as fields.
  const uint64_t field_factor = info.frame_mbs_only ? 1 : 2;
  uint64_t crop_unit_x = 1, crop_unit_y = field_factor;
  if (!separate_colour_planes && info.chroma_format_idc != 0) {
    crop_unit_x = info.chroma_format_idc == 3 ? 1 : 2;
    crop_unit_y = (info.chroma_format_idc == 1 ? 2 : 1) * field_factor;
  }
  const uint64_t coded_width = width_mbs * 16;
  const uint64_t coded_height = height_map_units * 16 * field_factor;
  const uint64_t crop_x = (crop_left + crop_right) * crop_unit_x;
  const uint64_t crop_y = (crop_top + crop_bottom) * crop_unit_y;
  if (crop_x >= coded_width || crop_y >= coded_height) {
    return set_error(error, "H.264 SPS: frame cropping removes the whole " +
                                std::to_string(coded_width) + "x" + std::to_string(coded_height) +
                                " picture");
  }
  info.width = static_cast<int>(coded_width - crop_x);
  info.height = static_cast<int>(coded_height - crop_y);
  return true;
}

bool parse_avc_config(std::span<const uint8_t> avcc, VideoParams &params, std::string &error) {
  if (looks_like_annexb(avcc)) {
    return set_error(error,
                     "H.264 configuration is an Annex-B byte stream, not an "
                     "AVCDecoderConfigurationRecord");
  }
  if (avcc.size() < 7) {
    return set_error(error, "AVCDecoderConfigurationRecord truncated: " +
                                std::to_string(avcc.size()) + " bytes, at least 7 needed");
  }
  if (avcc[0] != 1) {
    return set_error(error,
                     "AVCDecoderConfigurationRecord version " + std::to_string(avcc[0]) + " != 1");
  }
  const int nal_length_size = (avcc[4] & 3) + 1;
  if (nal_length_size == 3) {
    return set_error(error, "AVCDecoderConfigurationRecord: 3-byte NAL lengths are not allowed");
  }
  const int num_sps = avcc[5] & 0x1f;
  if (num_sps == 0) return set_error(error, "AVCDecoderConfigurationRecord has no SPS");
  size_t pos = 6;
  SpsInfo sps;
  for (int i = 0; i < num_sps; ++i) {
    if (avcc.size() - pos < 2) {
      return set_error(error,
                       "AVCDecoderConfigurationRecord truncated in SPS " + std::to_string(i));
    }
    const size_t len = read_u16(avcc, pos);
    pos += 2;
    if (len == 0) {
      return set_error(error,
                       "AVCDecoderConfigurationRecord: SPS " + std::to_string(i) + " is empty");
    }
    if (avcc.size() - pos < len) {
      return set_error(error, "AVCDecoderConfigurationRecord: SPS " + std::to_string(i) +
                                  " claims " + std::to_string(len) + " bytes, only " +
                                  std::to_string(avcc.size() - pos) + " remain");
    }
    if (i == 0 && !parse_sps(avcc.subspan(pos, len), sps, error)) return false;
    pos += len;
  }
  if (avcc.size() - pos < 1) {
    return set_error(error, "AVCDecoderConfigurationRecord truncated before the PPS count");
  }
  const int num_pps = avcc[pos++];
  for (int i = 0; i < num_pps; ++i) {
    if (avcc.size() - pos < 2) {
      return set_error(error,
                       "AVCDecoderConfigurationRecord truncated in PPS " + std::to_string(i));
    }
    const size_t len = read_u16(avcc, pos);
    pos += 2;
    if (len == 0) {
      return set_error(error,
                       "AVCDecoderConfigurationRecord: PPS " + std::to_string(i) + " is empty");
    }
    if (avcc.size() - pos < len) {
      return set_error(error, "AVCDecoderConfigurationRecord: PPS " + std::to_string(i) +
                                  " claims " + std::to_string(len) + " bytes, only " +
                                  std::to_string(avcc.size() - pos) + " remain");
    }
    pos += len;
  }
  // High-profile records may go on with chroma format and bit depth fields;
  // the SPS already said all of it.
  params.codec = Codec::H264;
  params.profile = sps.profile_idc;
  params.level = sps.level_idc;
  params.width = sps.width;
  params.height = sps.height;
  params.nal_length_size = nal_length_size;
  params.config.assign(avcc.begin(), avcc.end());
  return true;
}

std::vector<std::span<const uint8_t>> split_length_prefixed(std::span<const uint8_t> in,
                                                            int nal_length_size,
                                                            std::string &error) {
  std::vector<std::span<const uint8_t>> nals;
  if (nal_length_size < 1 || nal_length_size > 4) {
    error = "invalid NAL length size " + std::to_string(nal_length_size);
    return {};
  }
  const size_t n = static_cast<size_t>(nal_length_size);
  size_t pos = 0;
  while (pos < in.size()) {
    if (in.size() - pos < n) {
      error = "truncated NAL length prefix at offset " + std::to_string(pos);
      return {};
    }
    size_t len = 0;
    for (size_t i = 0; i < n; ++i) len = (len << 8) | in[pos + i];
    if (len == 0) {
      error = "zero-length NAL unit at offset " + std::to_string(pos);
      return {};
    }
    pos += n;
    if (len > in.size() - pos) {
      error = "NAL unit at offset " + std::to_string(pos - n) + " claims " + std::to_string(len) +
              " bytes, only " + std::to_string(in.size() - pos) + " remain";
      return {};
    }
    nals.push_back(in.subspan(pos, len));
    pos += len;
  }
  return nals;
}

std::vector<std::span<const uint8_t>> split_annexb(std::span<const uint8_t> in) {
  std::vector<std::span<const uint8_t>> nals;
  size_t start = std::numeric_limits<size_t>::max();  // no NAL unit open yet
  auto close = [&](size_t end) {
    if (start == std::numeric_limits<size_t>::max()) return;
    // Trailing zeros belong to the next start code or are trailing_zero_8bits:
    // a NAL unit itself never ends with a zero byte.
    while (end > start && in[end - 1] == 0) --end;
    if (end > start) nals.push_back(in.subspan(start, end - start));
  };
  size_t i = 0;
  while (i + 3 <= in.size()) {
    if (in[i] == 0 && in[i + 1] == 0 && in[i + 2] == 1) {
      close(i);
      start = i + 3;
      i += 3;
    } else if (in[i + 2] > 1) {
      i += 3;  // no start code can begin at i, i + 1 or i + 2
    } else {
      ++i;
    }
  }
  close(in.size());
  return nals;
}

std::vector<uint8_t> annexb_to_length_prefixed(std::span<const uint8_t> annexb) {
  std::vector<uint8_t> out;
  out.reserve(annexb.size() + 16);
  for (auto nal : split_annexb(annexb)) {
    if (nal.size() > std::numeric_limits<uint32_t>::max()) continue;
    const uint32_t len = static_cast<uint32_t>(nal.size());
    out.push_back(static_cast<uint8_t>(len >> 24));
    out.push_back(static_cast<uint8_t>(len >> 16));
    out.push_back(static_cast<uint8_t>(len >> 8));
    out.push_back(static_cast<uint8_t>(len));
    out.insert(out.end(), nal.begin(), nal.end());
  }
  return out;
}

bool build_avc_config_from_annexb(std::span<const uint8_t> sps, std::span<const uint8_t> pps,
                                  VideoParams &params, std::string &error) {
  SpsInfo info;
  if (!parse_sps(sps, info, error)) return false;
  if (pps.empty() || (pps[0] & 0x1f) != h264_nal::kPps) {
    return set_error(error, "not an H.264 PPS");
  }
  if (sps.size() > 0xffff || pps.size() > 0xffff) {
    return set_error(error, "H.264 parameter set larger than 65535 bytes");
  }
  std::vector<uint8_t> avcc;
  avcc.reserve(16 + sps.size() + pps.size());
  avcc.push_back(1);  // configurationVersion
  avcc.push_back(sps[1]);
  avcc.push_back(sps[2]);
  avcc.push_back(sps[3]);
  avcc.push_back(0xff);  // lengthSizeMinusOne = 3
  avcc.push_back(0xe1);  // one SPS
  put_u16(avcc, sps.size());
  avcc.insert(avcc.end(), sps.begin(), sps.end());
  avcc.push_back(1);  // one PPS
  put_u16(avcc, pps.size());
  avcc.insert(avcc.end(), pps.begin(), pps.end());
  // ISO/IEC 14496-15 requires these fields for the profiles that can code
  // other than 8-bit 4:2:0.
  if (info.profile_idc == 100 || info.profile_idc == 110 || info.profile_idc == 122 ||
      info.profile_idc == 144) {
    avcc.push_back(static_cast<uint8_t>(0xfc | info.chroma_format_idc));
    avcc.push_back(static_cast<uint8_t>(0xf8 | (info.bit_depth_luma - 8)));
    avcc.push_back(static_cast<uint8_t>(0xf8 | (info.bit_depth_chroma - 8)));
    avcc.push_back(0);  // numOfSequenceParameterSetExt
  }
  return parse_avc_config(avcc, params, error);
}

}  // namespace lg::media
