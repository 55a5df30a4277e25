// Who may connect and who may try a token: per-source connection counting
// and a throttle on failed publish attempts. Shared by the loop thread and
// libsrt's thread (SRT callers are admitted inside their handshake), so every
// member is safe from any thread. Memory is bounded: each table tracks at most
// AdmissionLimits::max_sources sources.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lg::ingest {

// The source a remote "ip:port" (or "[ipv6]:port") is counted under: the IPv4
// address, or an IPv6 address's /64 prefix, since one IPv6 host can hold a
// whole /64. An IPv4-mapped IPv6 address counts as its IPv4 address. Text that
// is not an address is its own source.
std::string source_of(std::string_view remote_address);

struct AdmissionLimits {
  // Connections open at once from one source; 0: no limit.
  uint32_t max_connections_per_source = 64;
  // Failed publish attempts (wrong token, unknown entry) one source may make
  // within window_ms before its attempts are refused unchecked; 0: no limit.
  uint32_t max_auth_failures = 10;
  uint32_t window_ms = 60'000;
  // A source that published to an entry with a right token stays trusted for
  // that entry this long: an encoder behind the same NAT as a guesser is
  // never locked out by it.
  uint32_t trust_ms = 24 * 3600 * 1000;
  size_t max_sources = 65536;
};

class Admission {
 public:
  explicit Admission(AdmissionLimits limits = {}) : limits_(limits) {}

  // Counts a connection from `source` in if the limit allows.
  bool try_open(const std::string &source);
  void close(const std::string &source);
  uint32_t open_from(const std::string &source) const;

  // Whether a publish attempt from `source` for `entry_id` may be checked at
  // `now_ms`. If not, retry_after_ms says when the oldest counted failure
  // leaves the window.
  bool may_try(const std::string &source, std::string_view entry_id, uint64_t now_ms,
               uint64_t &retry_after_ms);
  void failed(const std::string &source, uint64_t now_ms);
  void succeeded(const std::string &source, std::string_view entry_id, uint64_t now_ms);

  // Attempts refused by the throttle since construction.
  uint64_t throttled() const;
  const AdmissionLimits &limits() const { return limits_; }

 private:
  struct Failures {
    // The latest failures, oldest first, at most max_auth_failures of them:
    // enough to tell when the window reopens.
    std::vector<uint64_t> times;
  };

  void forget_failures_before(uint64_t cutoff);
  void forget_trust_before(uint64_t cutoff);

  const AdmissionLimits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, uint32_t> open_;
  std::unordered_map<std::string, Failures> failures_;
  std::map<std::pair<std::string, std::string>, uint64_t> trusted_;  // -> last success
  uint64_t throttled_ = 0;
};

}  // namespace lg::ingest
