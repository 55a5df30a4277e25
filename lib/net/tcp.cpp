#include "net/tcp.h"

#include <fmt/format.h>

#include <cstring>

namespace lg::net {

namespace {

// libuv handles must stay allocated until their close callback runs, which
// can be after the C++ owner is gone, so each handle lives in a block that
// frees itself there.
struct StreamHandle {
  uv_tcp_t tcp;
  class TcpStream *owner;
};

class TcpStream final : public Stream {
 public:
  explicit TcpStream(uv_loop_t *loop) : handle_(new StreamHandle{}) {
    uv_tcp_init(loop, &handle_->tcp);
    handle_->owner = this;
    handle_->tcp.data = handle_;
  }
  ~TcpStream() override { close(false); }

  uv_stream_t *uv_stream() { return reinterpret_cast<uv_stream_t *>(&handle_->tcp); }

  void set_remote() {
    sockaddr_storage addr{};
    int len = sizeof(addr);
    if (uv_tcp_getpeername(&handle_->tcp, reinterpret_cast<sockaddr *>(&addr), &len) == 0) {
      remote_ = format_address(reinterpret_cast<sockaddr *>(&addr));
    } else {
      remote_ = "unknown";
    }
    uv_tcp_nodelay(&handle_->tcp, 1);
  }

  void start(Handler *handler) override {
    handler_ = handler;
    uv_read_start(uv_stream(), &TcpStream::on_alloc, &TcpStream::on_read);
  }

  void write(std::vector<uint8_t> bytes) override {
    if (closed_ || bytes.empty()) return;
    // Try the fast path first: most writes go straight into the socket.
    if (queued_ == 0) {
      uv_buf_t buf =
          uv_buf_init(reinterpret_cast<char *>(bytes.data()), static_cast<unsigned>(bytes.size()));
      int n = uv_try_write(uv_stream(), &buf, 1);
      if (n == static_cast<int>(bytes.size())) return;
      if (n > 0) bytes.erase(bytes.begin(), bytes.begin() + n);
    }
    auto *req = new WriteReq{};
    req->bytes = std::move(bytes);
    req->size = req->bytes.size();
    req->req.data = handle_;
    queued_ += req->size;
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char *>(req->bytes.data()),
                               static_cast<unsigned>(req->bytes.size()));
    if (uv_write(&req->req, uv_stream(), &buf, 1, &TcpStream::on_written) != 0) {
      queued_ -= req->size;
      delete req;
    }
  }

  size_t queued_bytes() const override { return queued_; }

  void close(bool flush) override {
    if (closed_) return;
    closed_ = true;
    handler_ = nullptr;
    uv_read_stop(uv_stream());
    handle_->owner = nullptr;
    auto *h = handle_;
    if (flush && queued_ > 0) {
      // Let the pending writes reach the peer (a refusal reason, say).
      auto *req = new uv_shutdown_t{};
      req->data = h;
      if (uv_shutdown(req, uv_stream(), &TcpStream::on_shutdown) == 0) return;
      delete req;
    }
    uv_close(reinterpret_cast<uv_handle_t *>(&h->tcp), &TcpStream::on_closed);
  }

  const std::string &remote_address() const override { return remote_; }

 private:
  struct WriteReq {
    uv_write_t req;
    std::vector<uint8_t> bytes;
    size_t size;
  };

  static TcpStream *owner_of(uv_handle_t *h) { return static_cast<StreamHandle *>(h->data)->owner; }

  static void on_alloc(uv_handle_t *h, size_t, uv_buf_t *buf) {
    TcpStream *self = owner_of(h);
    if (!self) {
      *buf = uv_buf_init(nullptr, 0);
      return;
    }
    *buf = uv_buf_init(self->read_buf_, sizeof(self->read_buf_));
  }

  static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    TcpStream *self = owner_of(reinterpret_cast<uv_handle_t *>(s));
    if (!self || !self->handler_) return;
    if (nread > 0) {
      self->handler_->on_stream_data(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(buf->base), nread));
    } else if (nread < 0) {
      Handler *handler = self->handler_;
      self->handler_ = nullptr;
      if (nread == UV_EOF) {
        handler->on_stream_closed(LG_OK, "the peer closed the connection");
      } else {
        handler->on_stream_closed(LG_E_IO, fmt::format("read error: {}", uv_strerror(nread)));
      }
    }
  }

  static void on_written(uv_write_t *req, int status) {
    auto *w = reinterpret_cast<WriteReq *>(req);
    auto *h = static_cast<StreamHandle *>(req->data);
    if (TcpStream *self = h->owner) {
      self->queued_ -= w->size;
      if (status < 0 && self->handler_) {
        Handler *handler = self->handler_;
        self->handler_ = nullptr;
        handler->on_stream_closed(LG_E_IO, fmt::format("write error: {}", uv_strerror(status)));
      }
    }
    delete w;
  }

  static void on_shutdown(uv_shutdown_t *req, int) {
    auto *h = static_cast<StreamHandle *>(req->data);
    delete req;
    uv_close(reinterpret_cast<uv_handle_t *>(&h->tcp), &TcpStream::on_closed);
  }

  static void on_closed(uv_handle_t *h) { delete static_cast<StreamHandle *>(h->data); }

  StreamHandle *handle_;
  Handler *handler_ = nullptr;
  std::string remote_;
  size_t queued_ = 0;
  bool closed_ = false;
  char read_buf_[64 * 1024];
};

}  // namespace

struct TcpListener::Handle {
  uv_tcp_t tcp;
  TcpListener *owner;
};

TcpListener::TcpListener(uv_loop_t *loop, AcceptFn on_accept)
    : loop_(loop), on_accept_(std::move(on_accept)) {}

TcpListener::~TcpListener() {
  close();
}

lg_status TcpListener::listen(const std::string &address, int port, std::string &error) {
  sockaddr_storage addr{};
  if (uv_ip4_addr(address.c_str(), port, reinterpret_cast<sockaddr_in *>(&addr)) != 0 &&
      uv_ip6_addr(address.c_str(), port, reinterpret_cast<sockaddr_in6 *>(&addr)) != 0) {
    error = fmt::format("'{}' is not an IP address", address);
    return LG_E_INVALID_ARG;
  }
  handle_ = new Handle{};
  handle_->owner = this;
  handle_->tcp.data = handle_;
  uv_tcp_init(loop_, &handle_->tcp);
  int rc = uv_tcp_bind(&handle_->tcp, reinterpret_cast<sockaddr *>(&addr), 0);
  if (rc == 0) {
    rc =
        uv_listen(reinterpret_cast<uv_stream_t *>(&handle_->tcp), 511, &TcpListener::on_connection);
  }
  if (rc != 0) {
    error = fmt::format("cannot listen on {}:{}: {}", address, port, uv_strerror(rc));
    close();
    return rc == UV_EADDRINUSE ? LG_E_ADDR_IN_USE : LG_E_IO;
  }
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(&handle_->tcp, reinterpret_cast<sockaddr *>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
  return LG_OK;
}

void TcpListener::close() {
  if (!handle_) return;
  handle_->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t *>(&handle_->tcp),
           [](uv_handle_t *h) { delete static_cast<Handle *>(h->data); });
  handle_ = nullptr;
}

void TcpListener::on_connection(uv_stream_t *server, int status) {
  auto *h = static_cast<Handle *>(server->data);
  TcpListener *self = h->owner;
  if (!self || status < 0) return;
  auto stream = std::make_unique<TcpStream>(self->loop_);
  if (uv_accept(server, stream->uv_stream()) != 0) return;
  stream->set_remote();
  self->on_accept_(std::move(stream));
}

std::string format_address(const sockaddr *addr) {
  char ip[INET6_ADDRSTRLEN] = {0};
  if (addr->sa_family == AF_INET6) {
    auto *a6 = reinterpret_cast<const sockaddr_in6 *>(addr);
    uv_ip6_name(a6, ip, sizeof(ip));
    return fmt::format("[{}]:{}", ip, ntohs(a6->sin6_port));
  }
  auto *a4 = reinterpret_cast<const sockaddr_in *>(addr);
  uv_ip4_name(a4, ip, sizeof(ip));
  return fmt::format("{}:{}", ip, ntohs(a4->sin_port));
}

}  // namespace lg::net
