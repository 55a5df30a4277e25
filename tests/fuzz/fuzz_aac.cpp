// AAC and MPEG audio headers: the AudioSpecificConfig, ADTS headers, MPEG
// audio frame headers, and configurations built from ADTS fields.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "media/aac.h"
#include "media/flv.h"

using namespace lg::media;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lg::fuzz::Input in(data, size);
  const uint8_t control = in.byte();
  const auto rest = in.rest();
  std::string error;
  switch (control % 3) {
    case 0: {
      AacConfig config;
      AudioParams params;
      const bool ok = parse_audio_specific_config(rest, config, error);
      lg::fuzz::check(ok == parse_audio_specific_config(rest, params, error),
                      "both overloads agree");
      if (ok) params.codec_string();
      break;
    }
    case 1: {
      AdtsHeader header;
      if (parse_adts_header(rest, header, error)) {
        lg::fuzz::check(header.header_size <= header.frame_length, "the frame holds its header");
        // What an ADTS stream says can be said as an AudioSpecificConfig.
        const auto asc = make_audio_specific_config(header.object_type, header.sample_rate,
                                                    header.channels ? header.channels : 2);
        AacConfig config;
        lg::fuzz::check(asc.empty() || parse_audio_specific_config(asc, config, error),
                        "a built configuration parses");
      }
      break;
    }
    default: {
      int rate = 0, channels = 0;
      if (parse_mpeg_audio_header(rest, rate, channels)) {
        lg::fuzz::check(rate > 0 && channels > 0, "a valid header has a rate and channels");
      }
      break;
    }
  }
  return 0;
}
