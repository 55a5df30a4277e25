// Plain TCP over libuv: a listener and the streams it accepts.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "net/stream.h"

namespace lg::net {

class TcpListener {
 public:
  using AcceptFn = std::function<void(std::unique_ptr<Stream>)>;

  TcpListener(uv_loop_t *loop, AcceptFn on_accept);
  ~TcpListener();
  TcpListener(const TcpListener &) = delete;
  TcpListener &operator=(const TcpListener &) = delete;

  // Binds and listens; port 0 asks for an ephemeral port.
  lg_status listen(const std::string &address, int port, std::string &error);
  int port() const { return port_; }
  void close();

 private:
  struct Handle;
  static void on_connection(uv_stream_t *server, int status);

  uv_loop_t *loop_;
  AcceptFn on_accept_;
  Handle *handle_ = nullptr;  // owned by libuv until its close callback
  int port_ = 0;
};

// Describes a sockaddr as "ip:port" ("[ip]:port" for IPv6).
std::string format_address(const struct sockaddr *addr);

}  // namespace lg::net
