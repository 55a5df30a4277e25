#include "ingest/srt_connection.h"

#include "ingest/server.h"
#include "srt/listener.h"
#include "url/srt_stream_id.h"

namespace lg::ingest {

namespace {

media::TsDemuxLimits limits_for(const ServerConfig &config) {
  media::TsDemuxLimits limits;
  limits.max_pes_size = config.max_message_size;
  limits.max_pids = config.max_ts_streams;
  return limits;
}

// Audio-only streams are released after this much media time.
constexpr int64_t kMaxHoldUs = 2'000'000;
constexpr size_t kMaxHeldFrames = 512;

}  // namespace

SrtConnection::SrtConnection(Server &server, uint64_t id, srt::Listener &listener, uint64_t srt_id,
                             std::string stream_id, std::string remote_address)
    : Connection(server, id, Protocol::Srt, std::move(remote_address)),
      listener_(&listener),
      srt_id_(srt_id),
      stream_id_(std::move(stream_id)),
      demuxer_(*this, limits_for(server.config())) {}

SrtConnection::~SrtConnection() {
  if (listener_) listener_->close(srt_id_);
}

void SrtConnection::start() {
  url::PublishTarget target;
  url::StreamIdRefusal refusal;
  std::string error;
  // The listen callback has already checked the stream id; this repeats it
  // for the target and guards against a stream id libsrt changed since.
  if (!url::parse_srt_stream_id(stream_id_, target, refusal, error)) {
    refuse_target(LG_E_URL, error, {});
    return;
  }
  request_publish(std::move(target));
}

void SrtConnection::on_data(std::vector<uint8_t> bytes) {
  if (ended()) return;
  count_bytes(bytes.size());
  // libsrt forgets a socket's numbers once it breaks: keep them fresh for
  // the session's final stats.
  if (last_data_ms_ - stats_read_ms_ >= 1000 && listener_) {
    stats_read_ms_ = last_data_ms_;
    srt::TransportStats fresh;
    if (listener_->stats(srt_id_, fresh)) transport_ = fresh;
  }
  if (!publishing()) {
    const size_t limit = server_.config().max_message_size;
    if (early_.size() + bytes.size() > limit) {
      early_overflow_ = true;  // the demuxer resynchronises on what follows
      early_.clear();
    }
    early_.insert(early_.end(), bytes.begin(), bytes.end());
    return;
  }
  demuxer_.feed(bytes);
}

void SrtConnection::on_closed(lg_status status, std::string reason,
                              const srt::TransportStats &last) {
  if (ended()) return;
  listener_ = nullptr;  // the listener already closed the socket
  if (last.valid) transport_ = last;
  if (publishing()) {
    demuxer_.flush();
    flush_held();
  }
  end(status, std::move(reason));
}

void SrtConnection::on_accepted() {
  std::vector<uint8_t> early;
  early.swap(early_);
  if (early_overflow_) {
    server_.log().warn(
        "srt {}: {} bytes arrived before the publish was authorised; the oldest "
        "were dropped",
        info_.remote_address, server_.config().max_message_size);
  }
  if (!early.empty()) demuxer_.feed(early);
}

void SrtConnection::close_transport() {
  if (listener_) listener_->close(srt_id_);
  listener_ = nullptr;
}

void SrtConnection::add_transport_stats(Stats &stats) const {
  stats.srt.valid = true;
  srt::TransportStats fresh;
  if (listener_ && listener_->stats(srt_id_, fresh)) transport_ = fresh;
  stats.srt.transport = transport_;
  stats.srt.ts_continuity_errors = demuxer_.counters().cc_errors;
  stats.srt.ts_dropped_pes = demuxer_.counters().dropped_pes;
}

void SrtConnection::on_ts_video_params(const media::VideoParams &params) {
  info_.video = params;
}

void SrtConnection::on_ts_audio_params(const media::AudioParams &params) {
  info_.audio = params;
}

void SrtConnection::on_ts_frame(const media::Frame &in) {
  if (!publishing()) return;
  media::Frame frame = in;
  // MPEG-TS clocks start anywhere; the session's timeline starts at its
  // first frame, as an RTMP one does.
  if (!have_base_) {
    have_base_ = true;
    base_us_ = frame.dts_us;
  }
  frame.dts_us -= base_us_;
  frame.pts_us -= base_us_;
  if (releasing_) {
    emit_frame(frame);
    return;
  }
  held_.push_back(std::move(frame));
  if (ready_to_release()) flush_held();
}

// publish_start carries the codec parameters, as RTMP's does (its sequence
// headers come first): frames wait until every stream the PMT announces has
// reported them, or until a bound says a stream will not.
bool SrtConnection::ready_to_release() const {
  if (held_.size() >= kMaxHeldFrames) return true;
  if (held_.back().dts_us - held_.front().dts_us >= kMaxHoldUs) return true;
  bool video_listed = false, audio_listed = false;
  for (const auto &s : demuxer_.streams()) {
    if (!s.used) continue;
    // 0x0f, AAC in ADTS, is the only audio stream type the demuxer takes.
    (s.stream_type == 0x0f ? audio_listed : video_listed) = true;
  }
  const bool video_ok = !video_listed || info_.video.codec != media::Codec::Unknown;
  const bool audio_ok = !audio_listed || info_.audio.codec != media::Codec::Unknown;
  return video_ok && audio_ok;
}

void SrtConnection::flush_held() {
  releasing_ = true;
  while (!held_.empty() && !ended()) {
    media::Frame frame = std::move(held_.front());
    held_.pop_front();
    emit_frame(frame);
  }
  held_.clear();
}

}  // namespace lg::ingest
