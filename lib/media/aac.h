// AAC: the AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) and ADTS headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "media/frame.h"

namespace lg::media {

struct AacConfig {
  int object_type = 0;       // as signalled first: 5 (SBR) or 29 (PS) for explicit HE-AAC
  int base_object_type = 0;  // the core coder: 2 (LC) for HE-AAC
  int sample_rate = 0;       // output rate: the SBR rate when SBR is present
  int core_sample_rate = 0;  // rate of the core coder
  int channel_config = 0;    // channelConfiguration as coded (0: a program config element)
  int channels = 0;          // output channels (2 for parametric stereo)
  int frame_length = 1024;   // core samples per access unit: 1024 or 960
  bool sbr = false;
  bool ps = false;
};

// Parses an AudioSpecificConfig. SBR and PS are recognised when signalled
// explicitly (object type 5 or 29) and when signalled backward-compatibly
// with the 0x2b7 sync extension after the core configuration.
bool parse_audio_specific_config(std::span<const uint8_t> asc, AacConfig &config,
                                 std::string &error);

// The same, filling codec, object_type, sample_rate and channels, and keeping
// the bytes in params.config.
bool parse_audio_specific_config(std::span<const uint8_t> asc, AudioParams &params,
                                 std::string &error);

struct AdtsHeader {
  int object_type = 0;  // profile + 1: 1 Main, 2 LC, 3 SSR, 4 LTP
  int sampling_index = 0;
  int sample_rate = 0;
  int channel_config = 0;  // 0: a program config element in the payload
  int channels = 0;        // 0 when channel_config is 0
  bool protection_absent = true;
  size_t header_size = 7;   // 9 with the CRC
  size_t frame_length = 0;  // header included
  int raw_data_blocks = 1;
};

// Parses the ADTS header at the start of in (at least 7 bytes). The frame's
// payload is [header_size, frame_length); the caller checks that it has
// frame_length bytes.
bool parse_adts_header(std::span<const uint8_t> in, AdtsHeader &header, std::string &error);

// The 7-byte ADTS header (no CRC) that carries one raw access unit of
// `payload_size` bytes coded under `config`: the core coder's object type and
// rate, as decoders find SBR and PS in band. False with the reason when ADTS
// cannot say it: an object type above 4 (LTP), a program config element
// (channel_config 0), a rate without an index, a frame above 8191 bytes.
bool make_adts_header(const AacConfig &config, size_t payload_size, uint8_t (&header)[7],
                      std::string &error);

// A 2-byte (5 with an explicit rate) AudioSpecificConfig for a general audio
// object type (1 Main, 2 LC, 3 SSR, 4 LTP, ...: what an ADTS header can
// carry), any rate below 2^24 Hz (indexed when it is a standard rate) and
// 1..8 channels, with a plain GASpecificConfig (1024-sample frames). Empty if
// the arguments cannot be expressed.
std::vector<uint8_t> make_audio_specific_config(int object_type, int sample_rate, int channels);

}  // namespace lg::media
