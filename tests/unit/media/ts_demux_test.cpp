#include "media/ts_demux.h"

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <sstream>

#include "media/aac.h"
#include "media/h264.h"
#include "media/hevc.h"
#include "media_test_support.h"

using namespace lg::media;
using namespace lg::media::test;

namespace {

constexpr size_t kPacket = 188;
constexpr int64_t kWrap = int64_t{1} << 33;

// 90 kHz ticks to microseconds, rounding down (also below zero).
int64_t us(int64_t ticks) {
  const int64_t scaled = ticks * 100;
  return scaled >= 0 ? scaled / 9 : -((-scaled + 8) / 9);
}

struct Got {
  TrackType track = TrackType::Video;
  Codec codec = Codec::Unknown;
  int64_t dts_us = 0;
  int64_t pts_us = 0;
  bool key = false;
  std::vector<uint8_t> bytes;
  bool operator==(const Got &) const = default;
};

struct Recorder : TsDemuxer::Handler {
  std::vector<VideoParams> video_params;
  std::vector<AudioParams> audio_params;
  std::vector<Got> frames;
  std::string order;  // 'v', 'a', 'f': the sequence of calls

  void on_ts_video_params(const VideoParams &p) override {
    video_params.push_back(p);
    order += 'v';
  }
  void on_ts_audio_params(const AudioParams &p) override {
    audio_params.push_back(p);
    order += 'a';
  }
  void on_ts_frame(const Frame &f) override {
    // The frame's range must lie inside its buffer, and what it covers is
    // what a sink gets.
    REQUIRE(f.buffer);
    REQUIRE(f.offset <= f.buffer->size());
    REQUIRE(f.size <= f.buffer->size() - f.offset);
    // Parameters are reported before the first frame they apply to.
    REQUIRE(!(f.track == TrackType::Video ? video_params.empty() : audio_params.empty()));
    const auto d = f.data();
    frames.push_back({f.track, f.codec, f.dts_us, f.pts_us, f.keyframe, {d.begin(), d.end()}});
    order += 'f';
  }

  std::vector<Got> track(TrackType t) const {
    std::vector<Got> out;
    for (const auto &f : frames) {
      if (f.track == t) out.push_back(f);
    }
    return out;
  }
};

struct Run {
  Recorder rec;
  TsDemuxCounters counters;
};

std::unique_ptr<Run> demux_whole(std::span<const uint8_t> ts, TsDemuxLimits limits = {}) {
  auto run = std::make_unique<Run>();
  TsDemuxer demux(run->rec, limits);
  demux.feed(ts);
  demux.flush();
  run->counters = demux.counters();
  return run;
}

void require_same_output(const Recorder &a, const Recorder &b) {
  REQUIRE(a.order == b.order);
  REQUIRE(a.frames.size() == b.frames.size());
  for (size_t i = 0; i < a.frames.size(); ++i) REQUIRE(a.frames[i] == b.frames[i]);
  REQUIRE(a.video_params.size() == b.video_params.size());
  for (size_t i = 0; i < a.video_params.size(); ++i) {
    REQUIRE(a.video_params[i].config == b.video_params[i].config);
  }
  REQUIRE(a.audio_params.size() == b.audio_params.size());
  for (size_t i = 0; i < a.audio_params.size(); ++i) {
    REQUIRE(a.audio_params[i].config == b.audio_params[i].config);
  }
}

struct ProbePacket {
  int64_t pts = 0;
  int64_t dts = 0;
  size_t size = 0;
  bool key = false;
};

// What ffprobe's own MPEG-TS demuxer and parsers make of a stream's packets.
std::vector<ProbePacket> ffprobe_packets(const std::string &file, const std::string &stream) {
  std::vector<ProbePacket> out;
  std::istringstream text(capture("ffprobe -v error -select_streams " + stream +
                                  " -show_entries packet=pts,dts,size,flags -of compact=p=0 '" +
                                  file + "'"));
  std::string line;
  while (std::getline(text, line)) {
    if (line.empty()) continue;
    std::map<std::string, std::string> kv;
    std::istringstream fields(line);
    std::string field;
    while (std::getline(fields, field, '|')) {
      const size_t eq = field.find('=');
      if (eq != std::string::npos) kv[field.substr(0, eq)] = field.substr(eq + 1);
    }
    if (!kv.count("pts") || !kv.count("dts")) continue;
    ProbePacket p;
    p.pts = std::stoll(kv["pts"]);
    p.dts = std::stoll(kv["dts"]);
    p.size = static_cast<size_t>(std::stoull(kv["size"]));
    p.key = kv["flags"].find('K') != std::string::npos;
    out.push_back(p);
  }
  return out;
}

// The raw access units of an ADTS file, headers removed.
std::vector<std::vector<uint8_t>> adts_payloads(const std::vector<uint8_t> &adts) {
  std::vector<std::vector<uint8_t>> out;
  size_t pos = 0;
  while (adts.size() - pos >= 7) {
    AdtsHeader h;
    std::string error;
    REQUIRE(parse_adts_header(std::span<const uint8_t>(adts).subspan(pos), h, error));
    REQUIRE(h.frame_length <= adts.size() - pos);
    out.emplace_back(adts.begin() + static_cast<std::ptrdiff_t>(pos + h.header_size),
                     adts.begin() + static_cast<std::ptrdiff_t>(pos + h.frame_length));
    pos += h.frame_length;
  }
  REQUIRE(pos == adts.size());
  return out;
}

int nal_type(std::span<const uint8_t> nal, bool hevc) {
  return hevc ? hevc_nal_type(nal) : (nal[0] & 0x1f);
}

// The NAL units of a frame payload, which must be 4-byte length-prefixed.
std::vector<std::span<const uint8_t>> frame_nals(const Got &f) {
  std::string error;
  auto nals = split_length_prefixed(f.bytes, 4, error);
  INFO(error);
  REQUIRE(!nals.empty());
  return nals;
}

uint16_t pid_of(std::span<const uint8_t> packet) {
  return static_cast<uint16_t>(((packet[1] & 0x1f) << 8) | packet[2]);
}

// The PIDs the first PMT assigns to its first stream of the given type.
uint16_t find_es_pid(const std::vector<uint8_t> &ts, uint8_t wanted_type) {
  Recorder rec;
  TsDemuxer demux(rec);
  demux.feed(ts);
  for (const auto &s : demux.streams()) {
    if (s.stream_type == wanted_type) return s.pid;
  }
  FAIL("no stream of type " << int(wanted_type));
  return 0;
}

// A test fixture: an MPEG-TS file written by ffmpeg.
struct Media {
  TempDir dir;
  std::string file;
  std::vector<uint8_t> bytes;
};

std::unique_ptr<Media> make_ts(const std::string &video_codec, double seconds,
                               const std::string &extra = "") {
  auto m = std::make_unique<Media>();
  m->file = m->dir.file("av.ts");
  const std::string x265 =
      video_codec == "libx265" ? " -x265-params log-level=error" : std::string();
  REQUIRE(
      ffmpeg("-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i "
             "sine=frequency=440:sample_rate=48000 -t " +
             std::to_string(seconds) + " -c:v " + video_codec + x265 + " -g 25 -c:a aac -ac 2 " +
             extra + " -f mpegts '" + m->file + "'"));
  m->bytes = read_file(m->file);
  REQUIRE(m->bytes.size() % kPacket == 0);
  return m;
}

// --- A small TS writer for streams ffmpeg will not produce -----------------

uint32_t crc32_mpeg2(std::span<const uint8_t> data) {
  uint32_t crc = 0xffffffffu;
  for (uint8_t b : data) {
    crc ^= uint32_t{b} << 24;
    for (int i = 0; i < 8; ++i) crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04c11db7u : crc << 1;
  }
  return crc;
}

void put_crc(std::vector<uint8_t> &section) {
  const uint32_t crc = crc32_mpeg2(section);
  for (int shift = 24; shift >= 0; shift -= 8)
    section.push_back(static_cast<uint8_t>(crc >> shift));
}

std::vector<uint8_t> pat_section(uint16_t program, uint16_t pmt_pid, int version = 0) {
  std::vector<uint8_t> s = {0x00,
                            0xb0,
                            13,
                            0x00,
                            0x01,
                            static_cast<uint8_t>(0xc1 | (version << 1)),
                            0,
                            0,
                            static_cast<uint8_t>(program >> 8),
                            static_cast<uint8_t>(program),
                            static_cast<uint8_t>(0xe0 | (pmt_pid >> 8)),
                            static_cast<uint8_t>(pmt_pid)};
  put_crc(s);
  return s;
}

struct EsEntry {
  uint8_t type;
  uint16_t pid;
};

std::vector<uint8_t> pmt_section(uint16_t program, int version, const std::vector<EsEntry> &es,
                                 std::optional<size_t> length_override = std::nullopt) {
  std::vector<uint8_t> s = {0x02,
                            0,
                            0,
                            static_cast<uint8_t>(program >> 8),
                            static_cast<uint8_t>(program),
                            static_cast<uint8_t>(0xc1 | (version << 1)),
                            0,
                            0,
                            0xe1,
                            0x00,
                            0xf0,
                            0x00};
  for (const auto &e : es) {
    s.push_back(e.type);
    s.push_back(static_cast<uint8_t>(0xe0 | (e.pid >> 8)));
    s.push_back(static_cast<uint8_t>(e.pid));
    s.push_back(0xf0);
    s.push_back(0x00);
  }
  const size_t length = length_override.value_or(s.size() - 3 + 4);
  s[1] = static_cast<uint8_t>(0xb0 | ((length >> 8) & 0x0f));
  s[2] = static_cast<uint8_t>(length);
  put_crc(s);
  return s;
}

class TsWriter {
 public:
  // One packet; a payload shorter than 184 bytes is padded with adaptation
  // field stuffing, as a PES would be.
  void packet(uint16_t pid, bool unit_start, std::span<const uint8_t> payload, bool tei = false) {
    REQUIRE(payload.size() <= 184);
    std::vector<uint8_t> p = {
        0x47, static_cast<uint8_t>((tei ? 0x80 : 0) | (unit_start ? 0x40 : 0) | (pid >> 8)),
        static_cast<uint8_t>(pid), 0};
    const uint8_t cc = cc_[pid]++ & 0x0f;
    if (payload.size() == 184) {
      p[3] = static_cast<uint8_t>(0x10 | cc);
    } else {
      p[3] = static_cast<uint8_t>(0x30 | cc);
      const size_t af = 183 - payload.size();
      p.push_back(static_cast<uint8_t>(af));
      if (af > 0) {
        p.push_back(0x00);
        p.insert(p.end(), af - 1, 0xff);
      }
    }
    p.insert(p.end(), payload.begin(), payload.end());
    REQUIRE(p.size() == kPacket);
    out.insert(out.end(), p.begin(), p.end());
  }

  // Raw packet bytes, as given.
  void raw(std::vector<uint8_t> p) {
    REQUIRE(p.size() == kPacket);
    out.insert(out.end(), p.begin(), p.end());
  }

  // A section after a pointer_field of 0, padded with 0xff.
  void section(uint16_t pid, std::span<const uint8_t> s) {
    std::vector<uint8_t> payload = {0};
    payload.insert(payload.end(), s.begin(), s.end());
    bool first = true;
    for (size_t pos = 0; pos < payload.size(); pos += 184) {
      std::vector<uint8_t> chunk(
          payload.begin() + static_cast<std::ptrdiff_t>(pos),
          payload.begin() + static_cast<std::ptrdiff_t>(std::min(pos + 184, payload.size())));
      chunk.resize(184, 0xff);
      packet(pid, first, chunk);
      first = false;
    }
  }

  static std::vector<uint8_t> pes(uint8_t stream_id, std::optional<int64_t> pts,
                                  std::span<const uint8_t> es, bool with_length) {
    std::vector<uint8_t> p = {0, 0, 1, stream_id, 0, 0, 0x80, 0, 0};
    if (pts) {
      p[7] = 0x80;
      p[8] = 5;
      const auto t = static_cast<uint64_t>(*pts) & (kWrap - 1);
      p.push_back(static_cast<uint8_t>(0x21 | ((t >> 29) & 0x0e)));
      p.push_back(static_cast<uint8_t>(t >> 22));
      p.push_back(static_cast<uint8_t>(((t >> 14) & 0xfe) | 1));
      p.push_back(static_cast<uint8_t>(t >> 7));
      p.push_back(static_cast<uint8_t>(((t << 1) & 0xfe) | 1));
    }
    p.insert(p.end(), es.begin(), es.end());
    if (with_length) {
      const size_t length = p.size() - 6;
      REQUIRE(length <= 0xffff);
      p[4] = static_cast<uint8_t>(length >> 8);
      p[5] = static_cast<uint8_t>(length);
    }
    return p;
  }

  void pes_packets(uint16_t pid, std::span<const uint8_t> pes_bytes) {
    bool first = true;
    for (size_t pos = 0; pos < pes_bytes.size(); pos += 184) {
      packet(pid, first, pes_bytes.subspan(pos, std::min<size_t>(184, pes_bytes.size() - pos)));
      first = false;
    }
  }

  std::vector<uint8_t> out;

 private:
  std::map<uint16_t, uint8_t> cc_;
};

constexpr uint16_t kPmtPid = 0x1000;
constexpr uint16_t kVideoPid = 0x100;
constexpr uint16_t kAudioPid = 0x101;

void write_program(TsWriter &w, std::vector<EsEntry> es, int version = 0) {
  w.section(0, pat_section(1, kPmtPid));
  w.section(kPmtPid, pmt_section(1, version, es));
}

std::vector<uint8_t> sine_adts(TempDir &dir, double seconds) {
  const std::string file = dir.file("sine.aac");
  REQUIRE(ffmpeg("-f lavfi -i sine=frequency=440:sample_rate=48000 -t " + std::to_string(seconds) +
                 " -c:a aac -f adts '" + file + "'"));
  return read_file(file);
}

}  // namespace

// ---------------------------------------------------------------------------

TEST_CASE("ts: the test's CRC agrees with the PAT ffmpeg writes", "[media][ts]") {
  LG_REQUIRE_FFMPEG();
  auto m = make_ts("libx264", 0.2);
  bool checked = false;
  for (size_t pos = 0; pos + kPacket <= m->bytes.size() && !checked; pos += kPacket) {
    const auto p = std::span<const uint8_t>(m->bytes).subspan(pos, kPacket);
    if (pid_of(p) != 0 || !(p[1] & 0x40)) continue;
    const auto s = p.subspan(5 + p[4]);  // after the pointer_field
    const size_t length = ((s[1] & 0x0f) << 8) | s[2];
    REQUIRE(crc32_mpeg2(s.first(3 + length)) == 0);
    std::vector<uint8_t> mine(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(3 + length - 4));
    put_crc(mine);
    REQUIRE(std::equal(mine.begin(), mine.end(), s.begin()));
    checked = true;
  }
  REQUIRE(checked);
}

TEST_CASE("ts: ffmpeg's H.264 and AAC come out as ffprobe sees them", "[media][ts]") {
  LG_REQUIRE_FFMPEG();
  auto m = make_ts("libx264", 4, "-profile:v high -bf 2");
  auto run = demux_whole(m->bytes);
  const auto &rec = run->rec;
  const auto &c = run->counters;

  // Parameters.
  REQUIRE(rec.video_params.size() == 1);
  const VideoParams &vp = rec.video_params[0];
  CHECK(vp.codec == Codec::H264);
  CHECK(vp.width == 320);
  CHECK(vp.height == 240);
  CHECK(vp.nal_length_size == 4);
  const auto vinfo = ffprobe_stream(m->file, "v:0");
  CHECK(vp.profile == 100);
  CHECK(vp.level == to_int(vinfo.at("level")));
  CHECK(vp.codec_string().rfind("avc1.64", 0) == 0);
  REQUIRE(rec.audio_params.size() == 1);
  const AudioParams &ap = rec.audio_params[0];
  CHECK(ap.codec == Codec::AAC);
  CHECK(ap.sample_rate == 48000);
  CHECK(ap.sample_rate == to_int(ffprobe_stream(m->file, "a:0").at("sample_rate")));
  CHECK(ap.channels == 2);
  CHECK(ap.object_type == 2);
  CHECK(ap.codec_string() == "mp4a.40.2");

  // Video: the same packets, timestamps and key flags as ffprobe.
  const auto video = rec.track(TrackType::Video);
  const auto probe_v = ffprobe_packets(m->file, "v:0");
  REQUIRE(probe_v.size() == 100);
  REQUIRE(video.size() == probe_v.size());
  CHECK(c.frames_video == video.size());
  for (size_t i = 0; i < video.size(); ++i) {
    INFO("video frame " << i);
    CHECK(video[i].codec == Codec::H264);
    CHECK(video[i].dts_us == us(probe_v[i].dts));
    CHECK(video[i].pts_us == us(probe_v[i].pts));
    CHECK(video[i].key == probe_v[i].key);
    bool has_idr = false;
    for (auto nal : frame_nals(video[i])) {
      CHECK(nal_type(nal, false) != h264_nal::kAud);
      has_idr |= nal_type(nal, false) == h264_nal::kIdr;
    }
    CHECK(has_idr == video[i].key);
  }
  CHECK(video[0].key);

  // ... and byte for byte the NAL units of the elementary stream, AUDs aside.
  const std::string h264 = m->dir.file("v.h264");
  REQUIRE(ffmpeg("-i '" + m->file + "' -map 0:v -c copy -f h264 '" + h264 + "'"));
  const auto es = read_file(h264);
  std::vector<std::vector<uint8_t>> expected_nals;
  for (auto nal : split_annexb(es)) {
    if (nal_type(nal, false) != h264_nal::kAud) expected_nals.emplace_back(nal.begin(), nal.end());
  }
  std::vector<std::vector<uint8_t>> got_nals;
  for (const auto &f : video) {
    for (auto nal : frame_nals(f)) got_nals.emplace_back(nal.begin(), nal.end());
  }
  REQUIRE(got_nals == expected_nals);
  // The parameter sets stay in band, and the configuration holds them.
  const auto first_nals = frame_nals(video[0]);
  REQUIRE(nal_type(first_nals[0], false) == h264_nal::kSps);
  VideoParams reparsed;
  std::string error;
  REQUIRE(parse_avc_config(vp.config, reparsed, error));
  CHECK(reparsed.width == 320);

  // Audio: one frame per AAC access unit, header removed.
  const auto audio = rec.track(TrackType::Audio);
  const auto probe_a = ffprobe_packets(m->file, "a:0");
  REQUIRE(probe_a.size() > 150);
  REQUIRE(audio.size() == probe_a.size());
  CHECK(c.frames_audio == audio.size());
  for (size_t i = 0; i < audio.size(); ++i) {
    INFO("audio frame " << i);
    CHECK(audio[i].codec == Codec::AAC);
    CHECK(audio[i].key);
    CHECK(audio[i].bytes.size() + 7 == probe_a[i].size);
    CHECK(std::abs(audio[i].pts_us - us(probe_a[i].pts)) <= 12);
    CHECK(audio[i].dts_us == audio[i].pts_us);
    if (i > 0) CHECK(audio[i].pts_us > audio[i - 1].pts_us);
  }
  const std::string aac = m->dir.file("a.aac");
  REQUIRE(ffmpeg("-i '" + m->file + "' -map 0:a -c copy -f adts '" + aac + "'"));
  const auto payloads = adts_payloads(read_file(aac));
  REQUIRE(payloads.size() == audio.size());
  for (size_t i = 0; i < audio.size(); ++i) REQUIRE(audio[i].bytes == payloads[i]);

  // A clean stream leaves nothing to complain about.
  CHECK(c.cc_errors == 0);
  CHECK(c.dropped_pes == 0);
  CHECK(c.sync_losses == 0);
  CHECK(c.transport_errors == 0);
  CHECK(c.section_errors == 0);
  CHECK(c.adts_errors == 0);
  CHECK(c.frames_before_config == 0);
  CHECK(c.timestamp_wraps == 0);
  CHECK(c.packets == m->bytes.size() / kPacket);
  CHECK(c.bytes == m->bytes.size());
}

TEST_CASE("ts: ffmpeg's HEVC comes out as ffprobe sees it", "[media][ts]") {
  LG_REQUIRE_FFMPEG();
  if (!have_encoder("libx265")) {
    WARN("ffmpeg has no libx265: HEVC test not exercised");
    return;
  }
  auto m = make_ts("libx265", 3);
  auto run = demux_whole(m->bytes);
  const auto &rec = run->rec;
  REQUIRE(rec.video_params.size() == 1);
  const VideoParams &vp = rec.video_params[0];
  CHECK(vp.codec == Codec::HEVC);
  CHECK(vp.width == 320);
  CHECK(vp.height == 240);
  const auto vinfo = ffprobe_stream(m->file, "v:0");
  CHECK(vp.level == to_int(vinfo.at("level")));
  CHECK(vp.codec_string().rfind("hvc1.1.", 0) == 0);  // Main profile

  const auto video = rec.track(TrackType::Video);
  const auto probe_v = ffprobe_packets(m->file, "v:0");
  REQUIRE(probe_v.size() == 75);
  REQUIRE(video.size() == probe_v.size());
  size_t keys = 0;
  for (size_t i = 0; i < video.size(); ++i) {
    INFO("video frame " << i);
    CHECK(video[i].codec == Codec::HEVC);
    CHECK(video[i].dts_us == us(probe_v[i].dts));
    CHECK(video[i].pts_us == us(probe_v[i].pts));
    CHECK(video[i].key == probe_v[i].key);
    keys += video[i].key;
    bool irap = false;
    for (auto nal : frame_nals(video[i])) {
      CHECK(nal_type(nal, true) != hevc_nal::kAud);
      irap |= nal_type(nal, true) >= 16 && nal_type(nal, true) <= 23;
    }
    CHECK(irap == video[i].key);
  }
  CHECK(keys >= 3);
  const auto first = frame_nals(video[0]);
  CHECK(nal_type(first[0], true) == hevc_nal::kVps);

  const std::string hevc = m->dir.file("v.hevc");
  REQUIRE(ffmpeg("-i '" + m->file + "' -map 0:v -c copy -f hevc '" + hevc + "'"));
  const auto es = read_file(hevc);
  std::vector<std::vector<uint8_t>> expected_nals, got_nals;
  for (auto nal : split_annexb(es)) {
    if (nal_type(nal, true) != hevc_nal::kAud) expected_nals.emplace_back(nal.begin(), nal.end());
  }
  for (const auto &f : video) {
    for (auto nal : frame_nals(f)) got_nals.emplace_back(nal.begin(), nal.end());
  }
  REQUIRE(got_nals == expected_nals);
  CHECK(rec.track(TrackType::Audio).size() == ffprobe_packets(m->file, "a:0").size());
  CHECK(run->counters.dropped_pes == 0);
}

TEST_CASE("ts: any split of the input gives the same output", "[media][ts]") {
  LG_REQUIRE_FFMPEG();
  auto m = make_ts("libx264", 2);
  auto whole = demux_whole(m->bytes);
  REQUIRE(whole->rec.frames.size() > 100);

  SECTION("one byte at a time") {
    Recorder rec;
    TsDemuxer demux(rec);
    for (uint8_t b : m->bytes) demux.feed(std::span<const uint8_t>(&b, 1));
    demux.flush();
    require_same_output(whole->rec, rec);
    CHECK(demux.counters().packets == whole->counters.packets);
  }
  SECTION("random split points") {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      Lcg rng(seed);
      Recorder rec;
      TsDemuxer demux(rec);
      size_t pos = 0;
      while (pos < m->bytes.size()) {
        const size_t n = std::min<size_t>(m->bytes.size() - pos, rng.next() % 1000);
        demux.feed(std::span<const uint8_t>(m->bytes).subspan(pos, n));
        pos += n;
      }
      demux.flush();
      INFO("seed " << seed);
      require_same_output(whole->rec, rec);
    }
  }
}

TEST_CASE("ts: a stream cut anywhere resyncs and emits only whole frames", "[media][ts]") {
  LG_REQUIRE_FFMPEG();
  auto m = make_ts("libx264", 3);
  auto whole = demux_whole(m->bytes);
  const auto full_video = whole->rec.track(TrackType::Video);
  const auto full_audio = whole->rec.track(TrackType::Audio);

  // The frames of a run must be a contiguous run of the full output.
  auto find_run = [](const std::vector<Got> &full, const std::vector<Got> &part) -> size_t {
    REQUIRE(!part.empty());
    size_t start = 0;
    while (start < full.size() && !(full[start] == part[0])) ++start;
    REQUIRE(start < full.size());
    REQUIRE(start + part.size() <= full.size());
    for (size_t i = 0; i < part.size(); ++i) REQUIRE(part[i] == full[start + i]);
    return start;
  };

  Lcg rng(42);
  for (int round = 0; round < 8; ++round) {
    // Cut inside a packet, away from its sync byte.
    const size_t cut = (1 + rng.next() % (m->bytes.size() / 2 / kPacket)) * kPacket + 1 +
                       rng.next() % (kPacket - 1);
    INFO("cut at " << cut);

    {  // start mid-packet
      auto run = demux_whole(std::span<const uint8_t>(m->bytes).subspan(cut));
      const auto video = run->rec.track(TrackType::Video);
      const auto audio = run->rec.track(TrackType::Audio);
      REQUIRE(run->counters.sync_losses > 0);
      REQUIRE(run->counters.sync_losses < kPacket);
      // Video starts at a keyframe and runs to the end.
      REQUIRE(video[0].key);
      const size_t vstart = find_run(full_video, video);
      CHECK(vstart + video.size() == full_video.size());
      const size_t astart = find_run(full_audio, audio);
      CHECK(astart + audio.size() == full_audio.size());
      CHECK(run->counters.cc_errors == 0);
    }
    {  // end mid-packet
      auto run = demux_whole(std::span<const uint8_t>(m->bytes).first(cut));
      const auto video = run->rec.track(TrackType::Video);
      const auto audio = run->rec.track(TrackType::Audio);
      // Possibly nothing, when the first access unit is cut.
      if (!video.empty()) REQUIRE(find_run(full_video, video) == 0);
      CHECK(video.size() < full_video.size());
      if (!audio.empty()) REQUIRE(find_run(full_audio, audio) == 0);
      CHECK(run->counters.sync_losses == 0);
    }
  }
}

namespace {

// Every frame of a damaged run must be a frame of the clean run, whole: the
// same timestamps and the same bytes.
void require_frames_from(const Recorder &clean, const Recorder &damaged) {
  std::map<std::pair<int, int64_t>, const Got *> by_time;
  for (const auto &f : clean.frames) by_time[{int(f.track), f.pts_us}] = &f;
  for (const auto &f : damaged.frames) {
    auto it = by_time.find({int(f.track), f.pts_us});
    REQUIRE(it != by_time.end());
    REQUIRE(f == *it->second);
  }
  for (auto t : {TrackType::Video, TrackType::Audio}) {
    const auto frames = damaged.track(t);
    for (size_t i = 1; i < frames.size(); ++i) REQUIRE(frames[i].dts_us > frames[i - 1].dts_us);
  }
}

}  // namespace

TEST_CASE("ts: lost packets drop whole frames, never emit holes", "[media][ts]") {
  LG_REQUIRE_FFMPEG();
  auto m = make_ts("libx264", 4);
  auto clean = demux_whole(m->bytes);
  const size_t clean_video = clean->rec.track(TrackType::Video).size();
  const size_t clean_audio = clean->rec.track(TrackType::Audio).size();
  const uint16_t video_pid = find_es_pid(m->bytes, 0x1b);
  const uint16_t audio_pid = find_es_pid(m->bytes, 0x0f);

  SECTION("every 50th video packet") {
    std::vector<uint8_t> damaged;
    size_t n = 0, lost = 0, lost_starts = 0;
    for (size_t pos = 0; pos < m->bytes.size(); pos += kPacket) {
      const auto p = std::span<const uint8_t>(m->bytes).subspan(pos, kPacket);
      if (pid_of(p) == video_pid && ++n % 50 == 0) {
        ++lost;
        lost_starts += (p[1] & 0x40) != 0;
        continue;
      }
      damaged.insert(damaged.end(), p.begin(), p.end());
    }
    auto run = demux_whole(damaged);
    const auto video = run->rec.track(TrackType::Video);
    CHECK(run->counters.cc_errors == lost);
    // Each gap drops the PES it interrupts; a lost unit start also loses
    // the PES it began, which the demuxer never saw.
    CHECK(run->counters.dropped_pes == lost);
    CHECK(video.size() < clean_video);
    CHECK(video.size() + lost + lost_starts == clean_video);
    CHECK(run->rec.track(TrackType::Audio).size() == clean_audio);
    require_frames_from(clean->rec, run->rec);
    for (const auto &f : video) frame_nals(f);
    // Frames keep coming after the losses.
    CHECK(video.back() == clean->rec.track(TrackType::Video).back());
  }

  SECTION("random packets of any PID") {
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      INFO("seed " << seed);
      Lcg rng(seed);
      std::vector<uint8_t> damaged;
      size_t lost_audio = 0;
      for (size_t pos = 0; pos < m->bytes.size(); pos += kPacket) {
        const auto p = std::span<const uint8_t>(m->bytes).subspan(pos, kPacket);
        if (pos > 4 * kPacket && rng.next() % 100 == 0) {
          lost_audio += pid_of(p) == audio_pid;
          continue;
        }
        damaged.insert(damaged.end(), p.begin(), p.end());
      }
      auto run = demux_whole(damaged);
      CHECK(run->counters.cc_errors > 0);
      require_frames_from(clean->rec, run->rec);
      CHECK(run->rec.track(TrackType::Video).size() > clean_video / 2);
      if (lost_audio > 0) CHECK(run->rec.track(TrackType::Audio).size() < clean_audio);
    }
  }

  SECTION("duplicated packets are discarded") {
    std::vector<uint8_t> doubled;
    size_t dups = 0, n = 0;
    for (size_t pos = 0; pos < m->bytes.size(); pos += kPacket) {
      const auto p = std::span<const uint8_t>(m->bytes).subspan(pos, kPacket);
      doubled.insert(doubled.end(), p.begin(), p.end());
      const bool payload = (p[3] & 0x10) != 0;
      if (payload && (pid_of(p) == video_pid || pid_of(p) == audio_pid) && ++n % 10 == 0) {
        doubled.insert(doubled.end(), p.begin(), p.end());
        ++dups;
      }
    }
    auto run = demux_whole(doubled);
    require_same_output(clean->rec, run->rec);
    CHECK(run->counters.duplicate_packets == dups);
    CHECK(run->counters.cc_errors == 0);
  }

  SECTION("packets flagged with transport errors") {
    std::vector<uint8_t> flagged = m->bytes;
    size_t n = 0, flagged_count = 0;
    for (size_t pos = 0; pos < flagged.size(); pos += kPacket) {
      if (pid_of(std::span<const uint8_t>(flagged).subspan(pos, kPacket)) == video_pid &&
          ++n % 70 == 0) {
        flagged[pos + 1] |= 0x80;
        ++flagged_count;
      }
    }
    auto run = demux_whole(flagged);
    CHECK(run->counters.transport_errors == flagged_count);
    CHECK(run->counters.dropped_pes >= 1);
    CHECK(run->rec.track(TrackType::Video).size() < clean_video);
    require_frames_from(clean->rec, run->rec);
  }
}

TEST_CASE("ts: timestamps continue across the 33-bit wrap", "[media][ts]") {
  LG_REQUIRE_FFMPEG();
  // 95442 s is just under 2^33 / 90 kHz: the clock wraps a second or two in.
  auto m = make_ts("libx264", 4, "-output_ts_offset 95442");
  auto run = demux_whole(m->bytes);
  CHECK(run->counters.timestamp_wraps == 1);
  const auto video = run->rec.track(TrackType::Video);
  const auto probe_v = ffprobe_packets(m->file, "v:0");
  REQUIRE(video.size() == probe_v.size());
  REQUIRE(video.size() == 100);
  for (size_t i = 1; i < video.size(); ++i) REQUIRE(video[i].dts_us > video[i - 1].dts_us);
  REQUIRE(video.front().dts_us < us(kWrap));
  REQUIRE(video.back().dts_us > us(kWrap));
  // ffprobe counts from before the wrap with negative numbers: one wrap off.
  for (size_t i = 0; i < video.size(); ++i) {
    INFO("video frame " << i);
    CHECK(video[i].dts_us == us(probe_v[i].dts + kWrap));
    CHECK(video[i].pts_us == us(probe_v[i].pts + kWrap));
  }
  const auto audio = run->rec.track(TrackType::Audio);
  REQUIRE(audio.size() == ffprobe_packets(m->file, "a:0").size());
  for (size_t i = 1; i < audio.size(); ++i) REQUIRE(audio[i].pts_us > audio[i - 1].pts_us);
  REQUIRE(audio.back().pts_us > us(kWrap));
}

TEST_CASE("ts: ADTS frames cut across PES packets are joined", "[media][ts]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  const auto adts = sine_adts(dir, 1);
  const auto payloads = adts_payloads(adts);
  REQUIRE(payloads.size() > 40);
  // Where each ADTS frame starts.
  std::vector<size_t> starts;
  for (size_t pos = 0, i = 0; i < payloads.size(); ++i) {
    starts.push_back(pos);
    pos += payloads[i].size() + 7;
  }
  const int64_t base = 900000;  // 10 s
  auto pts_of = [&](size_t index) {
    return base + static_cast<int64_t>(index) * 1024 * 90000 / 48000;
  };

  for (bool with_length : {true, false}) {
    for (size_t chunk : {size_t{1000}, size_t{150}, size_t{4097}}) {
      INFO("PES of " << chunk << " bytes, length field " << with_length);
      TsWriter w;
      write_program(w, {{0x0f, kAudioPid}});
      size_t next_frame = 0;
      for (size_t pos = 0; pos < adts.size(); pos += chunk) {
        const size_t end = std::min(pos + chunk, adts.size());
        // The PTS belongs to the first frame that starts in the packet.
        while (next_frame < starts.size() && starts[next_frame] < pos) ++next_frame;
        std::optional<int64_t> pts;
        if (next_frame < starts.size() && starts[next_frame] < end) pts = pts_of(next_frame);
        const auto es = std::span<const uint8_t>(adts).subspan(pos, end - pos);
        w.pes_packets(kAudioPid, TsWriter::pes(0xc0, pts, es, with_length));
      }
      auto run = demux_whole(w.out);
      const auto audio = run->rec.track(TrackType::Audio);
      REQUIRE(audio.size() == payloads.size());
      for (size_t i = 0; i < audio.size(); ++i) {
        INFO("frame " << i);
        REQUIRE(audio[i].bytes == payloads[i]);
        REQUIRE(std::abs(audio[i].pts_us -
                         (us(base) + static_cast<int64_t>(i) * 1024 * 1000000 / 48000)) <= 12);
      }
      CHECK(run->counters.adts_errors == 0);
      CHECK(run->counters.dropped_pes == 0);
      REQUIRE(run->rec.audio_params.size() == 1);
      CHECK(run->rec.audio_params[0].sample_rate == 48000);
      CHECK(run->rec.audio_params[0].channels == 1);

      Recorder bytewise;
      TsDemuxer demux(bytewise);
      for (uint8_t b : w.out) demux.feed(std::span<const uint8_t>(&b, 1));
      demux.flush();
      require_same_output(run->rec, bytewise);
    }
  }
}

TEST_CASE("ts: access units in one PES are timed from the AU index", "[media][ts]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  const auto adts = sine_adts(dir, 3);
  const auto payloads = adts_payloads(adts);
  // All frames in one PES: no rounding may accumulate over 140 steps at a
  // rate where a frame lasts 21333.33 us.
  TsWriter w;
  write_program(w, {{0x0f, kAudioPid}});
  w.pes_packets(kAudioPid, TsWriter::pes(0xc0, 0, adts, false));
  auto run = demux_whole(w.out);
  const auto audio = run->rec.track(TrackType::Audio);
  REQUIRE(audio.size() == payloads.size());
  for (size_t i = 0; i < audio.size(); ++i) {
    REQUIRE(audio[i].pts_us == static_cast<int64_t>(i) * 1024 * 1000000 / 48000);
  }
}

TEST_CASE("ts: a PMT change replaces the streams", "[media][ts]") {
  LG_REQUIRE_FFMPEG();
  TempDir dir;
  const auto adts = sine_adts(dir, 0.2);
  TsWriter w;
  write_program(w, {{0x0f, kAudioPid}, {0x03, 0x102}});
  w.pes_packets(kAudioPid, TsWriter::pes(0xc0, 0, adts, true));
  // Version 1 moves the audio to another PID and drops the MP3 stream.
  w.section(kPmtPid, pmt_section(1, 1, {{0x0f, 0x103}, {0x06, 0x104}}));
  w.pes_packets(kAudioPid, TsWriter::pes(0xc0, 90000, adts, true));  // no longer listened to
  w.pes_packets(0x103, TsWriter::pes(0xc0, 180000, adts, true));
  // The same version again changes nothing.
  w.section(kPmtPid, pmt_section(1, 1, {{0x0f, 0x103}, {0x06, 0x104}}));

  Recorder rec;
  TsDemuxer demux(rec);
  demux.feed(w.out);
  demux.flush();
  const size_t per_pes = adts_payloads(adts).size();
  const auto audio = rec.track(TrackType::Audio);
  REQUIRE(audio.size() == 2 * per_pes);
  CHECK(audio[0].pts_us == 0);
  CHECK(audio[per_pes].pts_us == us(180000));
  // 0x03 (MP3) and 0x06 (private data) are not handled, once per PID.
  CHECK(demux.counters().unsupported_streams == 2);
  REQUIRE(demux.streams().size() == 2);
  CHECK(demux.streams()[0].pid == 0x103);
  CHECK(demux.streams()[0].used);
  CHECK(!demux.streams()[1].used);
  CHECK(demux.counters().section_errors == 0);
}

namespace {

// A minimal H.264 access unit with real parameter sets, from x264.
struct H264Sample {
  std::vector<uint8_t> idr_au;  // Annex-B: SPS, PPS, IDR slice
};

H264Sample h264_sample(TempDir &dir) {
  const std::string file = dir.file("one.h264");
  REQUIRE(ffmpeg("-f lavfi -i testsrc2=size=64x64:rate=25 -frames:v 1 -c:v libx264 -f h264 '" +
                 file + "'"));
  return {read_file(file)};
}

}  // namespace

TEST_CASE("ts: hostile input is counted, never trusted", "[media][ts]") {
  SECTION("random bytes") {
    Lcg rng(7);
    std::vector<uint8_t> junk(300000);
    for (auto &b : junk) b = static_cast<uint8_t>(rng.next());
    // Many stray 0x47 bytes, none 188 apart from another by design.
    auto run = demux_whole(junk);
    CHECK(run->rec.frames.empty());
    CHECK(run->counters.sync_losses > junk.size() / 2);
  }

  SECTION("garbage before and between packets") {
    TsWriter w;
    write_program(w, {{0x0f, kAudioPid}});
    std::vector<uint8_t> in = {0x47, 1, 2, 3, 0x47, 0x47, 9};
    in.insert(in.end(), w.out.begin(), w.out.end());
    in.insert(in.end(), {0x00, 0x47, 0x12});
    in.insert(in.end(), w.out.begin(), w.out.end());
    Recorder rec;
    TsDemuxer demux(rec);
    demux.feed(in);
    CHECK(demux.counters().sync_losses == 10);
    CHECK(demux.counters().packets == 2 * w.out.size() / kPacket);
    REQUIRE(demux.streams().size() == 1);
  }

  SECTION("adaptation_field_length 255") {
    TsWriter w;
    write_program(w, {{0x1b, kVideoPid}});
    std::vector<uint8_t> p(kPacket, 0xff);
    p[0] = 0x47;
    p[1] = 0x40 | (kVideoPid >> 8);
    p[2] = kVideoPid & 0xff;
    p[3] = 0x30;
    p[4] = 255;
    w.raw(p);
    p[3] = 0x21;  // adaptation field only, 255 > 183
    w.raw(p);
    auto run = demux_whole(w.out);
    CHECK(run->counters.malformed_packets == 2);
    CHECK(run->rec.frames.empty());
  }

  SECTION("a truncated PES header") {
    TsWriter w;
    write_program(w, {{0x1b, kVideoPid}});
    // PTS announced in the flags, but the header ends after 3 of its bytes.
    const std::vector<uint8_t> pes = {0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5, 0x21, 0, 1};
    w.packet(kVideoPid, true, pes);
    w.packet(kVideoPid, true, pes);
    auto run = demux_whole(w.out);
    CHECK(run->counters.dropped_pes == 2);
    CHECK(run->rec.frames.empty());
  }

  SECTION("PES_packet_length beyond the data, and a bad start code") {
    TempDir dir;
    const auto adts = sine_adts(dir, 0.1);
    TsWriter w;
    write_program(w, {{0x0f, kAudioPid}});
    auto pes = TsWriter::pes(0xc0, 0, adts, true);
    pes[4] = 0xff;  // claims more than follows
    pes[5] = 0xff;
    w.pes_packets(kAudioPid, pes);
    const std::vector<uint8_t> not_pes = {0, 0, 2, 0xc0, 0, 0};
    w.packet(kAudioPid, true, not_pes);
    w.pes_packets(kAudioPid, TsWriter::pes(0xc0, 90000, adts, true));
    auto run = demux_whole(w.out);
    CHECK(run->counters.dropped_pes == 2);
    const auto audio = run->rec.track(TrackType::Audio);
    REQUIRE(audio.size() == adts_payloads(adts).size());
    CHECK(audio[0].pts_us == us(90000));
  }

  SECTION("section_length overflow, bad CRC, bad pointer_field") {
    TempDir dir;
    const auto adts = sine_adts(dir, 0.1);
    TsWriter w;
    auto pat = pat_section(1, kPmtPid);
    pat[1] = 0xbf;  // section_length 0xffd
    pat[2] = 0xfd;
    w.section(0, pat);
    auto pmt = pmt_section(1, 0, {{0x0f, kAudioPid}});
    w.section(0, pat_section(1, kPmtPid));
    pmt[12] ^= 0x01;  // the stream type: the CRC no longer matches
    w.section(kPmtPid, pmt);
    std::vector<uint8_t> bad_pointer(184, 0xff);
    bad_pointer[0] = 200;
    w.packet(kPmtPid, true, bad_pointer);
    w.pes_packets(kAudioPid, TsWriter::pes(0xc0, 0, adts, true));
    auto run = demux_whole(w.out);
    CHECK(run->counters.section_errors == 3);
    CHECK(run->rec.frames.empty());
    // The good PMT, once it comes, is taken.
    w.section(kPmtPid, pmt_section(1, 0, {{0x0f, kAudioPid}}));
    w.pes_packets(kAudioPid, TsWriter::pes(0xc0, 0, adts, true));
    auto again = demux_whole(w.out);
    CHECK(again->rec.track(TrackType::Audio).size() == adts_payloads(adts).size());
  }

  SECTION("a PMT claiming 1000 streams, and one listing 200") {
    std::vector<EsEntry> many;
    for (uint16_t i = 0; i < 1000; ++i) many.push_back({0x06, static_cast<uint16_t>(0x200 + i)});
    TsWriter w;
    w.section(0, pat_section(1, kPmtPid));
    w.section(kPmtPid, pmt_section(1, 0, many, 0xfff));  // cannot be that long
    Recorder rec;
    TsDemuxer demux(rec);
    demux.feed(w.out);
    CHECK(demux.counters().section_errors == 1);
    CHECK(demux.streams().empty());

    many.resize(200);
    many[150] = {0x1b, kVideoPid};
    TsWriter w2;
    w2.section(0, pat_section(1, kPmtPid));
    w2.section(kPmtPid, pmt_section(1, 1, many));  // 1013 bytes: spans 6 packets
    demux.feed(w2.out);
    CHECK(demux.counters().section_errors == 1);
    REQUIRE(demux.streams().size() == 32);
    CHECK(demux.counters().pmt_streams_over_limit == 168);
    CHECK(demux.counters().unsupported_streams == 32);
    for (const auto &s : demux.streams()) CHECK(!s.used);  // the video is past the limit
  }

  SECTION("an oversized PES is dropped within the limit") {
    LG_REQUIRE_FFMPEG();
    auto m = make_ts("libx264", 1);
    auto clean = demux_whole(m->bytes);
    // Above ffmpeg's audio PES packets (2930 bytes of payload at most), below
    // its keyframes.
    const size_t limit = 3200;
    TsDemuxLimits limits;
    limits.max_pes_size = limit;
    auto run = demux_whole(m->bytes, limits);
    const auto &c = run->counters;
    const auto probe_v = ffprobe_packets(m->file, "v:0");
    size_t too_big = 0;
    for (const auto &p : probe_v) too_big += p.size + 19 > limit;  // PES header with PTS and DTS
    CHECK(too_big > 0);
    CHECK(c.dropped_pes == too_big);
    CHECK(c.frames_video + c.frames_before_config + c.dropped_pes == probe_v.size());
    for (const auto &f : run->rec.track(TrackType::Video)) CHECK(f.bytes.size() <= limit);
    require_frames_from(clean->rec, run->rec);
    // Audio PES packets are small and pass.
    CHECK(run->rec.track(TrackType::Audio).size() == clean->rec.track(TrackType::Audio).size());
  }

  SECTION("frames before the parameter sets are dropped") {
    LG_REQUIRE_FFMPEG();
    TempDir dir;
    const auto sample = h264_sample(dir);
    std::vector<uint8_t> slice_only;
    for (auto nal : split_annexb(sample.idr_au)) {
      if ((nal[0] & 0x1f) == h264_nal::kIdr) {
        slice_only = {0, 0, 0, 1};
        slice_only.insert(slice_only.end(), nal.begin(), nal.end());
      }
    }
    REQUIRE(!slice_only.empty());
    TsWriter w;
    write_program(w, {{0x1b, kVideoPid}});
    w.pes_packets(kVideoPid, TsWriter::pes(0xe0, 0, slice_only, false));
    w.pes_packets(kVideoPid, TsWriter::pes(0xe0, 3600, sample.idr_au, false));
    w.pes_packets(kVideoPid, TsWriter::pes(0xe0, 7200, slice_only, false));
    auto run = demux_whole(w.out);
    CHECK(run->counters.frames_before_config == 1);
    const auto video = run->rec.track(TrackType::Video);
    REQUIRE(video.size() == 2);
    CHECK(video[0].pts_us == us(3600));
    CHECK(video[0].key);
    CHECK(run->rec.video_params.size() == 1);
    CHECK(run->rec.video_params[0].width == 64);
  }

  SECTION("mutated real streams") {
    LG_REQUIRE_FFMPEG();
    auto m = make_ts("libx264", 1);
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      Lcg rng(seed);
      auto bytes = m->bytes;
      const size_t flips = 1 + rng.next() % 200;
      for (size_t i = 0; i < flips; ++i) {
        bytes[rng.next() % bytes.size()] = static_cast<uint8_t>(rng.next());
      }
      Recorder rec;
      TsDemuxer demux(rec);
      demux.feed(bytes);
      demux.flush();
      for (const auto &f : rec.frames) {
        if (f.track == TrackType::Video) {
          std::string error;
          CHECK(!split_length_prefixed(f.bytes, 4, error).empty());
        }
      }
    }
  }
}
