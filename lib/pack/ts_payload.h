// Frames in the form libavformat's MPEG-TS muxer writes as they are: H.264
// access units in Annex B that start with an access unit delimiter,
// parameter sets before every keyframe, and AAC behind an ADTS header. (HEVC
// and AV1 are packaged in fragmented MP4 only.)
//
// Given frames in their stored form (length-prefixed NAL units, raw AAC), the
// muxer inserts a bitstream filter that copies every video frame, then copies
// it again to put a delimiter in front, and muxes each AAC frame through a
// nested ADTS muxer into a fresh buffer. Doing the one conversion here, into
// a buffer kept from frame to frame, halves the copies per byte packaged and
// removes the allocations per frame.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "media/aac.h"
#include "media/frame.h"

namespace lg::pack {

class TsPayload {
 public:
  // Reads the parameter sets out of the stream's configuration records.
  // A track this cannot convert (not H.264 or AAC, no usable record, an AAC
  // configuration ADTS cannot carry) is left alone: has_video() or
  // has_audio() says so, and its frames go to libavformat as stored.
  TsPayload(const media::VideoParams &video, const media::AudioParams &audio);

  bool has_video() const { return has_h264_; }
  bool has_audio() const { return has_adts_; }

  // The frame in Annex B, valid until the next call. False with the reason
  // on a malformed frame (a NAL length that overruns it).
  bool video(std::span<const uint8_t> frame, bool keyframe, std::span<const uint8_t> &out,
             std::string &error);
  // The frame behind its ADTS header, valid until the next call.
  bool audio(std::span<const uint8_t> frame, std::span<const uint8_t> &out, std::string &error);

 private:
  bool has_h264_ = false;
  int nal_length_size_ = 4;
  // Every parameter set of the configuration record, each behind a start
  // code: what goes before a keyframe that carries none in band.
  std::vector<uint8_t> parameter_sets_;
  bool has_adts_ = false;
  media::AacConfig aac_;
  std::vector<uint8_t> buffer_;
};

}  // namespace lg::pack
