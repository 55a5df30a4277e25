// FLV audio and video tag bodies as RTMP carries them, and the codec
// configuration or payload each tag kind leads to.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "media/aac.h"
#include "media/bytes.h"
#include "media/flv.h"
#include "media/h264.h"
#include "media/hevc.h"

using namespace lg::media;

namespace {

void check_body(std::span<const uint8_t> in, std::span<const uint8_t> body, size_t offset) {
  lg::fuzz::check(offset <= in.size() && body.size() <= in.size() - offset &&
                      (body.empty() || body.data() == in.data() + offset),
                  "the body lies within the tag");
}

void video(std::span<const uint8_t> in) {
  VideoTag tag;
  std::string error;
  if (parse_video_tag(in, tag, error) != ParseResult::Ok) return;
  check_body(in, tag.body, tag.body_offset);
  VideoParams params;
  if (tag.kind == VideoTag::Kind::SequenceHeader) {
    if (tag.codec == Codec::H264) {
      parse_avc_config(tag.body, params, error);
    } else if (tag.codec == Codec::HEVC) {
      parse_hevc_config(tag.body, params, error);
    }
    params.codec_string();
  } else if (tag.kind == VideoTag::Kind::Coded && tag.codec != Codec::AV1) {
    for (int n = 1; n <= 4; ++n) split_length_prefixed(tag.body, n, error);
  }
}

void audio(std::span<const uint8_t> in) {
  AudioTag tag;
  std::string error;
  if (parse_audio_tag(in, tag, error) != ParseResult::Ok) return;
  check_body(in, tag.body, tag.body_offset);
  if (tag.codec == Codec::AAC && tag.kind == AudioTag::Kind::SequenceHeader) {
    AudioParams params;
    if (parse_audio_specific_config(tag.body, params, error)) params.codec_string();
  } else if (tag.codec == Codec::MP3) {
    int rate = 0, channels = 0;
    parse_mpeg_audio_header(tag.body, rate, channels);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lg::fuzz::Input in(data, size);
  const uint8_t control = in.byte();
  if (control & 1) {
    audio(in.rest());
  } else {
    video(in.rest());
  }
  return 0;
}
