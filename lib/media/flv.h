// FLV tag bodies as they arrive in RTMP audio (type 8) and video (type 9)
// messages: the tag header byte(s) and what follows, without the 11-byte
// FLV file tag header.
//
// Video: legacy FLV (codec id 7 = AVC; codec id 12 = HEVC, the layout some
// Chinese CDNs and encoders use, identical to AVC's) and Enhanced RTMP
// (IsExHeader bit, FourCC "avc1", "hvc1", "av01"). Audio: AAC and MP3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "media/frame.h"

namespace lg::media {

enum class ParseResult { Ok, Error, Unsupported };

struct VideoTag {
  enum class Kind {
    SequenceHeader,  // body is the decoder configuration record
    Coded,           // body is length-prefixed NAL units (AV1: OBUs)
    EndOfSequence,
    Other  // info/command frames, metadata: nothing to decode
  };
  Codec codec = Codec::Unknown;
  bool keyframe = false;
  Kind kind = Kind::Other;
  int32_t composition_time_ms = 0;  // pts - dts; may be negative
  std::span<const uint8_t> body;
  size_t body_offset = 0;  // offset of body in the parsed input
  bool enhanced = false;   // Enhanced RTMP (FourCC) signalling
};

// Ok: out is filled and out.body points into in. Unsupported: a well-formed
// tag of a codec or feature this library does not handle (Sorenson, VP6,
// multitrack, ...). Error: a malformed tag. error says why for both.
ParseResult parse_video_tag(std::span<const uint8_t> in, VideoTag &out, std::string &error);

struct AudioTag {
  enum class Kind {
    SequenceHeader,  // AAC: body is the AudioSpecificConfig
    Raw              // AAC: one raw access unit; MP3: MPEG audio frames
  };
  Codec codec = Codec::Unknown;
  Kind kind = Kind::Raw;
  std::span<const uint8_t> body;
  size_t body_offset = 0;
  // For MP3, read from the first MPEG audio frame header when the body
  // starts with one (FLV's two rate bits cannot say 48 kHz); otherwise the
  // FLV header's rate and mono/stereo bit, which for AAC are nominal only
  // (the AudioSpecificConfig is authoritative).
  int sound_rate_hz = 0;
  int channels = 0;
};

ParseResult parse_audio_tag(std::span<const uint8_t> in, AudioTag &out, std::string &error);

// Sample rate and channel count from an MPEG-1/2/2.5 audio frame header
// (MP3 and friends); false if in does not start with a valid header.
bool parse_mpeg_audio_header(std::span<const uint8_t> in, int &sample_rate, int &channels);

}  // namespace lg::media
