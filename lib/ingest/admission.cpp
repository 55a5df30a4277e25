#include "ingest/admission.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace lg::ingest {

std::string source_of(std::string_view remote_address) {
  std::string host;
  if (!remote_address.empty() && remote_address.front() == '[') {
    const size_t close = remote_address.find(']');
    if (close == std::string_view::npos) return std::string(remote_address);
    host = remote_address.substr(1, close - 1);
  } else {
    const size_t colon = remote_address.rfind(':');
    host = remote_address.substr(0, colon);
  }
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return host;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return std::string(remote_address);
  char text[INET6_ADDRSTRLEN] = {};
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, v6.s6_addr + 12, 4);
    return inet_ntop(AF_INET, &v4, text, sizeof text) ? std::string(text) : host;
  }
  std::memset(v6.s6_addr + 8, 0, 8);
  if (!inet_ntop(AF_INET6, &v6, text, sizeof text)) return host;
  return std::string(text) + "/64";
}

bool Admission::try_open(const std::string &source) {
  std::lock_guard lock(mutex_);
  uint32_t &count = open_[source];
  if (limits_.max_connections_per_source && count >= limits_.max_connections_per_source) {
    if (count == 0) open_.erase(source);
    return false;
  }
  ++count;
  return true;
}

void Admission::close(const std::string &source) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(source);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

uint32_t Admission::open_from(const std::string &source) const {
  std::lock_guard lock(mutex_);
  auto it = open_.find(source);
  return it == open_.end() ? 0 : it->second;
}

bool Admission::may_try(const std::string &source, std::string_view entry_id, uint64_t now_ms,
                        uint64_t &retry_after_ms) {
  retry_after_ms = 0;
  if (limits_.max_auth_failures == 0) return true;
  std::lock_guard lock(mutex_);
  auto trust = trusted_.find({source, std::string(entry_id)});
  if (trust != trusted_.end() && now_ms - trust->second < limits_.trust_ms) return true;
  auto it = failures_.find(source);
  if (it == failures_.end()) return true;
  const auto &times = it->second.times;
  const uint64_t cutoff = now_ms >= limits_.window_ms ? now_ms - limits_.window_ms : 0;
  const auto in_window =
      std::count_if(times.begin(), times.end(), [cutoff](uint64_t t) { return t > cutoff; });
  if (static_cast<uint32_t>(in_window) < limits_.max_auth_failures) return true;
  // Full: the attempt waits until the oldest of them leaves the window.
  retry_after_ms = times.front() + limits_.window_ms - now_ms;
  ++throttled_;
  return false;
}

void Admission::failed(const std::string &source, uint64_t now_ms) {
  if (limits_.max_auth_failures == 0) return;
  std::lock_guard lock(mutex_);
  if (!failures_.contains(source) && failures_.size() >= limits_.max_sources) {
    forget_failures_before(now_ms >= limits_.window_ms ? now_ms - limits_.window_ms : 0);
  }
  auto &times = failures_[source].times;
  times.push_back(now_ms);
  if (times.size() > limits_.max_auth_failures) times.erase(times.begin());
}

void Admission::succeeded(const std::string &source, std::string_view entry_id, uint64_t now_ms) {
  if (limits_.max_auth_failures == 0) return;
  std::lock_guard lock(mutex_);
  std::pair<std::string, std::string> key{source, std::string(entry_id)};
  if (!trusted_.contains(key) && trusted_.size() >= limits_.max_sources) {
    forget_trust_before(now_ms >= limits_.trust_ms ? now_ms - limits_.trust_ms : 0);
  }
  trusted_[std::move(key)] = now_ms;
}

uint64_t Admission::throttled() const {
  std::lock_guard lock(mutex_);
  return throttled_;
}

// Drops sources whose latest failure is before `cutoff`; if none is, the one
// whose latest failure is oldest, so that a table full of guessers still takes
// a new one.
void Admission::forget_failures_before(uint64_t cutoff) {
  auto oldest = failures_.end();
  for (auto it = failures_.begin(); it != failures_.end();) {
    const uint64_t latest = it->second.times.empty() ? 0 : it->second.times.back();
    if (latest <= cutoff) {
      it = failures_.erase(it);
      continue;
    }
    if (oldest == failures_.end() || latest < oldest->second.times.back()) oldest = it;
    ++it;
  }
  if (failures_.size() >= limits_.max_sources && oldest != failures_.end()) {
    failures_.erase(oldest);
  }
}

void Admission::forget_trust_before(uint64_t cutoff) {
  auto oldest = trusted_.end();
  for (auto it = trusted_.begin(); it != trusted_.end();) {
    if (it->second <= cutoff) {
      it = trusted_.erase(it);
      continue;
    }
    if (oldest == trusted_.end() || it->second < oldest->second) oldest = it;
    ++it;
  }
  if (trusted_.size() >= limits_.max_sources && oldest != trusted_.end()) trusted_.erase(oldest);
}

}  // namespace lg::ingest
