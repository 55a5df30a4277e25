#include "media/hevc.h"

#include <cstring>
#include <vector>

#include "media/bitreader.h"
#include "media/bytes.h"
#include "media/h264.h"

namespace lg::media {

namespace {

// Level 6.2 allows pictures of at most 8444 samples across; this is a sanity
// bound well above any real stream and far from overflowing an int.
constexpr uint32_t kMaxDimension = 32768;

constexpr size_t kHvccHeaderSize = 23;

bool set_error(std::string &error, std::string message) {
  error = std::move(message);
  return false;
}

}  // namespace

bool parse_hevc_sps(std::span<const uint8_t> nal, HevcSpsInfo &info, std::string &error) {
  info = HevcSpsInfo{};
  if (nal.size() < 4) {
    return set_error(error, "HEVC SPS too short: " + std::to_string(nal.size()) + " bytes");
  }
  if (hevc_nal_type(nal) != hevc_nal::kSps) {
    return set_error(error, "not an HEVC SPS: NAL unit type " + std::to_string(hevc_nal_type(nal)));
  }
  const std::vector<uint8_t> rbsp = nal_to_rbsp(nal.subspan(2));
  // The general profile_tier_level fields are byte aligned after the first
  // byte: copy them as coded for the configuration record.
  if (rbsp.size() < 1 + sizeof(info.general_ptl)) return set_error(error, "HEVC SPS: truncated");
  std::memcpy(info.general_ptl, rbsp.data() + 1, sizeof(info.general_ptl));

  BitReader br(rbsp);
  br.skip(4);  // sps_video_parameter_set_id
  const uint32_t max_sub_layers_minus1 = br.bits(3);
  if (max_sub_layers_minus1 > 6) {
    return set_error(error, "HEVC SPS: sps_max_sub_layers_minus1 is 7");
  }
  info.max_sub_layers = static_cast<int>(max_sub_layers_minus1) + 1;
  info.temporal_id_nesting = br.flag();

  // profile_tier_level(1, sps_max_sub_layers_minus1), 7.3.3
  info.profile_space = static_cast<int>(br.bits(2));
  info.high_tier = br.flag();
  info.profile_idc = static_cast<int>(br.bits(5));
  br.skip(32);  // general_profile_compatibility_flag[32]
  br.skip(48);  // source flags, constraint flags and reserved bits
  info.level_idc = static_cast<int>(br.bits(8));
  bool sub_profile_present[8] = {};
  bool sub_level_present[8] = {};
  for (uint32_t i = 0; i < max_sub_layers_minus1; ++i) {
    sub_profile_present[i] = br.flag();
    sub_level_present[i] = br.flag();
  }
  if (max_sub_layers_minus1 > 0) {
    for (uint32_t i = max_sub_layers_minus1; i < 8; ++i) br.skip(2);  // reserved_zero_2bits
  }
  for (uint32_t i = 0; i < max_sub_layers_minus1; ++i) {
    if (sub_profile_present[i]) br.skip(88);
    if (sub_level_present[i]) br.skip(8);
  }

  const uint32_t sps_id = br.ue();
  if (br.ok() && sps_id > 15) {
    return set_error(error,
                     "HEVC SPS: sps_seq_parameter_set_id " + std::to_string(sps_id) + " > 15");
  }
  const uint32_t chroma_format_idc = br.ue();
  if (br.ok() && chroma_format_idc > 3) {
    return set_error(error,
                     "HEVC SPS: chroma_format_idc " + std::to_string(chroma_format_idc) + " > 3");
  }
  info.chroma_format_idc = static_cast<int>(chroma_format_idc);
  bool separate_colour_planes = false;
  if (chroma_format_idc == 3) separate_colour_planes = br.flag();
  const uint32_t width = br.ue();
  const uint32_t height = br.ue();
  if (br.ok() && (width == 0 || height == 0 || width > kMaxDimension || height > kMaxDimension)) {
    return set_error(error, "HEVC SPS: absurd picture size " + std::to_string(width) + "x" +
                                std::to_string(height));
  }
  uint64_t left = 0, right = 0, top = 0, bottom = 0;
  if (br.flag()) {  // conformance_window_flag
    left = br.ue();
    right = br.ue();
    top = br.ue();
    bottom = br.ue();
  }
  const uint32_t luma_minus8 = br.ue();
  const uint32_t chroma_minus8 = br.ue();
  if (!br.ok()) return set_error(error, std::string("HEVC SPS: ") + br.error());
  if (luma_minus8 > 8 || chroma_minus8 > 8) {
    return set_error(error, "HEVC SPS: bit depth beyond 16 bits");
  }
  info.bit_depth_luma = static_cast<int>(luma_minus8) + 8;
  info.bit_depth_chroma = static_cast<int>(chroma_minus8) + 8;

  // Conformance window offsets count in chroma samples (Table 6-1).
  const bool subsampled =
      !separate_colour_planes && (chroma_format_idc == 1 || chroma_format_idc == 2);
  const uint64_t sub_width = subsampled ? 2 : 1;
  const uint64_t sub_height = !separate_colour_planes && chroma_format_idc == 1 ? 2 : 1;
  const uint64_t crop_x = (left + right) * sub_width;
  const uint64_t crop_y = (top + bottom) * sub_height;
  if (crop_x >= width || crop_y >= height) {
    return set_error(error, "HEVC SPS: the conformance window removes the whole " +
                                std::to_string(width) + "x" + std::to_string(height) + " picture");
  }
  info.width = static_cast<int>(width - crop_x);
  info.height = static_cast<int>(height - crop_y);
  return true;
}

bool parse_hevc_config(std::span<const uint8_t> hvcc, VideoParams &params, std::string &error) {
  if (looks_like_annexb(hvcc)) {
    return set_error(error,
                     "HEVC configuration is an Annex-B byte stream, not an "
                     "HEVCDecoderConfigurationRecord");
  }
  if (hvcc.size() < kHvccHeaderSize) {
    return set_error(error, "HEVCDecoderConfigurationRecord truncated: " +
                                std::to_string(hvcc.size()) + " bytes, at least 23 needed");
  }
  // Version 0 was written by encoders that predate the final standard; the
  // layout is the same.
  if (hvcc[0] > 1) {
    return set_error(error,
                     "HEVCDecoderConfigurationRecord version " + std::to_string(hvcc[0]) + " > 1");
  }
  const int nal_length_size = (hvcc[21] & 3) + 1;
  if (nal_length_size == 3) {
    return set_error(error, "HEVCDecoderConfigurationRecord: 3-byte NAL lengths are not allowed");
  }
  const int num_arrays = hvcc[22];
  size_t pos = kHvccHeaderSize;
  bool have_sps = false;
  HevcSpsInfo sps;
  for (int a = 0; a < num_arrays; ++a) {
    if (hvcc.size() - pos < 3) {
      return set_error(error,
                       "HEVCDecoderConfigurationRecord truncated in array " + std::to_string(a));
    }
    const int type = hvcc[pos] & 0x3f;
    const size_t count = (size_t{hvcc[pos + 1]} << 8) | hvcc[pos + 2];
    pos += 3;
    for (size_t i = 0; i < count; ++i) {
      if (hvcc.size() - pos < 2) {
        return set_error(error, "HEVCDecoderConfigurationRecord truncated in array " +
                                    std::to_string(a) + " (NAL type " + std::to_string(type) + ")");
      }
      const size_t len = (size_t{hvcc[pos]} << 8) | hvcc[pos + 1];
      pos += 2;
      if (len == 0) {
        return set_error(
            error, "HEVCDecoderConfigurationRecord: empty NAL unit in array " + std::to_string(a));
      }
      if (hvcc.size() - pos < len) {
        return set_error(error, "HEVCDecoderConfigurationRecord: NAL unit in array " +
                                    std::to_string(a) + " claims " + std::to_string(len) +
                                    " bytes, only " + std::to_string(hvcc.size() - pos) +
                                    " remain");
      }
      if (type == hevc_nal::kSps && !have_sps) {
        if (!parse_hevc_sps(hvcc.subspan(pos, len), sps, error)) return false;
        have_sps = true;
      }
      pos += len;
    }
  }
  if (!have_sps) return set_error(error, "HEVCDecoderConfigurationRecord has no SPS");
  params.codec = Codec::HEVC;
  params.profile = hvcc[1] & 0x1f;
  params.level = hvcc[12];
  params.width = sps.width;
  params.height = sps.height;
  params.nal_length_size = nal_length_size;
  params.config.assign(hvcc.begin(), hvcc.end());
  return true;
}

bool build_hevc_config_from_annexb(std::span<const uint8_t> vps, std::span<const uint8_t> sps,
                                   std::span<const uint8_t> pps, VideoParams &params,
                                   std::string &error) {
  HevcSpsInfo info;
  if (!parse_hevc_sps(sps, info, error)) return false;
  if (hevc_nal_type(vps) != hevc_nal::kVps) return set_error(error, "not an HEVC VPS");
  if (hevc_nal_type(pps) != hevc_nal::kPps) return set_error(error, "not an HEVC PPS");
  if (vps.size() > 0xffff || sps.size() > 0xffff || pps.size() > 0xffff) {
    return set_error(error, "HEVC parameter set larger than 65535 bytes");
  }
  std::vector<uint8_t> hvcc;
  hvcc.reserve(kHvccHeaderSize + 15 + vps.size() + sps.size() + pps.size());
  hvcc.push_back(1);  // configurationVersion
  hvcc.insert(hvcc.end(), std::begin(info.general_ptl), std::end(info.general_ptl));
  hvcc.push_back(0xf0);  // min_spatial_segmentation_idc = 0: no guarantee given
  hvcc.push_back(0x00);
  hvcc.push_back(0xfc);  // parallelismType = 0: unknown
  hvcc.push_back(static_cast<uint8_t>(0xfc | info.chroma_format_idc));
  hvcc.push_back(static_cast<uint8_t>(0xf8 | (info.bit_depth_luma - 8)));
  hvcc.push_back(static_cast<uint8_t>(0xf8 | (info.bit_depth_chroma - 8)));
  put_u16(hvcc, 0);  // avgFrameRate: unspecified
  hvcc.push_back(static_cast<uint8_t>((info.max_sub_layers << 3) |
                                      (info.temporal_id_nesting ? 0x04 : 0) | 0x03));
  hvcc.push_back(3);  // numOfArrays
  for (auto nal : {vps, sps, pps}) {
    hvcc.push_back(static_cast<uint8_t>(0x80 | hevc_nal_type(nal)));  // array_completeness
    put_u16(hvcc, 1);
    put_u16(hvcc, nal.size());
    hvcc.insert(hvcc.end(), nal.begin(), nal.end());
  }
  return parse_hevc_config(hvcc, params, error);
}

}  // namespace lg::media
