// The continuous recording of one stream name: each broadcast is a folder of
// numbered files ({n}.ts, or {n}.mp4 holding fragmented MP4), appended one
// segment at a time and rotated by duration. Every byte is in the file once
// its segment is written, so a killed process leaves files that play up to
// the last segment.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pack/files.h"
#include "pack/output.h"

namespace lg::record {

class Recorder {
 public:
  // `dir`: {media_dir}/{entry}/recordings/{stream}.
  Recorder(std::string dir, int64_t rotate_us, int64_t retry_ms)
      : dir_(std::move(dir)), rotate_us_(rotate_us), retry_ms_(retry_ms) {}

  // Starts a broadcast folder named after `start_unix_ms` (UTC), made
  // unique. Returns its name.
  std::string begin(int64_t start_unix_ms);
  // Appends one segment: the first `segment_size` bytes of the file open at
  // `segment_fd` (the segment as packaged for HLS). `init` (fMP4) starts
  // every file; `new_file` asks for a new file (codec parameters changed).
  // Events (rotation, storage error) are appended to `events`.
  void append(int segment_fd, uint64_t segment_size, const std::vector<uint8_t> &init,
              int64_t duration_us, bool new_file, int64_t now_ms, pack::Format format,
              std::vector<pack::OutputEvent> &events);
  // Closes the current file: the broadcast is over (or recording stopped).
  void end(std::vector<pack::OutputEvent> &events);

  bool active() const { return !broadcast_.empty(); }
  const std::string &broadcast() const { return broadcast_; }
  std::string broadcast_dir() const { return dir_ + "/" + broadcast_; }

 private:
  void close_file(std::vector<pack::OutputEvent> &events);

  std::string dir_;
  int64_t rotate_us_;
  int64_t retry_ms_;
  std::string broadcast_;
  pack::AppendFile file_;
  std::string file_path_;
  uint64_t next_index_ = 0;
  int64_t file_duration_us_ = 0;
  bool failed_ = false;
  int64_t retry_at_ms_ = 0;
};

}  // namespace lg::record
