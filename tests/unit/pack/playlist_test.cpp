#include "pack/playlist.h"

#include <catch2/catch.hpp>

using lg::pack::MediaPlaylist;
using lg::pack::Segment;

namespace {

Segment seg(int64_t duration_us, int64_t pdt_ms, bool discontinuity = false) {
  Segment s;
  s.duration_us = duration_us;
  s.program_time_ms = pdt_ms;
  s.discontinuity = discontinuity;
  return s;
}

}  // namespace

TEST_CASE("playlist: target duration covers every rounded segment duration and never shrinks",
          "[playlist]") {
  MediaPlaylist p(2);
  auto s = seg(2'400'000, 1000);
  s.uri = "0.ts";
  p.append(s);
  CHECK(p.target_duration_s() == 2);  // 2.4 rounds to 2
  s = seg(2'600'000, 3400);
  s.uri = "1.ts";
  p.append(s);
  CHECK(p.target_duration_s() == 3);  // 2.6 rounds to 3
  s = seg(2'000'000, 6000);
  s.uri = "2.ts";
  p.append(s);
  p.pop_front();
  p.pop_front();
  CHECK(p.target_duration_s() == 3);
  CHECK(p.render(0).find("#EXT-X-TARGETDURATION:3\n") != std::string::npos);
}

TEST_CASE("playlist: the discontinuity sequence grows by the tagged segments removed",
          "[playlist]") {
  MediaPlaylist p(2);
  for (int i = 0; i < 5; ++i) {
    auto s = seg(2'000'000, 1000 + i * 2000, i == 2 || i == 3);
    s.uri = std::to_string(i) + ".ts";
    p.append(s);
  }
  const std::string all = p.render(0);
  CHECK(all.find("#EXT-X-MEDIA-SEQUENCE:0\n") != std::string::npos);
  CHECK(all.find("#EXT-X-DISCONTINUITY-SEQUENCE:0\n") != std::string::npos);
  // The live window of the last two segments starts at segment 3, which
  // carries its own tag: two tags precede it, one of them its own.
  const std::string live = p.render(2);
  CHECK(live.find("#EXT-X-MEDIA-SEQUENCE:3\n") != std::string::npos);
  CHECK(live.find("#EXT-X-DISCONTINUITY-SEQUENCE:1\n") != std::string::npos);
  for (int i = 0; i < 4; ++i) p.pop_front();
  const std::string last = p.render(0);
  CHECK(last.find("#EXT-X-MEDIA-SEQUENCE:4\n") != std::string::npos);
  CHECK(last.find("#EXT-X-DISCONTINUITY-SEQUENCE:2\n") != std::string::npos);
}

TEST_CASE("playlist: what render writes parses back to the same playlist", "[playlist]") {
  MediaPlaylist p(2);
  for (int i = 0; i < 4; ++i) {
    auto s = seg(2'002'000 + i * 1000, 1764500000000 + i * 2000, i == 2);
    s.uri = std::to_string(i) + ".m4s";
    s.map_uri = i < 2 ? "init-0.mp4" : "init-1.mp4";
    p.append(s);
  }
  p.pop_front();
  const std::string text = p.render(0);
  CHECK(text.find("#EXT-X-VERSION:6\n") != std::string::npos);
  CHECK(text.find("#EXT-X-MAP:URI=\"init-1.mp4\"") != std::string::npos);
  auto back = MediaPlaylist::parse(text, 2);
  REQUIRE(back);
  CHECK(back->render(0) == text);
  CHECK(back->next_sequence() == 4);
  CHECK(back->segments().front().sequence == 1);
  CHECK(back->segments().back().program_time_ms == 1764500000000 + 3 * 2000);
  CHECK_FALSE(MediaPlaylist::parse("not a playlist", 2));
  CHECK_FALSE(MediaPlaylist::parse("#EXTM3U\n#EXTINF:abc,\nx.ts\n", 2));
}

TEST_CASE("playlist: master lists variants and the audio group", "[playlist]") {
  lg::pack::Variant v;
  v.uri = "hi/live.m3u8";
  v.bandwidth = 3000000;
  v.codecs = "avc1.64001f,mp4a.40.2";
  v.width = 1280;
  v.height = 720;
  const std::string text =
      lg::pack::render_master({v}, {{"main", "", true}, {"fr", "fr/live.m3u8", false}});
  CHECK(text.find("#EXT-X-STREAM-INF:BANDWIDTH=3000000,CODECS=\"avc1.64001f,mp4a.40.2\","
                  "RESOLUTION=1280x720,AUDIO=\"audio\"\nhi/live.m3u8\n") != std::string::npos);
  CHECK(text.find("NAME=\"fr\",DEFAULT=NO,AUTOSELECT=YES,URI=\"fr/live.m3u8\"") !=
        std::string::npos);
  CHECK(lg::pack::parse_iso8601_utc(lg::pack::iso8601_utc(1764533700123)) == 1764533700123);
}
