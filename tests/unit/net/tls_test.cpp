// TlsStream against real TLS peers: an echo server on a libuv loop over
// 127.0.0.1, driven by python3's ssl module (OpenSSL) and openssl s_client
// as child processes, each with a hard time limit. A fake inner stream
// covers what no well-behaved peer can produce.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "net/tcp.h"
#include "net/tls.h"
#include "net/tls_cert.h"

using lg::net::Stream;
using lg::net::TlsConfig;
using lg::net::TlsContext;
using lg::net::TlsStream;

namespace {

// The client side, one mode per scenario. Prints what it saw; the test
// reads the output after the process exits.
constexpr char kClientScript[] = R"PY(
import os, random, socket, ssl, sys, time

mode, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
host = sys.argv[4] if len(sys.argv) > 4 else "localhost"

def raw():
    return socket.create_connection(("127.0.0.1", port), timeout=10)

def verified():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    return ctx

def unverified():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx

def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(65536, n - len(buf)))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)

def report(s):
    print("version", s.version())
    print("cipher", s.cipher()[0])

def wait_closed(s):
    try:
        while True:
            if not s.recv(4096):
                return "eof"
    except ssl.SSLError as e:
        return "alert " + str(e.reason)
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    except socket.timeout:
        return "timeout"

def try_handshake(ctx):
    try:
        s = ctx.wrap_socket(raw(), server_hostname="localhost")
        print("connected", s.version(), s.cipher()[0])
    except (ssl.SSLError, ConnectionResetError) as e:
        print("refused", getattr(e, "reason", None) or e)

if mode == "echo":
    s = verified().wrap_socket(raw(), server_hostname=host)
    report(s)
    rng = random.Random(int(sys.argv[5]))
    data = rng.randbytes(1 << 20)
    pos = 0
    while pos < len(data):
        n = rng.choice([1, 2, 100, 1500, 4096, 16383, 16384, 16385, 40000])
        s.sendall(data[pos:pos + n])
        pos += n
    back = recv_exact(s, len(data))
    print("echo", "equal" if back == data else "DIFFERENT")
    s.unwrap()
    print("unwrapped")
elif mode == "chacha":
    ctx = unverified()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
    s = ctx.wrap_socket(raw(), server_hostname="localhost")
    report(s)
    s.sendall(b"chacha")
    print("echo", recv_exact(s, 6).decode())
    s.unwrap()
elif mode == "old_version":
    ctx = unverified()
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try_handshake(ctx)
elif mode == "cbc_only":
    ctx = unverified()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
                    "AES128-SHA:AES256-SHA256:AES128-GCM-SHA256")
    try_handshake(ctx)
elif mode == "rtmp":
    s = raw()
    s.sendall(b"\x03" + os.urandom(1536))
    t0 = time.monotonic()
    how = wait_closed(s)
    print("closed", how, "after %.3f s" % (time.monotonic() - t0))
elif mode == "garbage":
    s = verified().wrap_socket(raw(), server_hostname="localhost")
    s.sendall(b"hello")
    print("echo", recv_exact(s, 5).decode())
    # An application-data record that cannot authenticate.
    os.write(s.fileno(), b"\x17\x03\x03\x00\x20" + os.urandom(32))
    print("closed", wait_closed(s))
elif mode == "flood":
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = unverified().wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s = raw()
    s.sendall(out.read())
    # Warning alerts (user_canceled): mbedTLS ignores them mid-handshake.
    alerts = b"\x15\x03\x03\x00\x02\x01\x5a" * 2048
    sent = 0
    try:
        while sent < (64 << 20):
            s.sendall(alerts)
            sent += len(alerts)
        print("not cut after", sent)
    except (ConnectionResetError, BrokenPipeError, socket.timeout) as e:
        print("cut after", sent, type(e).__name__)
elif mode == "greeting":
    s = verified().wrap_socket(raw(), server_hostname="localhost")
    print("greeting", recv_exact(s, int(sys.argv[4])).decode())
    s.unwrap()
elif mode == "close_notify":
    s = verified().wrap_socket(raw(), server_hostname="localhost")
    s.sendall(b"ping")
    print("echo", recv_exact(s, 4).decode())
    s.unwrap()
    print("unwrapped")
elif mode == "eof":
    s = verified().wrap_socket(raw(), server_hostname="localhost")
    s.sendall(b"ping")
    print("echo", recv_exact(s, 4).decode())
    # A TCP close without close_notify, as many encoders do it.
    s.shutdown(socket.SHUT_RDWR)
    s.close()
    print("shut")
elif mode == "two_records":
    s = verified().wrap_socket(raw(), server_hostname="localhost")
    s.sendall(b"a" * 100)
    s.sendall(b"b" * 100)
    print("closed", wait_closed(s))
elif mode == "untrusting":
    # Verifies against the system roots, which do not hold our certificate.
    try:
        ssl.create_default_context().wrap_socket(raw(), server_hostname="localhost")
        print("connected")
    except ssl.SSLError as e:
        print("refused", e.reason)
)PY";

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/lg_tls_XXXXXX";
    const char *p = mkdtemp(tmpl);
    REQUIRE(p != nullptr);
    path = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string &name) const { return path + "/" + name; }
};

std::string read_text(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One accepted connection on the server side.
struct Conn final : Stream::Handler {
  std::unique_ptr<TlsStream> stream;
  bool echo = true;
  bool destroy_on_data = false;
  size_t bytes_in = 0;
  int data_calls = 0;
  bool closed = false;
  lg_status status = LG_OK;
  std::string reason;
  std::string version;
  std::string cipher;

  void on_stream_data(std::span<const uint8_t> bytes) override {
    ++data_calls;
    bytes_in += bytes.size();
    if (stream->handshake_done()) {
      version = stream->protocol_version();
      cipher = stream->cipher_suite();
    }
    if (destroy_on_data) {
      stream.reset();
      return;
    }
    if (echo) stream->write(std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }
  void on_stream_closed(lg_status s, std::string_view r) override {
    CHECK_FALSE(closed);  // reported once
    closed = true;
    status = s;
    reason = std::string(r);
  }
};

// A libuv loop on the test's thread with a TLS echo listener on it.
class TlsServer {
 public:
  std::function<void(Conn &)> on_accept;  // runs after start()
  std::vector<std::unique_ptr<Conn>> conns;

  explicit TlsServer(std::shared_ptr<const TlsContext> ctx) : ctx_(std::move(ctx)) {
    REQUIRE(uv_loop_init(&loop_) == 0);
    listener_ = std::make_unique<lg::net::TcpListener>(&loop_, [this](std::unique_ptr<Stream> s) {
      auto conn = std::make_unique<Conn>();
      conn->stream = std::make_unique<TlsStream>(ctx_, std::move(s));
      conn->stream->start(conn.get());
      if (on_accept) on_accept(*conn);
      conns.push_back(std::move(conn));
    });
    std::string error;
    REQUIRE(listener_->listen("127.0.0.1", 0, error) == LG_OK);
    uv_timer_init(&loop_, &tick_);
  }

  ~TlsServer() {
    conns.clear();
    listener_.reset();
    uv_close(reinterpret_cast<uv_handle_t *>(&tick_), nullptr);
    if (child_active_) {
      uv_process_kill(&child_, SIGKILL);
      uv_close(reinterpret_cast<uv_handle_t *>(&child_), nullptr);
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop_) == 0);
  }

  int port() const { return listener_->port(); }

  // Runs `args` (through `timeout`, so it cannot outlive its welcome) with
  // stdout and stderr to `out_path`, and serves until it has exited and
  // `done` holds, or 40 s pass. Returns the exit status.
  int64_t run_client(std::vector<std::string> args, const std::string &out_path,
                     const std::function<bool()> &done) {
    args.insert(args.begin(), {"timeout", "-s", "KILL", "30"});
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = fd;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = fd;
    uv_process_options_t options{};
    options.file = argv[0];
    options.args = argv.data();
    options.stdio = stdio;
    options.stdio_count = 3;
    options.exit_cb = [](uv_process_t *p, int64_t status, int) {
      auto *self = static_cast<TlsServer *>(p->data);
      self->child_exited_ = true;
      self->child_status_ = status;
    };
    child_.data = this;
    child_exited_ = false;
    const int rc = uv_spawn(&loop_, &child_, &options);
    ::close(fd);
    REQUIRE(rc == 0);
    child_active_ = true;

    uv_timer_start(
        &tick_, [](uv_timer_t *) {}, 20, 20);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
    while (!(child_exited_ && done())) {
      if (std::chrono::steady_clock::now() > deadline) {
        FAIL_CHECK("the client or the server did not finish in time; client output:\n"
                   << read_text(out_path));
        uv_process_kill(&child_, SIGKILL);
        break;
      }
      uv_run(&loop_, UV_RUN_ONCE);
    }
    while (!child_exited_) uv_run(&loop_, UV_RUN_ONCE);
    uv_timer_stop(&tick_);
    uv_close(reinterpret_cast<uv_handle_t *>(&child_), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    child_active_ = false;
    return child_status_;
  }

  uv_loop_t *loop() { return &loop_; }

 private:
  std::shared_ptr<const TlsContext> ctx_;
  uv_loop_t loop_{};
  uv_timer_t tick_{};
  uv_process_t child_{};
  bool child_active_ = false;
  bool child_exited_ = false;
  int64_t child_status_ = -1;
  std::unique_ptr<lg::net::TcpListener> listener_;
};

// A certificate, a context, the client script: what every live test needs.
struct Fixture {
  TempDir dir;
  std::string cert, key;
  std::shared_ptr<const TlsContext> ctx;
  std::string script;

  Fixture() {
    std::string error;
    REQUIRE(lg::net::ensure_self_signed(dir.file("tls"), cert, key, error));
    ctx = TlsContext::create(TlsConfig{cert, key, ""}, error);
    INFO(error);
    REQUIRE(ctx);
    script = dir.file("client.py");
    std::ofstream(script) << kClientScript;
  }

  // Runs one client mode against `server` until the first connection has
  // been reported closed; returns the client's output.
  std::string run(TlsServer &server, const std::string &mode, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"python3", script, mode, std::to_string(server.port()), cert};
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string out = dir.file(mode + ".out");
    const int64_t status = server.run_client(args, out, [&server] {
      return !server.conns.empty() && (server.conns[0]->closed || !server.conns[0]->stream);
    });
    const std::string text = read_text(out);
    UNSCOPED_INFO("client " << mode << " exited with " << status << ":\n" << text);
    return text;
  }
};

// An inner stream that the test drives by hand.
class FakeStream final : public Stream {
 public:
  Handler *handler = nullptr;
  std::vector<uint8_t> written;
  bool closed = false;
  bool flushed = false;
  size_t queued = 0;

  void start(Handler *h) override { handler = h; }
  void write(std::vector<uint8_t> bytes) override {
    written.insert(written.end(), bytes.begin(), bytes.end());
  }
  size_t queued_bytes() const override { return queued; }
  void close(bool flush) override {
    if (closed) return;
    closed = true;
    flushed = flush;
    handler = nullptr;
  }
  const std::string &remote_address() const override { return address_; }

 private:
  std::string address_ = "192.0.2.1:5000";
};

struct FakeFixture {
  TempDir dir;
  std::shared_ptr<const TlsContext> ctx;
  FakeStream *inner = nullptr;
  Conn conn;

  FakeFixture() {
    std::string cert, key, error;
    REQUIRE(lg::net::ensure_self_signed(dir.file("tls"), cert, key, error));
    ctx = TlsContext::create(TlsConfig{cert, key, ""}, error);
    REQUIRE(ctx);
    auto fake = std::make_unique<FakeStream>();
    inner = fake.get();
    conn.stream = std::make_unique<TlsStream>(ctx, std::move(fake));
    conn.stream->start(&conn);
    REQUIRE(inner->handler != nullptr);
  }
  void feed(const std::vector<uint8_t> &bytes) { inner->handler->on_stream_data(bytes); }
};

std::vector<uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

// The start of a ClientHello record: enough for the first-byte check.
const std::vector<uint8_t> kHelloStart = {0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c};

}  // namespace

TEST_CASE("tls: a real client echoes 1 MiB through the server byte for byte", "[net][tls]") {
  Fixture f;
  TlsServer server(f.ctx);
  const std::string out = f.run(server, "echo", {"localhost", "7"});
  CHECK_THAT(out, Catch::Contains("version TLSv1.2"));
  // The server's preference wins: the first suite for an EC certificate.
  CHECK_THAT(out, Catch::Contains("cipher ECDHE-ECDSA-AES128-GCM-SHA256"));
  CHECK_THAT(out, Catch::Contains("echo equal"));
  CHECK_THAT(out, Catch::Contains("unwrapped"));  // our close_notify answered the client's
  REQUIRE(server.conns.size() == 1);
  const Conn &c = *server.conns[0];
  CHECK(c.bytes_in == (1u << 20));
  CHECK(c.closed);
  CHECK(c.status == LG_OK);
  CHECK(c.reason == "the peer closed the connection");
  CHECK(c.version == "TLSv1.2");
  CHECK(c.cipher == "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256");
  CHECK(c.stream->remote_address().rfind("127.0.0.1:", 0) == 0);
}

TEST_CASE("tls: the certificate verifies for 127.0.0.1 by its IP entry", "[net][tls]") {
  Fixture f;
  TlsServer server(f.ctx);
  const std::string out = f.run(server, "echo", {"127.0.0.1", "11"});
  CHECK_THAT(out, Catch::Contains("echo equal"));
  REQUIRE(server.conns.size() == 1);
  CHECK(server.conns[0]->status == LG_OK);
}

TEST_CASE("tls: ChaCha20-Poly1305 when the client prefers nothing else", "[net][tls]") {
  Fixture f;
  TlsServer server(f.ctx);
  const std::string out = f.run(server, "chacha");
  CHECK_THAT(out, Catch::Contains("cipher ECDHE-ECDSA-CHACHA20-POLY1305"));
  CHECK_THAT(out, Catch::Contains("echo chacha"));
  REQUIRE(server.conns.size() == 1);
  CHECK(server.conns[0]->cipher == "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256");
  CHECK(server.conns[0]->status == LG_OK);
}

TEST_CASE("tls: an RSA certificate gets ECDHE-RSA with AES-GCM", "[net][tls]") {
  TempDir dir;
  const std::string cert = dir.file("rsa.pem");
  const std::string key = dir.file("rsa.key");
  const std::string cmd = "timeout 60 openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key +
                          " -out " + cert +
                          " -subj /CN=localhost -days 2 -addext subjectAltName=DNS:localhost"
                          " >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::string error;
  std::shared_ptr<const TlsContext> ctx = TlsContext::create(TlsConfig{cert, key, ""}, error);
  INFO(error);
  REQUIRE(ctx);
  Fixture f;
  TlsServer server(ctx);
  // The script verifies against the file given, here the RSA certificate.
  f.cert = cert;
  const std::string out = f.run(server, "echo", {"localhost", "3"});
  CHECK_THAT(out, Catch::Contains("cipher ECDHE-RSA-AES128-GCM-SHA256"));
  CHECK_THAT(out, Catch::Contains("echo equal"));
}

TEST_CASE("tls: openssl s_client gets x25519 and is refused without a shared group", "[net][tls]") {
  Fixture f;
  SECTION("x25519 preferred over the client's first choice") {
    TlsServer server(f.ctx);
    const std::string out_path = f.dir.file("s_client.out");
    server.run_client(
        {"sh", "-c",
         "echo | openssl s_client -connect 127.0.0.1:" + std::to_string(server.port()) +
             " -groups P-256:X25519 -brief -CAfile " + f.cert + " -verify_hostname localhost"},
        out_path, [&server] { return !server.conns.empty(); });
    const std::string out = read_text(out_path);
    INFO(out);
    CHECK_THAT(out, Catch::Contains("Protocol version: TLSv1.2"));
    CHECK_THAT(out, Catch::Contains("Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256"));
    CHECK_THAT(out, Catch::Contains("Temp Key: X25519"));
    CHECK_THAT(out, Catch::Contains("Verification: OK"));
  }
  SECTION("only P-521 offered") {
    TlsServer server(f.ctx);
    const std::string out_path = f.dir.file("s_client.out");
    server.run_client(
        {"sh", "-c",
         "echo | openssl s_client -connect 127.0.0.1:" + std::to_string(server.port()) +
             " -groups P-521 -brief"},
        out_path, [&server] { return !server.conns.empty() && server.conns[0]->closed; });
    INFO(read_text(out_path));
    REQUIRE(server.conns.size() == 1);
    CHECK(server.conns[0]->status == LG_E_TLS);
    CHECK_THAT(server.conns[0]->reason, Catch::StartsWith("TLS handshake failed: "));
  }
}

TEST_CASE("tls: a renegotiation attempt is refused", "[net][tls]") {
  Fixture f;
  TlsServer server(f.ctx);
  const std::string out_path = f.dir.file("renegotiate.out");
  server.run_client({"sh", "-c",
                     "(sleep 1; echo R; sleep 2) | openssl s_client -connect 127.0.0.1:" +
                         std::to_string(server.port()) + " -tls1_2 -CAfile " + f.cert},
                    out_path, [&server] { return !server.conns.empty(); });
  const std::string out = read_text(out_path);
  INFO(out);
  CHECK_THAT(out, Catch::Contains("RENEGOTIATING"));
  CHECK_THAT(out, Catch::Contains("no renegotiation"));
  REQUIRE(server.conns.size() == 1);
  CHECK(server.conns[0]->closed);
  CHECK(server.conns[0]->data_calls == 0);
}

TEST_CASE("tls: TLS 1.0/1.1 and CBC-only clients are refused", "[net][tls]") {
  Fixture f;
  SECTION("TLS 1.0 and 1.1") {
    TlsServer server(f.ctx);
    const std::string out = f.run(server, "old_version");
    CHECK_THAT(out, Catch::Contains("refused"));
    REQUIRE(server.conns.size() == 1);
    CHECK(server.conns[0]->status == LG_E_TLS);
    CHECK_THAT(server.conns[0]->reason,
               Catch::StartsWith("TLS handshake failed: the client supports no TLS version "
                                 "from 1.2 up"));
    CHECK(server.conns[0]->data_calls == 0);
  }
  SECTION("CBC, RSA key exchange and SHA-1 suites only") {
    TlsServer server(f.ctx);
    const std::string out = f.run(server, "cbc_only");
    CHECK_THAT(out, Catch::Contains("refused"));
    CHECK_THAT(out, Catch::Contains("HANDSHAKE_FAILURE"));  // told by an alert, not a hang-up
    REQUIRE(server.conns.size() == 1);
    CHECK(server.conns[0]->status == LG_E_TLS);
    CHECK_THAT(server.conns[0]->reason,
               Catch::StartsWith("TLS handshake failed: no cipher suite in common"));
  }
}

TEST_CASE("tls: a client that does not trust the certificate is reported with its alert",
          "[net][tls]") {
  Fixture f;
  TlsServer server(f.ctx);
  const std::string out = f.run(server, "untrusting");
  CHECK_THAT(out, Catch::Contains("refused CERTIFICATE_VERIFY_FAILED"));
  REQUIRE(server.conns.size() == 1);
  CHECK(server.conns[0]->status == LG_E_TLS);
  CHECK_THAT(server.conns[0]->reason,
             Catch::StartsWith("TLS handshake failed: the peer sent a fatal alert: unknown_ca "
                               "(48), it does not trust the server's certificate"));
}

TEST_CASE("tls: plain RTMP on the TLS port is closed at once and named", "[net][tls]") {
  Fixture f;
  TlsServer server(f.ctx);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string out = f.run(server, "rtmp");
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK_THAT(out, Catch::Contains("closed eof") || Catch::Contains("closed reset"));
  CHECK(elapsed < std::chrono::seconds(5));
  REQUIRE(server.conns.size() == 1);
  CHECK(server.conns[0]->status == LG_E_TLS);
  CHECK(server.conns[0]->reason ==
        "TLS handshake failed: the peer did not send a TLS ClientHello (first byte 0x03, is it "
        "plain RTMP?)");
}

TEST_CASE("tls: the peer ending the session is a normal close", "[net][tls]") {
  Fixture f;
  SECTION("with close_notify, answered in kind") {
    TlsServer server(f.ctx);
    const std::string out = f.run(server, "close_notify");
    CHECK_THAT(out, Catch::Contains("echo ping"));
    CHECK_THAT(out, Catch::Contains("unwrapped"));
    REQUIRE(server.conns.size() == 1);
    CHECK(server.conns[0]->status == LG_OK);
    CHECK(server.conns[0]->reason == "the peer closed the connection");
  }
  SECTION("with a TCP close only") {
    TlsServer server(f.ctx);
    const std::string out = f.run(server, "eof");
    CHECK_THAT(out, Catch::Contains("shut"));
    REQUIRE(server.conns.size() == 1);
    CHECK(server.conns[0]->status == LG_OK);
    CHECK(server.conns[0]->reason == "the peer closed the connection");
  }
}

TEST_CASE("tls: a write before the handshake arrives after it", "[net][tls]") {
  Fixture f;
  TlsServer server(f.ctx);
  const std::string greeting = "hello from before the handshake";
  size_t queued = 0;
  bool done_at_accept = true;
  server.on_accept = [&](Conn &c) {
    c.stream->write(bytes_of(greeting));
    queued = c.stream->queued_bytes();
    done_at_accept = c.stream->handshake_done();
  };
  const std::string out = f.run(server, "greeting", {std::to_string(greeting.size())});
  CHECK_FALSE(done_at_accept);
  CHECK(queued == greeting.size());
  CHECK_THAT(out, Catch::Contains("greeting " + greeting));
  REQUIRE(server.conns.size() == 1);
  CHECK(server.conns[0]->status == LG_OK);
}

TEST_CASE("tls: a forged record after the handshake fails with an alert", "[net][tls]") {
  Fixture f;
  TlsServer server(f.ctx);
  const std::string out = f.run(server, "garbage");
  CHECK_THAT(out, Catch::Contains("echo hello"));
  CHECK_THAT(out, Catch::Contains("closed alert SSLV3_ALERT_BAD_RECORD_MAC"));
  REQUIRE(server.conns.size() == 1);
  CHECK(server.conns[0]->status == LG_E_TLS);
  CHECK_THAT(server.conns[0]->reason,
             Catch::StartsWith("TLS error: a record failed its integrity check (bad record MAC)"));
}

TEST_CASE("tls: a flood during the handshake is cut off", "[net][tls]") {
  Fixture f;
  TlsServer server(f.ctx);
  const std::string out = f.run(server, "flood");
  CHECK_THAT(out, Catch::Contains("cut after"));
  REQUIRE(server.conns.size() == 1);
  CHECK(server.conns[0]->status == LG_E_LIMIT);
  CHECK(server.conns[0]->reason ==
        "TLS handshake failed: the peer sent more than 65536 bytes without completing the "
        "handshake");
}

TEST_CASE("tls: the handler may destroy the stream from inside on_stream_data", "[net][tls]") {
  Fixture f;
  TlsServer server(f.ctx);
  server.on_accept = [](Conn &c) { c.destroy_on_data = true; };
  const std::string out = f.run(server, "two_records");
  CHECK_THAT(out, Catch::Contains("closed"));
  REQUIRE(server.conns.size() == 1);
  CHECK(server.conns[0]->data_calls == 1);
  CHECK_FALSE(server.conns[0]->closed);  // no report after the owner let go
}

TEST_CASE("tls: what a fake inner stream shows", "[net][tls]") {
  FakeFixture f;
  SECTION("an HTTP request is named, nothing is sent back") {
    f.feed(bytes_of("GET / HTTP/1.1\r\n"));
    CHECK(f.conn.closed);
    CHECK(f.conn.status == LG_E_TLS);
    CHECK(f.conn.reason ==
          "TLS handshake failed: the peer did not send a TLS ClientHello (first byte 0x47 'G', "
          "is it plain HTTP?)");
    CHECK(f.inner->closed);
    CHECK(f.inner->written.empty());
  }
  SECTION("RTMP one byte at a time fails on the first") {
    f.feed({0x03});
    CHECK(f.conn.status == LG_E_TLS);
    CHECK_THAT(f.conn.reason, Catch::Contains("first byte 0x03, is it plain RTMP?"));
  }
  SECTION("a hang-up before any byte is a quiet close") {
    f.inner->handler->on_stream_closed(LG_OK, "the peer closed the connection");
    CHECK(f.conn.closed);
    CHECK(f.conn.status == LG_OK);
    CHECK(f.conn.reason == "the peer closed the connection before starting a TLS handshake");
  }
  SECTION("a hang-up in the middle of the handshake is a TLS failure") {
    f.feed(kHelloStart);
    CHECK_FALSE(f.conn.closed);
    f.inner->handler->on_stream_closed(LG_OK, "the peer closed the connection");
    CHECK(f.conn.status == LG_E_TLS);
    CHECK(f.conn.reason ==
          "TLS handshake failed: the peer closed the connection during the handshake");
  }
  SECTION("errors of the inner stream pass through") {
    f.inner->handler->on_stream_closed(LG_E_IO, "read error: connection reset by peer");
    CHECK(f.conn.status == LG_E_IO);
    CHECK(f.conn.reason == "read error: connection reset by peer");
  }
  SECTION("more unprocessed ciphertext than the cap in one delivery") {
    std::vector<uint8_t> big(TlsStream::kMaxBufferedCiphertext + 1, 0x16);
    f.feed(big);
    CHECK(f.conn.status == LG_E_LIMIT);
    CHECK(f.inner->closed);
  }
  SECTION("a malformed ClientHello gets an mbedTLS reason") {
    std::vector<uint8_t> hello = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00};
    f.feed(hello);
    CHECK(f.conn.status == LG_E_TLS);
    CHECK_THAT(f.conn.reason, Catch::StartsWith("TLS handshake failed: "));
    CHECK_THAT(f.conn.reason, Catch::Contains("-0x"));
  }
  SECTION("queued bytes before the handshake, then close: no report, inner closed") {
    f.conn.stream->write(bytes_of("early"));
    f.inner->queued = 10;
    CHECK(f.conn.stream->queued_bytes() == 15);
    f.conn.stream->close(true);
    CHECK(f.conn.stream->queued_bytes() == 10);
    CHECK(f.inner->closed);
    CHECK(f.inner->written.empty());  // no close_notify without a session
    f.conn.stream->close(true);       // idempotent
    f.conn.stream->write(bytes_of("late"));
    CHECK(f.conn.stream->queued_bytes() == 10);
    CHECK_FALSE(f.conn.closed);
  }
  SECTION("the handler may destroy the stream from inside on_stream_closed") {
    struct Destroyer final : Stream::Handler {
      std::unique_ptr<TlsStream> *owner = nullptr;
      int closes = 0;
      void on_stream_data(std::span<const uint8_t>) override {}
      void on_stream_closed(lg_status, std::string_view) override {
        ++closes;
        owner->reset();
      }
    } destroyer;
    destroyer.owner = &f.conn.stream;
    f.conn.stream->start(&destroyer);
    f.feed({0x03, 0x00});
    CHECK(destroyer.closes == 1);
    CHECK(f.conn.stream == nullptr);
  }
}
