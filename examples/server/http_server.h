// A small HTTP/1.1 server on libmicrohttpd for the example host: static
// media files and the JSON admin API. It runs on libmicrohttpd's own threads
// and never touches the library's loop; handlers call only the thread-safe
// parts of the C API.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lgserver {

// An owned file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd &&other) noexcept : fd_(other.release()) {}
  UniqueFd &operator=(UniqueFd &&other) noexcept;
  UniqueFd(const UniqueFd &) = delete;
  UniqueFd &operator=(const UniqueFd &) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// URL paths: at most this many components of at most kMaxNameLength bytes.
inline constexpr size_t kMaxPathComponents = 8;
inline constexpr size_t kMaxNameLength = 128;

// Splits "/a/b/c" into its components. False for a path that does not start
// with '/', has an empty component ("//", a trailing '/'), or is too long.
bool split_path(std::string_view path, std::vector<std::string_view> &parts);

// A name that is safe as one file-name component and needs no escaping:
// [A-Za-z0-9_][A-Za-z0-9._-]*, so never "", ".", ".." or a hidden file.
bool is_safe_name(std::string_view name);

struct HttpRequest {
  std::string_view method;
  // The path as sent, not percent-decoded (the query string removed).
  std::string_view path;
  std::string_view authorization;  // the header, or empty
  std::string_view range;          // the header, or empty
  std::string_view body;
  bool body_too_large = false;  // the body was longer than kMaxBodyBytes and is dropped
};

struct HttpReply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the reply's body is `length` bytes of this file from `offset`
  // (sent with sendfile where possible; the file is never read into memory).
  UniqueFd file;
  uint64_t offset = 0;
  uint64_t length = 0;

  HttpReply &header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// Called on one of the server's threads, possibly on several at once.
using HttpHandler = std::function<HttpReply(const HttpRequest &)>;
using HttpLog = std::function<void(std::string_view)>;

struct HttpConfig {
  std::string address = "0.0.0.0";  // IPv4 or IPv6 literal
  int port = 8080;                  // 0: ephemeral
  unsigned threads = 4;
  unsigned max_connections = 256;
  unsigned idle_timeout_s = 30;
};

class HttpServer {
 public:
  // Request bodies longer than this are refused (HttpRequest::body_too_large);
  // ones longer than kMaxDrainBytes lose their connection.
  static constexpr size_t kMaxBodyBytes = 64 * 1024;
  static constexpr uint64_t kMaxDrainBytes = 1024 * 1024;

  // Binds and starts serving; nullptr, saying why in `error`, on failure.
  static std::unique_ptr<HttpServer> start(const HttpConfig &config, HttpHandler handler,
                                           HttpLog log, std::string &error);
  // Stops accepting, ends every connection and joins the threads: no handler
  // runs after it returns.
  ~HttpServer();
  HttpServer(const HttpServer &) = delete;
  HttpServer &operator=(const HttpServer &) = delete;

  int port() const { return port_; }

  struct Impl;
  // Used by start(); Impl is private to http_server.cpp.
  HttpServer(std::unique_ptr<Impl> impl, int port);

 private:
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace lgserver
