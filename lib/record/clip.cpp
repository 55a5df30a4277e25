#include "record/clip.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/mathematics.h>
}

#include <algorithm>
#include <cerrno>
#include <deque>
#include <filesystem>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace lg::record {

namespace {

constexpr AVRational kMicros{1, 1000000};
// A file whose first timestamp is this far before where the previous one
// ended has restarted its clock; less than this is ordinary A/V interleaving.
constexpr int64_t kRestartToleranceUs = 1'000'000;
// Packets read ahead at the start of each file to find its earliest dts.
constexpr size_t kPrefetchPackets = 256;
constexpr int64_t kTsPacketSize = 188;
constexpr int64_t kNone = std::numeric_limits<int64_t>::min();

std::string av_error(int rc) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(rc, text, sizeof(text));
  return text;
}

struct InputDeleter {
  void operator()(AVFormatContext *ctx) const { avformat_close_input(&ctx); }
};
using InputPtr = std::unique_ptr<AVFormatContext, InputDeleter>;

struct OutputDeleter {
  void operator()(AVFormatContext *ctx) const {
    if (ctx->pb && !(ctx->oformat->flags & AVFMT_NOFILE)) avio_closep(&ctx->pb);
    avformat_free_context(ctx);
  }
};
using OutputPtr = std::unique_ptr<AVFormatContext, OutputDeleter>;

struct PacketDeleter {
  void operator()(AVPacket *pkt) const { av_packet_free(&pkt); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;

struct BsfDeleter {
  void operator()(AVBSFContext *bsf) const { av_bsf_free(&bsf); }
};
using BsfPtr = std::unique_ptr<AVBSFContext, BsfDeleter>;

struct ParamsDeleter {
  void operator()(AVCodecParameters *par) const { avcodec_parameters_free(&par); }
};
using ParamsPtr = std::unique_ptr<AVCodecParameters, ParamsDeleter>;

struct DictDeleter {
  void operator()(AVDictionary *dict) const { av_dict_free(&dict); }
};

PacketPtr new_packet() {
  PacketPtr pkt(av_packet_alloc());
  if (!pkt) throw std::bad_alloc();
  return pkt;
}

std::string in_quotes(const std::string &path) {
  return "'" + path + "'";
}

// Deletes the partial output unless the clip was completed and renamed.
class PartFile {
 public:
  explicit PartFile(std::string path) : path_(std::move(path)) {}
  ~PartFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  PartFile(const PartFile &) = delete;
  PartFile &operator=(const PartFile &) = delete;
  const std::string &path() const { return path_; }

 private:
  std::string path_;
};

// The k that puts value + k * period nearest to reference.
int64_t nearest_wrap(int64_t value, int64_t reference, int64_t period) {
  const int64_t diff = reference - value + period / 2;
  int64_t k = diff / period;
  if (diff % period != 0 && diff < 0) --k;
  return k * period;
}

// One output stream. Timestamps on the clip's timeline are in `tb`, the time
// base the first file gave this stream; µs values are for decisions only.
struct Track {
  AVMediaType type = AVMEDIA_TYPE_UNKNOWN;
  ParamsPtr par;
  AVRational tb{1, 90000};
  int64_t last_dts = kNone;      // last accepted dts (timeline), to keep dts rising
  int64_t last_end_us = kNone;   // end of the last accepted packet's decode slot
  int64_t last_offset_us = 0;    // the file offset that last_dts was read with
  int64_t zero = 0;              // timeline timestamp that becomes 0 in the output
  int64_t last_written = kNone;  // last dts written, muxer time base
  bool done = false;             // past range.end_ms: drop the rest
  uint64_t frames = 0;
  int64_t out_end_us = 0;  // end of the latest presented frame in the output
  int out_index = -1;
  BsfPtr bsf;
};

// A packet on the clip's timeline: stream_index is the track index.
struct Item {
  PacketPtr pkt;
  int64_t dts_us = 0;
  int64_t pts_us = 0;
  int64_t dur_us = 0;
};

struct InputFile {
  std::string path;
  InputPtr ctx;
  bool last = false;
  bool ts = false;  // MPEG-TS: a cut is visible as a size not a multiple of 188
  int64_t size = 0;
  std::vector<int> track_of;                 // per input stream: track index, or -1
  std::vector<std::optional<int64_t>> wrap;  // per input stream: wrap correction, in its tb
  int64_t offset_us = 0;                     // added to this file's timestamps
};

class Clipper {
 public:
  Clipper(ClipRange range, const std::string &output, std::string &error)
      : range_(range), output_(output), part_(output + ".part"), error_(error) {}

  lg_status run(std::span<const std::string> inputs, ClipResult &result);

 private:
  lg_status open_input(InputFile &f);
  lg_status setup_tracks(const InputFile &f);
  void map_streams(InputFile &f);
  lg_status read_file(InputFile &f, bool first);
  void place_file(InputFile &f, const std::vector<PacketPtr> &head, bool first);
  int64_t wrap_for(InputFile &f, int stream, int64_t raw_dts);
  lg_status accept(InputFile &f, PacketPtr pkt);
  bool complete(const InputFile &f, const Track &t, const AVPacket &pkt) const;
  lg_status flush_pending(const InputFile &f);
  lg_status handle(Item item);
  void prune(int64_t before_us);
  lg_status commit();
  lg_status open_output();
  lg_status emit(Item item);
  lg_status write(Track &t, AVPacket *pkt);
  lg_status finish(ClipResult &result);
  bool all_done() const {
    return std::all_of(tracks_.begin(), tracks_.end(), [](const Track &t) { return t.done; });
  }
  lg_status fail(lg_status status, std::string message) {
    error_ = std::move(message);
    return status;
  }

  ClipRange range_;
  std::string output_;
  PartFile part_;  // declared before out_: the file is removed only after it is closed
  std::string &error_;

  std::vector<Track> tracks_;
  int key_track_ = -1;  // video if any, else audio: the stream whose keyframes start the clip
  const AVOutputFormat *mp4_ = nullptr;
  OutputPtr out_;

  bool have_base_ = false;
  int64_t base_us_ = 0;  // the broadcast's first dts
  int64_t start_us_ = 0;
  int64_t end_us_ = std::numeric_limits<int64_t>::max();
  int64_t timeline_end_us_ = kNone;  // latest decode end over all tracks so far
  int64_t recorded_end_us_ = kNone;  // latest presentation end over all tracks so far
  int64_t prev_offset_us_ = 0;

  // Between the candidate keyframe and the point where no later keyframe
  // can be at or before start_ms.
  std::deque<Item> gop_;
  size_t gop_bytes_ = 0;
  bool candidate_ = false;
  int64_t kf_pts_ = 0;  // candidate keyframe pts, key track timeline
  int64_t kf_pts_us_ = 0;
  int64_t kf_delay_us_ = 0;  // its pts - dts: how long reordering holds pictures back
  bool started_ = false;

  // The last packet of each track, held until the next one shows it was
  // read whole (the last file may end in the middle of one).
  std::vector<std::optional<Item>> pending_;
};

lg_status Clipper::open_input(InputFile &f) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(f.path, ec);
  if (ec) {
    const bool missing = ec == std::errc::no_such_file_or_directory;
    return fail(missing ? LG_E_NOT_FOUND : LG_E_IO,
                "cannot open " + in_quotes(f.path) + ": " + ec.message());
  }
  f.size = static_cast<int64_t>(size);

  AVDictionary *opts = nullptr;
  // Every file of a broadcast has the same streams, and each starts with a
  // keyframe and its parameter sets: a short look is enough.
  av_dict_set(&opts, "probesize", "1000000", 0);
  av_dict_set(&opts, "analyzeduration", "1000000", 0);
  std::unique_ptr<AVDictionary, DictDeleter> opts_guard(opts);
  AVFormatContext *raw = nullptr;
  int rc = avformat_open_input(&raw, f.path.c_str(), nullptr, &opts);
  // It hands back a new dictionary of the options it did not use.
  opts_guard.release();
  opts_guard.reset(opts);
  if (rc < 0) {
    return fail(rc == AVERROR(ENOENT) ? LG_E_NOT_FOUND : LG_E_IO,
                "cannot open " + in_quotes(f.path) + ": " + av_error(rc));
  }
  f.ctx.reset(raw);
  rc = avformat_find_stream_info(raw, nullptr);
  if (rc < 0) {
    return fail(LG_E_IO, "cannot read the streams of " + in_quotes(f.path) + ": " + av_error(rc));
  }
  f.ts = std::string_view(raw->iformat->name) == "mpegts";
  return LG_OK;
}

lg_status Clipper::setup_tracks(const InputFile &f) {
  mp4_ = av_guess_format("mp4", nullptr, nullptr);
  if (!mp4_) return fail(LG_E_UNSUPPORTED, "this libavformat has no mp4 muxer");
  for (AVMediaType type : {AVMEDIA_TYPE_VIDEO, AVMEDIA_TYPE_AUDIO}) {
    for (unsigned i = 0; i < f.ctx->nb_streams; ++i) {
      const AVStream *st = f.ctx->streams[i];
      if (st->codecpar->codec_type != type) continue;
      if (type == AVMEDIA_TYPE_VIDEO && (st->disposition & AV_DISPOSITION_ATTACHED_PIC)) continue;
      if (avformat_query_codec(mp4_, st->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) continue;
      Track t;
      t.type = type;
      t.par.reset(avcodec_parameters_alloc());
      if (!t.par) throw std::bad_alloc();
      if (avcodec_parameters_copy(t.par.get(), st->codecpar) < 0) throw std::bad_alloc();
      t.tb = st->time_base;
      tracks_.push_back(std::move(t));
      break;
    }
  }
  if (tracks_.empty()) {
    return fail(LG_E_UNSUPPORTED,
                "no video or audio stream in " + in_quotes(f.path) + " that MP4 can carry");
  }
  key_track_ = 0;  // video comes first when there is one
  pending_.resize(tracks_.size());
  return LG_OK;
}

void Clipper::map_streams(InputFile &f) {
  f.track_of.assign(f.ctx->nb_streams, -1);
  f.wrap.assign(f.ctx->nb_streams, std::nullopt);
  for (size_t t = 0; t < tracks_.size(); ++t) {
    for (unsigned i = 0; i < f.ctx->nb_streams; ++i) {
      const AVCodecParameters *par = f.ctx->streams[i]->codecpar;
      if (f.track_of[i] >= 0 || par->codec_type != tracks_[t].type) continue;
      if (par->codec_id != tracks_[t].par->codec_id) continue;
      f.track_of[i] = static_cast<int>(t);
      break;
    }
  }
  for (unsigned i = 0; i < f.ctx->nb_streams; ++i) {
    if (f.track_of[i] < 0) f.ctx->streams[i]->discard = AVDISCARD_ALL;
  }
}

// MPEG-TS timestamps are 33 bits. libavformat unwraps them within a file,
// but a file that starts after the wrap reads small again: bring it next to
// where its stream (or the timeline) left off.
int64_t Clipper::wrap_for(InputFile &f, int stream, int64_t raw_dts) {
  auto &wrap = f.wrap[static_cast<size_t>(stream)];
  if (wrap) return *wrap;
  wrap = 0;
  const AVStream *st = f.ctx->streams[stream];
  const Track &t = tracks_[static_cast<size_t>(f.track_of[static_cast<size_t>(stream)])];
  if (st->pts_wrap_bits <= 0 || st->pts_wrap_bits >= 63) return 0;
  int64_t reference_us = kNone;
  if (t.last_dts != kNone) {
    reference_us = av_rescale_q(t.last_dts, t.tb, kMicros) - t.last_offset_us;
  } else if (timeline_end_us_ != kNone) {
    reference_us = timeline_end_us_ - prev_offset_us_;
  }
  if (reference_us == kNone) return 0;
  const int64_t reference = av_rescale_q(reference_us, kMicros, st->time_base);
  wrap = nearest_wrap(raw_dts, reference, int64_t{1} << st->pts_wrap_bits);
  return *wrap;
}

namespace {
bool fix_timestamps(AVPacket &pkt) {
  if (pkt.dts == AV_NOPTS_VALUE) pkt.dts = pkt.pts;
  if (pkt.pts == AV_NOPTS_VALUE) pkt.pts = pkt.dts;
  return pkt.dts != AV_NOPTS_VALUE;
}
}  // namespace

void Clipper::place_file(InputFile &f, const std::vector<PacketPtr> &head, bool first) {
  std::vector<bool> seen(f.ctx->nb_streams, false);
  int64_t first_us = kNone;
  int64_t key_first_us = kNone;
  for (const auto &pkt : head) {
    const auto s = static_cast<size_t>(pkt->stream_index);
    if (seen[s]) continue;
    seen[s] = true;
    // dts rises within a stream: each stream's first packet holds its minimum.
    const int64_t dts = pkt->dts + (first ? 0 : wrap_for(f, pkt->stream_index, pkt->dts));
    const int64_t us = av_rescale_q(dts, f.ctx->streams[s]->time_base, kMicros);
    if (first_us == kNone || us < first_us) first_us = us;
    if (f.track_of[s] == key_track_) key_first_us = us;
  }
  if (first) {
    for (auto &w : f.wrap) w = 0;
    f.offset_us = 0;
    if (first_us != kNone) {
      base_us_ = first_us;
      have_base_ = true;
    }
    return;
  }
  f.offset_us = prev_offset_us_;
  if (first_us == kNone || timeline_end_us_ == kNone) return;
  if (first_us + prev_offset_us_ < timeline_end_us_ - kRestartToleranceUs) {
    // Appended so that video runs on without a gap; audio that overlaps
    // the previous file by a fraction of a frame is dropped, not shifted.
    const Track &key = tracks_[static_cast<size_t>(key_track_)];
    if (key_first_us != kNone && key.last_end_us != kNone) {
      f.offset_us = key.last_end_us - key_first_us;
    } else {
      f.offset_us = timeline_end_us_ - first_us;
    }
  }
}

lg_status Clipper::read_file(InputFile &f, bool first) {
  map_streams(f);
  std::vector<PacketPtr> head;
  std::vector<bool> seen(tracks_.size(), false);
  size_t seen_count = 0;
  bool eof = false;
  lg_status status = LG_OK;

  auto next = [&](PacketPtr &pkt) -> bool {
    for (;;) {
      pkt = new_packet();
      const int rc = av_read_frame(f.ctx.get(), pkt.get());
      if (rc == AVERROR_EOF) return false;
      if (rc < 0) {
        // The last file may end in anything; the others were finished.
        if (!f.last) {
          status = fail(LG_E_IO, "cannot read " + in_quotes(f.path) + ": " + av_error(rc));
        }
        return false;
      }
      if (pkt->stream_index < 0 || static_cast<size_t>(pkt->stream_index) >= f.track_of.size() ||
          f.track_of[static_cast<size_t>(pkt->stream_index)] < 0 || !fix_timestamps(*pkt)) {
        continue;
      }
      return true;
    }
  };

  while (head.size() < kPrefetchPackets && seen_count < tracks_.size()) {
    PacketPtr pkt;
    if (!next(pkt)) {
      eof = true;
      break;
    }
    const auto t = static_cast<size_t>(f.track_of[static_cast<size_t>(pkt->stream_index)]);
    if (!seen[t]) {
      seen[t] = true;
      ++seen_count;
    }
    head.push_back(std::move(pkt));
  }
  if (status != LG_OK) return status;
  place_file(f, head, first);
  if (!have_base_) return LG_OK;  // nothing usable yet
  if (first) {
    start_us_ = base_us_ + range_.start_ms * 1000;
    if (range_.end_ms >= 0) end_us_ = base_us_ + range_.end_ms * 1000;
  }
  for (auto &pkt : head) {
    if (lg_status s = accept(f, std::move(pkt)); s != LG_OK) return s;
    if (started_ && all_done()) return LG_OK;
  }
  while (!eof) {
    PacketPtr pkt;
    if (!next(pkt)) break;
    if (lg_status s = accept(f, std::move(pkt)); s != LG_OK) return s;
    if (started_ && all_done()) return LG_OK;
  }
  if (status != LG_OK) return status;
  return flush_pending(f);
}

lg_status Clipper::accept(InputFile &f, PacketPtr pkt) {
  const int stream = pkt->stream_index;
  const AVStream *st = f.ctx->streams[stream];
  const auto ti = static_cast<size_t>(f.track_of[static_cast<size_t>(stream)]);
  Track &t = tracks_[ti];
  const int64_t wrap = wrap_for(f, stream, pkt->dts);
  const int64_t offset = av_rescale_q(f.offset_us, kMicros, t.tb);
  pkt->dts = av_rescale_q(pkt->dts + wrap, st->time_base, t.tb) + offset;
  pkt->pts = av_rescale_q(pkt->pts + wrap, st->time_base, t.tb) + offset;
  pkt->duration = std::max<int64_t>(0, av_rescale_q(pkt->duration, st->time_base, t.tb));
  pkt->stream_index = static_cast<int>(ti);
  pkt->time_base = t.tb;
  pkt->pos = -1;
  // A muxer refuses a dts that does not rise; a recording should not have
  // one, and one bad packet must not cost the clip.
  if (t.last_dts != kNone && pkt->dts <= t.last_dts) return LG_OK;
  t.last_dts = pkt->dts;
  t.last_offset_us = f.offset_us;

  Item item;
  item.dts_us = av_rescale_q(pkt->dts, t.tb, kMicros);
  item.pts_us = av_rescale_q(pkt->pts, t.tb, kMicros);
  item.dur_us = av_rescale_q(pkt->duration, t.tb, kMicros);
  item.pkt = std::move(pkt);
  t.last_end_us = item.dts_us + item.dur_us;
  timeline_end_us_ = std::max(timeline_end_us_, t.last_end_us);
  prev_offset_us_ = f.offset_us;

  auto &pending = pending_[ti];
  std::optional<Item> ready = std::move(pending);
  pending = std::move(item);
  if (ready) return handle(std::move(*ready));
  return LG_OK;
}

// Whether the last packet of a stream in the last file was read whole.
bool Clipper::complete(const InputFile &f, const Track &t, const AVPacket &pkt) const {
  if (pkt.flags & AV_PKT_FLAG_CORRUPT) return false;
  if (t.par->codec_id == AV_CODEC_ID_AAC && pkt.size >= 7 && pkt.data[0] == 0xff &&
      (pkt.data[1] & 0xf6) == 0xf0) {
    // ADTS says how long the frame is.
    const int length = ((pkt.data[3] & 0x03) << 11) | (pkt.data[4] << 3) | (pkt.data[5] >> 5);
    return length == pkt.size;
  }
  // An MPEG-TS PES of unbounded length (video) ends only where the next one
  // begins: at a cut, its last packet is of unknown length.
  if (f.ts && f.size % kTsPacketSize != 0) return false;
  return true;
}

lg_status Clipper::flush_pending(const InputFile &f) {
  // In read order, so that the GOP logic sees what it would have seen.
  std::vector<Item> items;
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (!pending_[i]) continue;
    if (!f.last || complete(f, tracks_[i], *pending_[i]->pkt)) {
      items.push_back(std::move(*pending_[i]));
    }
    pending_[i].reset();
  }
  std::sort(items.begin(), items.end(),
            [](const Item &a, const Item &b) { return a.dts_us < b.dts_us; });
  for (auto &item : items) {
    if (lg_status s = handle(std::move(item)); s != LG_OK) return s;
  }
  return LG_OK;
}

void Clipper::prune(int64_t before_us) {
  std::erase_if(gop_, [&](const Item &item) {
    const bool drop = item.pkt->stream_index == key_track_ || item.pts_us < before_us;
    if (drop) gop_bytes_ -= static_cast<size_t>(item.pkt->size);
    return drop;
  });
}

lg_status Clipper::handle(Item item) {
  recorded_end_us_ = std::max(recorded_end_us_, item.pts_us + item.dur_us);
  if (started_) return emit(std::move(item));
  const bool key_stream = item.pkt->stream_index == key_track_;
  const bool key =
      key_stream && (tracks_[static_cast<size_t>(key_track_)].type == AVMEDIA_TYPE_AUDIO ||
                     (item.pkt->flags & AV_PKT_FLAG_KEY));
  if (key_stream) {
    const int64_t dts_us = item.dts_us;
    if (key && (!candidate_ || item.pts_us <= start_us_)) {
      candidate_ = true;
      kf_pts_ = item.pkt->pts;
      kf_pts_us_ = item.pts_us;
      kf_delay_us_ = std::max<int64_t>(0, item.pts_us - item.dts_us);
      prune(kf_pts_us_);
    } else if (key) {
      // The first keyframe after start_ms: the candidate before it stands.
      if (lg_status s = commit(); s != LG_OK) return s;
      return emit(std::move(item));
    } else if (!candidate_) {
      // Before the first keyframe: undecodable. Audio before it is too early
      // for any keyframe still to come.
      prune(dts_us);
      return LG_OK;
    }
    gop_bytes_ += static_cast<size_t>(item.pkt->size);
    gop_.push_back(std::move(item));
    // Every later packet decodes after this one and presents no earlier.
    if (dts_us > start_us_) return commit();
  } else {
    if (candidate_ && item.pts_us < kf_pts_us_) return LG_OK;
    gop_bytes_ += static_cast<size_t>(item.pkt->size);
    gop_.push_back(std::move(item));
  }
  if (gop_bytes_ > kClipMaxBufferedBytes) {
    return fail(LG_E_LIMIT, "more than " + std::to_string(kClipMaxBufferedBytes >> 20) +
                                " MiB between the keyframe before the start and the start: "
                                "keyframes too far apart");
  }
  return LG_OK;
}

lg_status Clipper::commit() {
  started_ = true;
  const Track &key = tracks_[static_cast<size_t>(key_track_)];
  for (auto &t : tracks_) t.zero = av_rescale_q(kf_pts_, key.tb, t.tb);
  if (lg_status s = open_output(); s != LG_OK) return s;
  std::deque<Item> items = std::move(gop_);
  gop_.clear();
  gop_bytes_ = 0;
  for (auto &item : items) {
    if (lg_status s = emit(std::move(item)); s != LG_OK) return s;
  }
  return LG_OK;
}

lg_status Clipper::open_output() {
  AVFormatContext *raw = nullptr;
  int rc = avformat_alloc_output_context2(&raw, mp4_, nullptr, part_.path().c_str());
  if (rc < 0 || !raw) {
    return fail(LG_E_IO, "cannot set up the MP4 muxer for " + in_quotes(part_.path()) + ": " +
                             av_error(rc < 0 ? rc : AVERROR(ENOMEM)));
  }
  out_.reset(raw);
  for (auto &t : tracks_) {
    AVStream *st = avformat_new_stream(raw, nullptr);
    if (!st) throw std::bad_alloc();
    t.out_index = st->index;
    const AVCodecParameters *par = t.par.get();
    // MPEG-TS carries AAC with ADTS headers; MP4 wants raw frames and an
    // AudioSpecificConfig, which the filter also provides.
    if (par->codec_id == AV_CODEC_ID_AAC && par->extradata_size == 0) {
      const AVBitStreamFilter *filter = av_bsf_get_by_name("aac_adtstoasc");
      AVBSFContext *bsf = nullptr;
      if (!filter || av_bsf_alloc(filter, &bsf) < 0) {
        return fail(LG_E_UNSUPPORTED, "this libavcodec has no aac_adtstoasc filter");
      }
      t.bsf.reset(bsf);
      if (avcodec_parameters_copy(bsf->par_in, par) < 0) throw std::bad_alloc();
      bsf->time_base_in = t.tb;
      if ((rc = av_bsf_init(bsf)) < 0) {
        return fail(LG_E_UNSUPPORTED, "cannot set up aac_adtstoasc: " + av_error(rc));
      }
      par = bsf->par_out;
    }
    if (avcodec_parameters_copy(st->codecpar, par) < 0) throw std::bad_alloc();
    // As ffmpeg does: keep the input's tag only where MP4 knows it for this codec.
    unsigned tag = 0;
    if (av_codec_get_id(mp4_->codec_tag, par->codec_tag) != par->codec_id &&
        av_codec_get_tag2(mp4_->codec_tag, par->codec_id, &tag)) {
      st->codecpar->codec_tag = 0;
    }
    st->time_base = t.tb;
  }
  if ((rc = avio_open(&raw->pb, part_.path().c_str(), AVIO_FLAG_WRITE)) < 0) {
    return fail(LG_E_IO, "cannot create " + in_quotes(part_.path()) + ": " + av_error(rc));
  }
  AVDictionary *opts = nullptr;
  av_dict_set(&opts, "movflags", "+faststart", 0);
  rc = avformat_write_header(raw, &opts);
  av_dict_free(&opts);
  if (rc < 0) {
    return fail(LG_E_IO,
                "cannot write the MP4 header to " + in_quotes(part_.path()) + ": " + av_error(rc));
  }
  return LG_OK;
}

lg_status Clipper::emit(Item item) {
  Track &t = tracks_[static_cast<size_t>(item.pkt->stream_index)];
  if (t.done) return LG_OK;
  AVPacket *pkt = item.pkt.get();
  // Before the first keyframe in presentation order: leading pictures of an
  // open GOP, or audio from before the picture.
  if (pkt->pts < t.zero) return LG_OK;
  // Video is cut in decode order, so that every picture kept can be decoded;
  // shifted by the reorder delay, the cut falls where presentation reaches end.
  const int64_t edge_us = t.type == AVMEDIA_TYPE_VIDEO ? item.dts_us + kf_delay_us_ : item.pts_us;
  if (edge_us >= end_us_) {
    t.done = true;
    return LG_OK;
  }
  pkt->dts -= t.zero;
  pkt->pts -= t.zero;
  t.out_end_us = std::max(t.out_end_us, item.pts_us - kf_pts_us_ + item.dur_us);
  if (!t.bsf) return write(t, pkt);
  int rc = av_bsf_send_packet(t.bsf.get(), pkt);
  if (rc < 0) {
    return fail(LG_E_IO, "cannot convert an ADTS frame to MP4: " + av_error(rc));
  }
  for (;;) {
    PacketPtr out = new_packet();
    rc = av_bsf_receive_packet(t.bsf.get(), out.get());
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return LG_OK;
    if (rc < 0) {
      return fail(LG_E_IO, "cannot convert an ADTS frame to MP4: " + av_error(rc));
    }
    if (lg_status s = write(t, out.get()); s != LG_OK) return s;
  }
}

lg_status Clipper::write(Track &t, AVPacket *pkt) {
  AVStream *st = out_->streams[t.out_index];
  av_packet_rescale_ts(pkt, t.tb, st->time_base);
  pkt->stream_index = t.out_index;
  // A coarser muxer time base could fold two timestamps into one.
  if (t.last_written != kNone && pkt->dts <= t.last_written) return LG_OK;
  t.last_written = pkt->dts;
  const int rc = av_interleaved_write_frame(out_.get(), pkt);
  if (rc < 0) {
    return fail(LG_E_IO, "cannot write to " + in_quotes(part_.path()) + ": " + av_error(rc));
  }
  ++t.frames;
  return LG_OK;
}

lg_status Clipper::finish(ClipResult &result) {
  if (!started_) {
    if (!candidate_ || recorded_end_us_ <= start_us_) {
      return fail(LG_E_NOT_FOUND, recorded_end_us_ == kNone
                                      ? "no audio or video packet in the recording"
                                      : "nothing recorded at " + std::to_string(range_.start_ms) +
                                            " ms: the recording spans " +
                                            std::to_string(std::max<int64_t>(
                                                0, (recorded_end_us_ - base_us_) / 1000)) +
                                            " ms");
    }
    if (lg_status s = commit(); s != LG_OK) return s;
  }
  uint64_t frames = 0;
  for (const auto &t : tracks_) frames += t.frames;
  if (frames == 0) {
    return fail(LG_E_NOT_FOUND, "nothing recorded between " + std::to_string(range_.start_ms) +
                                    " and " + std::to_string(range_.end_ms) + " ms");
  }
  int rc = av_write_trailer(out_.get());
  if (rc < 0) {
    return fail(LG_E_IO, "cannot finish " + in_quotes(part_.path()) + ": " + av_error(rc));
  }
  if ((rc = avio_closep(&out_->pb)) < 0) {
    return fail(LG_E_IO, "cannot close " + in_quotes(part_.path()) + ": " + av_error(rc));
  }
  out_.reset();
  std::error_code ec;
  std::filesystem::rename(part_.path(), output_, ec);
  if (ec) {
    return fail(LG_E_IO, "cannot rename " + in_quotes(part_.path()) + " to " + in_quotes(output_) +
                             ": " + ec.message());
  }
  const auto size = std::filesystem::file_size(output_, ec);
  result = {};
  result.start_ms = (kf_pts_us_ - base_us_) / 1000;
  for (const auto &t : tracks_) {
    result.duration_ms = std::max(result.duration_ms, t.out_end_us / 1000);
    (t.type == AVMEDIA_TYPE_VIDEO ? result.video_frames : result.audio_frames) += t.frames;
  }
  result.bytes = ec ? 0 : static_cast<uint64_t>(size);
  return LG_OK;
}

lg_status Clipper::run(std::span<const std::string> inputs, ClipResult &result) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    InputFile f;
    f.path = inputs[i];
    f.last = i + 1 == inputs.size();
    if (lg_status s = open_input(f); s != LG_OK) {
      // A file cut before the end of its header (an init segment being
      // written) has nothing complete in it. A missing file is an error.
      if (f.last && s == LG_E_IO && i > 0) {
        error_.clear();
        break;
      }
      return s;
    }
    if (i == 0) {
      if (lg_status s = setup_tracks(f); s != LG_OK) return s;
    }
    if (lg_status s = read_file(f, !have_base_); s != LG_OK) return s;
    if (started_ && all_done()) break;
  }
  return finish(result);
}

}  // namespace

lg_status make_clip(std::span<const std::string> inputs, ClipRange range, const std::string &output,
                    ClipResult &result, std::string &error) {
  error.clear();
  result = {};
  if (output.empty()) {
    error = "no output path";
    return LG_E_INVALID_ARG;
  }
  if (range.start_ms < 0 || range.end_ms < -1 ||
      (range.end_ms >= 0 && range.end_ms <= range.start_ms) ||
      range.start_ms > std::numeric_limits<int64_t>::max() / 2000 ||
      range.end_ms > std::numeric_limits<int64_t>::max() / 2000) {
    error = "bad range [" + std::to_string(range.start_ms) + ", " + std::to_string(range.end_ms) +
            ") ms: need 0 <= start < end, or end -1";
    return LG_E_INVALID_ARG;
  }
  if (inputs.empty()) {
    error = "no input files";
    return LG_E_NOT_FOUND;
  }
  try {
    Clipper clipper(range, output, error);
    return clipper.run(inputs, result);
  } catch (const std::bad_alloc &) {
    error = "out of memory";
    return LG_E_NOMEM;
  }
}

}  // namespace lg::record
