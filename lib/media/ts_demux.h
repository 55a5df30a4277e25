// MPEG-2 transport stream demultiplexer (ISO/IEC 13818-1) for live ingest.
//
// Turns a byte stream of 188-byte TS packets, cut anywhere, into Frames of the
// first program's first H.264/HEVC stream and first AAC (ADTS) stream. The
// demuxer does no I/O and never throws: whatever the input, it counts what it
// could not use and carries on, with memory bounded by TsDemuxLimits.
//
// Feeding the same bytes in any split (a byte at a time or all at once) calls
// the handler with the same sequence of arguments.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "media/frame.h"

namespace lg::media {

struct TsDemuxLimits {
  // A PES longer than this is dropped; its buffer never grows beyond it.
  size_t max_pes_size = size_t{8} << 20;
  // Elementary streams of one PMT that are looked at (and kept in streams());
  // later entries are skipped.
  size_t max_pids = 32;
};

struct TsDemuxCounters {
  uint64_t packets = 0;            // TS packets accepted (sync byte in place)
  uint64_t bytes = 0;              // bytes fed
  uint64_t sync_losses = 0;        // bytes skipped to find or regain 0x47 sync
  uint64_t cc_errors = 0;          // continuity_counter gaps on the PIDs in use
  uint64_t duplicate_packets = 0;  // repeated packets (same continuity_counter) discarded
  uint64_t transport_errors = 0;   // packets with transport_error_indicator set
  uint64_t malformed_packets = 0;  // bad adaptation_field_length or adaptation_field_control
  uint64_t section_errors = 0;     // PAT/PMT sections dropped: CRC, length or syntax
  uint64_t dropped_pes = 0;        // incomplete, oversized or corrupt PES packets
  uint64_t frames_video = 0;       // Frames emitted
  uint64_t frames_audio = 0;
  // Access units dropped because their parameters (or, for audio, a PTS to
  // place them) were not known yet.
  uint64_t frames_before_config = 0;
  uint64_t adts_errors = 0;             // ADTS junk skipped or frames that could not be used
  uint64_t unsupported_streams = 0;     // PMT entries of a type not handled, once per PID
  uint64_t pmt_streams_over_limit = 0;  // PMT entries beyond TsDemuxLimits::max_pids
  // How many times the 33-bit clock wrapped, in the stream that saw the most
  // wraps (audio and video wrap together: one wrap of the program counts once).
  uint64_t timestamp_wraps = 0;
};

// An elementary stream listed in the current PMT.
struct TsStreamInfo {
  uint16_t pid = 0;
  uint8_t stream_type = 0;
  bool used = false;  // the video or audio stream frames come from
};

class TsDemuxer {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Called before the first video frame and whenever the parameter sets change.
    virtual void on_ts_video_params(const VideoParams &params) = 0;
    // Called before the first audio frame and whenever the ADTS configuration changes.
    virtual void on_ts_audio_params(const AudioParams &params) = 0;
    // The frame's buffer may be kept: it is never written to again.
    virtual void on_ts_frame(const Frame &frame) = 0;
  };

  explicit TsDemuxer(Handler &handler, TsDemuxLimits limits = {});

  void feed(std::span<const uint8_t> bytes);

  // End of stream: completes the PES packet each stream is collecting (one
  // with PES_packet_length 0 otherwise ends only at the next unit start).
  // If the input ended inside a TS packet, that packet is dropped and so is
  // any PES without a length still being collected, since its end may be
  // missing. Feeding afterwards starts by looking for sync again, with the
  // program and parameters already known.
  void flush();

  const TsDemuxCounters &counters() const { return counters_; }
  // The elementary streams of the current PMT (at most max_pids of them).
  const std::vector<TsStreamInfo> &streams() const { return streams_; }

 private:
  struct Section {
    std::vector<uint8_t> data;
    bool active = false;
  };

  // The 33-bit 90 kHz clock of one stream mapped onto a 64-bit timeline.
  struct Unwrapper {
    bool started = false;
    int64_t last = 0;       // last unwrapped value: the reference for the next one
    int64_t max_cycle = 0;  // wraps seen so far
    int64_t unwrap(uint64_t ts33);
  };

  struct PidState {
    int cc = -1;  // last continuity_counter, -1 when unknown
    bool duplicate_seen = false;
  };

  // A PID value no packet carries (PIDs have 13 bits).
  static constexpr uint16_t kNoPid = 0xffff;

  struct Pes {
    uint16_t pid = kNoPid;
    uint8_t stream_type = 0;
    PidState cont;
    std::vector<uint8_t> buf;
    bool active = false;        // collecting: the unit start was seen and nothing lost since
    bool length_known = false;  // the 6-byte PES header prefix has been checked
    size_t expected = 0;        // total size from PES_packet_length, 0 if unbounded
  };

  struct Timing {
    bool has_pts = false;
    int64_t pts = 0;  // unwrapped 90 kHz ticks
    int64_t dts = 0;
  };

  void process_packet(std::span<const uint8_t, 188> packet);
  bool check_continuity(PidState &state, uint8_t cc, bool has_payload, bool discontinuity,
                        bool &lost);
  void feed_section(uint16_t pid, Section &section, bool unit_start,
                    std::span<const uint8_t> payload);
  void append_section_bytes(uint16_t pid, Section &section, std::span<const uint8_t> &bytes);
  void handle_section(uint16_t pid, std::span<const uint8_t> section);
  void handle_pat(std::span<const uint8_t> section);
  void handle_pmt(std::span<const uint8_t> section);
  void set_stream(Pes &pes, uint16_t pid, uint8_t stream_type);

  void feed_pes(Pes &pes, bool unit_start, std::span<const uint8_t> payload);
  void drop_pes(Pes &pes);
  void finish_pes(Pes &pes);
  void handle_video(Pes &pes, std::span<const uint8_t> es, const Timing &timing);
  void handle_audio(Pes &pes, std::span<const uint8_t> es, const Timing &timing);
  void reset_audio_tail();

  Handler &handler_;
  TsDemuxLimits limits_;
  TsDemuxCounters counters_;

  // Input not yet consumed: at most a packet plus the byte that confirms sync.
  std::vector<uint8_t> pending_;
  bool synced_ = false;

  PidState pat_cont_;
  Section pat_section_;
  int pmt_pid_ = -1;
  int program_number_ = -1;
  int pmt_version_ = -1;
  PidState pmt_cont_;
  Section pmt_section_;
  std::vector<TsStreamInfo> streams_;
  std::bitset<8192> unsupported_seen_;

  Pes video_;
  Pes audio_;
  Unwrapper video_clock_;
  Unwrapper audio_clock_;

  // Video: the latest parameter sets seen and those last reported.
  std::vector<uint8_t> vps_, sps_, pps_;
  std::vector<uint8_t> reported_vps_, reported_sps_, reported_pps_;
  bool video_params_reported_ = false;

  // Audio: the configuration last reported, and an ADTS frame cut by the end
  // of the previous PES with the timeline it belongs to.
  int audio_object_type_ = 0;
  int audio_rate_ = 0;
  int audio_channels_ = 0;
  std::vector<uint8_t> adts_tail_;
  bool audio_timeline_ = false;  // audio_base_/audio_index_ are valid
  int64_t audio_base_us_ = 0;    // the timestamp of the last PES with a PTS
  int64_t audio_index_ = 0;      // access units since then
};

}  // namespace lg::media
