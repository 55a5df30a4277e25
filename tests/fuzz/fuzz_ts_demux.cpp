// The MPEG-TS demuxer, fed in pieces, flushed, and fed again.
#include <cstdint>

#include "fuzz_support.h"
#include "media/ts_demux.h"

using namespace lg::media;

namespace {

struct Sink : TsDemuxer::Handler {
  void on_ts_video_params(const VideoParams &params) override { params.codec_string(); }
  void on_ts_audio_params(const AudioParams &params) override { params.codec_string(); }
  void on_ts_frame(const Frame &frame) override {
    lg::fuzz::check(frame.data().size() == frame.size, "a frame lies within its buffer");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lg::fuzz::Input in(data, size);
  const uint8_t split = in.byte();
  const uint8_t flush_at = in.byte();
  std::span<const uint8_t> rest = in.rest();
  Sink sink;
  // Small limits, so that the fuzzer reaches them.
  TsDemuxLimits limits;
  limits.max_pes_size = 64 * 1024;
  limits.max_pids = 4;
  TsDemuxer demuxer(sink, limits);
  size_t pieces = 0;
  while (!rest.empty()) {
    // Pieces of 1 to 256 bytes or whole packets.
    const size_t n =
        lg::fuzz::piece_size(split & 0x80 ? static_cast<uint8_t>(187) : split, rest.size());
    demuxer.feed(rest.first(n));
    rest = rest.subspan(n);
    if (++pieces == flush_at) demuxer.flush();
  }
  demuxer.flush();
  const auto &counters = demuxer.counters();
  lg::fuzz::check(counters.bytes == size - (size >= 2 ? 2 : size), "every byte counted");
  lg::fuzz::check(demuxer.streams().size() <= limits.max_pids, "streams within the limit");
  return 0;
}
