#include "media/ts_demux.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "media/aac.h"
#include "media/bytes.h"
#include "media/h264.h"
#include "media/hevc.h"

namespace lg::media {

namespace {

constexpr size_t kPacketSize = 188;
constexpr uint8_t kSyncByte = 0x47;
constexpr uint16_t kPatPid = 0x0000;
constexpr uint16_t kNullPid = 0x1fff;

// PAT and PMT sections may not be longer than this (13818-1 2.4.4.5, 2.4.4.9).
constexpr size_t kMaxSectionLength = 1021;
constexpr size_t kSectionHeaderSize = 3;

constexpr uint8_t kStreamTypeAacAdts = 0x0f;
constexpr uint8_t kStreamTypeH264 = 0x1b;
constexpr uint8_t kStreamTypeHevc = 0x24;

constexpr int64_t kClockWrap = int64_t{1} << 33;
// About 1600 years at 90 kHz, far from overflowing when scaled to microseconds.
constexpr int64_t kMaxTimeline = int64_t{1} << 52;

// Bytes fed are buffered in slices of this size, so a huge feed() does not
// double its memory in the pending buffer.
constexpr size_t kFeedSlice = 64 * 1024;

// AAC access units hold 1024 samples per channel at the ADTS sampling rate.
constexpr int64_t kAacSamplesPerFrame = 1024;

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i << 24;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04c11db7u : crc << 1;
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

// CRC-32/MPEG-2: run over a whole section including its CRC_32 field, it
// yields 0 when the section is intact.
uint32_t crc32_mpeg2(std::span<const uint8_t> data) {
  uint32_t crc = 0xffffffffu;
  for (uint8_t b : data) crc = (crc << 8) ^ kCrcTable[((crc >> 24) ^ b) & 0xff];
  return crc;
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t ticks_to_us(int64_t ticks) {
  return floor_div(ticks * 100, 9);
}

uint64_t read_timestamp(std::span<const uint8_t> p) {
  return (uint64_t{p[0] & 0x0eu} << 29) | (uint64_t{p[1]} << 22) | (uint64_t{p[2] & 0xfeu} << 14) |
         (uint64_t{p[3]} << 7) | (uint64_t{p[4]} >> 1);
}

// Stream ids whose PES packets have no optional header (13818-1 table 2-21
// and the PES syntax's first condition).
bool pes_has_no_header(uint8_t stream_id) {
  return stream_id == 0xbc || stream_id == 0xbe || stream_id == 0xbf || stream_id == 0xf0 ||
         stream_id == 0xf1 || stream_id == 0xff || stream_id == 0xf2 || stream_id == 0xf8;
}

bool is_handled_stream_type(uint8_t type) {
  return type == kStreamTypeH264 || type == kStreamTypeHevc || type == kStreamTypeAacAdts;
}

bool adts_sync_at(std::span<const uint8_t> data, size_t pos) {
  if (data[pos] != 0xff) return false;
  // A header cut after its first byte may still be one.
  return pos + 1 >= data.size() || (data[pos + 1] & 0xf6) == 0xf0;
}

}  // namespace

int64_t TsDemuxer::Unwrapper::unwrap(uint64_t ts33) {
  const auto ts = static_cast<int64_t>(ts33 & (kClockWrap - 1));
  if (!started) {
    started = true;
    last = ts;
    return ts;
  }
  // The value of the 64-bit timeline nearest to the previous one: a step of
  // more than half the clock range backwards is a wrap, forwards a value
  // from before the wrap (a B-frame's PTS after its successor's DTS wrapped).
  int64_t value = floor_div(last, kClockWrap) * kClockWrap + ts;
  if (value - last > kClockWrap / 2) {
    value -= kClockWrap;
  } else if (last - value > kClockWrap / 2) {
    value += kClockWrap;
  }
  // Input that keeps jumping could otherwise push the timeline towards
  // overflow: start again from the raw value, as after a discontinuity.
  if (value > kMaxTimeline || value < -kMaxTimeline) value = ts;
  last = value;
  max_cycle = std::max(max_cycle, floor_div(value, kClockWrap));
  return value;
}

TsDemuxer::TsDemuxer(Handler &handler, TsDemuxLimits limits) : handler_(handler), limits_(limits) {
  if (limits_.max_pes_size < 16) limits_.max_pes_size = 16;
}

void TsDemuxer::feed(std::span<const uint8_t> bytes) {
  counters_.bytes += bytes.size();
  while (!bytes.empty()) {
    const size_t n = std::min(bytes.size(), kFeedSlice);
    pending_.insert(pending_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    bytes = bytes.subspan(n);

    size_t pos = 0;
    while (pos < pending_.size()) {
      const size_t avail = pending_.size() - pos;
      if (synced_) {
        if (pending_[pos] != kSyncByte) {
          synced_ = false;
          continue;
        }
        if (avail < kPacketSize) break;
        process_packet(std::span<const uint8_t, kPacketSize>(pending_.data() + pos, kPacketSize));
        pos += kPacketSize;
        continue;
      }
      // Out of sync: a 0x47 is trusted only when the next packet starts with
      // one too, so a stray 0x47 in garbage does not fool us.
      if (pending_[pos] != kSyncByte) {
        const auto *found =
            static_cast<const uint8_t *>(std::memchr(pending_.data() + pos, kSyncByte, avail));
        const size_t next = found ? static_cast<size_t>(found - pending_.data()) : pending_.size();
        counters_.sync_losses += next - pos;
        pos = next;
        continue;
      }
      if (avail <= kPacketSize) break;
      if (pending_[pos + kPacketSize] != kSyncByte) {
        ++counters_.sync_losses;
        ++pos;
        continue;
      }
      synced_ = true;
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pos));
  }
}

void TsDemuxer::flush() {
  // Out of sync, the last packet cannot be confirmed by the one after it:
  // accept it when exactly one packet's worth of bytes is left.
  if (!synced_ && !pending_.empty()) {
    const auto *found =
        static_cast<const uint8_t *>(std::memchr(pending_.data(), kSyncByte, pending_.size()));
    if (found && static_cast<size_t>(pending_.data() + pending_.size() - found) == kPacketSize) {
      counters_.sync_losses += static_cast<size_t>(found - pending_.data());
      std::vector<uint8_t> last(found, found + kPacketSize);
      pending_.clear();
      process_packet(std::span<const uint8_t, kPacketSize>(last.data(), kPacketSize));
    }
  }
  // Bytes left over mean the stream was cut inside a packet: a PES without a
  // length may be missing its end, and a truncated access unit must not pass
  // for a whole one.
  const bool cut = !pending_.empty();
  pending_.clear();
  synced_ = false;

  for (Pes *pes : {&video_, &audio_}) {
    if (cut && pes->active && pes->expected == 0) {
      drop_pes(*pes);
    } else {
      finish_pes(*pes);
    }
  }
  video_.cont = {};
  audio_.cont = {};
  reset_audio_tail();
  pat_cont_ = {};
  pmt_cont_ = {};
  pat_section_ = {};
  pmt_section_ = {};
}

void TsDemuxer::process_packet(std::span<const uint8_t, 188> p) {
  ++counters_.packets;
  const bool transport_error = p[1] & 0x80;
  const bool unit_start = p[1] & 0x40;
  const auto pid = static_cast<uint16_t>(((p[1] & 0x1f) << 8) | p[2]);
  const int afc = (p[3] >> 4) & 3;
  const uint8_t cc = p[3] & 0x0f;
  if (pid == kNullPid) return;

  // Only the PIDs in use are looked at any further.
  Section *section = nullptr;
  PidState *state = nullptr;
  Pes *pes = nullptr;
  if (pid == kPatPid) {
    section = &pat_section_;
    state = &pat_cont_;
  } else if (pmt_pid_ >= 0 && pid == pmt_pid_) {
    section = &pmt_section_;
    state = &pmt_cont_;
  } else if (pid == video_.pid) {
    pes = &video_;
    state = &video_.cont;
  } else if (pid == audio_.pid) {
    pes = &audio_;
    state = &audio_.cont;
  } else {
    return;
  }

  // The packet is lost: whatever it carried is a hole in its PID's data.
  auto lose = [&] {
    if (pes) {
      drop_pes(*pes);
    } else {
      section->active = false;
      section->data.clear();
    }
  };

  if (transport_error) {
    ++counters_.transport_errors;
    lose();
    // The loss is accounted for: the next packet's counter is not a new error.
    *state = {};
    return;
  }
  if (afc == 0) {
    // Reserved: decoders discard such packets (13818-1 2.4.3.3).
    ++counters_.malformed_packets;
    return;
  }

  size_t offset = 4;
  bool discontinuity = false;
  if (afc & 2) {
    const size_t length = p[4];
    const size_t max_length = afc == 3 ? 182 : 183;
    if (length > max_length) {
      ++counters_.malformed_packets;
      if (afc == 3) {
        lose();
        *state = {};
      }
      return;
    }
    if (length > 0) discontinuity = p[5] & 0x80;
    offset = 5 + length;
  }
  const bool has_payload = afc & 1;

  bool lost = false;
  if (!check_continuity(*state, cc, has_payload, discontinuity, lost)) return;
  if (lost) lose();
  if (!has_payload) return;

  const auto payload = std::span<const uint8_t>(p).subspan(offset);
  if (pes) {
    feed_pes(*pes, unit_start, payload);
  } else {
    feed_section(pid, *section, unit_start, payload);
  }
}

bool TsDemuxer::check_continuity(PidState &state, uint8_t cc, bool has_payload, bool discontinuity,
                                 bool &lost) {
  // The counter only advances with payload; packets without one are not
  // checked, as real muxers disagree on what they carry.
  if (!has_payload) return true;
  if (discontinuity || state.cc < 0) {
    state.cc = cc;
    state.duplicate_seen = false;
    return true;
  }
  if (cc == state.cc) {
    // One repetition of a packet is allowed (13818-1 2.4.3.3) and carries
    // nothing new; a second one is an error.
    if (!state.duplicate_seen) {
      state.duplicate_seen = true;
      ++counters_.duplicate_packets;
      return false;
    }
    ++counters_.cc_errors;
    lost = true;
    state.duplicate_seen = false;
    return true;
  }
  state.duplicate_seen = false;
  if (cc != ((state.cc + 1) & 0x0f)) {
    ++counters_.cc_errors;
    lost = true;
  }
  state.cc = cc;
  return true;
}

// ---------------------------------------------------------------------------
// PSI sections

void TsDemuxer::feed_section(uint16_t pid, Section &section, bool unit_start,
                             std::span<const uint8_t> payload) {
  if (!unit_start) {
    if (section.active) append_section_bytes(pid, section, payload);
    return;
  }
  if (payload.empty()) return;
  const size_t pointer = payload[0];
  payload = payload.subspan(1);
  if (pointer > payload.size()) {
    ++counters_.section_errors;
    section.active = false;
    section.data.clear();
    return;
  }
  if (section.active) {
    auto head = payload.first(pointer);
    append_section_bytes(pid, section, head);
    if (section.active) {
      // The next section starts here, so this one cannot be complete.
      ++counters_.section_errors;
      section.active = false;
      section.data.clear();
    }
  }
  payload = payload.subspan(pointer);
  // Several sections may follow each other; 0xff bytes are stuffing to the
  // end of the packet.
  while (!payload.empty() && payload[0] != 0xff) {
    section.data.clear();
    section.active = true;
    append_section_bytes(pid, section, payload);
    if (section.active) break;
  }
}

void TsDemuxer::append_section_bytes(uint16_t pid, Section &section,
                                     std::span<const uint8_t> &bytes) {
  auto take = [&](size_t n) {
    n = std::min(n, bytes.size());
    section.data.insert(section.data.end(), bytes.begin(),
                        bytes.begin() + static_cast<std::ptrdiff_t>(n));
    bytes = bytes.subspan(n);
  };
  if (section.data.size() < kSectionHeaderSize) {
    take(kSectionHeaderSize - section.data.size());
    if (section.data.size() < kSectionHeaderSize) return;
  }
  const size_t length = ((size_t{section.data[1]} & 0x0f) << 8) | section.data[2];
  if (length > kMaxSectionLength) {
    ++counters_.section_errors;
    section.active = false;
    section.data.clear();
    // Where the next section would start is unknown.
    bytes = {};
    return;
  }
  const size_t total = kSectionHeaderSize + length;
  take(total - section.data.size());
  if (section.data.size() < total) return;
  section.active = false;
  const std::vector<uint8_t> complete = std::move(section.data);
  section.data.clear();
  handle_section(pid, complete);
}

void TsDemuxer::handle_section(uint16_t pid, std::span<const uint8_t> s) {
  // Other tables may share these PIDs; they are none of our business.
  const uint8_t table_id = s[0];
  const bool pat = pid == kPatPid && table_id == 0x00;
  const bool pmt = pid != kPatPid && table_id == 0x02;
  if (!pat && !pmt) return;
  // section_syntax_indicator, then room for the long form's 5 header bytes
  // and the CRC.
  if (s.size() < kSectionHeaderSize + 5 + 4 || !(s[1] & 0x80) || crc32_mpeg2(s) != 0) {
    ++counters_.section_errors;
    return;
  }
  if (pat) {
    handle_pat(s);
  } else {
    handle_pmt(s);
  }
}

void TsDemuxer::handle_pat(std::span<const uint8_t> s) {
  const bool current = s[5] & 1;
  const uint8_t section_number = s[6];
  // The first program is in the first section.
  if (!current || section_number != 0) return;
  const size_t end = s.size() - 4;
  for (size_t pos = 8; pos + 4 <= end; pos += 4) {
    const uint16_t program = read_u16(s, pos);
    const auto pid = static_cast<uint16_t>(read_u16(s, pos + 2) & 0x1fff);
    if (program == 0) continue;  // the network PID
    if (pid == kPatPid || pid == kNullPid) {
      ++counters_.section_errors;
      return;
    }
    if (pid != pmt_pid_ || program != program_number_) {
      pmt_pid_ = pid;
      program_number_ = program;
      pmt_version_ = -1;
      pmt_cont_ = {};
      pmt_section_ = {};
    }
    return;
  }
}

void TsDemuxer::handle_pmt(std::span<const uint8_t> s) {
  const uint16_t program = read_u16(s, 3);
  // Another program's PMT may share the PID.
  if (program != program_number_) return;
  const bool current = s[5] & 1;
  const int version = (s[5] >> 1) & 0x1f;
  if (!current || version == pmt_version_) return;
  if (s[6] != 0 || s[7] != 0 || s.size() < 16) {
    ++counters_.section_errors;
    return;
  }
  const size_t end = s.size() - 4;
  const size_t program_info_length = read_u16(s, 10) & 0x0fff;
  if (program_info_length > end - 12) {
    ++counters_.section_errors;
    return;
  }
  // Check the whole loop before acting on any of it.
  size_t pos = 12 + program_info_length;
  size_t entries = 0;
  while (end - pos >= 5) {
    const size_t es_info_length = read_u16(s, pos + 3) & 0x0fff;
    pos += 5;
    if (es_info_length > end - pos) {
      ++counters_.section_errors;
      return;
    }
    pos += es_info_length;
    ++entries;
  }
  if (pos != end) {
    ++counters_.section_errors;
    return;
  }

  pmt_version_ = version;
  streams_.clear();
  // Reserved up front: besides saving reallocations, this keeps GCC 12 at
  // -O2 from a false -Wstringop-overflow on the push_back below.
  streams_.reserve(std::min<size_t>(limits_.max_pids, 256));
  uint16_t video_pid = kNoPid, audio_pid = kNoPid;
  uint8_t video_type = 0, audio_type = 0;
  pos = 12 + program_info_length;
  for (size_t i = 0; i < entries; ++i) {
    const uint8_t type = s[pos];
    const auto pid = static_cast<uint16_t>(read_u16(s, pos + 1) & 0x1fff);
    pos += 5 + (read_u16(s, pos + 3) & 0x0fff);
    if (streams_.size() >= limits_.max_pids) {
      ++counters_.pmt_streams_over_limit;
      continue;
    }
    // These PIDs are taken; a stream on one of them could not be told apart.
    if (pid == kPatPid || pid == kNullPid || pid == pmt_pid_) continue;
    TsStreamInfo info{pid, type, false};
    if (!is_handled_stream_type(type)) {
      if (!unsupported_seen_.test(pid)) {
        unsupported_seen_.set(pid);
        ++counters_.unsupported_streams;
      }
    } else if (video_pid == kNoPid && (type == kStreamTypeH264 || type == kStreamTypeHevc) &&
               pid != audio_pid) {
      video_pid = pid;
      video_type = type;
      info.used = true;
    } else if (audio_pid == kNoPid && type == kStreamTypeAacAdts && pid != video_pid) {
      audio_pid = pid;
      audio_type = type;
      info.used = true;
    }
    streams_.push_back(info);
  }
  set_stream(video_, video_pid, video_type);
  set_stream(audio_, audio_pid, audio_type);
}

void TsDemuxer::set_stream(Pes &pes, uint16_t pid, uint8_t stream_type) {
  if (pes.pid == pid && pes.stream_type == stream_type) return;
  // The old stream ended with the PMT that dropped it.
  finish_pes(pes);
  const uint8_t old_type = pes.stream_type;
  pes.pid = pid;
  pes.stream_type = stream_type;
  pes.cont = {};
  pes.buf.clear();
  pes.active = false;
  if (&pes == &video_) {
    if (old_type != stream_type) {
      vps_.clear();
      sps_.clear();
      pps_.clear();
      reported_vps_.clear();
      reported_sps_.clear();
      reported_pps_.clear();
      video_params_reported_ = false;
    }
  } else {
    reset_audio_tail();
    audio_timeline_ = false;
  }
}

// ---------------------------------------------------------------------------
// PES packets

void TsDemuxer::feed_pes(Pes &pes, bool unit_start, std::span<const uint8_t> payload) {
  if (unit_start) {
    finish_pes(pes);
    pes.buf.clear();
    pes.active = true;
    pes.length_known = false;
    pes.expected = 0;
  } else if (!pes.active) {
    return;  // waiting for the start of a PES packet
  }
  if (payload.size() > limits_.max_pes_size - pes.buf.size()) {
    drop_pes(pes);
    return;
  }
  const size_t needed = pes.buf.size() + payload.size();
  if (needed > pes.buf.capacity()) {
    // Grow geometrically, but never past the limit.
    pes.buf.reserve(std::min(std::max(needed, 2 * pes.buf.capacity()), limits_.max_pes_size));
  }
  pes.buf.insert(pes.buf.end(), payload.begin(), payload.end());
  if (pes.buf.size() >= 3 && !(pes.buf[0] == 0 && pes.buf[1] == 0 && pes.buf[2] == 1)) {
    drop_pes(pes);
    return;
  }
  if (!pes.length_known && pes.buf.size() >= 6) {
    pes.length_known = true;
    const size_t length = read_u16(pes.buf, 4);
    if (length != 0) {
      pes.expected = 6 + length;
      if (pes.expected > limits_.max_pes_size) {
        drop_pes(pes);
        return;
      }
    }
  }
  // A PES with a length is complete as soon as it is full, without waiting
  // for the next unit start.
  if (pes.expected != 0 && pes.buf.size() >= pes.expected) finish_pes(pes);
}

void TsDemuxer::drop_pes(Pes &pes) {
  if (pes.active) ++counters_.dropped_pes;
  pes.active = false;
  pes.buf.clear();
  // The next ADTS frame cannot continue a cut one across the hole.
  if (&pes == &audio_) adts_tail_.clear();
}

void TsDemuxer::finish_pes(Pes &pes) {
  if (!pes.active) return;
  const auto &b = pes.buf;
  if (b.size() < 6) return drop_pes(pes);
  const size_t length = read_u16(b, 4);
  size_t end = b.size();
  if (length != 0) {
    if (6 + length > b.size()) return drop_pes(pes);  // cut short
    end = 6 + length;
  }
  const uint8_t stream_id = b[3];
  if (pes_has_no_header(stream_id) || end < 9 || (b[6] & 0xc0) != 0x80) return drop_pes(pes);
  const int pts_dts_flags = b[7] >> 6;
  const size_t header_length = b[8];
  if (header_length > end - 9 || pts_dts_flags == 1) return drop_pes(pes);
  if ((pts_dts_flags == 2 && header_length < 5) || (pts_dts_flags == 3 && header_length < 10)) {
    return drop_pes(pes);
  }

  Unwrapper &clock = &pes == &video_ ? video_clock_ : audio_clock_;
  Timing timing;
  if (pts_dts_flags & 2) {
    const uint64_t pts = read_timestamp(std::span<const uint8_t>(b).subspan(9, 5));
    const uint64_t dts =
        pts_dts_flags == 3 ? read_timestamp(std::span<const uint8_t>(b).subspan(14, 5)) : pts;
    timing.has_pts = true;
    timing.dts = clock.unwrap(dts);
    timing.pts = clock.unwrap(pts);
    counters_.timestamp_wraps = static_cast<uint64_t>(
        std::max<int64_t>({0, video_clock_.max_cycle, audio_clock_.max_cycle}));
  }

  pes.active = false;
  const auto es = std::span<const uint8_t>(b).subspan(9 + header_length, end - 9 - header_length);
  if (&pes == &video_) {
    handle_video(pes, es, timing);
  } else {
    handle_audio(pes, es, timing);
  }
  pes.buf.clear();
}

// ---------------------------------------------------------------------------
// Video: one access unit per PES, Annex-B to length-prefixed

void TsDemuxer::handle_video(Pes &pes, std::span<const uint8_t> es, const Timing &timing) {
  if (!timing.has_pts) {
    ++counters_.dropped_pes;
    return;
  }
  const bool hevc = pes.stream_type == kStreamTypeHevc;
  const auto nals = split_annexb(es);
  size_t out_size = 0;
  bool keyframe = false;
  bool saw_parameter_set = false;
  for (auto nal : nals) {
    if (nal.size() > std::numeric_limits<uint32_t>::max()) continue;
    const int type = hevc ? hevc_nal_type(nal) : (nal[0] & 0x1f);
    if (type == (hevc ? hevc_nal::kAud : h264_nal::kAud)) continue;
    out_size += 4 + nal.size();
    std::vector<uint8_t> *slot = nullptr;
    if (hevc) {
      if (type >= 16 && type <= 23) keyframe = true;  // IRAP pictures
      if (type == hevc_nal::kVps) slot = &vps_;
      if (type == hevc_nal::kSps) slot = &sps_;
      if (type == hevc_nal::kPps) slot = &pps_;
    } else {
      if (type == h264_nal::kIdr) keyframe = true;
      if (type == h264_nal::kSps) slot = &sps_;
      if (type == h264_nal::kPps) slot = &pps_;
    }
    if (slot) {
      slot->assign(nal.begin(), nal.end());
      saw_parameter_set = true;
    }
  }

  if (saw_parameter_set && !sps_.empty() && !pps_.empty() && (!hevc || !vps_.empty()) &&
      (sps_ != reported_sps_ || pps_ != reported_pps_ || (hevc && vps_ != reported_vps_))) {
    VideoParams params;
    std::string error;
    const bool ok = hevc ? build_hevc_config_from_annexb(vps_, sps_, pps_, params, error)
                         : build_avc_config_from_annexb(sps_, pps_, params, error);
    if (ok) {
      reported_vps_ = vps_;
      reported_sps_ = sps_;
      reported_pps_ = pps_;
      video_params_reported_ = true;
      handler_.on_ts_video_params(params);
    }
  }
  if (!video_params_reported_) {
    ++counters_.frames_before_config;
    return;
  }
  if (out_size == 0) return;

  auto out = std::make_shared<std::vector<uint8_t>>();
  out->reserve(out_size);
  for (auto nal : nals) {
    if (nal.size() > std::numeric_limits<uint32_t>::max()) continue;
    const int type = hevc ? hevc_nal_type(nal) : (nal[0] & 0x1f);
    if (type == (hevc ? hevc_nal::kAud : h264_nal::kAud)) continue;
    const auto len = static_cast<uint32_t>(nal.size());
    const uint8_t prefix[4] = {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                               static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
    out->insert(out->end(), std::begin(prefix), std::end(prefix));
    out->insert(out->end(), nal.begin(), nal.end());
  }
  Frame frame;
  frame.track = TrackType::Video;
  frame.codec = hevc ? Codec::HEVC : Codec::H264;
  frame.dts_us = ticks_to_us(timing.dts);
  frame.pts_us = ticks_to_us(timing.pts);
  frame.keyframe = keyframe;
  frame.size = out->size();
  frame.buffer = std::move(out);
  ++counters_.frames_video;
  handler_.on_ts_frame(frame);
}

// ---------------------------------------------------------------------------
// Audio: ADTS frames, one Frame per raw access unit

void TsDemuxer::reset_audio_tail() {
  adts_tail_.clear();
}

void TsDemuxer::handle_audio(Pes &pes, std::span<const uint8_t> es, const Timing &timing) {
  // The working buffer: a cut ADTS frame from the previous PES, then this
  // one's payload. Without such a tail the PES buffer itself is shared.
  std::shared_ptr<std::vector<uint8_t>> data;
  size_t begin = 0, end = 0;
  size_t tail = adts_tail_.size();
  if (tail > 0 && es.size() > limits_.max_pes_size - tail) {
    ++counters_.adts_errors;
    tail = 0;
  }
  if (tail == 0) {
    begin = static_cast<size_t>(es.data() - pes.buf.data());
    end = begin + es.size();
    data = std::make_shared<std::vector<uint8_t>>(std::move(pes.buf));
  } else {
    data = std::make_shared<std::vector<uint8_t>>();
    data->reserve(tail + es.size());
    data->insert(data->end(), adts_tail_.begin(), adts_tail_.end());
    data->insert(data->end(), es.begin(), es.end());
    end = data->size();
  }
  adts_tail_.clear();
  pes.buf.clear();

  const std::span<const uint8_t> d(*data);
  const std::shared_ptr<const std::vector<uint8_t>> shared = data;
  // The PES's PTS belongs to the first access unit that starts in it
  // (13818-1 2.4.3.7); one carried over from the previous PES continues that
  // PES's timeline.
  bool pes_timeline_started = false;
  bool in_junk = false;
  size_t pos = begin;
  while (pos < end) {
    if (!adts_sync_at(d.first(end), pos)) {
      if (!in_junk) ++counters_.adts_errors;
      in_junk = true;
      ++pos;
      continue;
    }
    const size_t avail = end - pos;
    AdtsHeader header;
    std::string error;
    if (avail >= 7 && !parse_adts_header(d.subspan(pos, 7), header, error)) {
      if (!in_junk) ++counters_.adts_errors;
      in_junk = true;
      ++pos;
      continue;
    }
    in_junk = false;
    if (!pes_timeline_started && pos - begin >= tail && timing.has_pts) {
      pes_timeline_started = true;
      audio_timeline_ = true;
      audio_base_us_ = ticks_to_us(timing.pts);
      audio_index_ = 0;
    }
    if (avail < 7 || header.frame_length > avail) {
      // Cut by the end of the PES: finished by the next one. frame_length
      // has 13 bits, so this stays small.
      adts_tail_.assign(d.begin() + static_cast<std::ptrdiff_t>(pos),
                        d.begin() + static_cast<std::ptrdiff_t>(end));
      break;
    }
    const size_t frame_start = pos;
    pos += header.frame_length;
    const int64_t index = audio_index_;
    audio_index_ += header.raw_data_blocks;

    // Several raw data blocks in one ADTS frame are several access units
    // with no sizes between them: they cannot be handed on one by one.
    if (header.raw_data_blocks != 1 || header.channels == 0 ||
        header.frame_length == header.header_size) {
      ++counters_.adts_errors;
      continue;
    }
    if (header.object_type != audio_object_type_ || header.sample_rate != audio_rate_ ||
        header.channels != audio_channels_) {
      AudioParams params;
      params.codec = Codec::AAC;
      params.object_type = header.object_type;
      params.sample_rate = header.sample_rate;
      params.channels = header.channels;
      params.config =
          make_audio_specific_config(header.object_type, header.sample_rate, header.channels);
      if (params.config.empty()) {
        ++counters_.adts_errors;
        continue;
      }
      audio_object_type_ = header.object_type;
      audio_rate_ = header.sample_rate;
      audio_channels_ = header.channels;
      handler_.on_ts_audio_params(params);
    }
    if (!audio_timeline_) {
      // No PTS yet to place this access unit on.
      ++counters_.frames_before_config;
      continue;
    }
    Frame frame;
    frame.track = TrackType::Audio;
    frame.codec = Codec::AAC;
    frame.pts_us = audio_base_us_ + index * kAacSamplesPerFrame * 1'000'000 / header.sample_rate;
    frame.dts_us = frame.pts_us;
    frame.keyframe = true;
    frame.buffer = shared;
    frame.offset = frame_start + header.header_size;
    frame.size = header.frame_length - header.header_size;
    ++counters_.frames_audio;
    handler_.on_ts_frame(frame);
  }
}

}  // namespace lg::media
