// A byte stream to one peer. The protocol code above sees only this
// interface, so RTMP runs unchanged over plain TCP or (later) TLS.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "livegate/common.h"

namespace lg::net {

class Stream {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_stream_data(std::span<const uint8_t> bytes) = 0;
    // The peer closed, or an error happened. Not called after close().
    virtual void on_stream_closed(lg_status status, std::string_view reason) = 0;
  };

  virtual ~Stream() = default;
  // Starts reading; `handler` must outlive the stream or its close().
  virtual void start(Handler *handler) = 0;
  virtual void write(std::vector<uint8_t> bytes) = 0;
  // Bytes handed to write() that the kernel has not taken yet.
  virtual size_t queued_bytes() const = 0;
  // Stops reading and closes once queued bytes are flushed (or at once if
  // `flush` is false). Idempotent. No handler call follows.
  virtual void close(bool flush = true) = 0;
  virtual const std::string &remote_address() const = 0;
};

}  // namespace lg::net
