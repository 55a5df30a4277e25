// One stream's container writer: media::Frames in, MPEG-TS or fragmented-MP4
// bytes out, through libavformat, to a sink (the segment file being written)
// or, without one, into memory. The packager cuts the byte stream into
// segments: everything output before flush() belongs to the segment that is
// ending.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "media/frame.h"

struct AVFormatContext;
struct AVIOContext;
struct AVPacket;

namespace lg::pack {

class TsPayload;

enum class Format { Ts, Fmp4 };

class Muxer {
 public:
  // A muxer for a stream with the given tracks (codec Unknown: no such
  // track). Null, with the reason in `error`, if libavformat refuses them.
  static std::unique_ptr<Muxer> create(Format format, const media::VideoParams &video,
                                       const media::AudioParams &audio, std::string &error);
  ~Muxer();
  Muxer(const Muxer &) = delete;
  Muxer &operator=(const Muxer &) = delete;

  Format format() const { return format_; }
  bool has_video() const { return video_index_ >= 0; }
  bool has_audio() const { return audio_index_ >= 0; }
  // fMP4: the initialisation segment (ftyp + moov). Empty for MPEG-TS.
  const std::vector<uint8_t> &init_segment() const { return init_; }

  // Where output goes from now on, in pieces of up to the I/O buffer's size,
  // starting with what is held for take(); a null sink: into memory.
  using Sink = std::function<void(std::span<const uint8_t>)>;
  void set_sink(Sink sink);

  // Marks the start of a segment: MPEG-TS repeats its PAT and PMT there so
  // that every segment decodes on its own.
  void begin_segment();
  // Writes one frame at `dts_us`/`pts_us` on the output timeline. False
  // with the reason if libavformat failed (the frame is lost, the muxer
  // stays usable).
  // `duration_us` (0: unknown) spares the fMP4 muxer a guess at the last
  // frame of each fragment.
  bool write(const media::Frame &frame, int64_t dts_us, int64_t pts_us, int64_t duration_us,
             std::string &error);
  // Pushes out everything buffered (interleaving queues, partial PES,
  // the pending fragment), so output() holds every frame written so far.
  void flush();
  // The bytes output into memory since the last take().
  std::vector<uint8_t> take();

 private:
  struct Key {};

 public:
  Muxer(Key, Format format);

 private:
  static int on_write(void *opaque, uint8_t *buf, int size);

  Format format_;
  AVFormatContext *ctx_ = nullptr;
  AVIOContext *io_ = nullptr;
  AVPacket *packet_ = nullptr;  // reused for every frame
  std::unique_ptr<TsPayload> ts_payload_;
  Sink sink_;
  int video_index_ = -1;
  int audio_index_ = -1;
  std::vector<uint8_t> out_;
  std::vector<uint8_t> init_;
};

}  // namespace lg::pack
