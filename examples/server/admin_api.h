// The JSON admin API under /api/v1: entries, tokens, SRT passphrases,
// outputs, clips, stream and failover state and forced switches, behind a
// bearer key.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "endpoints.h"
#include "http_server.h"
#include "livegate/livegate.h"
#include "livegate/output.h"

namespace lgserver {

// Clips asked for through the API and what became of them, from the
// LG_OUTPUT_CLIP_READY events. Bounded: the oldest are forgotten first.
// Safe from any thread (the loop thread reports, HTTP threads read).
class ClipRegistry {
 public:
  enum class State { Pending, Ready, Failed };
  struct Clip {
    std::string entry_id;
    State state = State::Pending;
    int64_t duration_ms = 0;
    std::string reason;
  };

  static constexpr size_t kMaxClips = 1024;

  // A clip was asked for. The event may already have arrived (it is sent
  // from another thread): then it is left as the event said.
  void requested(uint64_t clip_id, const std::string &entry_id);
  // From on_output; ignores other events and the broadcast VOD (id 0).
  void finished(const lg_output_event &event);
  std::optional<Clip> find(uint64_t clip_id) const;

 private:
  void insert_locked(uint64_t clip_id, Clip clip);

  mutable std::mutex mutex_;
  std::map<uint64_t, Clip> clips_;
  std::deque<uint64_t> order_;  // oldest first
};

class AdminApi {
 public:
  // `server` must outlive this object. `revoke_policy` applies to token
  // regenerations whose body does not say {"disconnect": ...}.
  AdminApi(lg_server *server, UrlSettings urls, std::string key, lg_revoke_policy revoke_policy,
           ClipRegistry &clips)
      : server_(server),
        urls_(std::move(urls)),
        key_(std::move(key)),
        revoke_policy_(revoke_policy),
        clips_(clips) {}

  static bool handles(std::string_view path) { return path == "/api" || path.starts_with("/api/"); }

  HttpReply handle(const HttpRequest &request) const;

 private:
  HttpReply list_entries() const;
  HttpReply create_entry(const HttpRequest &request) const;
  HttpReply show_entry(const std::string &id) const;
  HttpReply delete_entry(const std::string &id) const;
  HttpReply regenerate_token(const std::string &id, const HttpRequest &request) const;
  HttpReply set_srt_passphrase(const std::string &id, const HttpRequest &request) const;
  HttpReply set_outputs(const std::string &id, const HttpRequest &request) const;
  HttpReply request_clip(const std::string &id, const HttpRequest &request) const;
  HttpReply show_clip(const std::string &id, std::string_view clip_id) const;
  HttpReply show_stream(const std::string &id, std::string_view stream) const;
  HttpReply switch_input(const std::string &id, const HttpRequest &request) const;

  HttpReply entry_reply(unsigned status, const lg_entry &entry) const;
  // 404 unless the entry exists; fills `entry`.
  std::optional<HttpReply> find_entry(const std::string &id, lg_entry &entry) const;

  lg_server *server_;
  UrlSettings urls_;
  std::string key_;
  lg_revoke_policy revoke_policy_;
  ClipRegistry &clips_;
};

}  // namespace lgserver
