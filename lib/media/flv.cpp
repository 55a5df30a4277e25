#include "media/flv.h"

#include <array>
#include <cstdio>

namespace lg::media {

namespace {

namespace video_packet {
constexpr int kSequenceStart = 0;
constexpr int kCodedFrames = 1;
constexpr int kSequenceEnd = 2;
constexpr int kCodedFramesX = 3;
constexpr int kMetadata = 4;
constexpr int kMpeg2TsSequenceStart = 5;
constexpr int kMultitrack = 6;
constexpr int kModEx = 7;
}  // namespace video_packet

constexpr int kFrameKey = 1;
constexpr int kFrameGeneratedKey = 4;
constexpr int kFrameCommand = 5;

constexpr int kCodecAvc = 7;
constexpr int kCodecHevc = 12;

constexpr std::array<int, 4> kFlvRates = {5512, 11025, 22050, 44100};

int32_t read_si24(std::span<const uint8_t> p) {
  int32_t v = (int32_t{p[0]} << 16) | (int32_t{p[1]} << 8) | int32_t{p[2]};
  if (v & 0x800000) v -= 0x1000000;
  return v;
}

std::string printable_fourcc(std::span<const uint8_t> p) {
  std::string s;
  for (uint8_t c : p) {
    if (c >= 0x20 && c < 0x7f) {
      s += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      s += buf;
    }
  }
  return s;
}

const char *legacy_video_codec_name(int id) {
  switch (id) {
    case 1:
      return "JPEG";
    case 2:
      return "Sorenson H.263";
    case 3:
      return "Screen Video";
    case 4:
      return "On2 VP6";
    case 5:
      return "On2 VP6 with alpha";
    case 6:
      return "Screen Video v2";
    default:
      return nullptr;
  }
}

const char *sound_format_name(int format) {
  switch (format) {
    case 0:
      return "linear PCM (platform endian)";
    case 1:
      return "ADPCM";
    case 3:
      return "linear PCM (little endian)";
    case 4:
      return "Nellymoser 16 kHz mono";
    case 5:
      return "Nellymoser 8 kHz mono";
    case 6:
      return "Nellymoser";
    case 7:
      return "G.711 A-law";
    case 8:
      return "G.711 mu-law";
    case 11:
      return "Speex";
    case 15:
      return "device-specific sound";
    default:
      return nullptr;
  }
}

ParseResult fail(std::string &error, std::string message) {
  error = std::move(message);
  return ParseResult::Error;
}

ParseResult unsupported(std::string &error, std::string message) {
  error = std::move(message);
  return ParseResult::Unsupported;
}

void set_body(VideoTag &out, std::span<const uint8_t> in, size_t offset) {
  out.body = in.subspan(offset);
  out.body_offset = offset;
}

ParseResult parse_legacy_video(std::span<const uint8_t> in, VideoTag &out, std::string &error) {
  const int frame_type = in[0] >> 4;
  const int codec_id = in[0] & 0x0f;
  if (frame_type < 1 || frame_type > 5) {
    return fail(error, "invalid FLV video frame type " + std::to_string(frame_type));
  }
  out.keyframe = frame_type == kFrameKey || frame_type == kFrameGeneratedKey;
  if (codec_id == kCodecAvc) {
    out.codec = Codec::H264;
  } else if (codec_id == kCodecHevc) {
    out.codec = Codec::HEVC;
  } else if (frame_type != kFrameCommand) {
    const char *name = legacy_video_codec_name(codec_id);
    return unsupported(error, std::string("unsupported FLV video codec ") +
                                  (name ? name : "(unknown)") + " (codec id " +
                                  std::to_string(codec_id) +
                                  "); only H.264 and HEVC, or Enhanced RTMP, are supported");
  }
  if (frame_type == kFrameCommand) {
    out.kind = VideoTag::Kind::Other;
    set_body(out, in, 1);
    return ParseResult::Ok;
  }
  if (in.size() < 5) {
    return fail(error, std::string("truncated ") + codec_name(out.codec) + " video tag: " +
                           std::to_string(in.size()) + " bytes, the header needs 5");
  }
  switch (in[1]) {
    case 0:
      out.kind = VideoTag::Kind::SequenceHeader;
      break;
    case 1:
      out.kind = VideoTag::Kind::Coded;
      break;
    case 2:
      out.kind = VideoTag::Kind::EndOfSequence;
      break;
    default:
      return fail(error, std::string("invalid ") + codec_name(out.codec) + " packet type " +
                             std::to_string(in[1]));
  }
  out.composition_time_ms = out.kind == VideoTag::Kind::Coded ? read_si24(in.subspan(2, 3)) : 0;
  set_body(out, in, 5);
  return ParseResult::Ok;
}

ParseResult parse_enhanced_video(std::span<const uint8_t> in, VideoTag &out, std::string &error) {
  out.enhanced = true;
  const int frame_type = (in[0] >> 4) & 0x07;
  int packet_type = in[0] & 0x0f;
  if (frame_type < 1 || frame_type > 5) {
    return fail(error, "invalid Enhanced RTMP video frame type " + std::to_string(frame_type));
  }
  out.keyframe = frame_type == kFrameKey || frame_type == kFrameGeneratedKey;
  size_t pos = 1;
  // Modifier extensions (E-RTMP v2) prefix the real packet type; none
  // changes how the payload is read, so they are skipped.
  while (packet_type == video_packet::kModEx) {
    if (in.size() - pos < 1) return fail(error, "truncated Enhanced RTMP ModEx header");
    size_t size = size_t{in[pos]} + 1;
    ++pos;
    if (size == 256) {
      if (in.size() - pos < 2) return fail(error, "truncated Enhanced RTMP ModEx size");
      size = ((size_t{in[pos]} << 8) | in[pos + 1]) + 1;
      pos += 2;
    }
    if (in.size() - pos < size + 1) return fail(error, "truncated Enhanced RTMP ModEx data");
    pos += size;
    packet_type = in[pos] & 0x0f;
    ++pos;
  }
  if (packet_type != video_packet::kMetadata && frame_type == kFrameCommand) {
    if (in.size() - pos < 1) return fail(error, "truncated Enhanced RTMP video command");
    out.kind = VideoTag::Kind::Other;
    set_body(out, in, pos);
    return ParseResult::Ok;
  }
  if (packet_type == video_packet::kMultitrack) {
    return unsupported(error, "Enhanced RTMP multitrack video is not supported");
  }
  if (in.size() - pos < 4) {
    return fail(error, "truncated Enhanced RTMP video tag: no room for the FourCC");
  }
  const auto fourcc = in.subspan(pos, 4);
  pos += 4;
  auto is = [&](const char *s) {
    return fourcc[0] == s[0] && fourcc[1] == s[1] && fourcc[2] == s[2] && fourcc[3] == s[3];
  };
  if (is("avc1")) {
    out.codec = Codec::H264;
  } else if (is("hvc1")) {
    out.codec = Codec::HEVC;
  } else if (is("av01")) {
    out.codec = Codec::AV1;
  } else {
    return unsupported(error, "unsupported Enhanced RTMP video codec '" + printable_fourcc(fourcc) +
                                  "'; only avc1, hvc1 and av01 are supported");
  }
  switch (packet_type) {
    case video_packet::kSequenceStart:
      out.kind = VideoTag::Kind::SequenceHeader;
      break;
    case video_packet::kCodedFrames:
      out.kind = VideoTag::Kind::Coded;
      // AV1 carries no composition time: it has no reordering at this level.
      if (out.codec != Codec::AV1) {
        if (in.size() - pos < 3) {
          return fail(error, "truncated Enhanced RTMP coded frame: no composition time");
        }
        out.composition_time_ms = read_si24(in.subspan(pos, 3));
        pos += 3;
      }
      break;
    case video_packet::kCodedFramesX:
      out.kind = VideoTag::Kind::Coded;
      break;
    case video_packet::kSequenceEnd:
      out.kind = VideoTag::Kind::EndOfSequence;
      break;
    case video_packet::kMetadata:
    case video_packet::kMpeg2TsSequenceStart:
      out.kind = VideoTag::Kind::Other;
      break;
    default:
      return fail(error, "reserved Enhanced RTMP video packet type " + std::to_string(packet_type));
  }
  set_body(out, in, pos);
  return ParseResult::Ok;
}

}  // namespace

ParseResult parse_video_tag(std::span<const uint8_t> in, VideoTag &out, std::string &error) {
  out = VideoTag{};
  if (in.empty()) return fail(error, "empty video tag");
  if (in[0] & 0x80) return parse_enhanced_video(in, out, error);
  return parse_legacy_video(in, out, error);
}

bool parse_mpeg_audio_header(std::span<const uint8_t> in, int &sample_rate, int &channels) {
  if (in.size() < 4) return false;
  if (in[0] != 0xff || (in[1] & 0xe0) != 0xe0) return false;
  const int version = (in[1] >> 3) & 3;  // 0: MPEG-2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
  const int layer = (in[1] >> 1) & 3;
  const int bitrate_index = in[2] >> 4;
  const int rate_index = (in[2] >> 2) & 3;
  if (version == 1 || layer == 0 || bitrate_index == 15 || rate_index == 3) return false;
  static constexpr std::array<int, 3> kMpeg1Rates = {44100, 48000, 32000};
  const int divisor = version == 3 ? 1 : version == 2 ? 2 : 4;
  sample_rate = kMpeg1Rates[static_cast<size_t>(rate_index)] / divisor;
  channels = (in[3] >> 6) == 3 ? 1 : 2;
  return true;
}

ParseResult parse_audio_tag(std::span<const uint8_t> in, AudioTag &out, std::string &error) {
  out = AudioTag{};
  if (in.empty()) return fail(error, "empty audio tag");
  const int format = in[0] >> 4;
  out.sound_rate_hz = kFlvRates[static_cast<size_t>((in[0] >> 2) & 3)];
  out.channels = (in[0] & 1) + 1;
  switch (format) {
    case 10: {  // AAC
      out.codec = Codec::AAC;
      if (in.size() < 2) return fail(error, "truncated AAC audio tag: no AACPacketType");
      if (in[1] == 0) {
        out.kind = AudioTag::Kind::SequenceHeader;
      } else if (in[1] == 1) {
        out.kind = AudioTag::Kind::Raw;
      } else {
        return fail(error, "invalid AACPacketType " + std::to_string(in[1]));
      }
      out.body = in.subspan(2);
      out.body_offset = 2;
      return ParseResult::Ok;
    }
    case 2:     // MP3
    case 14: {  // MP3 8 kHz
      out.codec = Codec::MP3;
      out.kind = AudioTag::Kind::Raw;
      if (format == 14) out.sound_rate_hz = 8000;
      out.body = in.subspan(1);
      out.body_offset = 1;
      int rate = 0, channels = 0;
      if (parse_mpeg_audio_header(out.body, rate, channels)) {
        out.sound_rate_hz = rate;
        out.channels = channels;
      }
      return ParseResult::Ok;
    }
    case 9:
      return unsupported(error, "Enhanced RTMP audio (FourCC signalling) is not supported");
    default: {
      const char *name = sound_format_name(format);
      return unsupported(error, std::string("unsupported FLV audio format ") +
                                    (name ? name : "(reserved)") + " (sound format " +
                                    std::to_string(format) + "); only AAC and MP3 are supported");
    }
  }
}

}  // namespace lg::media
