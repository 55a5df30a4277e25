// HLS playlists (RFC 8216): the media playlist model behind live.m3u8 and
// dvr.m3u8, its text form and the parser that reads our own text back after
// a restart, and the master playlist.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lg::pack {

struct Segment {
  uint64_t sequence = 0;
  int64_t duration_us = 0;
  std::string uri;      // relative to the playlist
  std::string map_uri;  // fMP4: its initialisation segment; empty for MPEG-TS
  bool discontinuity = false;
  // How many EXT-X-DISCONTINUITY tags precede this segment in the stream's
  // whole history, its own included.
  uint64_t discontinuity_number = 0;
  int64_t program_time_ms = 0;  // wall clock (Unix ms) at the segment's start
  uint64_t bytes = 0;
};

class MediaPlaylist {
 public:
  // `min_target_s`: the target duration never goes below it.
  explicit MediaPlaylist(int min_target_s = 2) : target_s_(min_target_s) {}

  // Appends a segment; its sequence and discontinuity number are assigned
  // here. The target duration only ever grows, and always covers every
  // segment's rounded duration.
  const Segment &append(Segment segment);
  // Drops the oldest segment (the caller deletes its file).
  Segment pop_front();

  const std::deque<Segment> &segments() const { return segments_; }
  bool empty() const { return segments_.empty(); }
  uint64_t next_sequence() const { return next_sequence_; }
  int target_duration_s() const { return target_s_; }
  int64_t duration_us() const { return duration_us_; }
  // The next appended segment starts a discontinuity.
  void mark_discontinuity() { pending_discontinuity_ = true; }

  // The playlist text over the last `last_n` segments (0: all of them).
  std::string render(size_t last_n, bool endlist = false) const;

  // Reads back text that render() wrote. Nullopt if it is not ours.
  static std::optional<MediaPlaylist> parse(std::string_view text, int min_target_s);

 private:
  std::deque<Segment> segments_;
  uint64_t next_sequence_ = 0;
  uint64_t discontinuities_ = 0;
  int target_s_;
  int64_t duration_us_ = 0;
  bool pending_discontinuity_ = false;
};

struct Variant {
  std::string uri;
  uint64_t bandwidth = 0;  // peak segment bitrate
  uint64_t average_bandwidth = 0;
  std::string codecs;  // RFC 6381, comma separated
  int width = 0;
  int height = 0;
  double frame_rate = 0;
};

struct AudioRendition {
  std::string name;
  std::string uri;  // empty: the audio muxed into each variant
  bool is_default = false;
};

// A master playlist; renditions form the audio group "audio" that every
// variant references when there is any.
std::string render_master(const std::vector<Variant> &variants,
                          const std::vector<AudioRendition> &audio);

// "2026-11-30T20:15:00.123Z"
std::string iso8601_utc(int64_t unix_ms);
std::optional<int64_t> parse_iso8601_utc(std::string_view text);

}  // namespace lg::pack
