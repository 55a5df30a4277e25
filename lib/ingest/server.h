// The ingest server: owns the loop thread, the listeners, every connection,
// the registry of live publishes, and the entry store.
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "auth/random.h"
#include "auth/store.h"
#include "core/log.h"
#include "core/loop.h"
#include "ingest/admission.h"
#include "ingest/events.h"
#include "net/tcp.h"

namespace lg::net {
class TlsContext;
}
namespace lg::srt {
class Listener;
struct Admission;
}  // namespace lg::srt

namespace lg::ingest {

enum class RevokePolicy { Keep, Disconnect };

struct ServerConfig {
  std::string data_dir = "./livegate-data";
  std::string rtmp_address = "0.0.0.0";
  int rtmp_port = 1935;
  // RTMPS: a TLS listener; -1 disables it. Without a certificate and key a
  // self-signed pair is made once and kept in data_dir/tls/.
  std::string rtmps_address = "0.0.0.0";
  int rtmps_port = -1;
  std::string tls_cert_file;
  std::string tls_key_file;
  // SRT: -1 disables it.
  std::string srt_address = "0.0.0.0";
  int srt_port = -1;
  int srt_latency_ms = 120;
  int srt_pbkeylen = 16;
  core::Logger logger;
  RevokePolicy revoke_policy = RevokePolicy::Keep;
  uint32_t revalidate_interval_ms = 2000;
  uint32_t handshake_timeout_ms = 10000;
  uint32_t idle_timeout_ms = 30000;
  uint32_t max_connections = 1024;
  uint32_t max_message_size = 16 * 1024 * 1024;
  uint32_t max_streams_per_entry = 16;
  uint32_t max_send_buffer = 1024 * 1024;
  // What one peer can make the server hold or do (docs/LIMITS.md); 0 means
  // no limit for the two per-source ones.
  uint32_t max_connections_per_source = 64;
  uint32_t max_auth_failures_per_minute = 10;
  // Memory follows message sizes, not the announced chunk size, so any size
  // RTMP allows is taken by default (peers announce up to 128 MiB).
  uint32_t max_chunk_size = 0x7FFFFFFF;
  uint32_t max_chunk_streams = 64;
  uint32_t max_incomplete_bytes = 32 * 1024 * 1024;
  uint32_t max_amf_depth = 16;
  uint32_t max_amf_items = 1024;
  uint32_t max_amf_string = 65536;
  uint32_t max_pending_bytes = 4 * 1024 * 1024;
  uint32_t max_ts_streams = 32;
  // SRT data read but not yet taken by the loop, over all callers; past it
  // newer data is dropped and counted (late live data has lost its value).
  uint32_t srt_queue_bytes = 32 * 1024 * 1024;
  // Sizes libsrt's buffers per caller (srt::ListenerConfig::max_bitrate_kbps).
  uint32_t srt_max_bitrate_kbps = 50000;
  bool host_authorization = false;
  // How often Events::on_tick runs: the resolution of failure detection.
  uint32_t tick_interval_ms = 50;
};

class Connection;

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
  // How often each limit was hit, since the start. Any thread.
  struct Counters {
    uint64_t connections_accepted = 0;
    uint64_t connections_refused = 0;  // max_connections or per source
    uint64_t publishes_throttled = 0;
    uint64_t handshake_timeouts = 0;
    uint64_t idle_timeouts = 0;
    uint64_t slow_readers_cut = 0;
    uint64_t protocol_errors = 0;  // connections ended for malformed input
    uint64_t limit_errors = 0;     // connections ended for going past a limit
    uint64_t srt_bytes_dropped = 0;
  };
  Counters counters() const;
  // Connection::end reports why each connection ended.
  void count_end(lg_status status);
  // SHA-256 fingerprint of the RTMPS certificate; empty without RTMPS.
  const std::string &tls_fingerprint() const { return tls_fingerprint_; }

  // Used by connections (loop thread only).
  const ServerConfig &config() const { return config_; }
  const core::Logger &log() const { return config_.logger; }
  Events &events() { return *events_; }
  bool quiet() const { return destroyed_; }
  uv_loop_t *uv() { return loop_.uv(); }
  // Runs `fn` on the loop thread (from any thread); dropped once stopping.
  void post(std::function<void()> fn) { loop_.post(std::move(fn)); }
  // Runs `fn` on the loop thread and waits (inline on the loop thread).
  void call(const std::function<void()> &fn) { loop_.call(fn); }
  uint64_t next_session_id() { return ++last_session_id_; }
  void request_publish(Connection &conn);
  void release_publish(Connection &conn);
  void retire(uint64_t conn_id);

 private:
  using Key = std::tuple<std::string, url::Role, std::string>;

  Server(ServerConfig config, Events *events);
  void accept(std::unique_ptr<net::Stream> stream, Protocol protocol);
  void adopt(std::unique_ptr<Connection> conn);
  lg_status start_rtmps(std::string &error);
  lg_status start_srt(std::string &error);
  srt::Admission admit_srt(const std::string &stream_id, const std::string &peer);
  void srt_accepted(uint64_t srt_id, std::string stream_id, std::string peer);
  Connection *srt_connection(uint64_t srt_id);
  void authorize_with_store(uint64_t conn_id);
  void finish_auth(uint64_t conn_id, lg_status status, std::string reason);
  void sweep();
  void revalidate();
  void shutdown();
  Connection *find_session(uint64_t session_id);

  ServerConfig config_;
  Events *events_;
  Events null_events_;
  std::unique_ptr<auth::Random> random_;
  std::unique_ptr<auth::Store> store_;
  core::Loop loop_;
  std::unique_ptr<net::TcpListener> rtmp_listener_;
  int rtmp_port_ = -1;
  std::shared_ptr<const net::TlsContext> tls_;
  std::string tls_fingerprint_;
  std::unique_ptr<net::TcpListener> rtmps_listener_;
  int rtmps_port_ = -1;
  std::unique_ptr<srt::Listener> srt_listener_;
  int srt_port_ = -1;
  std::map<uint64_t, uint64_t> srt_conns_;  // SRT caller id -> connection id
  // connections_.size(), readable from libsrt's thread.
  std::atomic<size_t> connection_count_{0};
  struct AtomicCounters {
    std::atomic<uint64_t> accepted{0}, refused{0}, handshake_timeouts{0}, idle_timeouts{0},
        slow_readers{0}, protocol_errors{0}, limit_errors{0};
  } counts_;
  Admission admission_;
  uv_timer_t *sweep_timer_ = nullptr;
  uv_timer_t *revalidate_timer_ = nullptr;
  uv_timer_t *tick_timer_ = nullptr;
  bool revalidating_ = false;
  uint64_t last_conn_id_ = 0;
  uint64_t last_session_id_ = 0;
  uint64_t last_request_id_ = 0;
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::map<Key, uint64_t> live_;                // publish key -> connection id
  std::map<uint64_t, uint64_t> auth_requests_;  // host request id -> connection id
  std::vector<std::unique_ptr<Connection>> graveyard_;
  bool destroyed_ = false;
  bool started_ = false;
};

}  // namespace lg::ingest
