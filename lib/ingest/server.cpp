#include "ingest/server.h"
#include "core/clock.h"

#include <fmt/format.h>

#include <filesystem>
#include <optional>
#include <set>

#include <srt/access_control.h>

#include "auth/token.h"
#include "ingest/rtmp_connection.h"
#include "ingest/srt_connection.h"
#include "net/tls.h"
#include "net/tls_cert.h"
#include "srt/listener.h"
#include "url/srt_stream_id.h"

namespace lg::ingest {

namespace {

constexpr uint64_t kSweepIntervalMs = 250;

// Work for libuv's thread pool: `work` runs on a worker thread, `done` on
// the loop thread afterwards.
struct Work {
  uv_work_t req;
  std::function<void()> work;
  std::function<void()> done;
};

void queue_work(uv_loop_t *loop, std::function<void()> work, std::function<void()> done) {
  auto *w = new Work{};
  w->req.data = w;
  w->work = std::move(work);
  w->done = std::move(done);
  uv_queue_work(
      loop, &w->req, [](uv_work_t *req) { static_cast<Work *>(req->data)->work(); },
      [](uv_work_t *req, int) {
        std::unique_ptr<Work> owned(static_cast<Work *>(req->data));
        owned->done();
      });
}

uv_timer_t *start_timer(uv_loop_t *loop, uint64_t interval_ms, void *data, uv_timer_cb cb) {
  auto *timer = new uv_timer_t{};
  uv_timer_init(loop, timer);
  timer->data = data;
  uv_timer_start(timer, cb, interval_ms, interval_ms);
  return timer;
}

// Whether `presented` is the entry's token; if not, why, in words that tell
// the encoder's operator where the token goes for its protocol.
lg_status check_token(const std::string &entry_id, const std::string &presented,
                      const auth::Entry &entry, Protocol protocol, std::string &reason) {
  if (presented.empty()) {
    reason = fmt::format(
        "authentication failed: no token for entry {} ({})", entry_id,
        protocol == Protocol::Srt ? "add livegate_token=TOKEN to the stream id" : "add ?t=TOKEN");
    return LG_E_AUTH;
  }
  if (!auth::tokens_equal(presented, entry.token)) {
    reason = fmt::format("authentication failed: wrong or revoked token for entry {}", entry_id);
    return LG_E_AUTH;
  }
  return LG_OK;
}

AdmissionLimits admission_limits(const ServerConfig &config) {
  AdmissionLimits limits;
  limits.max_connections_per_source = config.max_connections_per_source;
  limits.max_auth_failures = config.max_auth_failures_per_minute;
  return limits;
}

std::string retry_text(uint64_t retry_after_ms) {
  return fmt::format("too many failed publish attempts from this address; retry in {} s",
                     (retry_after_ms + 999) / 1000);
}

void close_timer(uv_timer_t *&timer) {
  if (!timer) return;
  uv_close(reinterpret_cast<uv_handle_t *>(timer),
           [](uv_handle_t *h) { delete reinterpret_cast<uv_timer_t *>(h); });
  timer = nullptr;
}

}  // namespace

Server::Server(ServerConfig config, Events *events)
    : config_(std::move(config)),
      events_(events ? events : &null_events_),
      admission_(admission_limits(config_)) {}

lg_status Server::create(ServerConfig config, Events *events, std::unique_ptr<Server> &out,
                         std::string &error) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    error = fmt::format("cannot create the data directory '{}': {}", config.data_dir, ec.message());
    return LG_E_IO;
  }
  std::unique_ptr<Server> server(new Server(std::move(config), events));
  server->random_ = auth::Random::create(error);
  if (!server->random_) return LG_E_INTERNAL;
  const std::string db = (std::filesystem::path(server->config_.data_dir) / "livegate.db").string();
  server->store_ = auth::Store::open(db, error);
  if (!server->store_) return LG_E_STORE;
  out = std::move(server);
  return LG_OK;
}

Server::~Server() {
  // (A server that never started has no loop thread to stop.)
  if (started_ && !destroyed_) {
    loop_.stop([this] {
      shutdown();
      destroyed_ = true;  // work still in flight finishes without events
    });
  }
  graveyard_.clear();
}

void Server::destroy(std::unique_ptr<Server> server) {
  if (!server) return;
  Server *self = server.get();
  if (self->started_ && self->loop_.in_loop_thread()) {
    // Inside one of our own callbacks: nothing may be freed under the
    // caller's feet, so finish once the loop has unwound.
    self->destroyed_ = true;
    server.release();
    self->loop_.stop_from_loop([self] { self->shutdown(); }, [self] { delete self; });
    return;
  }
  server.reset();
}

lg_status Server::start(std::string &error) {
  if (started_) return LG_E_STATE;
  lg_status rc = LG_OK;
  if (config_.rtmp_port >= 0) {
    rtmp_listener_ = std::make_unique<net::TcpListener>(
        loop_.uv(),
        [this](std::unique_ptr<net::Stream> s) { accept(std::move(s), Protocol::Rtmp); });
    rc = rtmp_listener_->listen(config_.rtmp_address, config_.rtmp_port, error);
    if (rc != LG_OK) {
      rtmp_listener_.reset();
      uv_run(loop_.uv(), UV_RUN_NOWAIT);  // let the failed handle close
      return rc;
    }
    rtmp_port_ = rtmp_listener_->port();
    config_.logger.info("listening for RTMP on {}:{}", config_.rtmp_address, rtmp_port_);
  }
  if (config_.rtmps_port >= 0 && (rc = start_rtmps(error)) != LG_OK) {
    shutdown();
    uv_run(loop_.uv(), UV_RUN_NOWAIT);
    return rc;
  }
  if (config_.srt_port >= 0 && (rc = start_srt(error)) != LG_OK) {
    shutdown();
    uv_run(loop_.uv(), UV_RUN_NOWAIT);
    return rc;
  }
  sweep_timer_ = start_timer(loop_.uv(), kSweepIntervalMs, this,
                             [](uv_timer_t *t) { static_cast<Server *>(t->data)->sweep(); });
  tick_timer_ = start_timer(loop_.uv(), config_.tick_interval_ms, this, [](uv_timer_t *t) {
    auto *self = static_cast<Server *>(t->data);
    if (!self->destroyed_) self->events_->on_tick(core::steady_us());
  });
  if (config_.revoke_policy == RevokePolicy::Disconnect && config_.revalidate_interval_ms > 0) {
    revalidate_timer_ =
        start_timer(loop_.uv(), config_.revalidate_interval_ms, this,
                    [](uv_timer_t *t) { static_cast<Server *>(t->data)->revalidate(); });
  }
  started_ = true;
  loop_.start();
  return LG_OK;
}

lg_status Server::start_rtmps(std::string &error) {
  net::TlsConfig tls;
  tls.cert_file = config_.tls_cert_file;
  tls.key_file = config_.tls_key_file;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    error = "RTMPS needs both a certificate and a key file, or neither (for a self-signed pair)";
    return LG_E_INVALID_ARG;
  }
  if (tls.cert_file.empty()) {
    const std::string dir = (std::filesystem::path(config_.data_dir) / "tls").string();
    if (!net::ensure_self_signed(dir, tls.cert_file, tls.key_file, error)) return LG_E_TLS;
  }
  std::shared_ptr<const net::TlsContext> ctx = net::TlsContext::create(tls, error);
  if (!ctx) return LG_E_TLS;
  tls_ = ctx;
  tls_fingerprint_ = ctx->fingerprint_sha256();
  rtmps_listener_ =
      std::make_unique<net::TcpListener>(loop_.uv(), [this](std::unique_ptr<net::Stream> s) {
        accept(std::make_unique<net::TlsStream>(tls_, std::move(s)), Protocol::Rtmps);
      });
  lg_status rc = rtmps_listener_->listen(config_.rtmps_address, config_.rtmps_port, error);
  if (rc != LG_OK) return rc;
  rtmps_port_ = rtmps_listener_->port();
  config_.logger.info("listening for RTMPS on {}:{} (certificate SHA-256 {})",
                      config_.rtmps_address, rtmps_port_, tls_fingerprint_);
  return LG_OK;
}

lg_status Server::start_srt(std::string &error) {
  srt::ListenerConfig lc;
  lc.address = config_.srt_address;
  lc.port = config_.srt_port;
  lc.latency_ms = config_.srt_latency_ms;
  lc.max_bitrate_kbps = config_.srt_max_bitrate_kbps;
  lc.max_pending_bytes = config_.srt_queue_bytes;
  lc.pbkeylen = config_.srt_pbkeylen;
  srt::Listener::Callbacks cb;
  cb.admit = [this](const std::string &sid, const std::string &peer) {
    return admit_srt(sid, peer);
  };
  cb.on_accept = [this](uint64_t id, std::string sid, std::string peer) {
    srt_accepted(id, std::move(sid), std::move(peer));
  };
  cb.on_data = [this](uint64_t id, std::vector<uint8_t> bytes) {
    if (auto *conn = static_cast<SrtConnection *>(srt_connection(id))) {
      conn->on_data(std::move(bytes));
    }
  };
  cb.on_closed = [this](uint64_t id, lg_status status, std::string reason,
                        const srt::TransportStats &last) {
    if (auto *conn = static_cast<SrtConnection *>(srt_connection(id))) {
      conn->on_closed(status, std::move(reason), last);
    }
    srt_conns_.erase(id);
  };
  srt_listener_ = std::make_unique<srt::Listener>(loop_, lc, std::move(cb));
  lg_status rc = srt_listener_->listen(error);
  if (rc != LG_OK) return rc;
  srt_port_ = srt_listener_->port();
  config_.logger.info("listening for SRT on {}:{}", config_.srt_address, srt_port_);
  return LG_OK;
}

// On libsrt's thread, inside the caller's handshake: the store is safe from
// any thread, and a refusal here reaches the caller as an SRT reject code.
srt::Admission Server::admit_srt(const std::string &stream_id, const std::string &peer) {
  srt::Admission a;
  url::PublishTarget target;
  url::StreamIdRefusal refusal;
  std::string error;
  auto refuse = [&](lg_status status, int code, std::string reason) {
    a.accept = false;
    a.reject_code = code;
    a.reason = reason;
    config_.logger.warn("srt {}: connection refused (SRT reject {}): {}", peer, code, reason);
    RejectInfo reject;
    reject.status = status;
    reject.reason = std::move(reason);
    reject.remote_address = peer;
    reject.protocol = Protocol::Srt;
    reject.entry_id = target.entry_id;
    reject.role = target.role;
    reject.stream_name = target.stream_name;
    loop_.post([this, reject = std::move(reject)] {
      if (!quiet()) events_->on_publish_reject(reject);
    });
    return a;
  };
  if (!url::parse_srt_stream_id(stream_id, target, refusal, error)) {
    const int code = refusal == url::StreamIdRefusal::BadMode           ? SRT_REJX_BAD_MODE
                     : refusal == url::StreamIdRefusal::UnsupportedType ? SRT_REJX_NOTSUP_MEDIA
                                                                        : SRT_REJX_BAD_REQUEST;
    target = {};
    return refuse(LG_E_URL, code, "malformed SRT stream id: " + error);
  }
  if (connection_count_.load() >= config_.max_connections) {
    ++counts_.refused;
    return refuse(LG_E_LIMIT, SRT_REJX_OVERLOAD,
                  fmt::format("{} connections is the limit", config_.max_connections));
  }
  const std::string source = source_of(peer);
  if (config_.max_connections_per_source &&
      admission_.open_from(source) >= config_.max_connections_per_source) {
    ++counts_.refused;
    return refuse(LG_E_LIMIT, SRT_REJX_OVERLOAD,
                  fmt::format("{} connections from {} is the limit",
                              config_.max_connections_per_source, source));
  }
  uint64_t retry_after_ms = 0;
  if (!admission_.may_try(source, target.entry_id, core::unix_ms(), retry_after_ms)) {
    return refuse(LG_E_LIMIT, SRT_REJX_OVERLOAD, retry_text(retry_after_ms));
  }
  auth::Entry entry;
  const lg_status rc = store_->get_entry(target.entry_id, entry);
  if (rc == LG_E_NOT_FOUND && !config_.host_authorization) {
    admission_.failed(source, core::unix_ms());
    return refuse(LG_E_AUTH, SRT_REJX_NOTFOUND, fmt::format("unknown entry {}", target.entry_id));
  }
  if (rc != LG_OK && rc != LG_E_NOT_FOUND) {
    return refuse(LG_E_STORE, SRT_REJX_ISE,
                  fmt::format("the entry store failed: {}", store_->last_error()));
  }
  if (!config_.host_authorization) {
    // The same checks as RTMP; the loop repeats them when the caller's
    // publish is authorised, so a token regenerated meanwhile still counts.
    std::string why;
    if (check_token(target.entry_id, target.token, entry, Protocol::Srt, why) != LG_OK) {
      admission_.failed(source, core::unix_ms());
      return refuse(LG_E_AUTH, SRT_REJX_UNAUTHORIZED, std::move(why));
    }
  }
  if (rc == LG_OK && entry.srt_passphrase) a.passphrase = *entry.srt_passphrase;
  return a;
}

void Server::srt_accepted(uint64_t srt_id, std::string stream_id, std::string peer) {
  if (destroyed_) {
    srt_listener_->close(srt_id);
    return;
  }
  if (connections_.size() >= config_.max_connections) {
    config_.logger.warn("srt {}: refused: {} connections is the limit", peer,
                        config_.max_connections);
    ++counts_.refused;
    srt_listener_->close(srt_id);
    return;
  }
  if (!admission_.try_open(source_of(peer))) {
    config_.logger.warn("srt {}: refused: {} connections from its address is the limit", peer,
                        config_.max_connections_per_source);
    ++counts_.refused;
    srt_listener_->close(srt_id);
    return;
  }
  const uint64_t id = ++last_conn_id_;
  srt_conns_[srt_id] = id;
  adopt(std::make_unique<SrtConnection>(*this, id, *srt_listener_, srt_id, std::move(stream_id),
                                        std::move(peer)));
}

Connection *Server::srt_connection(uint64_t srt_id) {
  auto it = srt_conns_.find(srt_id);
  if (it == srt_conns_.end()) return nullptr;
  auto conn = connections_.find(it->second);
  return conn == connections_.end() ? nullptr : conn->second.get();
}

void Server::shutdown() {
  if (rtmp_listener_) rtmp_listener_->close();
  if (rtmps_listener_) rtmps_listener_->close();
  close_timer(sweep_timer_);
  close_timer(revalidate_timer_);
  close_timer(tick_timer_);
  // Sessions end with a stop event (hosts flush on it) unless the host is
  // destroying us from a callback and asked for silence by doing so.
  std::vector<uint64_t> ids;
  for (auto &[id, conn] : connections_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = connections_.find(id);
    if (it != connections_.end()) it->second->end(LG_E_CLOSED, "the server is shutting down");
  }
  // After the connections: each closes its caller through the listener.
  if (srt_listener_) srt_listener_->stop();
}

int Server::port(Protocol protocol) const {
  switch (protocol) {
    case Protocol::Rtmp:
      return rtmp_port_;
    case Protocol::Rtmps:
      return rtmps_port_;
    case Protocol::Srt:
      return srt_port_;
  }
  return -1;
}

void Server::accept(std::unique_ptr<net::Stream> stream, Protocol protocol) {
  if (destroyed_) return;
  if (connections_.size() >= config_.max_connections) {
    config_.logger.warn("connection from {} refused: {} connections is the limit",
                        stream->remote_address(), config_.max_connections);
    ++counts_.refused;
    stream->close(false);
    return;
  }
  if (!admission_.try_open(source_of(stream->remote_address()))) {
    config_.logger.warn("connection from {} refused: {} connections from its address is the limit",
                        stream->remote_address(), config_.max_connections_per_source);
    ++counts_.refused;
    stream->close(false);
    return;
  }
  const uint64_t id = ++last_conn_id_;
  adopt(std::make_unique<RtmpConnection>(*this, id, protocol, std::move(stream)));
}

void Server::adopt(std::unique_ptr<Connection> conn) {
  ++counts_.accepted;
  Connection *raw = conn.get();
  connections_.emplace(raw->id(), std::move(conn));
  connection_count_ = connections_.size();
  raw->start();
}

void Server::retire(uint64_t conn_id) {
  auto it = connections_.find(conn_id);
  if (it == connections_.end()) return;
  admission_.close(source_of(it->second->info().remote_address));
  // The connection may be on the call stack: free it on a later turn.
  graveyard_.push_back(std::move(it->second));
  connections_.erase(it);
  connection_count_ = connections_.size();
  for (auto s = srt_conns_.begin(); s != srt_conns_.end();) {
    s = s->second == conn_id ? srt_conns_.erase(s) : std::next(s);
  }
  if (graveyard_.size() == 1) {
    loop_.post([this] { graveyard_.clear(); });
  }
}

void Server::request_publish(Connection &conn) {
  const auto &info = conn.info();
  // Count the entry's live streams for this role, not counting a publish
  // that this one will take over.
  uint32_t live_for_entry = 0;
  for (const auto &[key, id] : live_) {
    if (std::get<0>(key) == info.entry_id && std::get<1>(key) == info.role &&
        std::get<2>(key) != info.stream_name) {
      ++live_for_entry;
    }
  }
  if (live_for_entry >= config_.max_streams_per_entry) {
    conn.refuse(LG_E_LIMIT,
                fmt::format("entry {} already has {} live streams for its {} endpoint (the limit)",
                            info.entry_id, live_for_entry, url::role_name(info.role)));
    return;
  }
  uint64_t retry_after_ms = 0;
  if (!admission_.may_try(source_of(info.remote_address), info.entry_id, core::unix_ms(),
                          retry_after_ms)) {
    conn.refuse(LG_E_LIMIT, retry_text(retry_after_ms));
    return;
  }
  if (config_.host_authorization) {
    const uint64_t request_id = ++last_request_id_;
    auth_requests_[request_id] = conn.id();
    AuthRequest request;
    request.request_id = request_id;
    request.entry_id = info.entry_id;
    request.role = info.role;
    request.stream_name = info.stream_name;
    request.token = conn.token();
    request.protocol = info.protocol;
    request.remote_address = info.remote_address;
    events_->on_authorize(request);
    return;
  }
  authorize_with_store(conn.id());
}

void Server::authorize_with_store(uint64_t conn_id) {
  auto it = connections_.find(conn_id);
  if (it == connections_.end()) return;
  const Connection &conn = *it->second;
  struct Lookup {
    std::string entry_id;
    std::string presented;
    Protocol protocol = Protocol::Rtmp;
    lg_status rc = LG_OK;
    auth::Entry entry;
    std::string error;
  };
  auto lookup = std::make_shared<Lookup>();
  lookup->entry_id = conn.info().entry_id;
  lookup->presented = conn.token();
  lookup->protocol = conn.info().protocol;
  // The store is read on a worker: SQLite may wait on another process's lock.
  queue_work(
      loop_.uv(),
      [this, lookup] {
        lookup->rc = store_->get_entry(lookup->entry_id, lookup->entry);
        if (lookup->rc != LG_OK && lookup->rc != LG_E_NOT_FOUND) {
          lookup->error = store_->last_error();
        }
      },
      [this, conn_id, lookup] {
        if (lookup->rc == LG_E_NOT_FOUND) {
          finish_auth(conn_id, LG_E_AUTH, fmt::format("unknown entry {}", lookup->entry_id));
        } else if (lookup->rc != LG_OK) {
          finish_auth(conn_id, LG_E_STORE,
                      fmt::format("the entry store failed: {}", lookup->error));
        } else {
          std::string why;  // stays empty when the token is right
          const lg_status rc = check_token(lookup->entry_id, lookup->presented, lookup->entry,
                                           lookup->protocol, why);
          finish_auth(conn_id, rc, std::move(why));
        }
      });
}

void Server::finish_auth(uint64_t conn_id, lg_status status, std::string reason) {
  auto it = connections_.find(conn_id);
  if (it == connections_.end() || destroyed_) return;
  Connection &conn = *it->second;
  if (conn.ended()) return;
  const std::string source = source_of(conn.info().remote_address);
  if (status != LG_OK) {
    if (status == LG_E_AUTH) admission_.failed(source, core::unix_ms());
    conn.refuse(status, std::move(reason));
    return;
  }
  admission_.succeeded(source, conn.info().entry_id, core::unix_ms());
  const auto &info = conn.info();
  Key key{info.entry_id, info.role, info.stream_name};
  auto live = live_.find(key);
  if (live != live_.end() && live->second != conn_id) {
    // A reconnecting encoder must not be locked out by its own half-open
    // socket: the newest authorised publish wins.
    auto old = connections_.find(live->second);
    if (old != connections_.end()) {
      config_.logger.info("entry {} stream '{}': publish from {} takes over from {}", info.entry_id,
                          info.stream_name, info.remote_address,
                          old->second->info().remote_address);
      old->second->end(LG_E_CLOSED,
                       fmt::format("taken over by a new publish from {}", info.remote_address));
    }
  }
  it = connections_.find(conn_id);
  if (it == connections_.end() || it->second->ended()) return;
  live_[key] = conn_id;
  it->second->accept();
}

void Server::release_publish(Connection &conn) {
  const auto &info = conn.info();
  auto it = live_.find(Key{info.entry_id, info.role, info.stream_name});
  if (it != live_.end() && it->second == conn.id()) live_.erase(it);
  for (auto r = auth_requests_.begin(); r != auth_requests_.end();) {
    r = r->second == conn.id() ? auth_requests_.erase(r) : std::next(r);
  }
}

lg_status Server::authorize(uint64_t request_id, lg_status status, std::string reason) {
  lg_status rc = LG_E_NOT_FOUND;
  loop_.call([&] {
    auto it = auth_requests_.find(request_id);
    if (it == auth_requests_.end()) return;
    const uint64_t conn_id = it->second;
    auth_requests_.erase(it);
    rc = LG_OK;
    if (status != LG_OK && reason.empty()) reason = "refused by the host";
    finish_auth(conn_id, status, std::move(reason));
  });
  return rc;
}

Connection *Server::find_session(uint64_t session_id) {
  for (auto &[id, conn] : connections_) {
    if (conn->publishing() && conn->info().session_id == session_id) return conn.get();
  }
  return nullptr;
}

lg_status Server::disconnect(uint64_t session_id, std::string reason) {
  lg_status rc = LG_E_NOT_FOUND;
  loop_.call([&] {
    if (Connection *conn = find_session(session_id)) {
      conn->end(LG_E_CLOSED, reason.empty() ? std::string("disconnected by the host") : reason);
      rc = LG_OK;
    }
  });
  return rc;
}

lg_status Server::session_stats(uint64_t session_id, Stats &out) {
  lg_status rc = LG_E_NOT_FOUND;
  loop_.call([&] {
    if (Connection *conn = find_session(session_id)) {
      out = conn->stats(uv_now(loop_.uv()));
      rc = LG_OK;
    }
  });
  return rc;
}

lg_status Server::regenerate_token(const std::string &entry_id, RevokePolicy policy,
                                   auth::Entry &out) {
  lg_status rc = store_->regenerate_token(entry_id, *random_, out);
  if (rc != LG_OK || policy != RevokePolicy::Disconnect) return rc;
  const std::string token = out.token;
  loop_.call([&] {
    std::vector<Connection *> revoked;
    for (auto &[id, conn] : connections_) {
      if (conn->publishing() && conn->info().entry_id == entry_id &&
          !auth::tokens_equal(conn->token(), token)) {
        revoked.push_back(conn.get());
      }
    }
    for (Connection *conn : revoked) {
      conn->end(LG_E_AUTH, "the entry's token was regenerated");
    }
  });
  return rc;
}

void Server::sweep() {
  const uint64_t now = uv_now(loop_.uv());
  std::vector<std::pair<Connection *, std::pair<lg_status, std::string>>> doomed;
  for (auto &[id, conn] : connections_) {
    if (conn->ended()) continue;
    if (!conn->publishing() && now - conn->created_ms() > config_.handshake_timeout_ms) {
      ++counts_.handshake_timeouts;
      doomed.push_back({conn.get(),
                        {LG_E_TIMEOUT, fmt::format("no publish within {} ms of connecting",
                                                   config_.handshake_timeout_ms)}});
    } else if (now - conn->last_data_ms() > config_.idle_timeout_ms) {
      ++counts_.idle_timeouts;
      doomed.push_back(
          {conn.get(), {LG_E_TIMEOUT, fmt::format("no data for {} ms", config_.idle_timeout_ms)}});
    } else if (conn->queued_bytes() > config_.max_send_buffer) {
      ++counts_.slow_readers;
      doomed.push_back({conn.get(), {LG_E_LIMIT, "the peer does not read what we send"}});
    }
  }
  for (auto &[conn, why] : doomed) {
    // A connection that was authorising still owes the host a reject event.
    if (!conn->publishing() && !conn->info().entry_id.empty() && why.first == LG_E_TIMEOUT) {
      conn->refuse(why.first, why.second);
    } else {
      conn->end(why.first, why.second);
    }
  }
}

void Server::count_end(lg_status status) {
  if (status == LG_E_PROTOCOL) ++counts_.protocol_errors;
  if (status == LG_E_LIMIT) ++counts_.limit_errors;
}

Server::Counters Server::counters() const {
  Counters c;
  c.connections_accepted = counts_.accepted.load();
  c.connections_refused = counts_.refused.load();
  c.publishes_throttled = admission_.throttled();
  c.handshake_timeouts = counts_.handshake_timeouts.load();
  c.idle_timeouts = counts_.idle_timeouts.load();
  c.slow_readers_cut = counts_.slow_readers.load();
  c.protocol_errors = counts_.protocol_errors.load();
  c.limit_errors = counts_.limit_errors.load();
  // The listener lives from start() to destruction; reading its atomic is
  // safe from any thread meanwhile.
  if (srt_listener_) c.srt_bytes_dropped = srt_listener_->dropped_bytes();
  return c;
}

void Server::revalidate() {
  if (revalidating_ || destroyed_) return;
  std::set<std::string> entries;
  for (auto &[id, conn] : connections_) {
    if (conn->publishing()) entries.insert(conn->info().entry_id);
  }
  if (entries.empty()) return;
  revalidating_ = true;
  auto tokens = std::make_shared<std::map<std::string, std::optional<std::string>>>();
  for (const auto &e : entries) (*tokens)[e];
  queue_work(
      loop_.uv(),
      [this, tokens] {
        for (auto &[entry_id, token] : *tokens) {
          auth::Entry entry;
          lg_status rc = store_->get_entry(entry_id, entry);
          if (rc == LG_OK) {
            token = entry.token;
          } else if (rc == LG_E_NOT_FOUND) {
            token = std::string();  // deleted: nothing matches
          }                         // a store error leaves it unknown, and the session alone
        }
      },
      [this, tokens] {
        revalidating_ = false;
        if (destroyed_) return;
        std::vector<Connection *> revoked;
        for (auto &[id, conn] : connections_) {
          if (!conn->publishing()) continue;
          auto it = tokens->find(conn->info().entry_id);
          if (it == tokens->end() || !it->second) continue;
          if (it->second->empty() || !auth::tokens_equal(conn->token(), *it->second)) {
            revoked.push_back(conn.get());
          }
        }
        for (Connection *conn : revoked) {
          conn->end(LG_E_AUTH, "the entry's token was regenerated or the entry deleted");
        }
      });
}

}  // namespace lg::ingest
