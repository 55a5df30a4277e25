// A deliberately low-level RTMP publisher for tests that misbehave on
// purpose: blocking sockets on 127.0.0.1, our own chunk writer (any chunk
// size, any csid), and access to every byte. Also the captured ffmpeg
// publish's media, to send through it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "rtmp/amf0.h"
#include "rtmp/chunk.h"
#include "rtmp/handshake.h"
#include "rtmp/messages.h"

namespace lg::test {

using Clock = std::chrono::steady_clock;

class RawRtmpClient {
 public:
  explicit RawRtmpClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawRtmpClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawRtmpClient(const RawRtmpClient &) = delete;
  RawRtmpClient &operator=(const RawRtmpClient &) = delete;

  bool connected() const { return connected_; }

  // False once the server has closed or reset the connection.
  bool send(std::span<const uint8_t> bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Plain handshake: C0+C1, then C2 once S0+S1+S2 are in.
  bool handshake() {
    rtmp::ClientHandshake hs([](std::span<uint8_t> out) { std::fill(out.begin(), out.end(), 7); },
                             rtmp::ClientHandshake::Mode::Plain);
    std::vector<uint8_t> out;
    hs.start(out);
    if (!send(out)) return false;
    out.clear();
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      if (!read_some(200)) return false;
      size_t used = 0;
      const auto st = hs.feed(in_, used, out);
      in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(used));
      if (st == rtmp::ClientHandshake::Status::Error) return false;
      if (st == rtmp::ClientHandshake::Status::Done) return send(out);
    }
    return false;
  }

  void set_chunk_size(uint32_t size) {
    write(rtmp::make_set_chunk_size(size));
    writer_.set_chunk_size(size);
  }

  bool write(const rtmp::Message &msg) {
    std::vector<uint8_t> out;
    writer_.write(msg, out);
    return send(out);
  }

  bool command(uint32_t stream_id, std::vector<rtmp::amf0::Value> values) {
    return write(rtmp::make_command(3, stream_id, values));
  }

  bool connect(const std::string &app, const std::string &tc_url) {
    using rtmp::amf0::Value;
    return command(0, {Value::string("connect"), Value::number(1),
                       Value::object({{"app", Value::string(app)},
                                      {"type", Value::string("nonprivate")},
                                      {"flashVer", Value::string("FMLE/3.0 (raw test client)")},
                                      {"tcUrl", Value::string(tc_url)}})});
  }

  // createStream, then publish on stream 1 (what the server's first
  // createStream returns).
  bool publish(const std::string &stream_name) {
    using rtmp::amf0::Value;
    return command(0, {Value::string("createStream"), Value::number(2), Value::null()}) &&
           command(1, {Value::string("publish"), Value::number(3), Value::null(),
                       Value::string(stream_name), Value::string("live")});
  }

  // Reads and decodes what the server sends until an onStatus code arrives,
  // the connection closes, or the timeout passes; returns the code or "".
  std::string wait_status(int timeout_ms = 10000) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      if (auto code = next_status(); !code.empty()) return code;
      if (!read_some(100)) return next_status();
    }
    return "";
  }

  // Whether the server closes (or resets) the connection within
  // `timeout_ms`, reading and dropping whatever it sends meanwhile.
  bool closed_within(int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      if (!read_some(50)) return true;
      in_.clear();
    }
    return false;
  }

  // Closes the connection (FIN), as an encoder that quits without
  // unpublishing does.
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  // Waits up to `timeout_ms` for bytes; false on EOF or error.
  bool read_some(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, timeout_ms);
    if (r <= 0) return r == 0;
    uint8_t buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in_.insert(in_.end(), buf, buf + n);
    return true;
  }

  std::string next_status() {
    while (!in_.empty()) {
      size_t used = 0;
      rtmp::Message msg;
      const auto st = reader_.feed(in_, used, msg);
      in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(used));
      if (st != rtmp::ChunkReader::Status::Message) return "";
      if (msg.type_id != rtmp::msg_type::kCommandAmf0) continue;
      std::vector<rtmp::amf0::Value> values;
      std::string error;
      if (!rtmp::amf0::decode_all(msg.payload, {}, values, error) || values.size() < 4) continue;
      if (values[0].as_string() != "onStatus") continue;
      if (const auto *code = values[3].get("code")) return std::string(code->as_string());
    }
    return "";
  }

  int fd_ = -1;
  bool connected_ = false;
  std::vector<uint8_t> in_;
  rtmp::ChunkReader reader_;
  rtmp::ChunkWriter writer_;
};

// The messages of a real FLV file that ffmpeg encodes once per process:
// 3 s of 320x180 testsrc2 at 30 fps (x264, B-frames, 1 s GOP) and a sine
// in AAC, with its onMetaData, timestamps as in the file.
inline const std::vector<rtmp::Message> &encoded_media() {
  static const std::vector<rtmp::Message> media = [] {
    const std::string path = "/tmp/lg-hostile-" + std::to_string(::getpid()) + ".flv";
    const std::string cmd =
        "timeout 60 ffmpeg -nostdin -hide_banner -loglevel error -y "
        "-f lavfi -i testsrc2=size=320x180:rate=30 -f lavfi -i sine=frequency=440 -t 3 "
        "-c:v libx264 -preset ultrafast -g 30 -bf 2 -pix_fmt yuv420p -c:a aac -f flv " +
        path;
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::ifstream file(path, std::ios::binary);
    const std::vector<uint8_t> flv((std::istreambuf_iterator<char>(file)),
                                   std::istreambuf_iterator<char>());
    std::remove(path.c_str());
    // FLV: a 9-byte header and a 4-byte previous tag size, then tags of an
    // 11-byte header, the body, and a 4-byte size.
    std::vector<rtmp::Message> out;
    size_t pos = 13;
    while (pos + 11 <= flv.size()) {
      const uint8_t *h = flv.data() + pos;
      const size_t size = size_t{h[1]} << 16 | size_t{h[2]} << 8 | h[3];
      const uint32_t ts = uint32_t{h[7]} << 24 | uint32_t{h[4]} << 16 | uint32_t{h[5]} << 8 | h[6];
      REQUIRE(pos + 11 + size + 4 <= flv.size());
      rtmp::Message msg;
      msg.type_id = h[0];
      msg.csid = h[0] == rtmp::msg_type::kAudio ? 4 : h[0] == rtmp::msg_type::kVideo ? 6 : 5;
      msg.stream_id = 1;
      msg.timestamp = ts;
      msg.payload.assign(h + 11, h + 11 + size);
      out.push_back(std::move(msg));
      pos += 11 + size + 4;
    }
    return out;
  }();
  return media;
}

}  // namespace lg::test
