// A real ingest server on 127.0.0.1 with an ephemeral RTMP port, a real
// SQLite store in a temporary folder, and a thread-safe record of what it
// reported, for tests that speak to it over real sockets.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/store.h"
#include "ingest/server.h"
#include "url/endpoint.h"

namespace lg::test {

struct SessionRecord {
  ingest::PublishInfo info;
  int video_frames = 0;
  int audio_frames = 0;
  int64_t last_video_dts = INT64_MIN;
  bool dts_rising = true;
  bool stopped = false;
};

class RecordingEvents : public ingest::Events {
 public:
  void on_publish_start(const ingest::PublishInfo &info) override {
    std::lock_guard lock(mutex_);
    sessions_[info.session_id].info = info;
    cv_.notify_all();
  }
  void on_publish_reject(const ingest::RejectInfo &reject) override {
    std::lock_guard lock(mutex_);
    rejects_.push_back(reject);
    cv_.notify_all();
  }
  void on_publish_stop(const ingest::PublishInfo &info, const ingest::Stats &, lg_status,
                       std::string_view) override {
    std::lock_guard lock(mutex_);
    sessions_[info.session_id].stopped = true;
    cv_.notify_all();
  }
  void on_frame(const ingest::PublishInfo &info, const media::Frame &frame) override {
    std::lock_guard lock(mutex_);
    SessionRecord &s = sessions_[info.session_id];
    if (frame.track == media::TrackType::Video) {
      ++s.video_frames;
      if (frame.dts_us <= s.last_video_dts) s.dts_rising = false;
      s.last_video_dts = frame.dts_us;
    } else {
      ++s.audio_frames;
    }
    cv_.notify_all();
  }

  // Waits until `pred` (called under the lock) holds, or the timeout.
  bool wait(const std::function<bool()> &pred, int timeout_ms = 10000) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), pred);
  }
  std::vector<ingest::RejectInfo> rejects() {
    std::lock_guard lock(mutex_);
    return rejects_;
  }
  std::vector<SessionRecord> sessions() {
    std::lock_guard lock(mutex_);
    std::vector<SessionRecord> out;
    for (auto &[id, s] : sessions_) out.push_back(s);
    return out;
  }
  // Under the lock, for wait() predicates.
  const std::map<uint64_t, SessionRecord> &sessions_locked() const { return sessions_; }
  const std::vector<ingest::RejectInfo> &rejects_locked() const { return rejects_; }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<uint64_t, SessionRecord> sessions_;
  std::vector<ingest::RejectInfo> rejects_;
};

// What an encoder is given for one entry: connect's app and tcUrl, and the
// stream name (with the token) to publish.
struct PublishPath {
  std::string app;
  std::string tc_url;
  std::string stream;
};

class LiveServer {
 public:
  // `tune` adjusts the config (limits) before the server starts.
  explicit LiveServer(const std::function<void(ingest::ServerConfig &)> &tune = {}) {
    char tmpl[] = "/tmp/lg-live-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    ingest::ServerConfig config;
    config.data_dir = dir_.string();
    config.rtmp_address = "127.0.0.1";
    config.rtmp_port = 0;
    if (std::getenv("LG_TEST_LOG")) {
      config.logger = core::Logger(
          [](void *, lg_log_level, const char *line) { std::fprintf(stderr, "%s\n", line); },
          nullptr, LG_LOG_DEBUG);
    }
    if (tune) tune(config);
    std::string error;
    REQUIRE(ingest::Server::create(config, &events, server_, error) == LG_OK);
    REQUIRE(server_->start(error) == LG_OK);
    port_ = server_->port(ingest::Protocol::Rtmp);
  }
  ~LiveServer() {
    ingest::Server::destroy(std::move(server_));
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  int port() const { return port_; }
  ingest::Server &server() { return *server_; }

  auth::Entry create_entry(const std::string &name = "test") {
    auth::Entry entry;
    REQUIRE(server_->store().create_entry(name, server_->random(), entry) == LG_OK);
    return entry;
  }

  // The path of one stream name of `entry`; `token` replaces the entry's.
  PublishPath path(const auth::Entry &entry, const std::string &stream_name = "main",
                   const std::string *token = nullptr) const {
    url::BuildOptions options;
    options.host = "127.0.0.1";
    options.port = static_cast<uint16_t>(port_);
    const url::Endpoint endpoint = url::build(options, entry.id, url::Role::Primary,
                                              token ? *token : entry.token, stream_name);
    REQUIRE(!endpoint.url.empty());
    // "rtmp://127.0.0.1:PORT/APP..." -> APP...
    const size_t slash = endpoint.url.find('/', std::string("rtmp://").size());
    return {endpoint.url.substr(slash + 1), endpoint.url, endpoint.stream_name};
  }

  RecordingEvents events;

 private:
  std::filesystem::path dir_;
  std::unique_ptr<ingest::Server> server_;
  int port_ = -1;
};

}  // namespace lg::test
