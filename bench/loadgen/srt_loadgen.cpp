// livegate-srt-loadgen: keeps N SRT callers (live mode, 120 ms latency)
// sending one pre-encoded MPEG-TS file at real-time pace, from one thread of
// ours, against any SRT listener. Each caller has its own target (address
// and stream id, as an encoder's settings). The file goes out in 1316-byte
// payloads (seven TS packets), each when the file's PCR says it is due. The
// file loops with its timestamps running on: on every pass after the first
// the PCR, PTS and DTS fields are moved forward by the file's duration and
// the continuity counters carried on, so a receiver sees one continuous
// stream, as from an encoder. All callers share one local UDP port.
//
//   livegate-srt-loadgen --ts FILE --seconds S [--ramp-ms MS] [--passphrase P]
//       (--targets FILE | --url srt://HOST:PORT --streamids TEMPLATE -n N)
//
// --targets: one "srt://HOST:PORT [STREAM_ID]" per line. --streamids: "s{i}"
// gives s0, s1, ... Prints one JSON object on stdout at the end: callers
// connected, failed (never connected, with libsrt's reasons) and dropped
// (broken while sending), payload bytes sent, how far behind real time the
// worst caller fell, and the generator's own CPU seconds (libsrt's threads
// included).
#include <arpa/inet.h>
#include <netdb.h>
#include <srt/srt.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common.h"

namespace {

constexpr size_t kPacket = 188;
constexpr size_t kChunkPackets = 7;  // 1316 bytes: SRT's live payload
constexpr size_t kChunk = kPacket * kChunkPackets;
constexpr int kLatencyMs = 120;
constexpr auto kTick = std::chrono::milliseconds(5);
constexpr uint64_t kClock33 = uint64_t{1} << 33;  // PTS, DTS and PCR base wrap here

using Clock = std::chrono::steady_clock;

// Where one TS packet carries timestamps, as offsets into the packet (0: none).
struct Stamps {
  uint8_t pcr = 0;
  uint8_t pts = 0;
  uint8_t dts = 0;
  uint8_t cc_step = 0;  // continuity counter advance of this packet's PID per pass
};

struct TsFile {
  std::vector<uint8_t> bytes;      // whole packets only
  std::vector<Stamps> stamps;      // one per packet
  std::vector<uint64_t> chunk_ms;  // when each chunk is due within one pass
  uint64_t duration_90k = 0;       // one pass, in 90 kHz ticks
  uint64_t duration_ms = 0;
};

uint64_t read_ts33(const uint8_t *p) {
  return (uint64_t{p[0]} >> 1 & 0x07) << 30 | uint64_t{p[1]} << 22 | (uint64_t{p[2]} >> 1) << 15 |
         uint64_t{p[3]} << 7 | uint64_t{p[4]} >> 1;
}

void write_ts33(uint8_t *p, uint64_t v) {
  // The prefix nibble and the marker bits stay as they were.
  p[0] = static_cast<uint8_t>((p[0] & 0xF1) | (v >> 29 & 0x0E));
  p[1] = static_cast<uint8_t>(v >> 22);
  p[2] = static_cast<uint8_t>((v >> 14 & 0xFE) | 1);
  p[3] = static_cast<uint8_t>(v >> 7);
  p[4] = static_cast<uint8_t>((v << 1 & 0xFE) | 1);
}

uint64_t read_pcr_base(const uint8_t *p) {
  return uint64_t{p[0]} << 25 | uint64_t{p[1]} << 17 | uint64_t{p[2]} << 9 | uint64_t{p[3]} << 1 |
         p[4] >> 7;
}

void write_pcr_base(uint8_t *p, uint64_t v) {
  p[0] = static_cast<uint8_t>(v >> 25);
  p[1] = static_cast<uint8_t>(v >> 17);
  p[2] = static_cast<uint8_t>(v >> 9);
  p[3] = static_cast<uint8_t>(v >> 1);
  p[4] = static_cast<uint8_t>((p[4] & 0x7F) | (v << 7 & 0x80));  // reserved bits and extension kept
}

// Finds the timestamp fields of every packet, the file's duration and when
// each chunk is due (the PCR, interpolated by packet between PCRs).
bool read_ts(const std::string &path, TsFile &out, std::string &error) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const auto size = static_cast<size_t>(std::max<std::streamoff>(0, in.tellg()));
  out.bytes.resize(size / kPacket * kPacket);
  in.seekg(0);
  in.read(reinterpret_cast<char *>(out.bytes.data()),
          static_cast<std::streamsize>(out.bytes.size()));
  const size_t packets = out.bytes.size() / kPacket;
  if (packets == 0) {
    error = "not an MPEG-TS file: " + path;
    return false;
  }
  out.stamps.resize(packets);
  std::map<uint16_t, uint64_t> payload_packets;   // per PID, for the counters
  std::vector<std::pair<size_t, uint64_t>> pcrs;  // packet index, PCR base
  int pcr_pid = -1;
  // Presentation span per PID: the PCR's PID (the video's) gives the pass
  // length, so that its frames run on evenly across a loop.
  std::map<uint16_t, std::pair<uint64_t, uint64_t>> spans;
  for (size_t i = 0; i < packets; ++i) {
    const uint8_t *p = out.bytes.data() + i * kPacket;
    if (p[0] != 0x47) {
      error = "lost TS sync at byte " + std::to_string(i * kPacket) + " of " + path;
      return false;
    }
    const uint16_t pid = static_cast<uint16_t>((p[1] & 0x1F) << 8 | p[2]);
    const bool unit_start = p[1] & 0x40;
    const bool has_adaptation = p[3] & 0x20;
    const bool has_payload = p[3] & 0x10;
    if (has_payload) ++payload_packets[pid];
    size_t payload = 4;
    if (has_adaptation) {
      const size_t length = p[4];
      payload = 5 + length;
      if (length >= 7 && (p[5] & 0x10)) {
        if (pcr_pid < 0) pcr_pid = pid;
        out.stamps[i].pcr = 6;
        if (pid == pcr_pid) pcrs.emplace_back(i, read_pcr_base(p + 6));
      }
    }
    // A PES header: its PTS (and DTS) follow the 9 fixed bytes. The PAT and
    // PMT (PIDs 0 and the tables') never start with the 00 00 01 prefix.
    if (unit_start && has_payload && payload + 14 <= kPacket && p[payload] == 0 &&
        p[payload + 1] == 0 && p[payload + 2] == 1) {
      const uint8_t flags = p[payload + 7] >> 6;
      if (flags & 2) {
        out.stamps[i].pts = static_cast<uint8_t>(payload + 9);
        if (flags == 3 && payload + 19 <= kPacket) {
          out.stamps[i].dts = static_cast<uint8_t>(payload + 14);
        }
        const uint64_t pts = read_ts33(p + payload + 9);
        const auto span = spans.try_emplace(pid, pts, pts).first;
        span->second.first = std::min(span->second.first, pts);
        span->second.second = std::max(span->second.second, pts);
      }
    }
  }
  if (pcrs.size() < 2 || !spans.contains(static_cast<uint16_t>(pcr_pid))) {
    error = "no PCR or no timestamps in " + path;
    return false;
  }
  for (size_t i = 0; i < packets; ++i) {
    const uint8_t *p = out.bytes.data() + i * kPacket;
    const uint16_t pid = static_cast<uint16_t>((p[1] & 0x1F) << 8 | p[2]);
    out.stamps[i].cc_step = static_cast<uint8_t>(payload_packets[pid] % 16);
  }
  // The presentation span plus one frame interval (30 fps), so a pass
  // neither repeats a time nor leaves a gap.
  const auto [first_pts, last_pts] = spans[static_cast<uint16_t>(pcr_pid)];
  out.duration_90k = last_pts - first_pts + 3000;
  out.duration_ms = out.duration_90k / 90;
  const uint64_t pcr0 = pcrs.front().second;
  size_t k = 0;
  for (size_t c = 0; c * kChunkPackets < packets; ++c) {
    const size_t i = c * kChunkPackets;
    while (k + 1 < pcrs.size() && pcrs[k + 1].first <= i) ++k;
    uint64_t t90 = 0;
    if (i >= pcrs.back().first) {
      t90 = pcrs.back().second - pcr0;
    } else if (i > pcrs[k].first) {
      const auto [i0, v0] = pcrs[k];
      const auto [i1, v1] = pcrs[k + 1];
      t90 = v0 - pcr0 + (v1 - v0) * (i - i0) / (i1 - i0);
    }
    out.chunk_ms.push_back(std::min(t90 / 90, out.duration_ms));
  }
  return true;
}

struct Target {
  std::string host;
  std::string port;
  std::string stream_id;
};

// "srt://host:port" (a query is ignored) -> host and port.
bool parse_url(const std::string &url, Target &out) {
  const std::string scheme = "srt://";
  if (url.rfind(scheme, 0) != 0) return false;
  const std::string rest =
      url.substr(scheme.size(), url.find_first_of("/?", scheme.size()) - scheme.size());
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  out.host = rest.substr(0, colon);
  out.port = rest.substr(colon + 1);
  return !out.port.empty();
}

struct Totals {
  int connected = 0;
  int failed = 0;   // never connected: refused, or timed out
  int dropped = 0;  // broken while sending
  uint64_t bytes_sent = 0;
  uint64_t max_behind_ms = 0;
  std::map<std::string, int> fail_reasons;  // libsrt's reject reason -> callers
};

class Caller {
 public:
  enum class State { Idle, Connecting, Sending, Closed };

  Caller(const TsFile &file, Target target) : file_(file), target_(std::move(target)) {}
  ~Caller() {
    if (sock_ != SRT_INVALID_SOCK) srt_close(sock_);
  }
  Caller(const Caller &) = delete;
  Caller &operator=(const Caller &) = delete;

  void start(const std::string &passphrase, uint16_t &local_port, Totals &totals);
  void tick(Clock::time_point now, Totals &totals);
  uint64_t behind_ms(Clock::time_point now) const;

 private:
  void fail(SRT_SOCKSTATUS status, Totals &totals);
  bool send_chunk(size_t chunk, Totals &totals);

  const TsFile &file_;
  Target target_;
  State state_ = State::Idle;
  SRTSOCKET sock_ = SRT_INVALID_SOCK;
  Clock::time_point started_;  // when the connection was up: media time 0
  size_t next_ = 0;            // the next chunk to send
  uint64_t passes_ = 0;        // times the file has wrapped
  uint8_t scratch_[kChunk];    // a later pass's chunk, timestamps moved on
};

bool set_int(SRTSOCKET sock, SRT_SOCKOPT opt, int value) {
  return srt_setsockflag(sock, opt, &value, sizeof value) != SRT_ERROR;
}

void Caller::start(const std::string &passphrase, uint16_t &local_port, Totals &totals) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo *found = nullptr;
  if (getaddrinfo(target_.host.c_str(), target_.port.c_str(), &hints, &found) != 0) {
    ++totals.fail_reasons["cannot resolve " + target_.host];
    ++totals.failed;
    state_ = State::Closed;
    return;
  }
  const std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addr(found, freeaddrinfo);
  sock_ = srt_create_socket();
  // Non-blocking: the connection completes in libsrt's threads while this
  // one keeps the others fed; tick() polls its state.
  bool ok = sock_ != SRT_INVALID_SOCK && set_int(sock_, SRTO_TRANSTYPE, SRTT_LIVE) &&
            set_int(sock_, SRTO_LATENCY, kLatencyMs) && set_int(sock_, SRTO_SNDSYN, 0) &&
            set_int(sock_, SRTO_RCVSYN, 0);
  if (ok && !target_.stream_id.empty()) {
    ok = srt_setsockflag(sock_, SRTO_STREAMID, target_.stream_id.data(),
                         static_cast<int>(target_.stream_id.size())) != SRT_ERROR;
  }
  if (ok && !passphrase.empty()) {
    ok = srt_setsockflag(sock_, SRTO_PASSPHRASE, passphrase.data(),
                         static_cast<int>(passphrase.size())) != SRT_ERROR;
  }
  // All callers bound to one local UDP port share one libsrt multiplexer:
  // one UDP socket with one sending and one receiving thread instead of two
  // threads per caller, which halves the generator's CPU. Listeners tell the
  // callers apart by their SRT socket ids (so all come from one address and
  // port, unlike encoders on separate machines).
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_port = htons(local_port);
  ok = ok && srt_bind(sock_, reinterpret_cast<const sockaddr *>(&local), sizeof local) != SRT_ERROR;
  if (ok && local_port == 0) {
    int length = sizeof local;
    ok = srt_getsockname(sock_, reinterpret_cast<sockaddr *>(&local), &length) != SRT_ERROR;
    local_port = ntohs(local.sin_port);
  }
  if (!ok || srt_connect(sock_, addr->ai_addr, static_cast<int>(addr->ai_addrlen)) == SRT_ERROR) {
    ++totals.fail_reasons[srt_getlasterror_str()];
    ++totals.failed;
    state_ = State::Closed;
    return;
  }
  state_ = State::Connecting;
}

void Caller::fail(SRT_SOCKSTATUS status, Totals &totals) {
  if (state_ == State::Sending) {
    ++totals.dropped;
  } else {
    ++totals.failed;
    const int reject = srt_getrejectreason(sock_);
    std::string reason = srt_rejectreason_str(reject);
    // Without a reason from the peer, the state it ended in tells more.
    if (reject == SRT_REJ_UNKNOWN) reason += " (socket state " + std::to_string(status) + ")";
    ++totals.fail_reasons[reason];
  }
  state_ = State::Closed;
}

void Caller::tick(Clock::time_point now, Totals &totals) {
  if (state_ == State::Idle || state_ == State::Closed) return;
  const SRT_SOCKSTATUS status = srt_getsockstate(sock_);
  if (state_ == State::Connecting) {
    if (status == SRTS_CONNECTING) return;
    if (status != SRTS_CONNECTED) return fail(status, totals);
    state_ = State::Sending;
    started_ = now;
    ++totals.connected;
  }
  if (status != SRTS_CONNECTED) return fail(status, totals);
  const auto elapsed = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now - started_).count());
  while (passes_ * file_.duration_ms + file_.chunk_ms[next_] <= elapsed) {
    if (!send_chunk(next_, totals)) return;
    if (++next_ == file_.chunk_ms.size()) {
      next_ = 0;
      ++passes_;
    }
  }
}

// False when the chunk could not go now: libsrt's send buffer is full (it is
// tried again next tick, and counts as behind) or the connection broke.
bool Caller::send_chunk(size_t chunk, Totals &totals) {
  const size_t first = chunk * kChunkPackets;
  const size_t length = std::min(kChunk, file_.bytes.size() - first * kPacket);
  const uint8_t *data = file_.bytes.data() + first * kPacket;
  if (passes_ > 0) {
    std::memcpy(scratch_, data, length);
    const uint64_t shift = passes_ * file_.duration_90k;
    for (size_t i = 0; i < length / kPacket; ++i) {
      uint8_t *p = scratch_ + i * kPacket;
      const Stamps &s = file_.stamps[first + i];
      p[3] = static_cast<uint8_t>((p[3] & 0xF0) | ((p[3] + passes_ * s.cc_step) & 0x0F));
      if (s.pcr) write_pcr_base(p + s.pcr, (read_pcr_base(p + s.pcr) + shift) % kClock33);
      if (s.pts) write_ts33(p + s.pts, (read_ts33(p + s.pts) + shift) % kClock33);
      if (s.dts) write_ts33(p + s.dts, (read_ts33(p + s.dts) + shift) % kClock33);
    }
    data = scratch_;
  }
  if (srt_sendmsg2(sock_, reinterpret_cast<const char *>(data), static_cast<int>(length),
                   nullptr) == SRT_ERROR) {
    if (srt_getlasterror(nullptr) != SRT_EASYNCSND) fail(srt_getsockstate(sock_), totals);
    return false;
  }
  totals.bytes_sent += length;
  return true;
}

uint64_t Caller::behind_ms(Clock::time_point now) const {
  if (state_ != State::Sending) return 0;
  const auto elapsed = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now - started_).count());
  const uint64_t due = passes_ * file_.duration_ms + file_.chunk_ms[next_];
  return elapsed > due ? elapsed - due : 0;
}

std::string json_string(const std::string &s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

int usage(const std::string &why) {
  std::fprintf(stderr,
               "livegate-srt-loadgen: %s\n"
               "usage: livegate-srt-loadgen --ts FILE --seconds S [--ramp-ms MS] [--passphrase P]\n"
               "         (--targets FILE | --url srt://HOST:PORT --streamids TEMPLATE -n N)\n",
               why.c_str());
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  std::string ts, targets_file, url, streamids, passphrase;
  lg::bench::RunArgs args;
  const std::string error_in_args = lg::bench::parse_args(argc, argv,
                                                          {{"--ts", &ts},
                                                           {"--targets", &targets_file},
                                                           {"--url", &url},
                                                           {"--streamids", &streamids},
                                                           {"--passphrase", &passphrase}},
                                                          args);
  if (!error_in_args.empty()) return usage(error_in_args);
  const auto [seconds, ramp_ms, n] = args;
  if (ts.empty()) return usage("--ts is required");
  std::vector<Target> targets;
  if (!targets_file.empty()) {
    for (auto &[target_url, stream_id] : lg::bench::read_targets(targets_file)) {
      Target t;
      t.stream_id = std::move(stream_id);  // may be empty
      if (!parse_url(target_url, t)) return usage("bad target " + target_url);
      targets.push_back(std::move(t));
    }
  } else if (!url.empty() && n > 0) {
    for (int i = 0; i < n; ++i) {
      Target t;
      if (!parse_url(url, t)) return usage("bad url " + url);
      t.stream_id = lg::bench::expand(streamids, i);
      targets.push_back(std::move(t));
    }
  } else {
    return usage("give --targets, or --url with --streamids and -n");
  }
  if (targets.empty()) return usage("no targets");
  TsFile file;
  std::string error;
  if (!read_ts(ts, file, error)) return usage(error);

  const double cpu_before = lg::bench::cpu_seconds();
  srt_startup();
  srt_setloglevel(LOG_CRIT);  // a refused or broken caller is counted, not logged
  Totals totals;
  {
    std::vector<std::unique_ptr<Caller>> callers;
    for (const Target &t : targets) callers.push_back(std::make_unique<Caller>(file, t));
    const Clock::time_point start = Clock::now();
    const auto end = start + std::chrono::milliseconds(ramp_ms + seconds * 1000);
    size_t started = 0;
    uint16_t local_port = 0;  // the first caller's, then everyone's
    Clock::time_point wake = start;
    for (Clock::time_point now = start; now < end; now = Clock::now()) {
      // Callers start spread over the ramp, so the listener is not asked for
      // N handshakes in one instant.
      const auto since = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count());
      const size_t due = ramp_ms == 0
                             ? callers.size()
                             : std::min(callers.size(), callers.size() * since / ramp_ms + 1);
      for (; started < due; ++started) callers[started]->start(passphrase, local_port, totals);
      for (auto &c : callers) c->tick(now, totals);
      // A fixed cadence: a late wake-up sends everything due since.
      wake += kTick;
      std::this_thread::sleep_until(wake);
    }
    const Clock::time_point now = Clock::now();
    for (const auto &c : callers) {
      totals.max_behind_ms = std::max(totals.max_behind_ms, c->behind_ms(now));
    }
  }
  srt_cleanup();
  const double cpu = lg::bench::cpu_seconds() - cpu_before;

  std::string reasons;
  for (const auto &[reason, count] : totals.fail_reasons) {
    reasons += (reasons.empty() ? "" : ",") + json_string(reason) + ":" + std::to_string(count);
  }
  std::printf(
      "{\"publishers\":%zu,\"connected\":%d,\"failed\":%d,\"dropped\":%d,\"bytesSent\":%llu,"
      "\"seconds\":%llu,\"maxBehindMs\":%llu,\"cpuSeconds\":%.3f,\"failReasons\":{%s}}\n",
      targets.size(), totals.connected, totals.failed, totals.dropped,
      static_cast<unsigned long long>(totals.bytes_sent), static_cast<unsigned long long>(seconds),
      static_cast<unsigned long long>(totals.max_behind_ms), cpu, reasons.c_str());
  return totals.connected == static_cast<int>(targets.size()) && totals.dropped == 0 ? 0 : 1;
}
