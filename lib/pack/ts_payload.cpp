#include "pack/ts_payload.h"

#include <array>

#include "media/h264.h"

namespace lg::pack {

namespace {

constexpr std::array<uint8_t, 4> kStartCode = {0, 0, 0, 1};
// primary_pic_type 7 (any slice type), then the stop bit.
constexpr std::array<uint8_t, 6> kDelimiter = {0, 0, 0, 1, 0x09, 0xf0};

// One buffer per output thread, whatever the number of streams it packages:
// the muxer has copied a converted frame before the next one is made.
thread_local std::vector<uint8_t> scratch;

uint32_t read_be(const uint8_t *p, int size) {
  uint32_t v = 0;
  for (int i = 0; i < size; ++i) v = v << 8 | p[i];
  return v;
}

void append(std::vector<uint8_t> &out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// Appends the `count` parameter sets at `pos` of a configuration record
// (each a 16-bit length, then the NAL unit) behind start codes.
bool read_nal_list(std::span<const uint8_t> record, size_t &pos, size_t count,
                   std::vector<uint8_t> &out) {
  for (size_t i = 0; i < count; ++i) {
    if (pos + 2 > record.size()) return false;
    const size_t size = read_be(&record[pos], 2);
    pos += 2;
    if (size == 0 || size > record.size() - pos) return false;
    append(out, kStartCode);
    append(out, record.subspan(pos, size));
    pos += size;
  }
  return true;
}

// AVCDecoderConfigurationRecord: its SPS and PPS lists.
bool avc_parameter_sets(std::span<const uint8_t> avcc, int &nal_length_size,
                        std::vector<uint8_t> &out) {
  if (avcc.size() < 7 || avcc[0] != 1) return false;
  nal_length_size = (avcc[4] & 3) + 1;
  size_t pos = 6;
  if (!read_nal_list(avcc, pos, avcc[5] & 0x1f, out) || pos >= avcc.size()) return false;
  const size_t pps = avcc[pos++];
  return read_nal_list(avcc, pos, pps, out);
}

}  // namespace

TsPayload::TsPayload(const media::VideoParams &video, const media::AudioParams &audio) {
  has_h264_ = video.codec == media::Codec::H264 &&
              avc_parameter_sets(video.config, nal_length_size_, parameter_sets_);
  if (!has_h264_) parameter_sets_.clear();
  std::string error;
  uint8_t probe[7];
  has_adts_ = audio.codec == media::Codec::AAC &&
              media::parse_audio_specific_config(audio.config, aac_, error) &&
              media::make_adts_header(aac_, 0, probe, error);
}

bool TsPayload::video(std::span<const uint8_t> frame, bool keyframe, std::span<const uint8_t> &out,
                      std::string &error) {
  const auto n = static_cast<size_t>(nal_length_size_);
  // The NAL headers first: whether the encoder sent a delimiter and the
  // parameter sets itself, and that every length fits.
  bool leading_delimiter = false;
  bool in_band_sets = false;
  size_t nals = 0;
  for (size_t pos = 0; pos < frame.size();) {
    if (frame.size() - pos < n) {
      error = "a NAL unit length prefix is cut short";
      return false;
    }
    const size_t size = read_be(&frame[pos], nal_length_size_);
    pos += n;
    if (size > frame.size() - pos) {
      error = "a NAL unit of " + std::to_string(size) + " bytes overruns its frame";
      return false;
    }
    if (size > 0) {
      const int type = frame[pos] & 0x1f;
      if (nals++ == 0) leading_delimiter = type == media::h264_nal::kAud;
      in_band_sets = in_band_sets || type == media::h264_nal::kSps;
    }
    pos += size;
  }
  const bool add_sets = keyframe && !in_band_sets;

  std::vector<uint8_t> &buf = scratch;
  buf.clear();
  // Start codes are no longer than the prefixes they replace, but for 1- to
  // 3-byte prefixes: one reservation is enough either way.
  buf.reserve(frame.size() + nals * 4 + parameter_sets_.size() + kDelimiter.size());
  if (!leading_delimiter) {
    append(buf, kDelimiter);
    if (add_sets) append(buf, parameter_sets_);
  }
  size_t index = 0;
  for (size_t pos = 0; pos < frame.size();) {
    const size_t size = read_be(&frame[pos], nal_length_size_);
    pos += n;
    if (size == 0) continue;
    append(buf, kStartCode);
    append(buf, frame.subspan(pos, size));
    pos += size;
    if (index++ == 0 && leading_delimiter && add_sets) append(buf, parameter_sets_);
  }
  out = buf;
  return true;
}

bool TsPayload::audio(std::span<const uint8_t> frame, std::span<const uint8_t> &out,
                      std::string &error) {
  uint8_t header[7];
  if (!media::make_adts_header(aac_, frame.size(), header, error)) return false;
  std::vector<uint8_t> &buf = scratch;
  buf.clear();
  buf.reserve(frame.size() + sizeof(header));
  append(buf, header);
  append(buf, frame);
  out = buf;
  return true;
}

}  // namespace lg::pack
