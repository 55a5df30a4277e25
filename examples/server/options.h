// livegate-server's command line.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "endpoints.h"
#include "livegate/livegate.h"

namespace lgserver {

enum class Mode { Serve, Entry, Help };

struct Options {
  Mode mode = Mode::Serve;

  // Shared by the server and the entry subcommands.
  std::string data_dir = "./livegate-data";
  std::string public_host = "localhost";
  // The server's listen port (0: ephemeral); for the entry subcommands the
  // port written into URLs.
  int rtmp_port = LG_DEFAULT_RTMP_PORT;
  // The same for RTMPS and SRT; -1 ("off") disables the listener and leaves
  // the protocol's URLs out.
  int rtmps_port = LG_DEFAULT_RTMPS_PORT;
  int srt_port = LG_DEFAULT_SRT_PORT;
  // The HTTP port for playback and the admin API (0: ephemeral; -1: off).
  int http_port = kDefaultHttpPort;
  // The admin API's key; empty: the one in DATA_DIR/admin-key (which the
  // server makes if missing). entry show and switch use it to reach a running
  // server.
  std::string admin_key;

  // Server only.
  std::string rtmp_address = "0.0.0.0";
  std::string rtmps_address = "0.0.0.0";
  std::string srt_address = "0.0.0.0";
  std::string tls_cert;  // both empty: a self-signed pair in the data directory
  std::string tls_key;
  uint32_t srt_latency_ms = 120;
  uint32_t srt_pbkeylen = 16;
  lg_log_level log_level = LG_LOG_INFO;
  lg_revoke_policy revoke_policy = LG_REVOKE_KEEP;
  std::string http_address = "0.0.0.0";
  // Connection limits (lg_server_options); unset values keep the library's
  // defaults.
  std::optional<uint32_t> handshake_timeout_ms;
  std::optional<uint32_t> idle_timeout_ms;
  std::optional<uint32_t> max_connections;
  // 0: no limit (LG_UNLIMITED) for these two.
  std::optional<uint32_t> max_connections_per_address;
  std::optional<uint32_t> max_auth_failures_per_minute;
  std::optional<uint32_t> max_streams_per_entry;
  std::optional<uint32_t> max_message_size;
  std::optional<uint32_t> max_chunk_size;
  std::optional<uint32_t> max_chunk_streams;
  std::optional<uint32_t> max_incomplete_bytes;
  std::optional<uint32_t> max_amf_depth;
  std::optional<uint32_t> max_amf_items;
  std::optional<uint32_t> max_amf_string;
  std::optional<uint32_t> max_pending_bytes;
  std::optional<uint32_t> max_send_buffer;
  std::optional<uint32_t> max_ts_streams;
  std::optional<uint32_t> srt_queue_bytes;
  std::optional<uint32_t> srt_max_bitrate_kbps;
  std::optional<uint32_t> output_queue_bytes;

  // Outputs; unset values keep the library's defaults.
  std::string media_dir;  // empty: DATA_DIR/media
  bool hls = true;
  bool vod_on_stop = true;
  std::optional<lg_segment_format> segment_format;
  std::optional<uint32_t> segment_target_ms;
  std::optional<uint32_t> live_segments;
  std::optional<uint32_t> dvr_window_s;
  std::optional<uint32_t> recording_rotate_s;
  std::optional<uint32_t> playlist_end_ms;

  // Redundancy (livegate/failover.h); unset values keep the library's
  // defaults.
  std::optional<lg_failover_policy> failover_policy;
  std::optional<uint32_t> stall_ms;
  std::optional<uint32_t> keyframe_timeout_ms;
  std::optional<uint32_t> clear_ms;
  std::optional<uint32_t> switch_back_ms;
  std::optional<uint32_t> reconnect_window_ms;
  std::optional<uint32_t> bitrate_collapse_percent;
  uint32_t content_checks = 0;  // LG_CHECK_* flags
  std::optional<uint32_t> black_after_ms;
  std::optional<uint32_t> frozen_after_ms;
  std::optional<uint32_t> silence_after_ms;
  std::optional<int32_t> silence_dbfs;

  // Entry subcommands only.
  // create, list, show, regenerate-token, set-srt-passphrase, set-outputs,
  // delete, switch
  std::string action;
  std::string entry_id;
  std::optional<lg_role> role;        // switch
  std::optional<std::string> stream;  // switch; none: every stream name
  std::optional<std::string> name;
  std::optional<std::string> passphrase;  // set-srt-passphrase; none with --clear
  bool clear = false;
  std::optional<bool> dvr;  // set-outputs; unset keeps the current value
  std::optional<bool> recording;
  bool json = false;
};

// The --help text.
extern const char kUsage[];

// Parses argv without the program name. On bad usage returns false and says
// why in `error`.
bool parse_options(std::span<const char *const> args, Options &out, std::string &error);

}  // namespace lgserver
