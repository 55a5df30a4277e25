#include "http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <unistd.h>

#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace lgserver {

UniqueFd &UniqueFd::operator=(UniqueFd &&other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

bool split_path(std::string_view path, std::vector<std::string_view> &parts) {
  parts.clear();
  if (path.empty() || path[0] != '/' || path.size() > kMaxPathComponents * (kMaxNameLength + 1)) {
    return false;
  }
  path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    if (part.empty() || part.size() > kMaxNameLength || parts.size() == kMaxPathComponents) {
      return false;
    }
    parts.push_back(part);
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

bool is_safe_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || name[0] == '.' || name[0] == '-') {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

struct DaemonStop {
  void operator()(MHD_Daemon *daemon) const { MHD_stop_daemon(daemon); }
};
using Daemon = std::unique_ptr<MHD_Daemon, DaemonStop>;

// libmicrohttpd counts references to a response: ours ends once it is queued.
struct ResponseDestroy {
  void operator()(MHD_Response *response) const { MHD_destroy_response(response); }
};
using Response = std::unique_ptr<MHD_Response, ResponseDestroy>;

// What one request has gathered between the handler's calls: the body so far.
struct PendingRequest {
  std::string body;
  uint64_t received = 0;
};

std::string_view header_value(MHD_Connection *connection, const char *name) {
  const char *value = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
  return value ? std::string_view(value) : std::string_view();
}

MHD_Result queue(MHD_Connection *connection, HttpReply &reply) {
  MHD_Response *raw = nullptr;
  if (reply.file && reply.length > 0) {
    raw = MHD_create_response_from_fd_at_offset64(reply.length, reply.file.get(), reply.offset);
    if (raw) reply.file.release();  // libmicrohttpd closes it with the response
  } else {
    raw = MHD_create_response_from_buffer(reply.body.size(), reply.body.data(),
                                          MHD_RESPMEM_MUST_COPY);
  }
  Response response(raw);
  if (!response) return MHD_NO;
  for (const auto &[name, value] : reply.headers) {
    if (MHD_add_response_header(response.get(), name.c_str(), value.c_str()) != MHD_YES) {
      return MHD_NO;
    }
  }
  return MHD_queue_response(connection, reply.status, response.get());
}

HttpReply plain(unsigned status, std::string text) {
  HttpReply reply;
  reply.status = status;
  reply.body = std::move(text);
  reply.header("Content-Type", "text/plain; charset=utf-8");
  return reply;
}

}  // namespace

struct HttpServer::Impl {
  HttpHandler handler;
  HttpLog log;
  // Last, so it stops (joining its threads) before the handler goes away.
  Daemon daemon;

  static MHD_Result on_request(void *cls, MHD_Connection *connection, const char *url,
                               const char *method, const char * /*version*/,
                               const char *upload_data, size_t *upload_data_size,
                               void **req_cls) noexcept {
    auto *self = static_cast<Impl *>(cls);
    try {
      auto *pending = static_cast<PendingRequest *>(*req_cls);
      if (!pending) {
        // Headers only so far. A body announced as too long to be worth
        // draining is refused at once; the connection then closes.
        const std::string_view length = header_value(connection, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t announced = 0;
        const auto [end, ec] =
            std::from_chars(length.data(), length.data() + length.size(), announced);
        if (!length.empty() && ec == std::errc() && end == length.data() + length.size() &&
            announced > kMaxDrainBytes) {
          HttpReply reply = plain(413, "request body too large\n");
          return queue(connection, reply);
        }
        *req_cls = std::make_unique<PendingRequest>().release();  // freed in on_completed
        return MHD_YES;
      }
      if (*upload_data_size != 0) {
        // The body is read to its end even when too long, so the client gets
        // its 413 instead of a reset connection, up to a bound.
        pending->received += *upload_data_size;
        if (pending->received > kMaxDrainBytes) return MHD_NO;
        if (pending->received <= kMaxBodyBytes) {
          pending->body.append(upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
      }
      HttpRequest request;
      request.method = method;
      request.path = url;
      request.authorization = header_value(connection, MHD_HTTP_HEADER_AUTHORIZATION);
      request.range = header_value(connection, MHD_HTTP_HEADER_RANGE);
      request.body_too_large = pending->received > kMaxBodyBytes;
      if (!request.body_too_large) request.body = pending->body;
      HttpReply reply;
      try {
        reply = self->handler(request);
      } catch (const std::exception &e) {
        self->log(std::string("HTTP handler failed: ") + e.what());
        reply = plain(500, "internal error\n");
      }
      return queue(connection, reply);
    } catch (...) {
      return MHD_NO;  // out of memory: drop the connection
    }
  }

  static void on_completed(void * /*cls*/, MHD_Connection * /*connection*/, void **req_cls,
                           MHD_RequestTerminationCode /*code*/) noexcept {
    std::unique_ptr<PendingRequest> pending(static_cast<PendingRequest *>(*req_cls));
    *req_cls = nullptr;
  }

  static void on_log(void *cls, const char *format, va_list args) noexcept {
    char text[512];
    std::vsnprintf(text, sizeof(text), format, args);
    std::string_view message(text);
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
      message.remove_suffix(1);
    }
    try {
      static_cast<Impl *>(cls)->log(message);
    } catch (...) {
    }
  }

  // Paths are taken as sent: a percent-encoded byte stays "%XX", so "%2f" or
  // "%2e%2e" can never turn into a separator or a parent directory; the
  // routes only accept plain names.
  static size_t keep_escaped(void * /*cls*/, MHD_Connection * /*connection*/, char *s) noexcept {
    return std::strlen(s);
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl, int port)
    : impl_(std::move(impl)), port_(port) {}

HttpServer::~HttpServer() = default;

std::unique_ptr<HttpServer> HttpServer::start(const HttpConfig &config, HttpHandler handler,
                                              HttpLog log, std::string &error) {
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  const sockaddr *address = nullptr;
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
  const auto port = static_cast<uint16_t>(config.port);
  if (inet_pton(AF_INET, config.address.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    address = reinterpret_cast<const sockaddr *>(&v4);
  } else if (inet_pton(AF_INET6, config.address.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    address = reinterpret_cast<const sockaddr *>(&v6);
    flags |= MHD_USE_IPv6;
  } else {
    error = "--http-address takes an IPv4 or IPv6 address, not '" + config.address + "'";
    return nullptr;
  }

  auto impl = std::make_unique<Impl>();
  impl->handler = std::move(handler);
  impl->log = std::move(log);
  // The logger comes first so that libmicrohttpd reports even problems with
  // the options after it through it.
  impl->daemon.reset(MHD_start_daemon(
      flags, port, nullptr, nullptr, &Impl::on_request, impl.get(), MHD_OPTION_EXTERNAL_LOGGER,
      &Impl::on_log, impl.get(), MHD_OPTION_SOCK_ADDR, address, MHD_OPTION_THREAD_POOL_SIZE,
      config.threads, MHD_OPTION_CONNECTION_LIMIT, config.max_connections,
      MHD_OPTION_CONNECTION_TIMEOUT, config.idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED,
      &Impl::on_completed, impl.get(), MHD_OPTION_UNESCAPE_CALLBACK, &Impl::keep_escaped, nullptr,
      MHD_OPTION_END));
  if (!impl->daemon) {
    error = "cannot listen for HTTP on " + config.address + " port " + std::to_string(config.port) +
            " (in use, or not an address of this machine)";
    return nullptr;
  }
  const MHD_DaemonInfo *info = MHD_get_daemon_info(impl->daemon.get(), MHD_DAEMON_INFO_BIND_PORT);
  const int bound = info ? info->port : config.port;
  return std::make_unique<HttpServer>(std::move(impl), bound);
}

}  // namespace lgserver
