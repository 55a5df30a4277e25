// livegate-floor: the least work an ingest server that writes what it
// receives to segment files can do. A libuv TCP server on 127.0.0.1: each
// connection's bytes are read straight into a 64 KiB buffer of its own (as a
// muxer's I/O buffer), written out to a file whenever the buffer is full or a
// segment ends, a new file every --segment-bytes (default 750000, about 2 s
// at 3 Mbit/s), and only the connection's last 6 files are kept. That is one
// copy in from the socket and one copy out to a file per byte, and nothing
// else: no parsing, no packaging, no playlists. Fed by `livegate-loadgen
// --raw`, its CPU per GB is the floor the ingest servers are measured against.
//
//   livegate-floor --dir DIR [--segment-bytes B] [--port P]
//
// Prints {"port": P} once listening (P is ephemeral with --port 0, the
// default); on SIGTERM or SIGINT it stops and prints
// {"connections": C, "bytes": B, "files": F}.
#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr size_t kBufferBytes = 64 * 1024;
constexpr uint64_t kKeepFiles = 6;

struct Floor {
  uv_loop_t *loop = nullptr;
  uv_tcp_t server{};
  uv_signal_t term{};
  uv_signal_t interrupt{};
  std::string dir;
  uint64_t segment_bytes = 750000;
  uint64_t connections = 0;
  uint64_t bytes = 0;
  uint64_t files = 0;
};

class Connection {
 public:
  Connection(Floor &floor, uint64_t id) : floor_(floor), id_(id) {
    uv_tcp_init(floor.loop, &tcp_);
    tcp_.data = this;
  }

  uv_stream_t *stream() { return reinterpret_cast<uv_stream_t *>(&tcp_); }

  void start() { uv_read_start(stream(), on_alloc, on_read); }

 private:
  // The socket's bytes land in the free tail of the write buffer, never
  // past the end of the current segment: no copy in user space.
  static void on_alloc(uv_handle_t *handle, size_t, uv_buf_t *buf) {
    auto &c = *static_cast<Connection *>(handle->data);
    // A full buffer or a complete segment is flushed as soon as read, so
    // there is always room here.
    const size_t room = static_cast<size_t>(std::min<uint64_t>(
        kBufferBytes - c.filled_, c.floor_.segment_bytes - c.in_segment_ - c.filled_));
    *buf = uv_buf_init(c.buffer_.get() + c.filled_, static_cast<unsigned>(room));
  }

  static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *) {
    auto &c = *static_cast<Connection *>(stream->data);
    if (n < 0) {
      c.close();
      return;
    }
    c.filled_ += static_cast<size_t>(n);
    c.floor_.bytes += static_cast<uint64_t>(n);
    if (c.filled_ == kBufferBytes || c.in_segment_ + c.filled_ >= c.floor_.segment_bytes) {
      if (!c.flush()) c.close();
    }
  }

  std::string path(uint64_t segment) const {
    return floor_.dir + "/c" + std::to_string(id_) + "-" + std::to_string(segment) + ".bin";
  }

  // Writes the buffer out, opening the segment's file first if need be and
  // moving on to the next segment when this one is complete. The write is a
  // blocking write(2) on the loop thread: a server must not do that, but
  // this is a measuring stick, not a server, and a thread pool hop would add
  // work the floor is not meant to contain. False on an error.
  bool flush() {
    if (filled_ == 0) return true;
    if (fd_ < 0) {
      fd_ = ::open(path(segment_).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd_ < 0) return false;
      ++floor_.files;
      if (segment_ >= kKeepFiles) ::unlink(path(segment_ - kKeepFiles).c_str());
    }
    for (size_t off = 0; off < filled_;) {
      const ssize_t w = ::write(fd_, buffer_.get() + off, filled_ - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      off += static_cast<size_t>(w);
    }
    in_segment_ += filled_;
    filled_ = 0;
    if (in_segment_ >= floor_.segment_bytes) {
      ::close(fd_);
      fd_ = -1;
      in_segment_ = 0;
      ++segment_;
    }
    return true;
  }

  void close() {
    flush();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    uv_close(reinterpret_cast<uv_handle_t *>(&tcp_),
             [](uv_handle_t *h) { delete static_cast<Connection *>(h->data); });
  }

  Floor &floor_;
  uint64_t id_;
  uv_tcp_t tcp_{};
  std::unique_ptr<char[]> buffer_ = std::make_unique<char[]>(kBufferBytes);
  size_t filled_ = 0;        // bytes in the buffer
  uint64_t in_segment_ = 0;  // bytes written to the current file
  uint64_t segment_ = 0;     // the current file's number
  int fd_ = -1;
};

void on_connection(uv_stream_t *server, int status) {
  auto &floor = *static_cast<Floor *>(server->data);
  if (status != 0) return;
  auto *c = new Connection(floor, floor.connections);
  if (uv_accept(server, c->stream()) != 0) {
    uv_close(reinterpret_cast<uv_handle_t *>(c->stream()),
             [](uv_handle_t *h) { delete static_cast<Connection *>(h->data); });
    return;
  }
  ++floor.connections;
  c->start();
}

// Stops the loop; open connections are left to the process's exit (their
// last partial buffer is not written, as a killed server's would not be).
void on_signal(uv_signal_t *signal, int) {
  auto &floor = *static_cast<Floor *>(signal->data);
  uv_signal_stop(&floor.term);
  uv_signal_stop(&floor.interrupt);
  uv_stop(floor.loop);
}

int usage(const char *why) {
  std::fprintf(stderr,
               "livegate-floor: %s\n"
               "usage: livegate-floor --dir DIR [--segment-bytes B] [--port P]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  Floor floor;
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) return usage(("no value for " + std::string(a)).c_str());
    const char *value = argv[++i];
    if (a == "--dir") {
      floor.dir = value;
    } else if (a == "--segment-bytes") {
      floor.segment_bytes = std::strtoull(value, nullptr, 10);
    } else if (a == "--port") {
      port = std::atoi(value);
    } else {
      return usage(("unknown argument " + std::string(a)).c_str());
    }
  }
  if (floor.dir.empty()) return usage("--dir is required");
  if (floor.segment_bytes == 0) return usage("--segment-bytes must be positive");

  floor.loop = uv_default_loop();
  uv_tcp_init(floor.loop, &floor.server);
  floor.server.data = &floor;
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", port, &addr);
  if (uv_tcp_bind(&floor.server, reinterpret_cast<const sockaddr *>(&addr), 0) != 0 ||
      uv_listen(reinterpret_cast<uv_stream_t *>(&floor.server), 4096, on_connection) != 0) {
    return usage("cannot listen");
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&floor.server, reinterpret_cast<sockaddr *>(&bound), &len);
  std::printf("{\"port\": %d}\n", ntohs(reinterpret_cast<sockaddr_in *>(&bound)->sin_port));
  std::fflush(stdout);

  for (uv_signal_t *s : {&floor.term, &floor.interrupt}) {
    uv_signal_init(floor.loop, s);
    s->data = &floor;
  }
  uv_signal_start(&floor.term, on_signal, SIGTERM);
  uv_signal_start(&floor.interrupt, on_signal, SIGINT);
  uv_run(floor.loop, UV_RUN_DEFAULT);
  std::printf("{\"connections\": %llu, \"bytes\": %llu, \"files\": %llu}\n",
              static_cast<unsigned long long>(floor.connections),
              static_cast<unsigned long long>(floor.bytes),
              static_cast<unsigned long long>(floor.files));
  return 0;
}
