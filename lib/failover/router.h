// Every entry's inputs, grouped by stream name, each group behind its own
// Selector; one continuous output per group for the packager and the host.
// Runs on the loop thread; content checks run on their own thread and
// report back through `post`.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "failover/content_check.h"
#include "failover/selector.h"
#include "ingest/events.h"
#include "livegate/common.h"

namespace lg::failover {

class Router {
 public:
  // Runs a function on the loop thread, or drops it once the server stops.
  using Post = std::function<void(std::function<void()>)>;

  Router(FailoverConfig config, Sink &sink, Post post);
  ~Router();
  Router(const Router &) = delete;
  Router &operator=(const Router &) = delete;

  // Loop thread. Times are the steady clock in microseconds.
  void publish_start(const ingest::PublishInfo &info, int64_t now_us);
  void frame(const ingest::PublishInfo &info, const media::Frame &frame, int64_t now_us);
  void publish_stop(const ingest::PublishInfo &info, int64_t now_us);
  void tick(int64_t now_us);
  // Asks every stream name of the entry (or just `stream_name`) to switch
  // to `role` at its next keyframe.
  lg_status request(const std::string &entry_id, const std::string &stream_name, Role role);
  lg_status stats(const std::string &entry_id, const std::string &stream_name, SelectorStats &out,
                  int64_t now_us) const;
  // Stream names with a selector (live, or waiting for a reconnect).
  std::vector<std::string> stream_names(const std::string &entry_id) const;

  const FailoverConfig &config() const { return config_; }
  // Frames the content checks skipped because their queue was full.
  uint64_t content_frames_skipped() const { return content_ ? content_->skipped() : 0; }

 private:
  struct Input {
    std::string key;
    Role role;
  };
  static std::string key_of(const std::string &entry, const std::string &stream);
  Selector *find(const std::string &key) const;
  void content_report(uint64_t session_id, ContentState state);

  FailoverConfig config_;
  Sink &sink_;
  Post post_;
  std::map<std::string, std::unique_ptr<Selector>> selectors_;
  std::map<uint64_t, Input> inputs_;  // session id -> its group and role
  uint64_t output_ids_ = 0;
  int64_t last_now_us_ = 0;
  // Last: stopped (and joined) before the rest goes.
  std::unique_ptr<ContentChecker> content_;
};

}  // namespace lg::failover
