// livegate-loadgen: keeps N RTMP publishers at real-time pace from one
// pre-encoded FLV file, in one process on one libuv loop, against any RTMP
// server. Each publisher has its own target (server URL and stream key, as an
// encoder's settings). Media payloads are shared by all publishers and sent
// without copies: each message goes out as a 12- or 16-byte header of its own,
// then the file's bytes in 4096-byte chunks (OBS's chunk size) separated by
// one-byte type-3 headers, gathered into one writev. The file loops,
// timestamps running on.
//
//   livegate-loadgen --flv FILE --seconds S (--targets FILE | --url URL --keys TEMPLATE -n N)
//   livegate-loadgen --raw --flv FILE --seconds S (--targets FILE | --url tcp://HOST:PORT -n N)
//
// --targets: one "SERVER_URL STREAM_KEY" per line. --keys: "s{i}" gives s0,
// s1, ... --raw: plain TCP to tcp://HOST:PORT targets (one a line in a
// targets file, no key), no RTMP handshake, connect or publish: each
// connection counts as accepted once connected and carries the very bytes an
// RTMP publish would (chunk headers and all), at the same pace, for a sink
// such as livegate-floor. Prints one JSON object on stdout at the end:
// publishes accepted, connections failed or dropped, bytes sent, how far
// behind real time the worst publisher fell, and the generator's own CPU
// seconds.
#include <uv.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "rtmp/amf0.h"
#include "rtmp/chunk.h"
#include "rtmp/handshake.h"
#include "rtmp/messages.h"

namespace {

using lg::rtmp::Message;
namespace amf0 = lg::rtmp::amf0;
namespace msg_type = lg::rtmp::msg_type;

// What OBS announces. Media payloads go out in place: between their chunks
// only a one-byte type-3 header is added.
constexpr uint32_t kChunkSize = 4096;
// Type-3 basic headers of the three chunk streams used (4, 5, 6).
constexpr uint8_t kType3[7] = {0, 0, 0, 0, 0xC4, 0xC5, 0xC6};
constexpr uint64_t kTickMs = 5;

struct Tag {
  uint8_t type = 0;
  uint32_t timestamp = 0;
  std::vector<uint8_t> payload;
};

struct Media {
  std::vector<Tag> tags;
  uint32_t duration_ms = 0;  // one loop of the file
  uint64_t bytes = 0;
};

bool read_flv(const std::string &path, Media &out, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> flv((std::istreambuf_iterator<char>(in)),
                                 std::istreambuf_iterator<char>());
  if (flv.size() < 13 || flv[0] != 'F' || flv[1] != 'L' || flv[2] != 'V') {
    error = "not an FLV file: " + path;
    return false;
  }
  size_t pos = 13;
  uint32_t last_ts = 0;
  while (pos + 11 <= flv.size()) {
    const uint8_t *h = flv.data() + pos;
    const size_t size = size_t{h[1]} << 16 | size_t{h[2]} << 8 | h[3];
    if (pos + 11 + size > flv.size()) break;
    Tag tag;
    tag.type = h[0];
    tag.timestamp = uint32_t{h[7]} << 24 | uint32_t{h[4]} << 16 | uint32_t{h[5]} << 8 | h[6];
    tag.payload.assign(h + 11, h + 11 + size);
    pos += 11 + size + 4;
    if (tag.type != msg_type::kAudio && tag.type != msg_type::kVideo &&
        tag.type != msg_type::kDataAmf0) {
      continue;
    }
    last_ts = std::max(last_ts, tag.timestamp);
    out.bytes += size;
    out.tags.push_back(std::move(tag));
  }
  if (out.tags.empty()) {
    error = "no audio or video tags in " + path;
    return false;
  }
  // One frame interval past the last tag, so a loop does not repeat a time.
  out.duration_ms = last_ts + 33;
  return true;
}

// Metadata and sequence headers: sent on the file's first pass only, so a loop reads as one
// continuous stream.
bool setup_tag(const Tag &tag) {
  if (tag.type == msg_type::kDataAmf0) return true;
  if (tag.payload.size() < 2) return false;
  if (tag.type == msg_type::kVideo) return tag.payload[1] == 0;
  return (tag.payload[0] >> 4) == 10 && tag.payload[1] == 0;  // AAC sequence header
}

struct Target {
  std::string tc_url;  // or tcp://host:port in raw mode
  std::string app;
  std::string stream;
};

// "rtmp://host:port/app/inst?q" + key -> tcUrl, app, stream; raw: only
// "tcp://host:port". False on a malformed URL.
bool parse_target(const std::string &url, const std::string &key, bool raw, Target &out) {
  const std::string scheme = raw ? "tcp://" : "rtmp://";
  if (url.rfind(scheme, 0) != 0) return false;
  out.tc_url = url;
  if (raw) return url.find('/', scheme.size()) == std::string::npos;
  const size_t slash = url.find('/', scheme.size());
  if (slash == std::string::npos || key.empty()) return false;
  out.app = url.substr(slash + 1);
  out.stream = key;
  return true;
}

bool host_port(const std::string &url, std::string &host, int &port) {
  const size_t start = url.find("://") + 3;
  const size_t slash = url.find('/', start);
  const std::string hp = url.substr(start, slash - start);
  const size_t colon = hp.rfind(':');
  host = colon == std::string::npos ? hp : hp.substr(0, colon);
  port = colon == std::string::npos ? 1935 : std::atoi(hp.c_str() + colon + 1);
  return !host.empty() && port > 0;
}

struct Totals {
  int accepted = 0;
  int refused = 0;
  int failed = 0;   // could not connect, or closed before the publish started
  int dropped = 0;  // closed by the server while publishing
  uint64_t bytes_sent = 0;
  uint64_t max_behind_ms = 0;  // the worst publisher's distance behind real time
  int behind = 0;              // publishers more than a second behind at the end
};

class Loadgen;

struct Write {
  uv_write_t req;
  uint8_t header[16];
  std::vector<uv_buf_t> bufs;  // kept between uses: no allocation once grown
};

class Publisher {
 public:
  enum class State { Connecting, Handshake, Commands, Publishing, Closed };

  Publisher(Loadgen &gen, Target target) : gen_(gen), target_(std::move(target)) {
    handshake_ = std::make_unique<lg::rtmp::ClientHandshake>(
        [](std::span<uint8_t> out) { std::fill(out.begin(), out.end(), uint8_t{0x5a}); },
        lg::rtmp::ClientHandshake::Mode::Plain);
  }

  void start(uv_loop_t *loop, const sockaddr *addr);
  void tick(uint64_t now_ms);
  State state() const { return state_; }
  uint64_t behind_ms(uint64_t now_ms) const;

 private:
  static void on_connect(uv_connect_t *req, int status);
  static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
  static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf);
  static void on_write(uv_write_t *req, int status);
  void received(std::span<const uint8_t> bytes);
  void send_bytes(std::vector<uint8_t> bytes);
  void send_message(const Message &msg);
  void send_tag(const Tag &tag, uint32_t timestamp);
  void close(bool dropped);
  void on_status(const std::string &code);

  Loadgen &gen_;
  Target target_;
  State state_ = State::Connecting;
  uv_tcp_t tcp_{};
  uv_connect_t connect_{};
  std::unique_ptr<lg::rtmp::ClientHandshake> handshake_;
  std::vector<uint8_t> in_;
  lg::rtmp::ChunkReader reader_;
  lg::rtmp::ChunkWriter writer_;
  uint64_t started_ms_ = 0;  // when the publish started: media time 0
  size_t next_ = 0;          // the next tag to send
  uint64_t loops_ = 0;       // times the file has wrapped
  uint8_t read_buf_[16384];
};

class Loadgen {
 public:
  Loadgen(Media media, uint64_t seconds, bool raw)
      : media_(std::move(media)), seconds_(seconds), raw_(raw) {
    uv_loop_init(&loop_);
  }

  void run(const std::vector<Target> &targets, uint64_t ramp_ms) {
    for (const Target &target : targets) {
      publishers_.push_back(std::make_unique<Publisher>(*this, target));
    }
    start_ms_ = uv_now(&loop_);
    ramp_ms_ = ramp_ms;
    uv_timer_init(&loop_, &timer_);
    timer_.data = this;
    uv_timer_start(&timer_, on_tick, 0, kTickMs);
    targets_ = &targets;
    uv_run(&loop_, UV_RUN_DEFAULT);
  }

  const Media &media() const { return media_; }
  bool raw() const { return raw_; }
  Totals &totals() { return totals_; }
  uv_loop_t *loop() { return &loop_; }
  // Write requests are reused: their number is bounded by the most ever in
  // flight at once.
  Write *alloc_write() {
    if (free_.empty()) {
      writes_.push_back(std::make_unique<Write>());
      return writes_.back().get();
    }
    Write *w = free_.back();
    free_.pop_back();
    return w;
  }
  void free_write(Write *w) { free_.push_back(w); }

 private:
  static void on_tick(uv_timer_t *timer) {
    auto &gen = *static_cast<Loadgen *>(timer->data);
    const uint64_t now = uv_now(&gen.loop_);
    const uint64_t elapsed = now - gen.start_ms_;
    // Publishers start spread over the ramp, so the server is not asked for
    // N handshakes in one instant.
    const size_t n = gen.publishers_.size();
    const size_t due = gen.ramp_ms_ == 0 ? n : std::min<size_t>(n, n * elapsed / gen.ramp_ms_ + 1);
    for (; gen.started_ < due; ++gen.started_) {
      std::string host;
      int port = 0;
      host_port((*gen.targets_)[gen.started_].tc_url, host, port);
      sockaddr_in addr{};
      uv_ip4_addr(host == "localhost" ? "127.0.0.1" : host.c_str(), port, &addr);
      gen.publishers_[gen.started_]->start(&gen.loop_, reinterpret_cast<const sockaddr *>(&addr));
    }
    for (auto &p : gen.publishers_) p->tick(now);
    if (elapsed >= gen.ramp_ms_ + gen.seconds_ * 1000) gen.finish(now);
  }

  void finish(uint64_t now) {
    uv_timer_stop(&timer_);
    for (auto &p : publishers_) {
      const uint64_t behind = p->behind_ms(now);
      totals_.max_behind_ms = std::max(totals_.max_behind_ms, behind);
      if (behind > 1000) ++totals_.behind;
    }
    uv_stop(&loop_);
  }

  Media media_;
  uint64_t seconds_;
  bool raw_;
  uv_loop_t loop_{};
  uv_timer_t timer_{};
  uint64_t start_ms_ = 0;
  uint64_t ramp_ms_ = 0;
  size_t started_ = 0;
  const std::vector<Target> *targets_ = nullptr;
  std::vector<std::unique_ptr<Publisher>> publishers_;
  std::vector<std::unique_ptr<Write>> writes_;
  std::vector<Write *> free_;
  Totals totals_;
};

void Publisher::start(uv_loop_t *loop, const sockaddr *addr) {
  uv_tcp_init(loop, &tcp_);
  uv_tcp_nodelay(&tcp_, 1);
  tcp_.data = this;
  connect_.data = this;
  if (uv_tcp_connect(&connect_, &tcp_, addr, on_connect) != 0) close(false);
}

void Publisher::on_connect(uv_connect_t *req, int status) {
  auto &p = *static_cast<Publisher *>(req->data);
  if (status != 0) {
    p.close(false);
    return;
  }
  // Reading still tells when the server closes the connection.
  if (p.gen_.raw()) {
    p.state_ = State::Publishing;
    p.started_ms_ = uv_now(p.gen_.loop());
    ++p.gen_.totals().accepted;
    uv_read_start(reinterpret_cast<uv_stream_t *>(&p.tcp_), on_alloc, on_read);
    return;
  }
  p.state_ = State::Handshake;
  std::vector<uint8_t> c0c1;
  p.handshake_->start(c0c1);
  p.send_bytes(std::move(c0c1));
  uv_read_start(reinterpret_cast<uv_stream_t *>(&p.tcp_), on_alloc, on_read);
}

void Publisher::on_alloc(uv_handle_t *handle, size_t, uv_buf_t *buf) {
  auto &p = *static_cast<Publisher *>(handle->data);
  *buf = uv_buf_init(reinterpret_cast<char *>(p.read_buf_), sizeof p.read_buf_);
}

void Publisher::on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
  auto &p = *static_cast<Publisher *>(stream->data);
  if (n < 0) {
    p.close(p.state_ == State::Publishing);
    return;
  }
  p.received(std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(buf->base),
                                      static_cast<size_t>(n)));
}

void Publisher::received(std::span<const uint8_t> bytes) {
  if (gen_.raw()) return;  // a raw sink has nothing to say
  in_.insert(in_.end(), bytes.begin(), bytes.end());
  if (state_ == State::Handshake) {
    size_t used = 0;
    std::vector<uint8_t> c2;
    const auto st = handshake_->feed(in_, used, c2);
    in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(used));
    if (st == lg::rtmp::ClientHandshake::Status::Error) return close(false);
    if (st != lg::rtmp::ClientHandshake::Status::Done) return;
    send_bytes(std::move(c2));
    state_ = State::Commands;
    send_message(lg::rtmp::make_set_chunk_size(kChunkSize));
    writer_.set_chunk_size(kChunkSize);
    send_message(lg::rtmp::make_command(
        3, 0,
        std::vector<amf0::Value>{
            amf0::Value::string("connect"), amf0::Value::number(1),
            amf0::Value::object({{"app", amf0::Value::string(target_.app)},
                                 {"type", amf0::Value::string("nonprivate")},
                                 {"flashVer", amf0::Value::string("FMLE/3.0 (livegate-loadgen)")},
                                 {"tcUrl", amf0::Value::string(target_.tc_url)}})}));
    send_message(lg::rtmp::make_command(
        3, 0,
        std::vector<amf0::Value>{amf0::Value::string("createStream"), amf0::Value::number(2),
                                 amf0::Value::null()}));
    send_message(lg::rtmp::make_command(
        3, 1,
        std::vector<amf0::Value>{amf0::Value::string("publish"), amf0::Value::number(3),
                                 amf0::Value::null(), amf0::Value::string(target_.stream),
                                 amf0::Value::string("live")}));
  }
  while (!in_.empty() && state_ != State::Closed) {
    size_t used = 0;
    Message msg;
    const auto st = reader_.feed(in_, used, msg);
    in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(used));
    if (st == lg::rtmp::ChunkReader::Status::Error) return close(state_ == State::Publishing);
    if (st != lg::rtmp::ChunkReader::Status::Message) break;
    uint16_t event = 0;
    std::span<const uint8_t> data;
    if (msg.type_id == msg_type::kUserControl &&
        lg::rtmp::parse_user_control(msg.payload, event, data) &&
        event == lg::rtmp::user_control::kPingRequest && data.size() >= 4) {
      const uint32_t t =
          uint32_t{data[0]} << 24 | uint32_t{data[1]} << 16 | uint32_t{data[2]} << 8 | data[3];
      send_message(lg::rtmp::make_ping_response(t));
    } else if (msg.type_id == msg_type::kCommandAmf0) {
      std::vector<amf0::Value> values;
      std::string error;
      if (amf0::decode_all(msg.payload, {}, values, error) && values.size() >= 4 &&
          values[0].as_string() == "onStatus") {
        if (const auto *code = values[3].get("code")) on_status(std::string(code->as_string()));
      }
    }
  }
}

void Publisher::on_status(const std::string &code) {
  if (state_ != State::Commands) return;
  if (code == "NetStream.Publish.Start") {
    state_ = State::Publishing;
    started_ms_ = uv_now(gen_.loop());
    ++gen_.totals().accepted;
  } else {
    ++gen_.totals().refused;
    close(false);
  }
}

void Publisher::tick(uint64_t now_ms) {
  if (state_ != State::Publishing) return;
  const Media &media = gen_.media();
  const uint64_t elapsed = now_ms - started_ms_;
  // Past a second of unsent bytes the server is not keeping up: stop adding
  // (the distance behind real time shows in behind_ms).
  const size_t queued = uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t *>(&tcp_));
  if (queued > 4 * 1024 * 1024) return;
  for (;;) {
    const Tag &tag = media.tags[next_];
    const uint64_t ts = loops_ * media.duration_ms + tag.timestamp;
    if (ts > elapsed) break;
    const bool end_of_sequence =
        tag.type == msg_type::kVideo && tag.payload.size() > 1 && tag.payload[1] == 2;
    if (!end_of_sequence && (loops_ == 0 || !setup_tag(tag))) {
      send_tag(tag, static_cast<uint32_t>(ts));
    }
    if (++next_ == media.tags.size()) {
      next_ = 0;
      ++loops_;
    }
    if (state_ != State::Publishing) return;
  }
}

uint64_t Publisher::behind_ms(uint64_t now_ms) const {
  if (state_ != State::Publishing) return 0;
  const Media &media = gen_.media();
  const uint64_t sent_ts = loops_ * media.duration_ms + media.tags[next_].timestamp;
  const uint64_t elapsed = now_ms - started_ms_;
  // Media not yet handed to the kernel counts as behind as well.
  const size_t queued =
      uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t *>(&tcp_));
  const uint64_t bytes_per_ms = std::max<uint64_t>(1, media.bytes / media.duration_ms);
  const uint64_t queued_ms = queued / bytes_per_ms;
  return (elapsed > sent_ts ? elapsed - sent_ts : 0) + queued_ms;
}

void Publisher::send_tag(const Tag &tag, uint32_t timestamp) {
  Write *w = gen_.alloc_write();
  w->req.data = this;
  const uint32_t length = static_cast<uint32_t>(tag.payload.size());
  const uint8_t csid = tag.type == msg_type::kAudio ? 4 : tag.type == msg_type::kVideo ? 6 : 5;
  const bool extended = timestamp >= 0xFFFFFF;
  const uint32_t field = extended ? 0xFFFFFF : timestamp;
  uint8_t *h = w->header;
  h[0] = csid;  // fmt 0
  h[1] = static_cast<uint8_t>(field >> 16);
  h[2] = static_cast<uint8_t>(field >> 8);
  h[3] = static_cast<uint8_t>(field);
  h[4] = static_cast<uint8_t>(length >> 16);
  h[5] = static_cast<uint8_t>(length >> 8);
  h[6] = static_cast<uint8_t>(length);
  h[7] = tag.type;
  h[8] = 1;  // message stream 1, little endian
  h[9] = h[10] = h[11] = 0;
  size_t header_len = 12;
  if (extended) {
    h[12] = static_cast<uint8_t>(timestamp >> 24);
    h[13] = static_cast<uint8_t>(timestamp >> 16);
    h[14] = static_cast<uint8_t>(timestamp >> 8);
    h[15] = static_cast<uint8_t>(timestamp);
    header_len = 16;
  }
  // The header, then the payload in chunk-size pieces with a type-3 header
  // before each piece after the first; libuv gathers them in one writev.
  auto &bufs = w->bufs;
  bufs.clear();
  bufs.push_back(uv_buf_init(reinterpret_cast<char *>(h), static_cast<unsigned>(header_len)));
  char *payload = const_cast<char *>(reinterpret_cast<const char *>(tag.payload.data()));
  size_t sent_headers = header_len;
  for (size_t off = 0; off < tag.payload.size(); off += kChunkSize) {
    if (off > 0) {
      bufs.push_back(
          uv_buf_init(const_cast<char *>(reinterpret_cast<const char *>(&kType3[csid])), 1));
      ++sent_headers;
    }
    const size_t n = std::min<size_t>(kChunkSize, tag.payload.size() - off);
    bufs.push_back(uv_buf_init(payload + off, static_cast<unsigned>(n)));
  }
  gen_.totals().bytes_sent += sent_headers + tag.payload.size();
  if (uv_write(&w->req, reinterpret_cast<uv_stream_t *>(&tcp_), bufs.data(),
               static_cast<unsigned>(bufs.size()), on_write) != 0) {
    gen_.free_write(w);
    close(true);
  }
}

void Publisher::send_message(const Message &msg) {
  std::vector<uint8_t> bytes;
  writer_.write(msg, bytes);
  send_bytes(std::move(bytes));
}

// Control bytes (handshake, commands): copied, rare.
void Publisher::send_bytes(std::vector<uint8_t> bytes) {
  struct Owned {
    uv_write_t req;
    std::vector<uint8_t> bytes;
  };
  auto o = std::make_unique<Owned>();
  o->bytes = std::move(bytes);
  o->req.data = o.get();
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char *>(o->bytes.data()),
                             static_cast<unsigned>(o->bytes.size()));
  const int rc = uv_write(
      &o->req, reinterpret_cast<uv_stream_t *>(&tcp_), &buf, 1,
      [](uv_write_t *req, int) { std::unique_ptr<Owned>(static_cast<Owned *>(req->data)); });
  if (rc == 0) (void)o.release();  // the callback owns it now
}

void Publisher::on_write(uv_write_t *req, int status) {
  auto *w = reinterpret_cast<Write *>(req);
  auto &p = *static_cast<Publisher *>(req->data);
  p.gen_.free_write(w);
  if (status != 0 && status != UV_ECANCELED) p.close(p.state_ == State::Publishing);
}

void Publisher::close(bool dropped) {
  if (state_ == State::Closed) return;
  if (dropped) {
    ++gen_.totals().dropped;
  } else if (state_ != State::Publishing) {
    ++gen_.totals().failed;
  }
  state_ = State::Closed;
  if (!uv_is_closing(reinterpret_cast<uv_handle_t *>(&tcp_)) && tcp_.loop) {
    uv_close(reinterpret_cast<uv_handle_t *>(&tcp_), nullptr);
  }
}

int usage(const char *why) {
  std::fprintf(stderr,
               "livegate-loadgen: %s\n"
               "usage: livegate-loadgen [--raw] --flv FILE --seconds S [--ramp-ms MS]\n"
               "         (--targets FILE | --url SERVER_URL --keys TEMPLATE -n N)\n"
               "       --raw: tcp://HOST:PORT targets, no --keys\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  std::string flv, targets_file, url, keys;
  lg::bench::RunArgs args;
  bool raw = false;
  const std::string error_in_args = lg::bench::parse_args(
      argc, argv,
      {{"--flv", &flv}, {"--targets", &targets_file}, {"--url", &url}, {"--keys", &keys}}, args,
      {{"--raw", &raw}});
  if (!error_in_args.empty()) return usage(error_in_args.c_str());
  const auto [seconds, ramp_ms, n] = args;
  if (flv.empty()) return usage("--flv is required");
  std::vector<Target> targets;
  if (!targets_file.empty()) {
    for (const auto &[server_url, key] : lg::bench::read_targets(targets_file)) {
      Target t;
      if (!parse_target(server_url, key, raw, t)) {
        return usage(("bad target " + server_url).c_str());
      }
      targets.push_back(std::move(t));
    }
  } else if (!url.empty() && (raw || !keys.empty()) && n > 0) {
    for (int i = 0; i < n; ++i) {
      Target t;
      if (!parse_target(url, lg::bench::expand(keys, i), raw, t)) {
        return usage(("bad url " + url).c_str());
      }
      targets.push_back(std::move(t));
    }
  } else {
    return usage("give --targets, or --url with --keys and -n");
  }
  Media media;
  std::string error;
  if (!read_flv(flv, media, error)) return usage(error.c_str());

  const double cpu_before = lg::bench::cpu_seconds();
  Loadgen gen(std::move(media), seconds, raw);
  gen.run(targets, ramp_ms);
  const double cpu = lg::bench::cpu_seconds() - cpu_before;
  const Totals &t = gen.totals();
  std::printf(
      "{\"publishers\":%zu,\"accepted\":%d,\"refused\":%d,\"failed\":%d,\"dropped\":%d,"
      "\"bytesSent\":%llu,\"seconds\":%llu,\"maxBehindMs\":%llu,\"behind\":%d,"
      "\"cpuSeconds\":%.3f}\n",
      targets.size(), t.accepted, t.refused, t.failed, t.dropped,
      static_cast<unsigned long long>(t.bytes_sent), static_cast<unsigned long long>(seconds),
      static_cast<unsigned long long>(t.max_behind_ms), t.behind, cpu);
  return t.accepted == static_cast<int>(targets.size()) && t.dropped == 0 ? 0 : 1;
}
