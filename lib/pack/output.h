// What the packager is configured with and what it reports, in C++ terms;
// the C API translates these to lg_server_options and lg_output_event.
#pragma once

#include <cstdint>
#include <string>

#include "livegate/common.h"
#include "pack/muxer.h"

namespace lg::pack {

struct OutputConfig {
  bool hls = true;
  std::string media_dir;  // required
  Format format = Format::Ts;
  int64_t segment_target_us = 2'000'000;
  size_t live_segments = 6;
  int64_t dvr_window_us = 7200LL * 1'000'000;
  int64_t recording_rotate_us = 600LL * 1'000'000;
  bool vod_on_stop = true;
  size_t queue_bytes = 64 * 1024 * 1024;
  // Playlists end (EXT-X-ENDLIST) once the publish has been gone this long.
  int64_t end_after_ms = 10000;
  // A failed recording tries a new file after this long.
  int64_t recording_retry_ms = 5000;
};

enum class OutputEventType { Segment, RecordingRotated, ClipReady, StorageError };

struct OutputEvent {
  OutputEventType type = OutputEventType::Segment;
  std::string entry_id;
  std::string stream_name;
  std::string path;
  uint64_t sequence = 0;
  int64_t duration_ms = 0;
  uint64_t bytes = 0;
  int64_t latency_us = 0;
  uint64_t clip_id = 0;
  lg_status status = LG_OK;
  std::string reason;
};

struct HlsInfo {
  bool live = false;
  bool dvr = true;
  bool recording = true;
  Format format = Format::Ts;
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  uint32_t segment_count = 0;
  int64_t window_us = 0;
  int64_t window_start_unix_ms = 0;
  uint64_t peak_bandwidth_bps = 0;
  uint64_t frames_dropped = 0;
  std::string broadcast;
};

}  // namespace lg::pack
