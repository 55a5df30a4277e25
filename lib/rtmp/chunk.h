// The RTMP chunk stream: messages cut into chunks with compressed headers,
// interleaved over chunk stream ids (csid). ChunkReader reassembles
// messages from bytes split anywhere; ChunkWriter produces the chunks.
// Neither does I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace lg::rtmp {

inline constexpr uint32_t kDefaultChunkSize = 128;
inline constexpr uint32_t kMinCsid = 2;
inline constexpr uint32_t kMaxCsid = 65599;

struct Message {
  uint32_t csid = 0;
  uint8_t type_id = 0;
  uint32_t stream_id = 0;
  uint32_t timestamp = 0;  // absolute, ms, 32-bit RTMP clock (wraps)
  std::vector<uint8_t> payload;
};

struct ChunkLimits {
  // Memory follows message sizes, never the chunk size (a chunk is copied
  // into its message as it arrives), so by default every size RTMP allows is
  // taken: peers announce up to 128 MiB.
  uint32_t max_chunk_size = 0x7FFFFFFF;
  uint32_t max_message_size = 16 * 1024 * 1024;
  uint32_t max_chunk_streams = 64;
  // Bytes held in incomplete messages across all chunk streams: without it
  // a peer could park max_message_size bytes on every chunk stream. Never
  // taken as less than max_message_size.
  uint32_t max_buffered_bytes = 32 * 1024 * 1024;
};

class ChunkReader {
 public:
  explicit ChunkReader(ChunkLimits limits = {});

  enum class Status { NeedMore, Message, Error };

  // Consumes bytes from `in` and reports how many in `consumed`. Returns
  // Message as soon as one message is complete (in `out`); call again with
  // the rest of the input, even if that is empty, until NeedMore: the reader
  // may hold back a few bytes it read ahead (see PeekExtended). NeedMore
  // means all of `in` was consumed. After Error the reader stays failed and
  // error() says why.
  //
  // Set Chunk Size and Abort Message are applied here, before they are
  // returned like any other message.
  Status feed(std::span<const uint8_t> in, size_t &consumed, Message &out);

  const std::string &error() const { return error_; }
  // The error was a ChunkLimits limit, not malformed input.
  bool over_limit() const { return over_limit_; }
  // The chunk size the peer currently sends with.
  uint32_t chunk_size() const { return chunk_size_; }
  // Bytes consumed from the input since construction.
  uint64_t bytes_consumed() const { return bytes_consumed_; }

 private:
  struct ChunkStream {
    uint32_t timestamp = 0;  // of the latest message
    uint32_t delta = 0;      // what a type-3 header that starts a message adds
    uint32_t length = 0;
    uint32_t stream_id = 0;
    uint8_t type_id = 0;
    // The latest type 0/1/2 header carried an extended timestamp, whose value
    // was ext_value: type-3 chunks then carry (or may repeat) it.
    bool extended = false;
    uint32_t ext_value = 0;
    bool in_progress = false;
    std::vector<uint8_t> payload;
  };

  enum class State { Header, PeekExtended, Payload };

  Status process(std::span<const uint8_t> data, size_t &used, Message &out);
  bool header_byte(uint8_t b, bool &complete);
  bool begin_chunk();
  bool start_message(ChunkStream &cs, size_t header_size);
  bool finish_message(ChunkStream &cs, Message &out);
  bool apply_control(const Message &msg);
  bool fail(std::string message);
  bool fail_limit(std::string message);

  ChunkLimits limits_;
  uint32_t chunk_size_ = kDefaultChunkSize;
  uint64_t bytes_consumed_ = 0;
  size_t buffered_ = 0;
  bool failed_ = false;
  bool over_limit_ = false;
  std::string error_;
  std::unordered_map<uint32_t, ChunkStream> streams_;

  State state_ = State::Header;
  // The header being read: basic header, message header, extended timestamp.
  uint8_t hdr_[3 + 11 + 4] = {};
  size_t hdr_len_ = 0;
  size_t hdr_need_ = 1;
  size_t basic_len_ = 0;
  size_t msg_hdr_len_ = 0;
  uint8_t fmt_ = 0;
  uint32_t csid_ = 0;
  ChunkStream *cur_ = nullptr;
  uint32_t chunk_left_ = 0;  // payload bytes left in the current chunk
  uint8_t peek_[4] = {};
  size_t peek_len_ = 0;
  // Bytes consumed while looking for a repeated extended timestamp that
  // turned out to be data: they are parsed again before new input.
  std::vector<uint8_t> replay_;
};

class ChunkWriter {
 public:
  // Sizes outside 1..0x7FFFFFFF are clamped into it.
  void set_chunk_size(uint32_t size);
  uint32_t chunk_size() const { return chunk_size_; }

  // Appends `msg` as chunks, compressing headers against the previous
  // message on the same csid. msg.csid must be within 2..65599.
  void write(const Message &msg, std::vector<uint8_t> &out);

 private:
  struct ChunkStream {
    uint32_t timestamp = 0;
    uint32_t delta = 0;
    uint32_t length = 0;
    uint32_t stream_id = 0;
    uint8_t type_id = 0;
  };

  uint32_t chunk_size_ = kDefaultChunkSize;
  std::unordered_map<uint32_t, ChunkStream> streams_;
};

}  // namespace lg::rtmp
