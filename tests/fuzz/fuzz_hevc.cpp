// HEVC: the SPS parser, the HEVCDecoderConfigurationRecord, and records
// built from Annex-B parameter sets.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "media/h264.h"
#include "media/hevc.h"

using namespace lg::media;

namespace {

// A record built from parameter sets parses back.
void build_from_annexb(std::span<const uint8_t> in) {
  std::span<const uint8_t> vps, sps, pps;
  for (auto nal : split_annexb(in)) {
    const int type = hevc_nal_type(nal);
    if (type == hevc_nal::kVps && vps.empty()) vps = nal;
    if (type == hevc_nal::kSps && sps.empty()) sps = nal;
    if (type == hevc_nal::kPps && pps.empty()) pps = nal;
  }
  VideoParams params;
  std::string error;
  if (build_hevc_config_from_annexb(vps, sps, pps, params, error)) {
    lg::fuzz::check_built_record(params, [](auto record, VideoParams &out, std::string &why) {
      return parse_hevc_config(record, out, why);
    });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lg::fuzz::Input in(data, size);
  const uint8_t control = in.byte();
  const auto rest = in.rest();
  std::string error;
  VideoParams params;
  switch (control % 3) {
    case 0: {
      HevcSpsInfo info;
      parse_hevc_sps(rest, info, error);
      break;
    }
    case 1:
      if (parse_hevc_config(rest, params, error)) params.codec_string();
      break;
    default:
      build_from_annexb(rest);
      break;
  }
  return 0;
}
