// An SRT listener on libsrt. libsrt sockets are not file descriptors, so one
// thread of ours waits on them with srt_epoll_uwait, reads what arrives and
// hands it to the event loop; libsrt's own threads run its listen callback,
// which is where a caller is admitted or refused and gets its passphrase.
#pragma once

#include <srt/srt.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/loop.h"
#include "livegate/common.h"
#include "srt/stats.h"

namespace lg::srt {

// What the listen callback decides for one caller.
struct Admission {
  bool accept = true;
  int reject_code = 0;     // an SRT_REJX_* code when refusing
  std::string reason;      // for the host and the log; the caller sees only the code
  std::string passphrase;  // empty: unencrypted
};

struct ListenerConfig {
  std::string address = "0.0.0.0";
  int port = 9000;  // 0: an ephemeral port
  int latency_ms = 120;
  int pbkeylen = 16;  // AES key length for encrypted callers: 16, 24 or 32
  int backlog = 64;
  // The most a caller is expected to send. libsrt's receive buffer and flow
  // window per connection are sized to hold latency + 1 s of it; its own
  // defaults (8192 and 25600 packets) cost about 380 KiB more per caller
  // (docs/LIMITS.md), whatever the caller sends.
  uint32_t max_bitrate_kbps = 50000;
  // Bytes read but not yet taken by the loop, over all connections; past it
  // reads are dropped (and counted) rather than queued without bound.
  size_t max_pending_bytes = 32 * 1024 * 1024;
};

class Listener {
 public:
  struct Callbacks {
    // libsrt's thread, during the caller's handshake: must not block long.
    std::function<Admission(const std::string &stream_id, const std::string &peer)> admit;
    // The loop thread, for an accepted caller. `id` names it from now on.
    std::function<void(uint64_t id, std::string stream_id, std::string peer)> on_accept;
    std::function<void(uint64_t id, std::vector<uint8_t> bytes)> on_data;
    // The caller is gone (or broke): no more calls for `id`. `last` is what
    // libsrt measured up to the end.
    std::function<void(uint64_t id, lg_status status, std::string reason,
                       const TransportStats &last)>
        on_closed;
  };

  Listener(core::Loop &loop, ListenerConfig config, Callbacks callbacks);
  ~Listener();
  Listener(const Listener &) = delete;
  Listener &operator=(const Listener &) = delete;

  lg_status listen(std::string &error);
  int port() const { return port_; }
  // Closes one accepted caller (from any thread); no callback follows.
  void close(uint64_t id);
  // Stops the thread and closes every socket; no callback follows.
  void stop();
  bool stats(uint64_t id, TransportStats &out);
  static bool read_stats(SRTSOCKET sock, TransportStats &out);
  uint64_t dropped_bytes() const { return dropped_bytes_.load(); }

 private:
  struct Conn {
    SRTSOCKET sock;
    uint64_t id;
  };
  static int listen_hook(void *opaque, SRTSOCKET ns, int hsversion, const struct sockaddr *peer,
                         const char *stream_id);
  void run();
  void accept_one();
  void read_from(SRTSOCKET sock);
  // Reads what closed callers left and drops them, once due (or `all`).
  void finish_draining(bool all);
  void drop(SRTSOCKET sock, lg_status status, std::string reason);

  core::Loop &loop_;
  ListenerConfig config_;
  Callbacks callbacks_;
  SRTSOCKET listen_sock_ = SRT_INVALID_SOCK;
  int eid_ = -1;
  int port_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> pending_bytes_{0};
  std::atomic<uint64_t> dropped_bytes_{0};
  std::mutex hook_mutex_;  // held while the listen callback runs
  std::mutex mutex_;       // guards the two maps
  std::map<SRTSOCKET, uint64_t> by_sock_;
  std::map<uint64_t, SRTSOCKET> by_id_;
  uint64_t last_id_ = 0;
  // Closed callers whose last packets are read when their time is due
  // (the listener's thread only).
  std::map<SRTSOCKET, std::chrono::steady_clock::time_point> draining_;
  bool started_srt_ = false;
  // Loop-side closures may outlive a stop(); they check this first.
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace lg::srt
