#include "admin_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "admin_key.h"
#include "data_dir.h"
#include "json.h"

namespace lgserver {

namespace {

constexpr int kTimeoutSeconds = 5;
// Admin replies are small; anything larger is not one.
constexpr size_t kMaxReplyBytes = 4 * 1024 * 1024;

// A server listening on every address is reached on the loopback.
std::string connect_address(const std::string &address) {
  if (address == "0.0.0.0") return "127.0.0.1";
  if (address == "::") return "::1";
  return address;
}

std::string host_port(const std::string &address, int port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  Socket(const Socket &) = delete;
  Socket &operator=(const Socket &) = delete;
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Sends `request` and reads until the server closes (HTTP/1.0: one request
// per connection, no chunked replies).
bool exchange(const std::string &address, int port, const std::string &request,
              std::string &response, std::string &error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo *found = nullptr;
  const std::string service = std::to_string(port);
  const int gai = ::getaddrinfo(address.c_str(), service.c_str(), &hints, &found);
  if (gai != 0 || !found) {
    error = "bad address '" + address + "': " + ::gai_strerror(gai);
    return false;
  }
  Socket sock(::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol));
  if (sock.get() < 0) {
    error = std::string("cannot make a socket: ") + std::strerror(errno);
    ::freeaddrinfo(found);
    return false;
  }
  // On Linux the send timeout also bounds connect().
  timeval timeout{kTimeoutSeconds, 0};
  ::setsockopt(sock.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(sock.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const int connected = ::connect(sock.get(), found->ai_addr, found->ai_addrlen);
  const int connect_errno = errno;
  ::freeaddrinfo(found);
  if (connected != 0) {
    error = std::string("cannot connect: ") + std::strerror(connect_errno);
    return false;
  }
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        ::send(sock.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = std::string("cannot send the request: ") + std::strerror(errno);
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  response.clear();
  char buf[16384];
  while (true) {
    const ssize_t n = ::recv(sock.get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = std::string("no reply: ") + std::strerror(errno);
      return false;
    }
    if (n == 0) return true;
    response.append(buf, static_cast<size_t>(n));
    if (response.size() > kMaxReplyBytes) {
      error = "the reply is too large";
      return false;
    }
  }
}

// "HTTP/1.x NNN ...", headers, blank line, body.
bool parse_response(const std::string &response, unsigned &status, std::string &body) {
  const size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos || !response.starts_with("HTTP/1.")) return false;
  const size_t space = response.find(' ');
  if (space == std::string::npos || space + 4 > head_end) return false;
  const char *digits = response.data() + space + 1;
  const auto [end, ec] = std::from_chars(digits, digits + 3, status);
  if (ec != std::errc() || end != digits + 3) return false;
  body = response.substr(head_end + 4);
  return true;
}

}  // namespace

AdminCall call_admin_api(const std::string &data_dir, const std::string &admin_key,
                         const std::string &method, const std::string &path,
                         const std::string &body) {
  AdminCall call;
  const std::optional<ServerFile> file = read_server_file(data_dir);
  if (!file) return call;
  const std::string address = connect_address(file->http_address);
  call.server = host_port(address, file->http_port);
  call.result = AdminCall::Result::Failed;
  AdminKey key;
  if (!read_admin_key(admin_key, data_dir, key, call.error)) return call;

  std::string request = method + " " + path + " HTTP/1.0\r\n";
  request += "Host: " + call.server + "\r\n";
  request += "Authorization: Bearer " + key.key + "\r\n";
  if (!body.empty()) {
    request += "Content-Type: application/json\r\n";
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  std::string response;
  if (!exchange(address, file->http_port, request, response, call.error)) {
    call.error =
        "the server at " + call.server + " (pid " + std::to_string(file->pid) + "): " + call.error;
    return call;
  }
  if (!parse_response(response, call.status, call.body)) {
    call.error = "the server at " + call.server + " sent no HTTP reply";
    return call;
  }
  call.result = AdminCall::Result::Answered;
  return call;
}

std::string admin_error_message(const AdminCall &call) {
  JsonValue reply;
  std::string ignored;
  if (parse_json(call.body, reply, ignored)) {
    const JsonValue *error = reply.find("error");
    if (error && error->type == JsonValue::Type::String) return error->text;
  }
  return "HTTP " + std::to_string(call.status);
}

}  // namespace lgserver
