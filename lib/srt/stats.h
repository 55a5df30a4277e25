// What libsrt measures of one caller's connection, receiver side, since it
// connected: the part of an SRT session's stats that the transport owns.
#pragma once

#include <cstdint>

namespace lg::srt {

struct TransportStats {
  bool valid = false;  // libsrt answered
  double rtt_ms = 0;
  uint64_t packets_received = 0;
  uint64_t packets_lost = 0;
  uint64_t packets_retransmitted = 0;
  uint64_t packets_dropped = 0;  // too late to play
  uint64_t packets_undecrypted = 0;
  double receive_rate_mbps = 0;
  int latency_ms = 0;
  uint64_t receive_buffer_bytes = 0;  // the buffer libsrt keeps for this caller
};

}  // namespace lg::srt
