#include "pack/muxer.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
}

#include <cstring>

#include "pack/ts_payload.h"

namespace lg::pack {

namespace {

// What libavformat gathers before handing output on: one write(2) per piece.
constexpr int kIoBufferSize = 64 * 1024;
constexpr AVRational kMicros{1, 1000000};

std::string av_error(int rc) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(rc, text, sizeof(text));
  return text;
}

bool set_extradata(AVCodecParameters *par, const std::vector<uint8_t> &config) {
  if (config.empty()) return true;
  par->extradata = static_cast<uint8_t *>(av_mallocz(config.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!par->extradata) return false;
  std::memcpy(par->extradata, config.data(), config.size());
  par->extradata_size = static_cast<int>(config.size());
  return true;
}

AVCodecID video_codec_id(media::Codec codec) {
  switch (codec) {
    case media::Codec::H264:
      return AV_CODEC_ID_H264;
    case media::Codec::HEVC:
      return AV_CODEC_ID_HEVC;
    case media::Codec::AV1:
      return AV_CODEC_ID_AV1;
    default:
      return AV_CODEC_ID_NONE;
  }
}

AVCodecID audio_codec_id(media::Codec codec) {
  switch (codec) {
    case media::Codec::AAC:
      return AV_CODEC_ID_AAC;
    case media::Codec::MP3:
      return AV_CODEC_ID_MP3;
    default:
      return AV_CODEC_ID_NONE;
  }
}

// Hands a frame's shared buffer to libavformat without a copy: the packet
// holds one more reference to it until libavformat lets go.
void release_buffer(void *opaque, uint8_t *) {
  std::unique_ptr<std::shared_ptr<const std::vector<uint8_t>>> owner(
      static_cast<std::shared_ptr<const std::vector<uint8_t>> *>(opaque));
}

}  // namespace

Muxer::Muxer(Key, Format format) : format_(format) {}

std::unique_ptr<Muxer> Muxer::create(Format format, const media::VideoParams &video,
                                     const media::AudioParams &audio, std::string &error) {
  auto m = std::make_unique<Muxer>(Key{}, format);
  const char *name = format == Format::Ts ? "mpegts" : "mp4";
  if (avformat_alloc_output_context2(&m->ctx_, nullptr, name, nullptr) < 0 || !m->ctx_) {
    error = std::string("libavformat has no ") + name + " muxer";
    return nullptr;
  }
  auto *buffer = static_cast<uint8_t *>(av_malloc(kIoBufferSize));
  if (!buffer) {
    error = "out of memory";
    return nullptr;
  }
  m->io_ =
      avio_alloc_context(buffer, kIoBufferSize, 1, m.get(), nullptr, &Muxer::on_write, nullptr);
  if (!m->io_) {
    av_free(buffer);
    error = "out of memory";
    return nullptr;
  }
  m->io_->seekable = 0;
  // The MPEG-TS muxer marks a flush point after every PES packet, and
  // libavio flushes there once it holds min_packet_size bytes: left at 0,
  // that is one write(2) per frame.
  m->io_->min_packet_size = kIoBufferSize;
  m->ctx_->pb = m->io_;
  // The packager owns the timeline: timestamps go out exactly as given.
  m->ctx_->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;
  m->packet_ = av_packet_alloc();
  if (!m->packet_) {
    error = "out of memory";
    return nullptr;
  }
  // MPEG-TS gets frames it can write as they are; the configuration records
  // then stay out of libavformat, or it would convert the frames again.
  if (format == Format::Ts) m->ts_payload_ = std::make_unique<TsPayload>(video, audio);
  const bool video_converted = m->ts_payload_ && m->ts_payload_->has_video();
  const bool audio_converted = m->ts_payload_ && m->ts_payload_->has_audio();

  if (const AVCodecID id = video_codec_id(video.codec); id != AV_CODEC_ID_NONE) {
    AVStream *st = avformat_new_stream(m->ctx_, nullptr);
    if (!st || (!video_converted && !set_extradata(st->codecpar, video.config))) {
      error = "out of memory";
      return nullptr;
    }
    st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
    st->codecpar->codec_id = id;
    st->codecpar->width = video.width;
    st->codecpar->height = video.height;
    st->time_base = {1, 90000};
    m->video_index_ = st->index;
  }
  if (const AVCodecID id = audio_codec_id(audio.codec); id != AV_CODEC_ID_NONE) {
    AVStream *st = avformat_new_stream(m->ctx_, nullptr);
    if (!st || (!audio_converted && !set_extradata(st->codecpar, audio.config))) {
      error = "out of memory";
      return nullptr;
    }
    st->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
    st->codecpar->codec_id = id;
    st->codecpar->sample_rate = audio.sample_rate > 0 ? audio.sample_rate : 44100;
    av_channel_layout_default(&st->codecpar->ch_layout, audio.channels > 0 ? audio.channels : 2);
    if (id == AV_CODEC_ID_AAC) st->codecpar->frame_size = 1024;
    st->time_base = {1, st->codecpar->sample_rate};
    m->audio_index_ = st->index;
  }
  if (m->video_index_ < 0 && m->audio_index_ < 0) {
    error = "no video or audio track that can be packaged";
    return nullptr;
  }

  AVDictionary *opts = nullptr;
  if (format == Format::Fmp4) {
    // One fragment per flush(): the packager decides where segments end.
    av_dict_set(&opts, "movflags", "frag_custom+empty_moov+default_base_moof+cmaf", 0);
  } else {
    // A new muxer follows another one's segments (a restart, new codec
    // parameters, a segment lost to a full disk): its first packet of each
    // stream says that the continuity counters start afresh, or readers
    // take the previous segment's last frame for a corrupt one.
    av_dict_set(&opts, "mpegts_flags", "+initial_discontinuity", 0);
  }
  const int rc = avformat_write_header(m->ctx_, &opts);
  av_dict_free(&opts);
  if (rc < 0) {
    error = "cannot start the " + std::string(name) + " muxer: " + av_error(rc);
    return nullptr;
  }
  avio_flush(m->io_);
  if (format == Format::Fmp4) m->init_ = m->take();
  return m;
}

Muxer::~Muxer() {
  av_packet_free(&packet_);
  if (ctx_) {
    ctx_->pb = nullptr;
    avformat_free_context(ctx_);
  }
  if (io_) {
    av_freep(&io_->buffer);
    avio_context_free(&io_);
  }
}

int Muxer::on_write(void *opaque, uint8_t *buf, int size) {
  auto *self = static_cast<Muxer *>(opaque);
  if (self->sink_) {
    self->sink_(std::span<const uint8_t>(buf, static_cast<size_t>(size)));
  } else {
    self->out_.insert(self->out_.end(), buf, buf + size);
  }
  return size;
}

void Muxer::set_sink(Sink sink) {
  sink_ = std::move(sink);
  if (sink_ && !out_.empty()) {
    sink_(out_);
    out_.clear();
  }
}

void Muxer::begin_segment() {
  if (format_ == Format::Ts) av_opt_set(ctx_->priv_data, "mpegts_flags", "+resend_headers", 0);
}

bool Muxer::write(const media::Frame &frame, int64_t dts_us, int64_t pts_us, int64_t duration_us,
                  std::string &error) {
  const bool is_video = frame.track == media::TrackType::Video;
  const int index = is_video ? video_index_ : audio_index_;
  const auto data = frame.data();
  if (index < 0 || data.empty()) return true;  // a track this output does not carry
  AVStream *st = ctx_->streams[index];

  AVPacket *pkt = packet_;
  std::span<const uint8_t> converted;
  if (ts_payload_ && (is_video ? ts_payload_->has_video() : ts_payload_->has_audio())) {
    // Muxed before write() returns: the packet borrows the converted bytes.
    const bool ok = is_video ? ts_payload_->video(data, frame.keyframe, converted, error)
                             : ts_payload_->audio(data, converted, error);
    if (!ok) return false;
    pkt->data = const_cast<uint8_t *>(converted.data());
    pkt->size = static_cast<int>(converted.size());
  } else {
    auto owner = std::make_unique<std::shared_ptr<const std::vector<uint8_t>>>(frame.buffer);
    pkt->buf = av_buffer_create(const_cast<uint8_t *>(data.data()), static_cast<int>(data.size()),
                                &release_buffer, owner.get(), AV_BUFFER_FLAG_READONLY);
    if (!pkt->buf) {
      error = "out of memory";
      return false;
    }
    owner.release();  // now owned by pkt->buf
    pkt->data = pkt->buf->data;
    pkt->size = static_cast<int>(data.size());
  }
  pkt->stream_index = index;
  pkt->dts = av_rescale_q(dts_us, kMicros, st->time_base);
  pkt->pts = av_rescale_q(pts_us, kMicros, st->time_base);
  if (duration_us > 0) pkt->duration = av_rescale_q(duration_us, kMicros, st->time_base);
  if (frame.keyframe) pkt->flags |= AV_PKT_FLAG_KEY;
  const int rc = av_write_frame(ctx_, pkt);
  av_packet_unref(pkt);
  if (rc < 0) {
    error = "cannot mux a frame: " + av_error(rc);
    return false;
  }
  return true;
}

void Muxer::flush() {
  av_write_frame(ctx_, nullptr);
  avio_flush(io_);
}

std::vector<uint8_t> Muxer::take() {
  std::vector<uint8_t> out;
  out.swap(out_);
  return out;
}

}  // namespace lg::pack
