// The frame model every ingest protocol produces and every sink consumes.
//
// Payload formats, whatever protocol carried the stream:
//   - H.264 and HEVC: length-prefixed NAL units, each preceded by its size as
//     a big-endian integer of VideoParams::nal_length_size bytes (as in FLV
//     and MP4), never Annex-B start codes. Parameter sets live in
//     VideoParams::config (and may also appear in band).
//   - AAC: one raw access unit per frame, no ADTS header; the
//     AudioSpecificConfig is in AudioParams::config.
//   - MP3: one or more complete MPEG audio frames, headers included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace lg::media {

enum class Codec : uint8_t { Unknown = 0, H264, HEVC, AV1, AAC, MP3, Opus };

enum class TrackType : uint8_t { Video, Audio };

// "h264", "hevc", "av1", "aac", "mp3", "opus"; "unknown" otherwise.
const char *codec_name(Codec codec);

struct VideoParams {
  Codec codec = Codec::Unknown;
  int profile = 0;  // profile_idc (H.264) or general_profile_idc (HEVC)
  int level = 0;    // level_idc as coded (31 = 3.1 for H.264, 93 = 3.1 for HEVC)
  int width = 0;    // display size: cropping / conformance window applied
  int height = 0;
  int nal_length_size = 4;
  // AVCDecoderConfigurationRecord, HEVCDecoderConfigurationRecord or
  // AV1CodecConfigurationRecord, byte for byte as received.
  std::vector<uint8_t> config;

  // RFC 6381 codecs parameter, e.g. "avc1.64001f", "hvc1.1.6.L93.B0",
  // "av01.0.08M.08"; empty when unknown. Read from the configuration record
  // when there is one, since the record carries the constraint flags.
  std::string codec_string() const;
};

struct AudioParams {
  Codec codec = Codec::Unknown;
  int object_type = 0;  // AAC audio object type as signalled first (2 = LC, 5 = SBR, 29 = PS)
  int sample_rate = 0;  // Hz at the decoder's output (the SBR rate for HE-AAC)
  int channels = 0;
  std::vector<uint8_t> config;  // AudioSpecificConfig

  // RFC 6381 codecs parameter: "mp4a.40.2" (AAC-LC), "mp4a.40.5" (HE-AAC),
  // "mp4a.40.34" (MP3), "opus"; empty when unknown.
  std::string codec_string() const;
};

struct Frame {
  TrackType track = TrackType::Video;
  Codec codec = Codec::Unknown;
  int64_t dts_us = 0;
  int64_t pts_us = 0;
  bool keyframe = false;
  // The payload is [offset, offset + size) of a buffer shared with whoever
  // received it (an RTMP message, a PES packet), so it is handed on without
  // a copy and stays valid as long as any Frame holds the buffer.
  std::shared_ptr<const std::vector<uint8_t>> buffer;
  size_t offset = 0;
  size_t size = 0;

  // Empty if there is no buffer or the range does not fit in it.
  std::span<const uint8_t> data() const {
    if (!buffer || offset > buffer->size() || size > buffer->size() - offset) return {};
    return std::span<const uint8_t>(*buffer).subspan(offset, size);
  }
};

}  // namespace lg::media
