#include "failover/router.h"

namespace lg::failover {

Router::Router(FailoverConfig config, Sink &sink, Post post)
    : config_(std::move(config)), sink_(sink), post_(std::move(post)) {
  if (config_.content.any()) {
    content_ = std::make_unique<ContentChecker>(
        config_.content, [this](uint64_t session_id, ContentState state) {
          // The checker's thread: the verdict is applied on the loop.
          post_([this, session_id, state] { content_report(session_id, state); });
        });
  }
}

Router::~Router() {
  content_.reset();
}

std::string Router::key_of(const std::string &entry, const std::string &stream) {
  return entry + "/" + stream;
}

Selector *Router::find(const std::string &key) const {
  auto it = selectors_.find(key);
  return it == selectors_.end() ? nullptr : it->second.get();
}

void Router::publish_start(const ingest::PublishInfo &info, int64_t now_us) {
  const std::string key = key_of(info.entry_id, info.stream_name);
  auto &slot = selectors_[key];
  if (!slot) {
    slot = std::make_unique<Selector>(config_, sink_, info.entry_id, info.stream_name, output_ids_);
  }
  inputs_[info.session_id] = {key, info.role};
  slot->connect(info.role, info.session_id, now_us);
  if (content_) content_->open(info.session_id, info.video, info.audio);
}

void Router::frame(const ingest::PublishInfo &info, const media::Frame &frame, int64_t now_us) {
  auto it = inputs_.find(info.session_id);
  if (it == inputs_.end()) return;
  Selector *s = find(it->second.key);
  if (!s) return;
  s->frame(it->second.role, info.video, info.audio, frame, now_us);
  if (content_) content_->frame(info.session_id, frame);
}

void Router::publish_stop(const ingest::PublishInfo &info, int64_t now_us) {
  auto it = inputs_.find(info.session_id);
  if (it == inputs_.end()) return;
  if (Selector *s = find(it->second.key)) s->disconnect(it->second.role, now_us);
  if (content_) content_->close(info.session_id);
  inputs_.erase(it);
}

void Router::content_report(uint64_t session_id, ContentState state) {
  auto it = inputs_.find(session_id);
  if (it == inputs_.end()) return;
  if (Selector *s = find(it->second.key)) s->content(it->second.role, state, last_now_us_);
}

void Router::tick(int64_t now_us) {
  last_now_us_ = now_us;
  for (auto it = selectors_.begin(); it != selectors_.end();) {
    Selector &s = *it->second;
    s.check(now_us);
    if (s.idle()) {
      it = selectors_.erase(it);
    } else {
      ++it;
    }
  }
}

lg_status Router::request(const std::string &entry_id, const std::string &stream_name, Role role) {
  bool found = false, accepted = false;
  for (auto &[key, s] : selectors_) {
    const bool match = stream_name.empty()
                           ? key.compare(0, entry_id.size() + 1, entry_id + "/") == 0
                           : key == key_of(entry_id, stream_name);
    if (!match) continue;
    found = true;
    accepted = s->request(role) || accepted;
  }
  if (!found) return LG_E_NOT_FOUND;
  return accepted ? LG_OK : LG_E_STATE;
}

lg_status Router::stats(const std::string &entry_id, const std::string &stream_name,
                        SelectorStats &out, int64_t now_us) const {
  const Selector *s = find(key_of(entry_id, stream_name));
  if (!s) return LG_E_NOT_FOUND;
  out = s->stats(now_us);
  return LG_OK;
}

std::vector<std::string> Router::stream_names(const std::string &entry_id) const {
  std::vector<std::string> out;
  const std::string prefix = entry_id + "/";
  for (auto it = selectors_.lower_bound(prefix); it != selectors_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    out.push_back(it->first.substr(prefix.size()));
  }
  return out;
}

}  // namespace lg::failover
