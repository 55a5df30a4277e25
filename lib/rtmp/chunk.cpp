#include "rtmp/chunk.h"

#include <algorithm>
#include <cassert>

namespace lg::rtmp {

namespace {

constexpr size_t kMessageHeaderSize[4] = {11, 7, 3, 0};
constexpr uint32_t kExtendedMarker = 0xFFFFFF;
constexpr uint8_t kTypeSetChunkSize = 1;
constexpr uint8_t kTypeAbort = 2;
// The buffer of a message grows with the bytes that arrive; only this much
// is reserved up front whatever length the header announces.
constexpr size_t kMaxReserve = 64 * 1024;

uint32_t be24(const uint8_t *p) {
  return (uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2];
}

uint32_t be32(const uint8_t *p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

uint32_t le32(const uint8_t *p) {
  return (uint32_t(p[3]) << 24) | (uint32_t(p[2]) << 16) | (uint32_t(p[1]) << 8) | p[0];
}

// Whether the first n bytes of the big-endian encoding of v equal p[0..n).
bool be32_prefix(const uint8_t *p, size_t n, uint32_t v) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != static_cast<uint8_t>(v >> (24 - 8 * i))) return false;
  }
  return true;
}

void put_be24(std::vector<uint8_t> &out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put_be32(std::vector<uint8_t> &out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  put_be24(out, v & 0xFFFFFF);
}

void put_le32(std::vector<uint8_t> &out, uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_basic_header(std::vector<uint8_t> &out, uint8_t fmt, uint32_t csid) {
  const auto f = static_cast<uint8_t>(fmt << 6);
  if (csid < 64) {
    out.push_back(static_cast<uint8_t>(f | csid));
  } else if (csid < 64 + 256) {
    out.push_back(f);
    out.push_back(static_cast<uint8_t>(csid - 64));
  } else {
    out.push_back(f | 1);
    out.push_back(static_cast<uint8_t>((csid - 64) & 0xFF));
    out.push_back(static_cast<uint8_t>((csid - 64) >> 8));
  }
}

std::string str(uint64_t v) {
  return std::to_string(v);
}

}  // namespace

ChunkReader::ChunkReader(ChunkLimits limits) : limits_(limits) {}

bool ChunkReader::fail(std::string message) {
  failed_ = true;
  error_ = std::move(message);
  return false;
}

bool ChunkReader::fail_limit(std::string message) {
  over_limit_ = true;
  return fail(std::move(message));
}

ChunkReader::Status ChunkReader::feed(std::span<const uint8_t> in, size_t &consumed, Message &out) {
  consumed = 0;
  if (failed_) return Status::Error;
  for (;;) {
    if (!replay_.empty()) {
      std::vector<uint8_t> pending;
      pending.swap(replay_);
      size_t used = 0;
      const Status status = process(pending, used, out);
      // Anything the replay did not reach goes after what it pushed back.
      replay_.insert(replay_.end(), pending.begin() + static_cast<ptrdiff_t>(used), pending.end());
      if (status != Status::NeedMore) return status;
      continue;
    }
    if (consumed == in.size()) return Status::NeedMore;
    size_t used = 0;
    const Status status = process(in.subspan(consumed), used, out);
    consumed += used;
    bytes_consumed_ += used;
    if (status != Status::NeedMore) return status;
  }
}

// Consumes bytes until a message is complete, the data runs out, an error
// occurs, or bytes were pushed back for replay (then it returns NeedMore
// early so that they are parsed before the rest).
ChunkReader::Status ChunkReader::process(std::span<const uint8_t> data, size_t &used,
                                         Message &out) {
  used = 0;
  while (used < data.size()) {
    switch (state_) {
      case State::Header: {
        bool complete = false;
        if (!header_byte(data[used++], complete)) return Status::Error;
        if (!complete) break;
        ChunkStream &cs = *cur_;
        const size_t header_size = hdr_len_;
        hdr_len_ = 0;
        hdr_need_ = 1;
        if (fmt_ == 3 && cs.in_progress) {
          chunk_left_ = std::min<uint32_t>(chunk_size_, cs.length - uint32_t(cs.payload.size()));
          state_ = cs.extended ? State::PeekExtended : State::Payload;
          peek_len_ = 0;
          break;
        }
        if (!start_message(cs, header_size)) return Status::Error;
        if (cs.length == 0) {
          return finish_message(cs, out) ? Status::Message : Status::Error;
        }
        chunk_left_ = std::min<uint32_t>(chunk_size_, cs.length);
        state_ = State::Payload;
        break;
      }
      case State::PeekExtended: {
        // Whether a continuation chunk repeats the extended timestamp is up
        // to the encoder (ffmpeg and librtmp do, some others do not): take
        // the four bytes as the timestamp only if they match it, as SRS does.
        // Some peers repeat the message's absolute timestamp instead of the
        // header's delta, so either value is accepted.
        ChunkStream &cs = *cur_;
        peek_[peek_len_++] = data[used++];
        const bool match = be32_prefix(peek_, peek_len_, cs.ext_value) ||
                           be32_prefix(peek_, peek_len_, cs.timestamp);
        if (!match) {
          replay_.assign(peek_, peek_ + peek_len_);
          peek_len_ = 0;
          state_ = State::Payload;
          return Status::NeedMore;
        }
        if (peek_len_ == 4) {
          peek_len_ = 0;
          state_ = State::Payload;
        }
        break;
      }
      case State::Payload: {
        ChunkStream &cs = *cur_;
        const size_t n = std::min<size_t>(data.size() - used, chunk_left_);
        const size_t max_buffered = std::max(limits_.max_buffered_bytes, limits_.max_message_size);
        if (buffered_ + n > max_buffered) {
          fail_limit("incomplete messages hold more than " + str(max_buffered) + " bytes");
          return Status::Error;
        }
        cs.payload.insert(cs.payload.end(), data.begin() + static_cast<ptrdiff_t>(used),
                          data.begin() + static_cast<ptrdiff_t>(used + n));
        used += n;
        buffered_ += n;
        chunk_left_ -= static_cast<uint32_t>(n);
        if (chunk_left_ > 0) break;
        state_ = State::Header;
        if (cs.payload.size() == cs.length) {
          return finish_message(cs, out) ? Status::Message : Status::Error;
        }
        break;
      }
    }
  }
  return Status::NeedMore;
}

// Takes one header byte; sets `complete` once the whole chunk header is in.
// The header's length is only known piece by piece: the first byte gives the
// basic header's size, the basic header the csid and message header type,
// the timestamp field whether an extended timestamp follows.
bool ChunkReader::header_byte(uint8_t b, bool &complete) {
  hdr_[hdr_len_++] = b;
  if (hdr_len_ < hdr_need_) return true;
  if (hdr_len_ == 1) {
    fmt_ = b >> 6;
    const uint8_t low = b & 0x3F;
    basic_len_ = low == 0 ? 2 : low == 1 ? 3 : 1;
    msg_hdr_len_ = kMessageHeaderSize[fmt_];
    hdr_need_ = basic_len_;
    if (hdr_len_ < hdr_need_) return true;
  }
  if (hdr_len_ == basic_len_) {
    const uint8_t low = hdr_[0] & 0x3F;
    if (low == 0) {
      csid_ = 64 + uint32_t(hdr_[1]);
    } else if (low == 1) {
      csid_ = 64 + uint32_t(hdr_[1]) + 256 * uint32_t(hdr_[2]);
    } else {
      csid_ = low;
    }
    if (!begin_chunk()) return false;
    if (hdr_len_ < hdr_need_) return true;
  }
  if (fmt_ <= 2 && hdr_len_ == basic_len_ + msg_hdr_len_ &&
      be24(hdr_ + basic_len_) == kExtendedMarker) {
    hdr_need_ += 4;
    return true;
  }
  complete = true;
  return true;
}

// Called once the basic header is known: finds the chunk stream and works
// out how long the rest of the header is.
bool ChunkReader::begin_chunk() {
  auto it = streams_.find(csid_);
  if (it == streams_.end()) {
    // librtmp sends its first user control message on a fresh csid 2 with a
    // type-1 header (SRS tolerates it for that reason): a type-1 header has
    // everything but the stream id, which is then 0.
    if (fmt_ >= 2) {
      return fail("type-" + str(fmt_) + " chunk header on chunk stream " + str(csid_) +
                  ", which has had no type-0 header to take its fields from");
    }
    if (streams_.size() >= limits_.max_chunk_streams) {
      return fail_limit("more than " + str(limits_.max_chunk_streams) + " chunk streams in use");
    }
    it = streams_.emplace(csid_, ChunkStream{}).first;
  }
  cur_ = &it->second;
  if (cur_->in_progress && fmt_ != 3) {
    return fail("type-" + str(fmt_) + " chunk header on chunk stream " + str(csid_) +
                " while its message is incomplete (" + str(cur_->payload.size()) + " of " +
                str(cur_->length) + " bytes)");
  }
  hdr_need_ = basic_len_ + msg_hdr_len_;
  // A type-3 header that starts a message always carries the extended
  // timestamp when the chunk stream's last full header did.
  if (fmt_ == 3 && !cur_->in_progress && cur_->extended) hdr_need_ += 4;
  return true;
}

// Applies a complete header that starts a message.
bool ChunkReader::start_message(ChunkStream &cs, size_t header_size) {
  const uint8_t *mh = hdr_ + basic_len_;
  const bool has_ext = header_size == basic_len_ + msg_hdr_len_ + 4;
  const uint32_t ext = has_ext ? be32(mh + msg_hdr_len_) : 0;
  if (fmt_ <= 2) {
    const uint32_t field = be24(mh);
    const uint32_t value = has_ext ? ext : field;
    if (fmt_ == 0) {
      cs.timestamp = value;
      cs.stream_id = le32(mh + 7);
    } else {
      cs.timestamp += value;
    }
    cs.delta = value;
    cs.extended = has_ext;
    cs.ext_value = ext;
    if (fmt_ <= 1) {
      cs.length = be24(mh + 3);
      cs.type_id = mh[6];
    }
  } else {
    if (has_ext) {
      cs.delta = ext;
      cs.ext_value = ext;
    }
    cs.timestamp += cs.delta;
  }
  if (cs.length > limits_.max_message_size) {
    return fail_limit("message of " + str(cs.length) + " bytes on chunk stream " + str(csid_) +
                      " exceeds the limit of " + str(limits_.max_message_size));
  }
  cs.in_progress = true;
  cs.payload.clear();
  cs.payload.reserve(std::min<size_t>(cs.length, kMaxReserve));
  return true;
}

bool ChunkReader::finish_message(ChunkStream &cs, Message &out) {
  out.csid = csid_;
  out.type_id = cs.type_id;
  out.stream_id = cs.stream_id;
  out.timestamp = cs.timestamp;
  buffered_ -= cs.payload.size();
  out.payload = std::move(cs.payload);
  cs.payload = {};
  cs.in_progress = false;
  return apply_control(out);
}

bool ChunkReader::apply_control(const Message &msg) {
  if (msg.type_id == kTypeSetChunkSize) {
    if (msg.payload.size() < 4) {
      return fail("Set Chunk Size message of " + str(msg.payload.size()) + " bytes (needs 4)");
    }
    const uint32_t size = be32(msg.payload.data());
    if (size & 0x80000000u) {
      return fail("Set Chunk Size " + str(size) + " has the reserved top bit set");
    }
    if (size == 0) return fail("Set Chunk Size 0");
    if (size > limits_.max_chunk_size) {
      return fail_limit("Set Chunk Size " + str(size) + " exceeds the limit of " +
                        str(limits_.max_chunk_size));
    }
    chunk_size_ = size;
  } else if (msg.type_id == kTypeAbort) {
    if (msg.payload.size() < 4) {
      return fail("Abort Message of " + str(msg.payload.size()) + " bytes (needs 4)");
    }
    auto it = streams_.find(be32(msg.payload.data()));
    if (it != streams_.end() && it->second.in_progress) {
      buffered_ -= it->second.payload.size();
      it->second.payload = {};
      it->second.in_progress = false;
    }
  }
  return true;
}

void ChunkWriter::set_chunk_size(uint32_t size) {
  chunk_size_ = std::clamp<uint32_t>(size, 1, 0x7FFFFFFF);
}

void ChunkWriter::write(const Message &msg, std::vector<uint8_t> &out) {
  assert(msg.csid >= kMinCsid && msg.csid <= kMaxCsid);
  assert(msg.payload.size() <= 0xFFFFFF);
  const uint32_t csid = std::clamp(msg.csid, kMinCsid, kMaxCsid);
  const auto length = static_cast<uint32_t>(std::min<size_t>(msg.payload.size(), 0xFFFFFF));
  auto [it, fresh] = streams_.try_emplace(csid);
  ChunkStream &cs = it->second;

  uint8_t fmt = 0;
  uint32_t value = msg.timestamp;
  // A timestamp that goes back (or wraps) cannot be a delta: restate it.
  if (!fresh && msg.stream_id == cs.stream_id && msg.timestamp >= cs.timestamp) {
    value = msg.timestamp - cs.timestamp;
    if (length != cs.length || msg.type_id != cs.type_id) {
      fmt = 1;
    } else if (value != cs.delta) {
      fmt = 2;
    } else {
      fmt = 3;
    }
  }
  const bool extended = value >= kExtendedMarker;

  put_basic_header(out, fmt, csid);
  if (fmt <= 2) put_be24(out, extended ? kExtendedMarker : value);
  if (fmt <= 1) {
    put_be24(out, length);
    out.push_back(msg.type_id);
  }
  if (fmt == 0) put_le32(out, msg.stream_id);
  if (extended) put_be32(out, value);

  const uint8_t *p = msg.payload.data();
  uint32_t left = length;
  for (bool first = true; first || left > 0; first = false) {
    if (!first) {
      // Continuation chunks repeat the extended timestamp, as ffmpeg and
      // librtmp do and as readers that always expect it require.
      put_basic_header(out, 3, csid);
      if (extended) put_be32(out, value);
    }
    const uint32_t n = std::min(left, chunk_size_);
    out.insert(out.end(), p, p + n);
    p += n;
    left -= n;
  }

  cs.delta = fmt == 0 ? msg.timestamp : value;
  cs.timestamp = msg.timestamp;
  cs.length = length;
  cs.type_id = msg.type_id;
  cs.stream_id = msg.stream_id;
}

}  // namespace lg::rtmp
