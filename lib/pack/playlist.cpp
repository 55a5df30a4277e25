#include "pack/playlist.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <ctime>

namespace lg::pack {

namespace {

int rounded_seconds(int64_t duration_us) {
  return static_cast<int>((duration_us + 500000) / 1000000);
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

template <typename T>
bool parse_number(std::string_view s, T &out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// The value of KEY="..." in an attribute list, or empty.
std::string_view quoted_attribute(std::string_view list, std::string_view key) {
  const std::string needle = std::string(key) + "=\"";
  const size_t at = list.find(needle);
  if (at == std::string_view::npos) return {};
  const size_t begin = at + needle.size();
  const size_t end = list.find('"', begin);
  if (end == std::string_view::npos) return {};
  return list.substr(begin, end - begin);
}

}  // namespace

const Segment &MediaPlaylist::append(Segment segment) {
  segment.sequence = next_sequence_++;
  segment.discontinuity = segment.discontinuity || pending_discontinuity_;
  pending_discontinuity_ = false;
  if (segment.discontinuity) ++discontinuities_;
  segment.discontinuity_number = discontinuities_;
  target_s_ = std::max(target_s_, rounded_seconds(segment.duration_us));
  duration_us_ += segment.duration_us;
  segments_.push_back(std::move(segment));
  return segments_.back();
}

Segment MediaPlaylist::pop_front() {
  Segment s = std::move(segments_.front());
  segments_.pop_front();
  duration_us_ -= s.duration_us;
  return s;
}

std::string MediaPlaylist::render(size_t last_n, bool endlist) const {
  const size_t first = last_n && segments_.size() > last_n ? segments_.size() - last_n : 0;
  bool fmp4 = false;
  for (size_t i = first; i < segments_.size(); ++i) fmp4 = fmp4 || !segments_[i].map_uri.empty();

  std::string out;
  out.reserve(128 + (segments_.size() - first) * 96);
  out += "#EXTM3U\n";
  // Version 6 for EXT-X-MAP outside I-frame playlists, 3 for decimal EXTINF.
  fmt::format_to(std::back_inserter(out), "#EXT-X-VERSION:{}\n", fmp4 ? 6 : 3);
  fmt::format_to(std::back_inserter(out), "#EXT-X-TARGETDURATION:{}\n", target_s_);
  uint64_t media_sequence = next_sequence_;
  uint64_t discontinuity_sequence = discontinuities_;
  if (first < segments_.size()) {
    const Segment &s = segments_[first];
    media_sequence = s.sequence;
    discontinuity_sequence = s.discontinuity_number - (s.discontinuity ? 1 : 0);
  }
  fmt::format_to(std::back_inserter(out), "#EXT-X-MEDIA-SEQUENCE:{}\n", media_sequence);
  fmt::format_to(std::back_inserter(out), "#EXT-X-DISCONTINUITY-SEQUENCE:{}\n",
                 discontinuity_sequence);
  out += "#EXT-X-INDEPENDENT-SEGMENTS\n";
  std::string_view map;
  for (size_t i = first; i < segments_.size(); ++i) {
    const Segment &s = segments_[i];
    if (s.discontinuity) out += "#EXT-X-DISCONTINUITY\n";
    if (!s.map_uri.empty() && (s.map_uri != map || s.discontinuity)) {
      fmt::format_to(std::back_inserter(out), "#EXT-X-MAP:URI=\"{}\"\n", s.map_uri);
      map = s.map_uri;
    }
    fmt::format_to(std::back_inserter(out), "#EXT-X-PROGRAM-DATE-TIME:{}\n",
                   iso8601_utc(s.program_time_ms));
    fmt::format_to(std::back_inserter(out), "#EXTINF:{:.3f},\n{}\n",
                   static_cast<double>(s.duration_us) / 1e6, s.uri);
  }
  if (endlist) out += "#EXT-X-ENDLIST\n";
  return out;
}

std::optional<MediaPlaylist> MediaPlaylist::parse(std::string_view text, int min_target_s) {
  MediaPlaylist p(min_target_s);
  if (!starts_with(text, "#EXTM3U")) return std::nullopt;
  uint64_t media_sequence = 0;
  uint64_t discontinuity_sequence = 0;
  bool have_sequence = false;
  Segment next;
  bool have_extinf = false;
  std::string map;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (starts_with(line, "#EXT-X-TARGETDURATION:")) {
      int t = 0;
      if (!parse_number(line.substr(22), t) || t <= 0 || t > 3600) return std::nullopt;
      p.target_s_ = std::max(p.target_s_, t);
    } else if (starts_with(line, "#EXT-X-MEDIA-SEQUENCE:")) {
      if (!parse_number(line.substr(22), media_sequence)) return std::nullopt;
      have_sequence = true;
    } else if (starts_with(line, "#EXT-X-DISCONTINUITY-SEQUENCE:")) {
      if (!parse_number(line.substr(30), discontinuity_sequence)) return std::nullopt;
    } else if (line == "#EXT-X-DISCONTINUITY") {
      next.discontinuity = true;
    } else if (starts_with(line, "#EXT-X-MAP:")) {
      map = std::string(quoted_attribute(line, "URI"));
    } else if (starts_with(line, "#EXT-X-PROGRAM-DATE-TIME:")) {
      auto t = parse_iso8601_utc(line.substr(25));
      if (!t) return std::nullopt;
      next.program_time_ms = *t;
    } else if (starts_with(line, "#EXTINF:")) {
      std::string_view v = line.substr(8);
      v = v.substr(0, v.find(','));
      double seconds = 0;
      if (!parse_number(v, seconds) || !(seconds >= 0) || seconds > 86400) return std::nullopt;
      next.duration_us = std::llround(seconds * 1e6);
      have_extinf = true;
    } else if (line[0] != '#') {
      if (!have_extinf || !have_sequence) return std::nullopt;
      next.uri = std::string(line);
      next.map_uri = map;
      if (p.segments_.empty()) {
        p.next_sequence_ = media_sequence;
        p.discontinuities_ = discontinuity_sequence;
      }
      p.append(std::move(next));
      next = Segment{};
      have_extinf = false;
    }
  }
  if (p.segments_.empty()) {
    p.next_sequence_ = media_sequence;
    p.discontinuities_ = discontinuity_sequence;
  }
  return p;
}

std::string render_master(const std::vector<Variant> &variants,
                          const std::vector<AudioRendition> &audio) {
  std::string out = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (const auto &a : audio) {
    fmt::format_to(std::back_inserter(out),
                   "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"{}\",DEFAULT={},"
                   "AUTOSELECT=YES",
                   a.name, a.is_default ? "YES" : "NO");
    if (!a.uri.empty()) fmt::format_to(std::back_inserter(out), ",URI=\"{}\"", a.uri);
    out += '\n';
  }
  for (const auto &v : variants) {
    fmt::format_to(std::back_inserter(out), "#EXT-X-STREAM-INF:BANDWIDTH={}",
                   std::max<uint64_t>(v.bandwidth, 1));
    if (v.average_bandwidth) {
      fmt::format_to(std::back_inserter(out), ",AVERAGE-BANDWIDTH={}", v.average_bandwidth);
    }
    if (!v.codecs.empty()) fmt::format_to(std::back_inserter(out), ",CODECS=\"{}\"", v.codecs);
    if (v.width > 0 && v.height > 0) {
      fmt::format_to(std::back_inserter(out), ",RESOLUTION={}x{}", v.width, v.height);
    }
    if (v.frame_rate > 0)
      fmt::format_to(std::back_inserter(out), ",FRAME-RATE={:.3f}", v.frame_rate);
    if (!audio.empty()) out += ",AUDIO=\"audio\"";
    out += '\n';
    out += v.uri;
    out += '\n';
  }
  return out;
}

std::string iso8601_utc(int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     static_cast<int>(unix_ms % 1000));
}

std::optional<int64_t> parse_iso8601_utc(std::string_view text) {
  // Only the form iso8601_utc() writes: YYYY-MM-DDTHH:MM:SS.mmmZ
  if (text.size() != 24 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != '.' || text[23] != 'Z') {
    return std::nullopt;
  }
  int year, month, day, hour, minute, second, millis;
  if (!parse_number(text.substr(0, 4), year) || !parse_number(text.substr(5, 2), month) ||
      !parse_number(text.substr(8, 2), day) || !parse_number(text.substr(11, 2), hour) ||
      !parse_number(text.substr(14, 2), minute) || !parse_number(text.substr(17, 2), second) ||
      !parse_number(text.substr(20, 3), millis)) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<int64_t>(t) * 1000 + millis;
}

}  // namespace lg::pack
