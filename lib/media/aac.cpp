#include "media/aac.h"

#include <array>

#include "media/bitreader.h"

namespace lg::media {

namespace {

constexpr std::array<int, 13> kSampleRates = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                              22050, 16000, 12000, 11025, 8000,  7350};

bool set_error(std::string &error, std::string message) {
  error = std::move(message);
  return false;
}

int read_object_type(BitReader &br) {
  int type = static_cast<int>(br.bits(5));
  if (type == 31) type = 32 + static_cast<int>(br.bits(6));
  return type;
}

bool read_sample_rate(BitReader &br, int &rate, std::string &error) {
  const uint32_t index = br.bits(4);
  if (index == 15) {
    rate = static_cast<int>(br.bits(24));
    if (br.ok() && rate == 0) {
      return set_error(error, "AudioSpecificConfig: explicit sample rate 0");
    }
    return true;
  }
  if (index >= kSampleRates.size()) {
    return set_error(
        error, "AudioSpecificConfig: reserved samplingFrequencyIndex " + std::to_string(index));
  }
  rate = kSampleRates[index];
  return true;
}

// Output channels of channelConfiguration 1..14 (ISO/IEC 14496-3 Table
// 1.19, with the 2009 additions); -1 for reserved values.
int channels_for_config(int config) {
  static constexpr std::array<int, 16> kChannels = {0,  1,  2,  3, 4, 5,  6, 8,
                                                    -1, -1, -1, 7, 8, 24, 8, -1};
  return kChannels[static_cast<size_t>(config & 15)];
}

bool is_general_audio(int type) {
  return (type >= 1 && type <= 4) || type == 6 || type == 7 || type == 17 ||
         (type >= 19 && type <= 23);
}

bool is_error_resilient(int type) {
  return type == 17 || (type >= 19 && type <= 27) || type == 39;
}

// program_config_element() (4.4.1.1): the channel count when
// channelConfiguration is 0. The reader must have started at the beginning
// of the AudioSpecificConfig, against which byte_alignment() is measured.
int read_program_config_element(BitReader &br) {
  br.skip(4 + 2 + 4);  // element_instance_tag, object_type, sampling_frequency_index
  const int front = static_cast<int>(br.bits(4));
  const int side = static_cast<int>(br.bits(4));
  const int back = static_cast<int>(br.bits(4));
  const int lfe = static_cast<int>(br.bits(2));
  const int assoc = static_cast<int>(br.bits(3));
  const int cc = static_cast<int>(br.bits(4));
  if (br.flag()) br.skip(4);  // mono_mixdown_element_number
  if (br.flag()) br.skip(4);  // stereo_mixdown_element_number
  if (br.flag()) br.skip(3);  // matrix_mixdown_idx, pseudo_surround_enable
  int channels = 0;
  for (int i = 0; i < front + side + back; ++i) {
    channels += br.flag() ? 2 : 1;  // is_cpe
    br.skip(4);
  }
  channels += lfe;
  br.skip(static_cast<size_t>(lfe) * 4 + static_cast<size_t>(assoc) * 4 +
          static_cast<size_t>(cc) * 5);
  br.skip((8 - br.position() % 8) % 8);  // byte_alignment()
  br.skip(size_t{br.bits(8)} * 8);       // comment_field_data
  return channels;
}

class BitWriter {
 public:
  void put(uint32_t value, int n) {
    for (int i = n - 1; i >= 0; --i) {
      if (bit_ == 0) bytes_.push_back(0);
      if ((value >> i) & 1) bytes_.back() |= static_cast<uint8_t>(0x80 >> bit_);
      bit_ = (bit_ + 1) & 7;
    }
  }
  std::vector<uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<uint8_t> bytes_;
  int bit_ = 0;
};

}  // namespace

bool parse_audio_specific_config(std::span<const uint8_t> asc, AacConfig &config,
                                 std::string &error) {
  config = AacConfig{};
  if (asc.size() < 2) {
    return set_error(error, "AudioSpecificConfig truncated: " + std::to_string(asc.size()) +
                                " bytes, at least 2 needed");
  }
  BitReader br(asc);
  config.object_type = read_object_type(br);
  if (br.ok() && config.object_type == 0) {
    return set_error(error, "AudioSpecificConfig: audio object type 0 (null)");
  }
  if (!read_sample_rate(br, config.core_sample_rate, error)) return false;
  config.channel_config = static_cast<int>(br.bits(4));
  config.base_object_type = config.object_type;
  config.sample_rate = config.core_sample_rate;
  if (config.object_type == 5 || config.object_type == 29) {
    config.sbr = true;
    config.ps = config.object_type == 29;
    if (!read_sample_rate(br, config.sample_rate, error)) return false;
    config.base_object_type = read_object_type(br);
    if (config.base_object_type == 22) br.skip(4);  // extensionChannelConfiguration
  }
  if (!br.ok()) return set_error(error, std::string("AudioSpecificConfig: ") + br.error());

  if (channels_for_config(config.channel_config) < 0) {
    return set_error(error, "AudioSpecificConfig: reserved channelConfiguration " +
                                std::to_string(config.channel_config));
  }
  config.channels = channels_for_config(config.channel_config);

  const int base = config.base_object_type;
  if (is_general_audio(base)) {
    // GASpecificConfig (4.4.1)
    if (br.flag()) config.frame_length = 960;  // frameLengthFlag
    if (br.flag()) br.skip(14);                // dependsOnCoreCoder: coreCoderDelay
    const bool extension = br.flag();
    if (config.channel_config == 0) config.channels = read_program_config_element(br);
    if (base == 6 || base == 20) br.skip(3);  // layerNr
    if (extension) {
      if (base == 22) br.skip(5 + 11);  // numOfSubFrame, layer_length
      // aacSectionDataResilienceFlag, aacScalefactorDataResilienceFlag,
      // aacSpectralDataResilienceFlag
      if (base == 17 || base == 19 || base == 20 || base == 23) br.skip(3);
      br.skip(1);  // extensionFlag3
    }
    if (is_error_resilient(base)) br.skip(2);  // epConfig
    if (!br.ok()) {
      return set_error(error, std::string("AudioSpecificConfig: GASpecificConfig ") + br.error());
    }
    if (config.channel_config == 0 && config.channels == 0) {
      return set_error(error, "AudioSpecificConfig: program config element with no channels");
    }

    // Backward-compatible SBR/PS signalling after the core configuration.
    if (!config.sbr && br.bits_left() >= 16) {
      BitReader ext = br;
      if (ext.bits(11) == 0x2b7 && read_object_type(ext) == 5 && ext.ok()) {
        if (ext.flag()) {  // sbrPresentFlag
          int rate = 0;
          std::string ignored;
          if (read_sample_rate(ext, rate, ignored) && ext.ok()) {
            config.sbr = true;
            config.sample_rate = rate;
            if (ext.bits_left() >= 12 && ext.bits(11) == 0x548 && ext.flag() && ext.ok()) {
              config.ps = true;
            }
          }
        }
      }
    }
  }
  if (config.ps && config.channels == 1) config.channels = 2;
  return true;
}

bool parse_audio_specific_config(std::span<const uint8_t> asc, AudioParams &params,
                                 std::string &error) {
  AacConfig config;
  if (!parse_audio_specific_config(asc, config, error)) return false;
  params.codec = Codec::AAC;
  params.object_type = config.object_type;
  params.sample_rate = config.sample_rate;
  params.channels = config.channels;
  params.config.assign(asc.begin(), asc.end());
  return true;
}

bool parse_adts_header(std::span<const uint8_t> in, AdtsHeader &header, std::string &error) {
  header = AdtsHeader{};
  if (in.size() < 7) {
    return set_error(error,
                     "ADTS header truncated: " + std::to_string(in.size()) + " bytes, 7 needed");
  }
  if (in[0] != 0xff || (in[1] & 0xf0) != 0xf0) return set_error(error, "no ADTS syncword");
  if ((in[1] & 0x06) != 0) return set_error(error, "ADTS layer is not 0");
  header.protection_absent = in[1] & 1;
  header.header_size = header.protection_absent ? 7 : 9;
  header.object_type = (in[2] >> 6) + 1;
  header.sampling_index = (in[2] >> 2) & 0x0f;
  if (header.sampling_index >= static_cast<int>(kSampleRates.size())) {
    return set_error(
        error, "ADTS: reserved sampling_frequency_index " + std::to_string(header.sampling_index));
  }
  header.sample_rate = kSampleRates[static_cast<size_t>(header.sampling_index)];
  header.channel_config = ((in[2] & 1) << 2) | (in[3] >> 6);
  header.channels = channels_for_config(header.channel_config);
  header.frame_length = (size_t{in[3] & 3u} << 11) | (size_t{in[4]} << 3) | (in[5] >> 5);
  header.raw_data_blocks = (in[6] & 3) + 1;
  if (header.frame_length < header.header_size) {
    return set_error(error, "ADTS frame_length " + std::to_string(header.frame_length) +
                                " is shorter than its header");
  }
  return true;
}

bool make_adts_header(const AacConfig &config, size_t payload_size, uint8_t (&header)[7],
                      std::string &error) {
  const int object_type = config.base_object_type;
  if (object_type < 1 || object_type > 4) {
    return set_error(error, "ADTS cannot carry audio object type " + std::to_string(object_type));
  }
  if (config.channel_config < 1 || config.channel_config > 7) {
    return set_error(
        error, "ADTS cannot carry channel configuration " + std::to_string(config.channel_config));
  }
  size_t index = 0;
  while (index < kSampleRates.size() && kSampleRates[index] != config.core_sample_rate) ++index;
  if (index == kSampleRates.size()) {
    return set_error(error,
                     "ADTS has no index for " + std::to_string(config.core_sample_rate) + " Hz");
  }
  const size_t length = payload_size + 7;
  if (length > 0x1fff) {
    return set_error(
        error, "an AAC frame of " + std::to_string(payload_size) + " bytes is too long for ADTS");
  }
  const auto channels = static_cast<unsigned>(config.channel_config);
  header[0] = 0xff;
  header[1] = 0xf1;  // MPEG-4, layer 0, no CRC
  header[2] = static_cast<uint8_t>((object_type - 1) << 6 | index << 2 | channels >> 2);
  header[3] = static_cast<uint8_t>((channels & 3) << 6 | length >> 11);
  header[4] = static_cast<uint8_t>(length >> 3);
  header[5] = static_cast<uint8_t>((length & 7) << 5 | 0x1f);  // buffer fullness 0x7ff: VBR
  header[6] = 0xfc;                                            // one raw data block
  return true;
}

std::vector<uint8_t> make_audio_specific_config(int object_type, int sample_rate, int channels) {
  if (!is_general_audio(object_type) || sample_rate <= 0 || sample_rate >= (1 << 24)) {
    return {};
  }
  int channel_config = 0;
  if (channels >= 1 && channels <= 6) {
    channel_config = channels;
  } else if (channels == 7) {
    channel_config = 11;
  } else if (channels == 8) {
    channel_config = 7;
  } else {
    return {};
  }
  BitWriter w;
  w.put(static_cast<uint32_t>(object_type), 5);  // general audio types are all below 31
  size_t index = 0;
  while (index < kSampleRates.size() && kSampleRates[index] != sample_rate) ++index;
  if (index < kSampleRates.size()) {
    w.put(static_cast<uint32_t>(index), 4);
  } else {
    w.put(15, 4);
    w.put(static_cast<uint32_t>(sample_rate), 24);
  }
  w.put(static_cast<uint32_t>(channel_config), 4);
  w.put(0, 3);  // frameLengthFlag, dependsOnCoreCoder, extensionFlag
  return w.take();
}

}  // namespace lg::media
