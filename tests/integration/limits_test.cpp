// The limits through the public API: their defaults, and the counters that
// tell an operator which of them real peers (here ffmpeg and raw sockets)
// ran into.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <thread>

#include "integration/support.h"

using namespace std::chrono_literals;
using namespace lgtest;

namespace {

lg_server_counters counters_of(lg_server *server) {
  lg_server_counters c{};
  c.struct_size = sizeof c;
  REQUIRE(lg_server_get_counters(server, &c) == LG_OK);
  return c;
}

// Connects, sends `bytes`, and waits up to 10 s for the server to close.
bool sent_and_closed(int port, const std::string &bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool closed = false;
  if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0) {
    (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EINTR)) {
        closed = n == 0 || errno == ECONNRESET;
        break;
      }
    }
  }
  ::close(fd);
  return closed;
}

}  // namespace

TEST_CASE("limits: documented defaults, and LG_UNLIMITED", "[limits]") {
  lg_server_options o;
  lg_server_options_init(&o);
  CHECK(o.max_connections_per_address == 64);
  CHECK(o.max_auth_failures_per_minute == 10);
  CHECK(o.max_chunk_size == 0x7FFFFFFFu);
  CHECK(o.max_chunk_streams == 64);
  CHECK(o.max_incomplete_bytes == 32u << 20);
  CHECK(o.max_amf_depth == 16);
  CHECK(o.max_amf_items == 1024);
  CHECK(o.max_amf_string == 65536);
  CHECK(o.max_pending_bytes == 4u << 20);
  CHECK(o.max_ts_streams == 32);
  CHECK(o.srt_queue_bytes == 32u << 20);
  CHECK(o.srt_max_bitrate_kbps == 50000);
  CHECK(o.handshake_timeout_ms == 10000);
  CHECK(o.max_connections == 1024);

  // With LG_UNLIMITED, 200 connections from one address are all kept.
  TestServer server([](lg_server_options &opts) {
    opts.max_connections_per_address = LG_UNLIMITED;
    opts.max_connections = 4096;
  });
  std::vector<int> fds;
  for (int i = 0; i < 200; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
    fds.push_back(fd);
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (counters_of(server.get()).connections_accepted < 200 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  const auto c = counters_of(server.get());
  CHECK(c.connections_accepted == 200);
  CHECK(c.connections_refused == 0);
  for (int fd : fds) ::close(fd);
}

TEST_CASE("limits: counters say which limit each bad peer hit, and a real publish is unaffected",
          "[limits]") {
  TestServer server([](lg_server_options &opts) {
    opts.handshake_timeout_ms = 1000;
    opts.max_connections_per_address = 4;
  });
  // Not RTMP at all: an HTTP request and a TLS ClientHello.
  CHECK(sent_and_closed(server.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(sent_and_closed(server.port(),
                        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
  // Silence until the handshake timeout.
  CHECK(sent_and_closed(server.port(), ""));

  // ffmpeg publishes and every frame arrives.
  const Source &src = test_source();
  const lg_entry entry = server.create_entry();
  REQUIRE(run({"ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-i", src.path, "-c", "copy",
               "-f", "flv", server.ffmpeg_url(entry)},
              60s) == 0);
  REQUIRE(server.wait_for([](const Events &e) { return !e.stops.empty(); }));
  const Events events = server.snapshot();
  REQUIRE(events.starts.size() == 1);
  check_complete(events, events.starts[0].session_id, src);

  const auto c = counters_of(server.get());
  CHECK(c.protocol_errors == 2);
  CHECK(c.handshake_timeouts == 1);
  CHECK(c.connections_accepted == 4);  // three bad peers and ffmpeg
  CHECK(c.connections_refused == 0);
  CHECK(c.output_frames_dropped == 0);

  // A caller that knows only the first fields gets just those.
  lg_server_counters small{};
  small.struct_size = offsetof(lg_server_counters, connections_refused);
  small.protocol_errors = 12345;
  REQUIRE(lg_server_get_counters(server.get(), &small) == LG_OK);
  CHECK(small.connections_accepted == 4);
  CHECK(small.protocol_errors == 12345);
  small.struct_size = 0;
  CHECK(lg_server_get_counters(server.get(), &small) == LG_E_INVALID_ARG);
}
