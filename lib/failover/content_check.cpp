#include "failover/content_check.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
#include <libavutil/samplefmt.h>
}

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace lg::failover {

namespace {

// Rate limiting before anything is queued; kNever marks an open input whose
// next keyframe is checked whatever its timestamp.
constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
// Millisecond timestamps (FLV, RTMP) put keyframes of a 0.5 s GOP 499 or 501
// ms apart; without this slack every other one would miss a 2-per-second limit.
constexpr double kRateSlackUs = 2000;
// Frozen pictures are compared on every kGridStep-th sample of every
// kGridStep-th row: a freeze is the whole picture standing still, so a sparse
// grid finds it as well as every sample would, at a sixteenth of the cost.
constexpr int kGridStep = 4;
// Hostile parameter sets must not make the decoder allocate without bound;
// nothing real exceeds 8K.
constexpr int64_t kMaxPixels = int64_t{8192} * 4320;

struct CodecContextDeleter {
  void operator()(AVCodecContext *ctx) const { avcodec_free_context(&ctx); }
};
struct FrameDeleter {
  void operator()(AVFrame *frame) const { av_frame_free(&frame); }
};
struct PacketDeleter {
  void operator()(AVPacket *pkt) const { av_packet_free(&pkt); }
};

// Microseconds from `since` to `now`, which must not be before it: unsigned,
// so timestamps at the ends of the range cannot overflow.
uint64_t elapsed_us(int64_t since, int64_t now) {
  return static_cast<uint64_t>(now) - static_cast<uint64_t>(since);
}

uint64_t to_us(int64_t ms) {
  if (ms <= 0) return 0;
  if (ms > std::numeric_limits<int64_t>::max() / 1000) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(ms) * 1000;
}

// Whether a keyframe at `dts_us` may be checked, `last_us` being the last one
// that was. A clock that went back (a restarted encoder) starts afresh.
bool video_check_due(const ContentConfig &config, int64_t last_us, int64_t dts_us) {
  if (last_us == kNever || dts_us < last_us) return true;
  const double rate = config.max_video_checks_per_s;
  if (!(rate > 0) || !std::isfinite(rate)) return true;  // no limit configured
  return static_cast<double>(elapsed_us(last_us, dts_us)) + kRateSlackUs >= 1e6 / rate;
}

// One condition's timing: on once shown continuously for `after`, off at the
// first sample that does not show it.
class Hold {
 public:
  void update(bool shows, int64_t dts_us, int64_t after_ms, bool &flag) {
    if (!shows) {
      since_us_.reset();
      flag = false;
      return;
    }
    if (!since_us_ || dts_us < *since_us_) since_us_ = dts_us;
    if (elapsed_us(*since_us_, dts_us) >= to_us(after_ms)) flag = true;
  }
  void reset() { since_us_.reset(); }

 private:
  std::optional<int64_t> since_us_;
};

// The luma grid of the last checked picture, for the frozen comparison.
struct Picture {
  int width = 0;
  int height = 0;
  int depth = 0;
  std::vector<uint16_t> grid;
};

struct LumaResult {
  bool black = false;
  // Empty when there is no earlier picture to compare with.
  std::optional<bool> frozen;
};

struct LumaFormat {
  int depth = 0;
  bool full_range = false;
};

// The layout of the luma plane if it is one sample per pixel at the start of
// plane 0 in native byte order (planar and semi-planar YUV, grey); otherwise
// the checks are skipped for that picture.
std::optional<LumaFormat> luma_format(const AVFrame &frame) {
  const auto format = static_cast<AVPixelFormat>(frame.format);
  const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(format);
  if (!desc || desc->nb_components < 1) return std::nullopt;
  constexpr uint64_t kNotLuma = AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL |
                                AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_HWACCEL |
                                AV_PIX_FMT_FLAG_BAYER | AV_PIX_FMT_FLAG_FLOAT;
  if (desc->flags & kNotLuma) return std::nullopt;
  const bool big_endian = (desc->flags & AV_PIX_FMT_FLAG_BE) != 0;
  const AVComponentDescriptor &y = desc->comp[0];
  const int bytes = y.depth > 8 ? 2 : 1;
  if (y.plane != 0 || y.offset != 0 || y.shift != 0 || y.step != bytes || y.depth < 8 ||
      y.depth > 16) {
    return std::nullopt;
  }
  if (bytes == 2 && big_endian != (std::endian::native == std::endian::big)) return std::nullopt;
  const bool jpeg = format == AV_PIX_FMT_YUVJ420P || format == AV_PIX_FMT_YUVJ422P ||
                    format == AV_PIX_FMT_YUVJ444P || format == AV_PIX_FMT_YUVJ440P ||
                    format == AV_PIX_FMT_YUVJ411P;
  return LumaFormat{y.depth, jpeg || frame.color_range == AVCOL_RANGE_JPEG};
}

template <typename Sample>
LumaResult scan_luma(const AVFrame &frame, const LumaFormat &format, const ContentConfig &config,
                     Picture &previous) {
  const int width = frame.width;
  const int height = frame.height;
  const auto row = [&](int y) {
    return reinterpret_cast<const Sample *>(frame.data[0] +
                                            static_cast<ptrdiff_t>(y) * frame.linesize[0]);
  };
  const int64_t max_value = (int64_t{1} << format.depth) - 1;
  LumaResult result;

  if (config.black) {
    // One threshold in sample units instead of normalising every sample.
    const double scale = static_cast<double>(int64_t{1} << (format.depth - 8));
    const double low = format.full_range ? 0.0 : 16.0 * scale;
    const double span = format.full_range ? static_cast<double>(max_value) : 219.0 * scale;
    const double limit = std::floor(low + config.black_luma * span);
    uint64_t dark = 0;
    if (config.black_luma >= 0) {  // also false for NaN: nothing counts as dark
      const auto threshold = static_cast<Sample>(std::min(limit, static_cast<double>(max_value)));
      for (int y = 0; y < height; ++y) {
        // Same-width compare and a narrow counter, so the compiler vectorises it.
        const Sample *r = row(y);
        uint32_t in_row = 0;
        for (int x = 0; x < width; ++x) in_row += r[x] <= threshold ? 1u : 0u;
        dark += in_row;
      }
    }
    const double total = static_cast<double>(width) * height;
    result.black = static_cast<double>(dark) >= config.black_pixel_ratio * total;
  }

  if (config.frozen) {
    Picture picture{width, height, format.depth, {}};
    const int columns = (width + kGridStep - 1) / kGridStep;
    picture.grid.resize(static_cast<size_t>(columns) *
                        static_cast<size_t>((height + kGridStep - 1) / kGridStep));
    uint16_t *out = picture.grid.data();
    for (int y = 0; y < height; y += kGridStep) {
      const Sample *r = row(y);
      for (int x = 0; x < columns; ++x) *out++ = r[x * kGridStep];
    }
    if (!previous.grid.empty()) {
      // A new size or depth is a new picture: that is not a freeze.
      bool frozen = false;
      if (previous.width == width && previous.height == height && previous.depth == format.depth &&
          previous.grid.size() == picture.grid.size()) {
        uint64_t sum = 0;
        for (size_t i = 0; i < picture.grid.size(); ++i) {
          sum += static_cast<uint64_t>(std::abs(int{picture.grid[i]} - int{previous.grid[i]}));
        }
        const double mean = static_cast<double>(sum) / static_cast<double>(picture.grid.size()) /
                            static_cast<double>(max_value);
        frozen = mean <= config.frozen_difference;
      }
      result.frozen = frozen;
    }
    previous = std::move(picture);
  }
  return result;
}

std::optional<LumaResult> check_luma(const AVFrame &frame, const ContentConfig &config,
                                     Picture &previous) {
  if (frame.width <= 0 || frame.height <= 0 || !frame.data[0]) return std::nullopt;
  const auto format = luma_format(frame);
  if (!format) return std::nullopt;
  const int64_t row_bytes = int64_t{frame.width} * (format->depth > 8 ? 2 : 1);
  if (std::abs(int64_t{frame.linesize[0]}) < row_bytes) return std::nullopt;
  if (format->depth > 8) return scan_luma<uint16_t>(frame, *format, config, previous);
  return scan_luma<uint8_t>(frame, *format, config, previous);
}

// Adds the squares of a decoded audio frame's samples (full scale = 1) to
// `sum`; false for a sample format it does not read.
bool add_squares(const AVFrame &frame, double &sum, uint64_t &count) {
  const auto format = static_cast<AVSampleFormat>(frame.format);
  const int channels = frame.ch_layout.nb_channels;
  if (channels <= 0 || frame.nb_samples <= 0 || !frame.extended_data) return false;
  const bool planar = av_sample_fmt_is_planar(format) != 0;
  const int planes = planar ? channels : 1;
  for (int p = 0; p < planes; ++p) {
    if (!frame.extended_data[p]) return false;
  }
  const size_t per_plane =
      static_cast<size_t>(frame.nb_samples) * static_cast<size_t>(planar ? 1 : channels);
  const auto each = [&](auto sample_type, double full_scale, double bias) {
    using Sample = decltype(sample_type);
    for (int p = 0; p < planes; ++p) {
      const auto *data = reinterpret_cast<const Sample *>(frame.extended_data[p]);
      for (size_t i = 0; i < per_plane; ++i) {
        const double v = (static_cast<double>(data[i]) - bias) / full_scale;
        sum += v * v;
      }
    }
    count += per_plane * static_cast<size_t>(planes);
    return true;
  };
  switch (av_get_packed_sample_fmt(format)) {
    case AV_SAMPLE_FMT_U8:
      return each(uint8_t{}, 128.0, 128.0);
    case AV_SAMPLE_FMT_S16:
      return each(int16_t{}, 32768.0, 0.0);
    case AV_SAMPLE_FMT_S32:
      return each(int32_t{}, 2147483648.0, 0.0);
    case AV_SAMPLE_FMT_FLT:
      return each(float{}, 1.0, 0.0);
    case AV_SAMPLE_FMT_DBL:
      return each(double{}, 1.0, 0.0);
    default:
      return false;
  }
}

// One libavcodec decoder, fed whole frames of the media model.
class Decoder {
 public:
  // False if libavcodec has no decoder for `id` or refuses `extradata`; the
  // decoder then stays closed and decode() does nothing.
  bool open(AVCodecID id, std::span<const uint8_t> extradata, bool video) {
    close();
    const AVCodec *codec = avcodec_find_decoder(id);
    if (!codec || extradata.size() > static_cast<size_t>(INT_MAX - AV_INPUT_BUFFER_PADDING_SIZE)) {
      return false;
    }
    std::unique_ptr<AVCodecContext, CodecContextDeleter> ctx(avcodec_alloc_context3(codec));
    std::unique_ptr<AVFrame, FrameDeleter> frame(av_frame_alloc());
    std::unique_ptr<AVPacket, PacketDeleter> packet(av_packet_alloc());
    if (!ctx || !frame || !packet) return false;
    if (!extradata.empty()) {
      // Freed by avcodec_free_context; the parsers may read into the padding.
      ctx->extradata =
          static_cast<uint8_t *>(av_mallocz(extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
      if (!ctx->extradata) return false;
      std::memcpy(ctx->extradata, extradata.data(), extradata.size());
      ctx->extradata_size = static_cast<int>(extradata.size());
    }
    // Frame threads would hold pictures back; one thread keeps decode() synchronous.
    ctx->thread_count = 1;
    // Damaged input is expected here and the check says what matters about
    // it; the decoder's complaints go to debug level, for this context only.
    ctx->log_level_offset = AV_LOG_DEBUG - AV_LOG_ERROR;
    if (video) {
      ctx->max_pixels = kMaxPixels;
      // Deblocking barely moves luma statistics, and it costs decode time.
      ctx->skip_loop_filter = AVDISCARD_ALL;
      ctx->flags2 |= AV_CODEC_FLAG2_FAST;
    }
    if (avcodec_open2(ctx.get(), codec, nullptr) < 0) return false;
    ctx_ = std::move(ctx);
    frame_ = std::move(frame);
    packet_ = std::move(packet);
    return true;
  }

  void close() {
    ctx_.reset();
    frame_.reset();
    packet_.reset();
  }

  // Decodes one frame's payload and calls `use` with each picture or block
  // of samples that comes out undamaged. `alone`: the payload decodes on its
  // own (a keyframe among skipped frames), so the decoder is drained for it
  // and reset afterwards, holding nothing back for reordering.
  template <typename Use>
  void decode(std::span<const uint8_t> payload, bool alone, Use &&use) {
    if (!ctx_ || payload.empty() || payload.size() > static_cast<size_t>(INT_MAX)) return;
    // The payload shares a buffer without the padding libavcodec's readers
    // need, so it is copied into a padded packet.
    if (av_new_packet(packet_.get(), static_cast<int>(payload.size())) < 0) return;
    std::memcpy(packet_->data, payload.data(), payload.size());
    if (alone) packet_->flags |= AV_PKT_FLAG_KEY;
    const int sent = avcodec_send_packet(ctx_.get(), packet_.get());
    av_packet_unref(packet_.get());
    if (sent >= 0 && alone) avcodec_send_packet(ctx_.get(), nullptr);
    if (sent >= 0) {
      while (avcodec_receive_frame(ctx_.get(), frame_.get()) >= 0) {
        const bool damaged =
            (frame_->flags & AV_FRAME_FLAG_CORRUPT) != 0 || frame_->decode_error_flags != 0;
        if (!damaged) use(static_cast<const AVFrame &>(*frame_));
        av_frame_unref(frame_.get());
      }
    }
    if (alone) avcodec_flush_buffers(ctx_.get());
  }

 private:
  std::unique_ptr<AVCodecContext, CodecContextDeleter> ctx_;
  std::unique_ptr<AVFrame, FrameDeleter> frame_;
  std::unique_ptr<AVPacket, PacketDeleter> packet_;
};

// The libavcodec decoder for a codec of the media model, if the checks read it.
std::optional<AVCodecID> decoder_id(media::Codec codec) {
  switch (codec) {
    case media::Codec::H264:
      return AV_CODEC_ID_H264;
    case media::Codec::HEVC:
      return AV_CODEC_ID_HEVC;
    case media::Codec::AAC:
      return AV_CODEC_ID_AAC;
    case media::Codec::MP3:
      return AV_CODEC_ID_MP3;
    default:
      return std::nullopt;
  }
}

}  // namespace

struct ContentChecker::Job {
  enum class Kind { Open, Frame, Close };
  Kind kind = Kind::Frame;
  uint64_t input = 0;
  media::VideoParams video;
  media::AudioParams audio;
  media::Frame frame;
  size_t bytes = 0;  // counted against queue_bytes
};

// Decoders and condition timing of one input; worker thread only.
struct ContentChecker::Input {
  explicit Input(const ContentConfig &config) : config_(config) {}

  // A reopen keeps `state`: a condition reported before goes on holding
  // until a sample shows otherwise, rather than being cleared by a reconnect.
  void open(const media::VideoParams &video, const media::AudioParams &audio) {
    video_.close();
    audio_.close();
    black_.reset();
    frozen_.reset();
    silent_.reset();
    previous_ = {};
    const auto video_id = decoder_id(video.codec);
    // Length-prefixed NAL units mean nothing to the decoder without the
    // configuration record that says so.
    if ((config_.black || config_.frozen) && video_id && !video.config.empty()) {
      video_.open(*video_id, video.config, true);
    }
    const auto audio_id = decoder_id(audio.codec);
    if (config_.silence && audio_id &&
        (audio.codec != media::Codec::AAC || !audio.config.empty())) {
      audio_.open(*audio_id, audio.config, false);
    }
  }

  void video(const media::Frame &frame) {
    video_.decode(frame.data(), true, [&](const AVFrame &picture) {
      const auto luma = check_luma(picture, config_, previous_);
      if (!luma) return;
      if (config_.black) {
        black_.update(luma->black, frame.dts_us, config_.black_after_ms, state.black);
      }
      if (config_.frozen && luma->frozen) {
        frozen_.update(*luma->frozen, frame.dts_us, config_.frozen_after_ms, state.frozen);
      }
    });
  }

  void audio(const media::Frame &frame) {
    double sum = 0;
    uint64_t count = 0;
    audio_.decode(frame.data(), false,
                  [&](const AVFrame &samples) { add_squares(samples, sum, count); });
    if (count == 0) return;
    const double mean_square = sum / static_cast<double>(count);
    const double dbfs =
        mean_square > 0 ? 10.0 * std::log10(mean_square) : -std::numeric_limits<double>::infinity();
    silent_.update(dbfs <= config_.silence_dbfs, frame.dts_us, config_.silence_after_ms,
                   state.silent);
  }

  ContentState state;
  ContentState reported;

 private:
  const ContentConfig &config_;
  Decoder video_;
  Decoder audio_;
  Hold black_;
  Hold frozen_;
  Hold silent_;
  Picture previous_;
};

ContentChecker::ContentChecker(ContentConfig config, Report report)
    : config_(std::move(config)), report_(std::move(report)) {
  worker_ = std::thread([this] { run(); });
}

ContentChecker::~ContentChecker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    jobs_.clear();
  }
  wake_.notify_all();
  idle_.notify_all();
  worker_.join();
}

void ContentChecker::open(uint64_t input, const media::VideoParams &video,
                          const media::AudioParams &audio) {
  if (!config_.any()) return;
  auto job = std::make_unique<Job>();
  job->kind = Job::Kind::Open;
  job->input = input;
  job->video = video;
  job->audio = audio;
  {
    std::lock_guard lock(mutex_);
    last_video_check_us_[input] = kNever;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void ContentChecker::frame(uint64_t input, const media::Frame &frame) {
  if (!config_.any()) return;
  const bool video = frame.track == media::TrackType::Video;
  if (video ? !(config_.black || config_.frozen) || !frame.keyframe : !config_.silence) return;
  const size_t bytes = frame.data().size();
  if (bytes == 0) return;
  {
    std::lock_guard lock(mutex_);
    const auto it = last_video_check_us_.find(input);
    if (it == last_video_check_us_.end()) return;  // not open
    if (video && !video_check_due(config_, it->second, frame.dts_us)) return;
    if (bytes > config_.queue_bytes || queued_bytes_ > config_.queue_bytes - bytes) {
      ++skipped_;
      return;
    }
    if (video) it->second = frame.dts_us;
    auto job = std::make_unique<Job>();
    job->kind = Job::Kind::Frame;
    job->input = input;
    job->frame = frame;
    job->bytes = bytes;
    queued_bytes_ += bytes;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void ContentChecker::close(uint64_t input) {
  if (!config_.any()) return;
  auto job = std::make_unique<Job>();
  job->kind = Job::Kind::Close;
  job->input = input;
  {
    std::lock_guard lock(mutex_);
    last_video_check_us_.erase(input);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

uint64_t ContentChecker::skipped() const {
  std::lock_guard lock(mutex_);
  return skipped_;
}

void ContentChecker::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return stopping_ || (jobs_.empty() && !busy_); });
}

void ContentChecker::run() {
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      busy_ = true;
    }
    std::optional<ContentState> changed;
    // A job that fails (out of memory, a throwing report callback) is lost;
    // the thread, and the process with it, must go on.
    try {
      switch (job->kind) {
        case Job::Kind::Open: {
          auto &slot = inputs_[job->input];
          if (!slot) slot = std::make_unique<Input>(config_);
          slot->open(job->video, job->audio);
          break;
        }
        case Job::Kind::Close:
          inputs_.erase(job->input);
          break;
        case Job::Kind::Frame: {
          const auto it = inputs_.find(job->input);
          if (it == inputs_.end()) break;
          Input &in = *it->second;
          if (job->frame.track == media::TrackType::Video) {
            in.video(job->frame);
          } else {
            in.audio(job->frame);
          }
          if (in.state != in.reported) changed = in.reported = in.state;
          break;
        }
      }
      if (changed && report_) report_(job->input, *changed);
    } catch (...) {
    }
    const size_t bytes = job->bytes;
    job.reset();
    {
      std::lock_guard lock(mutex_);
      queued_bytes_ -= bytes;
      busy_ = false;
      if (jobs_.empty()) idle_.notify_all();
    }
  }
}

}  // namespace lg::failover
