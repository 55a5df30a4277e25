#include "record/recorder.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

namespace lg::record {

std::string Recorder::begin(int64_t start_unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(start_unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  const std::string base =
      fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
  const auto existing = pack::subdirectories(dir_);
  auto taken = [&](const std::string &candidate) {
    return std::find(existing.begin(), existing.end(), candidate) != existing.end();
  };
  std::string name = base;
  for (int n = 2; taken(name); ++n) name = base + "-" + std::to_string(n);
  broadcast_ = name;
  next_index_ = 0;
  failed_ = false;
  file_duration_us_ = 0;
  return broadcast_;
}

void Recorder::append(int segment_fd, uint64_t segment_size, const std::vector<uint8_t> &init,
                      int64_t duration_us, bool new_file, int64_t now_ms, pack::Format format,
                      std::vector<pack::OutputEvent> &events) {
  if (broadcast_.empty()) return;
  if (failed_) {
    if (now_ms < retry_at_ms_) return;
    failed_ = false;  // try again in a fresh file
  }
  if (file_.is_open() && (new_file || file_duration_us_ >= rotate_us_)) close_file(events);
  std::string error;
  if (!file_.is_open()) {
    const std::string dir = broadcast_dir();
    const std::string path =
        fmt::format("{}/{}{}", dir, next_index_, format == pack::Format::Ts ? ".ts" : ".mp4");
    if (!pack::make_dirs(dir, error) || !file_.open(path, error) ||
        (!init.empty() && !file_.append(init, error))) {
      file_.close();
      failed_ = true;
      retry_at_ms_ = now_ms + retry_ms_;
      pack::OutputEvent e;
      e.type = pack::OutputEventType::StorageError;
      e.path = path;
      e.status = LG_E_IO;
      e.reason = "recording stopped: " + error;
      events.push_back(std::move(e));
      return;
    }
    ++next_index_;
    file_path_ = path;
    file_duration_us_ = 0;
  }
  if (!file_.append_from(segment_fd, segment_size, error)) {
    pack::OutputEvent e;
    e.type = pack::OutputEventType::StorageError;
    e.path = file_path_;
    e.status = LG_E_IO;
    e.reason = "recording stopped: " + error;
    events.push_back(std::move(e));
    close_file(events);
    failed_ = true;
    retry_at_ms_ = now_ms + retry_ms_;
    return;
  }
  file_duration_us_ += duration_us;
}

void Recorder::close_file(std::vector<pack::OutputEvent> &events) {
  if (!file_.is_open()) return;
  pack::OutputEvent e;
  e.type = pack::OutputEventType::RecordingRotated;
  e.path = file_path_;
  e.duration_ms = file_duration_us_ / 1000;
  e.bytes = file_.size();
  events.push_back(std::move(e));
  file_.close();
  file_duration_us_ = 0;
}

void Recorder::end(std::vector<pack::OutputEvent> &events) {
  close_file(events);
  broadcast_.clear();
  failed_ = false;
}

}  // namespace lg::record
