// H.264: the SPS parser, the AVCDecoderConfigurationRecord, NAL unit
// framing both ways, and records built from Annex-B parameter sets.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "media/h264.h"

using namespace lg::media;

namespace {

// A record built from parameter sets parses back.
void build_from_annexb(std::span<const uint8_t> in) {
  std::span<const uint8_t> sps, pps;
  for (auto nal : split_annexb(in)) {
    lg::fuzz::check(!nal.empty(), "no empty NAL unit");
    const int type = nal[0] & 0x1f;
    if (type == h264_nal::kSps && sps.empty()) sps = nal;
    if (type == h264_nal::kPps && pps.empty()) pps = nal;
  }
  VideoParams params;
  std::string error;
  if (build_avc_config_from_annexb(sps, pps, params, error)) {
    lg::fuzz::check_built_record(params, [](auto record, VideoParams &out, std::string &why) {
      return parse_avc_config(record, out, why);
    });
  }
}

// Annex-B to length-prefixed keeps the NAL units.
void reframe(std::span<const uint8_t> in) {
  const auto nals = split_annexb(in);
  const std::vector<uint8_t> prefixed = annexb_to_length_prefixed(in);
  std::string error;
  const auto again = split_length_prefixed(prefixed, 4, error);
  lg::fuzz::check(again.size() == nals.size(), "as many NAL units after reframing");
  for (size_t i = 0; i < nals.size(); ++i) {
    lg::fuzz::check(std::equal(nals[i].begin(), nals[i].end(), again[i].begin(), again[i].end()),
                    "the same NAL units after reframing");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lg::fuzz::Input in(data, size);
  const uint8_t control = in.byte();
  const auto rest = in.rest();
  std::string error;
  VideoParams params;
  switch (control % 5) {
    case 0: {
      SpsInfo info;
      parse_sps(rest, info, error);
      break;
    }
    case 1:
      if (parse_avc_config(rest, params, error)) params.codec_string();
      break;
    case 2:
      build_from_annexb(rest);
      break;
    case 3:
      reframe(rest);
      break;
    default:
      split_length_prefixed(rest, (control >> 3) % 5, error);
      nal_to_rbsp(rest);
      break;
  }
  return 0;
}
