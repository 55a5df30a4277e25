#include "ingest/server.h"

#include <fmt/format.h>

#include <filesystem>
#include <optional>
#include <set>

#include "auth/token.h"
#include "ingest/rtmp_connection.h"

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

void close_timer(uv_timer_t *&timer) {
  if (!timer) return;
  uv_close(reinterpret_cast<uv_handle_t *>(timer),
           [](uv_handle_t *h) { delete reinterpret_cast<uv_timer_t *>(h); });
  timer = nullptr;
}

}  // namespace

Server::Server(ServerConfig config, Events *events)
    : config_(std::move(config)), events_(events ? events : &null_events_) {}

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
        loop_.uv(), [this](std::unique_ptr<net::Stream> s) { accept(std::move(s)); });
    rc = rtmp_listener_->listen(config_.rtmp_address, config_.rtmp_port, error);
    if (rc != LG_OK) {
      rtmp_listener_.reset();
      uv_run(loop_.uv(), UV_RUN_NOWAIT);  // let the failed handle close
      return rc;
    }
    rtmp_port_ = rtmp_listener_->port();
    config_.logger.info("listening for RTMP on {}:{}", config_.rtmp_address, rtmp_port_);
  }
  sweep_timer_ = start_timer(loop_.uv(), kSweepIntervalMs, this,
                             [](uv_timer_t *t) { static_cast<Server *>(t->data)->sweep(); });
  if (config_.revoke_policy == RevokePolicy::Disconnect && config_.revalidate_interval_ms > 0) {
    revalidate_timer_ =
        start_timer(loop_.uv(), config_.revalidate_interval_ms, this,
                    [](uv_timer_t *t) { static_cast<Server *>(t->data)->revalidate(); });
  }
  started_ = true;
  loop_.start();
  return LG_OK;
}

void Server::shutdown() {
  if (rtmp_listener_) rtmp_listener_->close();
  close_timer(sweep_timer_);
  close_timer(revalidate_timer_);
  // Sessions end with a stop event (hosts flush on it) unless the host is
  // destroying us from a callback and asked for silence by doing so.
  std::vector<uint64_t> ids;
  for (auto &[id, conn] : connections_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = connections_.find(id);
    if (it != connections_.end()) it->second->end(LG_E_CLOSED, "the server is shutting down");
  }
}

int Server::port(Protocol protocol) const {
  return protocol == Protocol::Rtmp ? rtmp_port_ : -1;
}

void Server::accept(std::unique_ptr<net::Stream> stream) {
  if (destroyed_) return;
  if (connections_.size() >= config_.max_connections) {
    config_.logger.warn("connection from {} refused: {} connections is the limit",
                        stream->remote_address(), config_.max_connections);
    stream->close(false);
    return;
  }
  const uint64_t id = ++last_conn_id_;
  auto conn = std::make_unique<RtmpConnection>(*this, id, std::move(stream));
  RtmpConnection *raw = conn.get();
  connections_.emplace(id, std::move(conn));
  raw->start();
}

void Server::retire(uint64_t conn_id) {
  auto it = connections_.find(conn_id);
  if (it == connections_.end()) return;
  // The connection may be on the call stack: free it on a later turn.
  graveyard_.push_back(std::move(it->second));
  connections_.erase(it);
  if (graveyard_.size() == 1) {
    loop_.post([this] { graveyard_.clear(); });
  }
}

void Server::request_publish(RtmpConnection &conn) {
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
  const RtmpConnection &conn = *it->second;
  struct Lookup {
    std::string entry_id;
    std::string presented;
    lg_status rc = LG_OK;
    auth::Entry entry;
    std::string error;
  };
  auto lookup = std::make_shared<Lookup>();
  lookup->entry_id = conn.info().entry_id;
  lookup->presented = conn.token();
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
        } else if (lookup->presented.empty()) {
          finish_auth(conn_id, LG_E_AUTH,
                      fmt::format("authentication failed: no token for entry {} (add ?t=TOKEN)",
                                  lookup->entry_id));
        } else if (!auth::tokens_equal(lookup->presented, lookup->entry.token)) {
          finish_auth(conn_id, LG_E_AUTH,
                      fmt::format("authentication failed: wrong or revoked token for entry {}",
                                  lookup->entry_id));
        } else {
          finish_auth(conn_id, LG_OK, {});
        }
      });
}

void Server::finish_auth(uint64_t conn_id, lg_status status, std::string reason) {
  auto it = connections_.find(conn_id);
  if (it == connections_.end() || destroyed_) return;
  RtmpConnection &conn = *it->second;
  if (conn.ended()) return;
  if (status != LG_OK) {
    conn.refuse(status, std::move(reason));
    return;
  }
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

void Server::release_publish(RtmpConnection &conn) {
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

RtmpConnection *Server::find_session(uint64_t session_id) {
  for (auto &[id, conn] : connections_) {
    if (conn->publishing() && conn->info().session_id == session_id) return conn.get();
  }
  return nullptr;
}

lg_status Server::disconnect(uint64_t session_id, std::string reason) {
  lg_status rc = LG_E_NOT_FOUND;
  loop_.call([&] {
    if (RtmpConnection *conn = find_session(session_id)) {
      conn->end(LG_E_CLOSED, reason.empty() ? std::string("disconnected by the host") : reason);
      rc = LG_OK;
    }
  });
  return rc;
}

lg_status Server::session_stats(uint64_t session_id, Stats &out) {
  lg_status rc = LG_E_NOT_FOUND;
  loop_.call([&] {
    if (RtmpConnection *conn = find_session(session_id)) {
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
    std::vector<RtmpConnection *> revoked;
    for (auto &[id, conn] : connections_) {
      if (conn->publishing() && conn->info().entry_id == entry_id &&
          !auth::tokens_equal(conn->token(), token)) {
        revoked.push_back(conn.get());
      }
    }
    for (RtmpConnection *conn : revoked) {
      conn->end(LG_E_AUTH, "the entry's token was regenerated");
    }
  });
  return rc;
}

void Server::sweep() {
  const uint64_t now = uv_now(loop_.uv());
  std::vector<std::pair<RtmpConnection *, std::pair<lg_status, std::string>>> doomed;
  for (auto &[id, conn] : connections_) {
    if (conn->ended()) continue;
    if (!conn->publishing() && now - conn->created_ms() > config_.handshake_timeout_ms) {
      doomed.push_back({conn.get(),
                        {LG_E_TIMEOUT, fmt::format("no publish within {} ms of connecting",
                                                   config_.handshake_timeout_ms)}});
    } else if (now - conn->last_data_ms() > config_.idle_timeout_ms) {
      doomed.push_back(
          {conn.get(), {LG_E_TIMEOUT, fmt::format("no data for {} ms", config_.idle_timeout_ms)}});
    } else if (conn->queued_bytes() > config_.max_send_buffer) {
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
        std::vector<RtmpConnection *> revoked;
        for (auto &[id, conn] : connections_) {
          if (!conn->publishing()) continue;
          auto it = tokens->find(conn->info().entry_id);
          if (it == tokens->end() || !it->second) continue;
          if (it->second->empty() || !auth::tokens_equal(conn->token(), *it->second)) {
            revoked.push_back(conn.get());
          }
        }
        for (RtmpConnection *conn : revoked) {
          conn->end(LG_E_AUTH, "the entry's token was regenerated or the entry deleted");
        }
      });
}

}  // namespace lg::ingest
