#include "srt/listener.h"

#include <netdb.h>
#include <srt/access_control.h>

#include <fmt/format.h>
#include <algorithm>
#include <chrono>
#include <cstring>

#include "net/tcp.h"

namespace lg::srt {

namespace {

constexpr int kMaxEvents = 64;
constexpr int64_t kWaitMs = 100;            // how soon stop() is noticed
constexpr size_t kBatchBytes = 256 * 1024;  // one hand-over to the loop at most

std::string last_error() {
  return srt_getlasterror_str();
}

template <typename T>
bool set_flag(SRTSOCKET sock, SRT_SOCKOPT opt, T value) {
  return srt_setsockflag(sock, opt, &value, sizeof(value)) != SRT_ERROR;
}

// libsrt counts its receive buffer in units of the MSS less the UDP and IP
// headers, whatever the payload size.
constexpr int kBufferUnitBytes = 1500 - 28;

// Packets of 1316 bytes (seven TS packets) that hold `latency_ms` + 1 s of
// `max_bitrate_kbps`: the receive buffer and flow window for each caller.
int buffer_packets(uint32_t max_bitrate_kbps, int latency_ms) {
  constexpr uint64_t kPayloadBits = 1316 * 8;
  constexpr uint64_t kMinPackets = 64;  // libsrt takes no fewer than 32
  constexpr uint64_t kMaxPackets = 1u << 22;
  const uint64_t window_ms = static_cast<uint64_t>(std::max(latency_ms, 0)) + 1000;
  const uint64_t bits = uint64_t{max_bitrate_kbps} * window_ms;  // kbit/s x ms = bit
  return static_cast<int>(
      std::clamp((bits + kPayloadBits - 1) / kPayloadBits, kMinPackets, kMaxPackets));
}

}  // namespace

Listener::Listener(core::Loop &loop, ListenerConfig config, Callbacks callbacks)
    : loop_(loop), config_(std::move(config)), callbacks_(std::move(callbacks)) {}

Listener::~Listener() {
  stop();
  if (started_srt_) srt_cleanup();
}

lg_status Listener::listen(std::string &error) {
  if (srt_startup() < 0) {
    error = "cannot start libsrt: " + last_error();
    return LG_E_INTERNAL;
  }
  started_srt_ = true;

  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo *res = nullptr;
  const std::string port = std::to_string(config_.port);
  if (getaddrinfo(config_.address.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
    error = fmt::format("invalid SRT listen address '{}'", config_.address);
    return LG_E_INVALID_ARG;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(res, &freeaddrinfo);

  listen_sock_ = srt_create_socket();
  if (listen_sock_ == SRT_INVALID_SOCK) {
    error = "cannot create an SRT socket: " + last_error();
    return LG_E_IO;
  }
  // Accepted sockets inherit these: nothing of ours ever blocks in libsrt.
  // The flow window goes first: libsrt caps the receive buffer at it.
  const int packets = buffer_packets(config_.max_bitrate_kbps, config_.latency_ms);
  const bool options_ok = set_flag(listen_sock_, SRTO_RCVSYN, false) &&
                          set_flag(listen_sock_, SRTO_SNDSYN, false) &&
                          set_flag(listen_sock_, SRTO_RCVLATENCY, config_.latency_ms) &&
                          set_flag(listen_sock_, SRTO_PEERLATENCY, config_.latency_ms) &&
                          set_flag(listen_sock_, SRTO_FC, packets) &&
                          set_flag(listen_sock_, SRTO_RCVBUF, packets * kBufferUnitBytes);
  if (!options_ok) {
    error = "cannot configure the SRT socket: " + last_error();
    return LG_E_INVALID_ARG;
  }
  if (srt_bind(listen_sock_, res->ai_addr, static_cast<int>(res->ai_addrlen)) == SRT_ERROR) {
    const int code = srt_getlasterror(nullptr);
    error =
        fmt::format("cannot bind SRT to {}:{}: {}", config_.address, config_.port, last_error());
    // libsrt reports a taken UDP port as a generic bind failure.
    return code == SRT_EDUPLISTEN || code == SRT_ECONNSETUP ? LG_E_ADDR_IN_USE : LG_E_IO;
  }
  if (srt_listen(listen_sock_, config_.backlog) == SRT_ERROR) {
    error = "cannot listen for SRT: " + last_error();
    return LG_E_IO;
  }
  srt_listen_callback(listen_sock_, &Listener::listen_hook, this);
  sockaddr_storage bound{};
  int bound_len = sizeof(bound);
  if (srt_getsockname(listen_sock_, reinterpret_cast<sockaddr *>(&bound), &bound_len) == 0) {
    port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
  }
  eid_ = srt_epoll_create();
  const int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  if (eid_ < 0 || srt_epoll_add_usock(eid_, listen_sock_, &events) == SRT_ERROR) {
    error = "cannot watch the SRT socket: " + last_error();
    return LG_E_INTERNAL;
  }
  thread_ = std::thread([this] { run(); });
  return LG_OK;
}

int Listener::listen_hook(void *opaque, SRTSOCKET ns, int hsversion, const struct sockaddr *peer,
                          const char *stream_id) {
  auto *self = static_cast<Listener *>(opaque);
  std::lock_guard<std::mutex> hold(self->hook_mutex_);
  if (self->stopping_.load()) return -1;
  const std::string peer_text = peer ? net::format_address(peer) : std::string("?");
  // HSv4 callers cannot send a stream id; they get the same answer as a
  // caller that sent none.
  const std::string sid = hsversion >= 5 && stream_id ? std::string(stream_id) : std::string();
  Admission admission;
  try {
    admission = self->callbacks_.admit(sid, peer_text);
  } catch (...) {
    admission.accept = false;
    admission.reject_code = SRT_REJX_ISE;
  }
  if (!admission.accept) {
    srt_setrejectreason(ns, admission.reject_code ? admission.reject_code : SRT_REJX_FALLBACK);
    return -1;
  }
  if (!admission.passphrase.empty()) {
    const int keylen = self->config_.pbkeylen;
    if (srt_setsockflag(ns, SRTO_PASSPHRASE, admission.passphrase.data(),
                        static_cast<int>(admission.passphrase.size())) == SRT_ERROR ||
        !set_flag(ns, SRTO_PBKEYLEN, keylen)) {
      srt_setrejectreason(ns, SRT_REJX_ISE);
      return -1;
    }
  }
  return 0;
}

void Listener::run() {
  SRT_EPOLL_EVENT events[kMaxEvents];
  while (!stopping_.load()) {
    int64_t wait_ms = kWaitMs;
    const auto now = std::chrono::steady_clock::now();
    for (const auto &[sock, due] : draining_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - now).count();
      wait_ms = std::clamp<int64_t>(left, 0, wait_ms);
    }
    const int n = srt_epoll_uwait(eid_, events, kMaxEvents, wait_ms);
    for (int i = 0; i < n && !stopping_.load(); ++i) {
      if (events[i].fd == listen_sock_) {
        accept_one();
      } else {
        read_from(events[i].fd);
      }
    }
    finish_draining(false);
  }
}

void Listener::finish_draining(bool all) {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = draining_.begin(); it != draining_.end();) {
    if (!all && it->second > now) {
      ++it;
      continue;
    }
    const SRTSOCKET sock = it->first;
    read_from(sock);  // while listed, it leaves the dropping to us
    it = draining_.erase(it);
    drop(sock, LG_OK, "the caller closed the connection");
  }
}

void Listener::accept_one() {
  while (true) {
    sockaddr_storage addr{};
    int len = sizeof(addr);
    const SRTSOCKET sock = srt_accept(listen_sock_, reinterpret_cast<sockaddr *>(&addr), &len);
    if (sock == SRT_INVALID_SOCK) return;  // nothing more pending
    char sid[513] = {};
    int sid_len = 512;
    if (srt_getsockflag(sock, SRTO_STREAMID, sid, &sid_len) == SRT_ERROR) sid_len = 0;
    std::string stream_id(sid, static_cast<size_t>(std::max(0, std::min(sid_len, 512))));
    std::string peer = net::format_address(reinterpret_cast<sockaddr *>(&addr));
    uint64_t id;
    {
      std::lock_guard<std::mutex> hold(mutex_);
      id = ++last_id_;
      by_sock_[sock] = id;
      by_id_[id] = sock;
    }
    // Posted before the socket is watched, so on_accept precedes its data.
    loop_.post([this, alive = alive_, id, stream_id = std::move(stream_id),
                peer = std::move(peer)]() mutable {
      if (alive->load()) callbacks_.on_accept(id, std::move(stream_id), std::move(peer));
    });
    const int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
    if (srt_epoll_add_usock(eid_, sock, &events) == SRT_ERROR) {
      drop(sock, LG_E_INTERNAL, "cannot watch the SRT socket: " + last_error());
    }
  }
}

void Listener::read_from(SRTSOCKET sock) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> hold(mutex_);
    auto it = by_sock_.find(sock);
    if (it == by_sock_.end()) return;  // closed from the loop meanwhile
    id = it->second;
  }
  std::vector<uint8_t> batch;
  auto hand_over = [&] {
    if (batch.empty()) return;
    const size_t size = batch.size();
    if (pending_bytes_.load() + size > config_.max_pending_bytes) {
      dropped_bytes_ += size;  // the loop is behind: live data loses its value
      batch.clear();
      return;
    }
    pending_bytes_ += size;
    loop_.post([this, alive = alive_, id, size, bytes = std::move(batch)]() mutable {
      if (!alive->load()) return;
      pending_bytes_ -= size;
      callbacks_.on_data(id, std::move(bytes));
    });
    batch = {};
  };
  char buf[1500];
  while (true) {
    const int n = srt_recvmsg(sock, buf, sizeof(buf));
    if (n > 0) {
      batch.insert(batch.end(), buf, buf + n);
      if (batch.size() >= kBatchBytes) hand_over();
      continue;
    }
    if (n == SRT_ERROR && srt_getlasterror(nullptr) == SRT_EASYNCRCV) break;
    hand_over();
    const SRT_SOCKSTATUS state = srt_getsockstate(sock);
    if (state == SRTS_BROKEN && !draining_.count(sock)) {
      // The caller closed, but its last packets still wait in the receive
      // buffer for their delivery time, and libsrt hands them out only once
      // it has passed: read them then.
      srt_epoll_remove_usock(eid_, sock);
      draining_[sock] =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.latency_ms + 20);
    } else if (state == SRTS_BROKEN || state == SRTS_CLOSED || state == SRTS_NONEXIST) {
      if (!draining_.count(sock)) drop(sock, LG_OK, "the caller closed the connection");
    } else {
      drop(sock, LG_E_IO, "SRT receive failed: " + last_error());
    }
    return;
  }
  hand_over();
}

void Listener::drop(SRTSOCKET sock, lg_status status, std::string reason) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> hold(mutex_);
    auto it = by_sock_.find(sock);
    if (it == by_sock_.end()) return;
    id = it->second;
    by_sock_.erase(it);
    by_id_.erase(id);
  }
  TransportStats last;
  read_stats(sock, last);
  srt_epoll_remove_usock(eid_, sock);
  srt_close(sock);
  loop_.post([this, alive = alive_, id, status, reason = std::move(reason), last]() mutable {
    if (alive->load()) callbacks_.on_closed(id, status, std::move(reason), last);
  });
}

void Listener::close(uint64_t id) {
  SRTSOCKET sock;
  {
    std::lock_guard<std::mutex> hold(mutex_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return;
    sock = it->second;
    by_id_.erase(it);
    by_sock_.erase(sock);
  }
  if (eid_ >= 0) srt_epoll_remove_usock(eid_, sock);
  srt_close(sock);
}

bool Listener::stats(uint64_t id, TransportStats &out) {
  SRTSOCKET sock;
  {
    std::lock_guard<std::mutex> hold(mutex_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return false;
    sock = it->second;
  }
  return read_stats(sock, out);
}

bool Listener::read_stats(SRTSOCKET sock, TransportStats &out) {
  SRT_TRACEBSTATS perf{};
  if (srt_bstats(sock, &perf, 0) == SRT_ERROR) return false;
  out.rtt_ms = perf.msRTT;
  out.packets_received = static_cast<uint64_t>(std::max<int64_t>(0, perf.pktRecvTotal));
  out.packets_lost = static_cast<uint64_t>(std::max(0, perf.pktRcvLossTotal));
  out.packets_retransmitted = static_cast<uint64_t>(std::max(0, perf.pktRcvRetrans));
  out.packets_dropped = static_cast<uint64_t>(std::max(0, perf.pktRcvDropTotal));
  out.packets_undecrypted = static_cast<uint64_t>(std::max(0, perf.pktRcvUndecryptTotal));
  out.receive_rate_mbps = perf.mbpsRecvRate;
  out.latency_ms = perf.msRcvTsbPdDelay;
  int rcvbuf = 0;
  int rcvbuf_len = sizeof(rcvbuf);
  if (srt_getsockflag(sock, SRTO_RCVBUF, &rcvbuf, &rcvbuf_len) != SRT_ERROR && rcvbuf > 0) {
    out.receive_buffer_bytes = static_cast<uint64_t>(rcvbuf);
  }
  out.valid = true;
  return true;
}

void Listener::stop() {
  if (stopping_.exchange(true)) return;
  alive_->store(false);
  if (thread_.joinable()) thread_.join();
  if (listen_sock_ != SRT_INVALID_SOCK) {
    srt_close(listen_sock_);
    listen_sock_ = SRT_INVALID_SOCK;
  }
  // A listen callback already running finishes before we go on.
  { std::lock_guard<std::mutex> hold(hook_mutex_); }
  std::map<SRTSOCKET, uint64_t> socks;
  {
    std::lock_guard<std::mutex> hold(mutex_);
    socks.swap(by_sock_);
    by_id_.clear();
  }
  for (const auto &[sock, id] : socks) srt_close(sock);
  if (eid_ >= 0) {
    srt_epoll_release(eid_);
    eid_ = -1;
  }
}

}  // namespace lg::srt
