// Helpers for the media tests: running ffmpeg/ffprobe to produce real
// encoder output, and minimal FLV and MP4 walkers to get at what they wrote.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace lg::media::test {

inline std::string capture(const std::string &command) {
  std::string out;
  FILE *pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  ::pclose(pipe);
  return out;
}

inline bool run(const std::string &command) {
  return std::system(command.c_str()) == 0;
}

inline bool have_ffmpeg() {
  static const bool have = run("ffmpeg -hide_banner -version >/dev/null 2>&1") &&
                           run("ffprobe -hide_banner -version >/dev/null 2>&1");
  return have;
}

inline bool have_encoder(const std::string &name) {
  const std::string list = capture("ffmpeg -hide_banner -encoders 2>/dev/null");
  return list.find(" " + name + " ") != std::string::npos;
}

// Catch2 v2 cannot mark a test skipped: say so loudly and let the caller return.
#define LG_REQUIRE_FFMPEG()                                     \
  do {                                                          \
    if (!::lg::media::test::have_ffmpeg()) {                    \
      WARN("ffmpeg/ffprobe not installed: test not exercised"); \
      return;                                                   \
    }                                                           \
  } while (0)

class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("lg_media_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  std::string file(const std::string &name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::vector<uint8_t> read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs an ffmpeg command line (everything after "ffmpeg") quietly.
inline bool ffmpeg(const std::string &args) {
  return run("ffmpeg -hide_banner -loglevel error -nostdin -y " + args + " >/dev/null 2>&1");
}

// key=value pairs ffprobe reports for one stream ("v:0", "a:0").
inline std::map<std::string, std::string> ffprobe_stream(const std::string &file,
                                                         const std::string &stream) {
  std::map<std::string, std::string> out;
  const std::string text = capture("ffprobe -v error -select_streams " + stream +
                                   " -show_streams -of default=nw=1 '" + file + "' 2>/dev/null");
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    const size_t eq = line.find('=');
    if (eq != std::string::npos) out.emplace(line.substr(0, eq), line.substr(eq + 1));
    pos = end + 1;
  }
  return out;
}

inline int to_int(const std::string &s) {
  return std::atoi(s.c_str());
}

struct FlvTag {
  int type = 0;  // 8 audio, 9 video, 18 script data
  uint32_t timestamp = 0;
  std::vector<uint8_t> body;
};

// An FLV file: 9-byte header, then PreviousTagSize and tag after tag.
inline std::vector<FlvTag> read_flv(const std::vector<uint8_t> &f) {
  std::vector<FlvTag> tags;
  REQUIRE(f.size() >= 13);
  REQUIRE(f[0] == 'F');
  REQUIRE(f[1] == 'L');
  REQUIRE(f[2] == 'V');
  const size_t header = (size_t{f[5]} << 24) | (size_t{f[6]} << 16) | (size_t{f[7]} << 8) | f[8];
  REQUIRE(header == 9);
  size_t pos = header + 4;  // PreviousTagSize0
  while (f.size() - pos >= 11) {
    FlvTag tag;
    tag.type = f[pos] & 0x1f;
    const size_t size = (size_t{f[pos + 1]} << 16) | (size_t{f[pos + 2]} << 8) | f[pos + 3];
    tag.timestamp = (uint32_t{f[pos + 7]} << 24) | (uint32_t{f[pos + 4]} << 16) |
                    (uint32_t{f[pos + 5]} << 8) | f[pos + 6];
    pos += 11;
    REQUIRE(f.size() - pos >= size + 4);
    tag.body.assign(f.begin() + static_cast<std::ptrdiff_t>(pos),
                    f.begin() + static_cast<std::ptrdiff_t>(pos + size));
    pos += size;
    const size_t previous = (size_t{f[pos]} << 24) | (size_t{f[pos + 1]} << 16) |
                            (size_t{f[pos + 2]} << 8) | f[pos + 3];
    REQUIRE(previous == size + 11);
    pos += 4;
    tags.push_back(std::move(tag));
  }
  REQUIRE(pos == f.size());
  return tags;
}

inline std::vector<FlvTag> tags_of_type(const std::vector<FlvTag> &all, int type) {
  std::vector<FlvTag> out;
  for (const auto &t : all) {
    if (t.type == type) out.push_back(t);
  }
  return out;
}

// Writes an FLV file from tag bodies, for feeding crafted tags to ffprobe.
inline std::vector<uint8_t> write_flv(const std::vector<FlvTag> &tags, bool audio, bool video) {
  std::vector<uint8_t> f = {
      'F', 'L', 'V', 1, static_cast<uint8_t>((audio ? 4 : 0) | (video ? 1 : 0)), 0, 0, 0, 9,
      0,   0,   0,   0};
  for (const auto &t : tags) {
    const size_t size = t.body.size();
    const uint8_t header[11] = {static_cast<uint8_t>(t.type),
                                static_cast<uint8_t>(size >> 16),
                                static_cast<uint8_t>(size >> 8),
                                static_cast<uint8_t>(size),
                                static_cast<uint8_t>(t.timestamp >> 16),
                                static_cast<uint8_t>(t.timestamp >> 8),
                                static_cast<uint8_t>(t.timestamp),
                                static_cast<uint8_t>(t.timestamp >> 24),
                                0,
                                0,
                                0};
    f.insert(f.end(), std::begin(header), std::end(header));
    f.insert(f.end(), t.body.begin(), t.body.end());
    const size_t previous = size + 11;
    for (int shift = 24; shift >= 0; shift -= 8)
      f.push_back(static_cast<uint8_t>(previous >> shift));
  }
  return f;
}

inline void write_file(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char *>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Finds a box by its path of types in an ISO BMFF file, descending into
// sample descriptions and visual sample entries. Returns the box payload.
inline std::optional<std::vector<uint8_t>> find_mp4_box(std::span<const uint8_t> data,
                                                        std::vector<std::string> path) {
  if (path.empty()) return std::nullopt;
  size_t pos = 0;
  while (data.size() - pos >= 8) {
    uint64_t size = (uint64_t{data[pos]} << 24) | (uint64_t{data[pos + 1]} << 16) |
                    (uint64_t{data[pos + 2]} << 8) | data[pos + 3];
    const std::string type(reinterpret_cast<const char *>(&data[pos + 4]), 4);
    size_t header = 8;
    if (size == 1) {
      if (data.size() - pos < 16) return std::nullopt;
      size = 0;
      for (size_t i = 0; i < 8; ++i) size = (size << 8) | data[pos + 8 + i];
      header = 16;
    } else if (size == 0) {
      size = data.size() - pos;
    }
    if (size < header || size > data.size() - pos) return std::nullopt;
    if (type == path.front()) {
      auto payload = data.subspan(pos + header, static_cast<size_t>(size) - header);
      if (path.size() == 1) return std::vector<uint8_t>(payload.begin(), payload.end());
      size_t skip = 0;
      if (type == "stsd") skip = 8;  // version, flags, entry_count
      if (type == "avc1" || type == "avc3" || type == "hvc1" || type == "hev1" || type == "av01") {
        skip = 78;  // VisualSampleEntry fields
      }
      if (payload.size() < skip) return std::nullopt;
      return find_mp4_box(payload.subspan(skip),
                          std::vector<std::string>(path.begin() + 1, path.end()));
    }
    pos += static_cast<size_t>(size);
  }
  return std::nullopt;
}

inline std::optional<std::vector<uint8_t>> find_sample_entry_box(const std::vector<uint8_t> &mp4,
                                                                 const std::string &entry,
                                                                 const std::string &box) {
  return find_mp4_box(mp4, {"moov", "trak", "mdia", "minf", "stbl", "stsd", entry, box});
}

// MSB-first bit writer with exp-Golomb, for crafting syntax structures.
class BitWriter {
 public:
  BitWriter &bits(uint64_t value, int n) {
    for (int i = n - 1; i >= 0; --i) {
      if (bit_ == 0) bytes_.push_back(0);
      if ((value >> i) & 1) bytes_.back() |= static_cast<uint8_t>(0x80 >> bit_);
      bit_ = (bit_ + 1) & 7;
    }
    return *this;
  }
  BitWriter &flag(bool v) { return bits(v ? 1 : 0, 1); }
  BitWriter &ue(uint64_t v) {
    const uint64_t code = v + 1;
    int len = 0;
    while ((code >> len) > 1) ++len;
    bits(0, len);
    return bits(code, len + 1);
  }
  BitWriter &se(int64_t v) {
    return ue(v > 0 ? static_cast<uint64_t>(2 * v - 1) : static_cast<uint64_t>(-2 * v));
  }
  // rbsp_trailing_bits()
  BitWriter &trailing() {
    bits(1, 1);
    while (bit_ != 0) bits(0, 1);
    return *this;
  }
  std::vector<uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<uint8_t> bytes_;
  int bit_ = 0;
};

// Inserts emulation-prevention bytes, turning an RBSP into NAL unit payload.
inline std::vector<uint8_t> escape_rbsp(std::span<const uint8_t> rbsp) {
  std::vector<uint8_t> out;
  int zeros = 0;
  for (uint8_t b : rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push_back(3);
      zeros = 0;
    }
    out.push_back(b);
    zeros = b == 0 ? zeros + 1 : 0;
  }
  return out;
}

inline std::vector<uint8_t> concat(std::initializer_list<std::span<const uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A small deterministic generator, so a failing mutation run can be replayed.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed) {}
  uint32_t next() {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state_ >> 33);
  }

 private:
  uint64_t state_;
};

}  // namespace lg::media::test
