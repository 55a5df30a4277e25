// The ingest server: owns the loop thread, the listeners, every connection,
// the registry of live publishes, and the entry store.
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "auth/random.h"
#include "auth/store.h"
#include "core/log.h"
#include "core/loop.h"
#include "ingest/events.h"
#include "net/tcp.h"

namespace lg::ingest {

enum class RevokePolicy { Keep, Disconnect };

struct ServerConfig {
  std::string data_dir = "./livegate-data";
  std::string rtmp_address = "0.0.0.0";
  int rtmp_port = 1935;
  core::Logger logger;
  RevokePolicy revoke_policy = RevokePolicy::Keep;
  uint32_t revalidate_interval_ms = 2000;
  uint32_t handshake_timeout_ms = 10000;
  uint32_t idle_timeout_ms = 30000;
  uint32_t max_connections = 1024;
  uint32_t max_message_size = 16 * 1024 * 1024;
  uint32_t max_streams_per_entry = 16;
  uint32_t max_send_buffer = 1024 * 1024;
  bool host_authorization = false;
};

class RtmpConnection;

class Server {
 public:
  // Opens the store under config.data_dir (creating the folder).
  static lg_status create(ServerConfig config, Events *events, std::unique_ptr<Server> &out,
                          std::string &error);
  ~Server();

  lg_status start(std::string &error);
  // Stops and frees. From the loop thread (inside a callback) the
  // destruction completes after the callback returns.
  static void destroy(std::unique_ptr<Server> server);

  int port(Protocol protocol) const;
  auth::Store &store() { return *store_; }
  auth::Random &random() { return *random_; }

  lg_status regenerate_token(const std::string &entry_id, RevokePolicy policy, auth::Entry &out);
  lg_status authorize(uint64_t request_id, lg_status status, std::string reason);
  lg_status disconnect(uint64_t session_id, std::string reason);
  lg_status session_stats(uint64_t session_id, Stats &out);

  // Used by connections (loop thread only).
  const ServerConfig &config() const { return config_; }
  const core::Logger &log() const { return config_.logger; }
  Events &events() { return *events_; }
  bool quiet() const { return destroyed_; }
  uv_loop_t *uv() { return loop_.uv(); }
  uint64_t next_session_id() { return ++last_session_id_; }
  void request_publish(RtmpConnection &conn);
  void release_publish(RtmpConnection &conn);
  void retire(uint64_t conn_id);

 private:
  using Key = std::tuple<std::string, url::Role, std::string>;

  Server(ServerConfig config, Events *events);
  void accept(std::unique_ptr<net::Stream> stream);
  void authorize_with_store(uint64_t conn_id);
  void finish_auth(uint64_t conn_id, lg_status status, std::string reason);
  void sweep();
  void revalidate();
  void shutdown();
  RtmpConnection *find_session(uint64_t session_id);

  ServerConfig config_;
  Events *events_;
  Events null_events_;
  std::unique_ptr<auth::Random> random_;
  std::unique_ptr<auth::Store> store_;
  core::Loop loop_;
  std::unique_ptr<net::TcpListener> rtmp_listener_;
  int rtmp_port_ = -1;
  uv_timer_t *sweep_timer_ = nullptr;
  uv_timer_t *revalidate_timer_ = nullptr;
  bool revalidating_ = false;
  uint64_t last_conn_id_ = 0;
  uint64_t last_session_id_ = 0;
  uint64_t last_request_id_ = 0;
  std::map<uint64_t, std::unique_ptr<RtmpConnection>> connections_;
  std::map<Key, uint64_t> live_;                // publish key -> connection id
  std::map<uint64_t, uint64_t> auth_requests_;  // host request id -> connection id
  std::vector<std::unique_ptr<RtmpConnection>> graveyard_;
  bool destroyed_ = false;
  bool started_ = false;
};

}  // namespace lg::ingest
