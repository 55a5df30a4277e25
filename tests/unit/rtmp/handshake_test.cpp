#include "rtmp/handshake.h"

#include <mbedtls/md.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "rtmp_test_support.h"

using lg::rtmp::ClientHandshake;
using lg::rtmp::kHandshakeSize;
using lg::rtmp::ServerHandshake;
using namespace lg::rtmp::test;

namespace {

// An implementation of the client's checks written from ffmpeg's
// libavformat/rtmpproto.c (rtmp_handshake, rtmp_validate_digest,
// ff_rtmp_calc_digest[_pos]) independently of the code under test.
namespace ffmpeg_like {

const char kPlayerText[] = "Genuine Adobe Flash Player 001";
const char kServerText[] = "Genuine Adobe Flash Media Server 001";
const uint8_t kShared[32] = {0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0,
                             0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80,
                             0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE};

std::vector<uint8_t> full_key(const char *text) {
  std::vector<uint8_t> key(text, text + std::strlen(text));
  key.insert(key.end(), std::begin(kShared), std::end(kShared));
  return key;
}

// HMAC-SHA256 of `len` bytes of `src`, skipping 32 bytes at `gap` if gap > 0.
std::array<uint8_t, 32> calc_digest(const uint8_t *src, size_t len, size_t gap, const uint8_t *key,
                                    size_t keylen) {
  std::array<uint8_t, 32> out{};
  mbedtls_md_context_t ctx;
  mbedtls_md_init(&ctx);
  REQUIRE(mbedtls_md_setup(&ctx, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) == 0);
  REQUIRE(mbedtls_md_hmac_starts(&ctx, key, keylen) == 0);
  if (gap == 0) {
    mbedtls_md_hmac_update(&ctx, src, len);
  } else {
    mbedtls_md_hmac_update(&ctx, src, gap);
    mbedtls_md_hmac_update(&ctx, src + gap + 32, len - gap - 32);
  }
  mbedtls_md_hmac_finish(&ctx, out.data());
  mbedtls_md_free(&ctx);
  return out;
}

size_t calc_digest_pos(const uint8_t *buf, size_t off, size_t mod_val, size_t add_val) {
  size_t sum = 0;
  for (size_t i = 0; i < 4; ++i) sum += buf[off + i];
  return sum % mod_val + add_val;
}

// rtmp_validate_digest: the digest position if valid, else 0.
size_t validate_digest(const uint8_t *buf, size_t off) {
  const size_t pos = calc_digest_pos(buf, off, 728, off + 4);
  const auto key = full_key(kServerText);
  const auto digest = calc_digest(buf, kHandshakeSize, pos, key.data(), 36);
  return std::memcmp(digest.data(), buf + pos, 32) == 0 ? pos : 0;
}

struct Verdict {
  bool version_ok = false;
  size_t server_pos = 0;
  bool signature_ok = false;
};

// What ffmpeg checks of S1 and S2 as a player, given the C1 it sent.
Verdict check_server(const uint8_t *c1, const uint8_t *s1, const uint8_t *s2) {
  Verdict v;
  v.version_ok = s1[4] >= 3;
  v.server_pos = validate_digest(s1, 772);
  if (!v.server_pos) v.server_pos = validate_digest(s1, 8);
  const size_t client_pos = calc_digest_pos(c1, 8, 728, 12);
  const auto server_key = full_key(kServerText);
  const auto digest = calc_digest(c1 + client_pos, 32, 0, server_key.data(), server_key.size());
  const auto signature = calc_digest(s2, kHandshakeSize - 32, 0, digest.data(), 32);
  v.signature_ok = std::memcmp(signature.data(), s2 + kHandshakeSize - 32, 32) == 0;
  return v;
}

// Builds a digest C1 the way a client does, at either scheme.
std::vector<uint8_t> make_c1(int scheme, uint32_t seed) {
  auto c1 = pattern(kHandshakeSize, seed);
  std::memset(c1.data(), 0, 4);
  c1[4] = 9;
  c1[5] = 0;
  c1[6] = 124;
  c1[7] = 2;
  const size_t pos = scheme == 0 ? calc_digest_pos(c1.data(), 8, 728, 12)
                                 : calc_digest_pos(c1.data(), 772, 728, 776);
  const auto key = full_key(kPlayerText);
  const auto digest = calc_digest(c1.data(), kHandshakeSize, pos, key.data(), 30);
  std::memcpy(c1.data() + pos, digest.data(), 32);
  return c1;
}

}  // namespace ffmpeg_like

struct ServerRun {
  ServerHandshake::Status status = ServerHandshake::Status::NeedMore;
  std::vector<uint8_t> out;
  size_t consumed = 0;
  int responses = 0;
};

// Feeds the server `in` in pieces of `piece` bytes.
ServerRun run_server(ServerHandshake &server, std::span<const uint8_t> in, size_t piece) {
  ServerRun run;
  size_t pos = 0;
  while (pos < in.size()) {
    const size_t n = std::min(piece, in.size() - pos);
    size_t consumed = 0;
    const size_t before = run.out.size();
    run.status = server.feed(in.subspan(pos, n), consumed, run.out);
    if (run.out.size() != before) ++run.responses;
    run.consumed += consumed;
    pos += n;
    if (run.status != ServerHandshake::Status::NeedMore) break;
  }
  return run;
}

std::vector<uint8_t> concat(std::initializer_list<std::span<const uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::string server_error(std::vector<uint8_t> first_bytes) {
  ServerHandshake server{SeededRandom(1)};
  std::vector<uint8_t> out;
  size_t consumed = 0;
  REQUIRE(server.feed(first_bytes, consumed, out) == ServerHandshake::Status::Error);
  CHECK(out.empty());
  return server.error();
}

}  // namespace

TEST_CASE("handshake: ffmpeg's real C1 gets a digest answer ffmpeg would accept",
          "[rtmp][handshake]") {
  const auto c0c1 = read_fixture("ffmpeg_publish_c0c1.bin");
  REQUIRE(c0c1.size() == 1 + kHandshakeSize);
  REQUIRE(c0c1[0] == 3);
  // ffmpeg announces Flash Player 9.0.124.2.
  CHECK(std::vector<uint8_t>(c0c1.begin() + 5, c0c1.begin() + 9) == bytes({9, 0, 124, 2}));
  const auto c2 = pattern(kHandshakeSize, 5);
  const auto after = bytes({0x03, 0x00, 0x00, 0x00});  // start of the chunk stream
  const auto input = concat({c0c1, c2, after});

  for (size_t piece : {input.size(), size_t{1}, size_t{7}, size_t{1537}, size_t{1000}}) {
    INFO("piece size " << piece);
    ServerHandshake server{SeededRandom(11)};
    auto run = run_server(server, input, piece);
    REQUIRE(run.status == ServerHandshake::Status::Done);
    CHECK(server.used_digest());
    CHECK(run.responses == 1);
    CHECK(run.consumed == 1 + 2 * kHandshakeSize);  // the chunk stream bytes stay
    REQUIRE(run.out.size() == 1 + 2 * kHandshakeSize);
    CHECK(run.out[0] == 3);
    const uint8_t *s1 = run.out.data() + 1;
    const uint8_t *s2 = s1 + kHandshakeSize;
    const auto verdict = ffmpeg_like::check_server(c0c1.data() + 1, s1, s2);
    CHECK(verdict.version_ok);
    CHECK(verdict.server_pos != 0);
    CHECK(verdict.signature_ok);
  }
}

TEST_CASE("handshake: digest detected in either scheme, answered in the same one",
          "[rtmp][handshake]") {
  for (int scheme : {0, 1}) {
    for (uint32_t seed = 1; seed <= 20; ++seed) {
      INFO("scheme " << scheme << " seed " << seed);
      const auto c1 = ffmpeg_like::make_c1(scheme, seed);
      const auto input = concat({bytes({3}), c1, pattern(kHandshakeSize, seed)});
      ServerHandshake server{SeededRandom(seed)};
      auto run = run_server(server, input, input.size());
      REQUIRE(run.status == ServerHandshake::Status::Done);
      CHECK(server.used_digest());
      const uint8_t *s1 = run.out.data() + 1;
      // The server's digest sits where the client's scheme puts it.
      const size_t off = scheme == 0 ? 8 : 772;
      CHECK(ffmpeg_like::validate_digest(s1, off) != 0);
      const size_t client_pos = scheme == 0
                                    ? ffmpeg_like::calc_digest_pos(c1.data(), 8, 728, 12)
                                    : ffmpeg_like::calc_digest_pos(c1.data(), 772, 728, 776);
      // S2's signature is keyed by the client digest found at that scheme.
      const auto key = ffmpeg_like::full_key(ffmpeg_like::kServerText);
      const auto digest =
          ffmpeg_like::calc_digest(c1.data() + client_pos, 32, 0, key.data(), key.size());
      const uint8_t *s2 = s1 + kHandshakeSize;
      const auto sig = ffmpeg_like::calc_digest(s2, kHandshakeSize - 32, 0, digest.data(), 32);
      CHECK(std::memcmp(sig.data(), s2 + kHandshakeSize - 32, 32) == 0);
    }
  }
}

TEST_CASE("handshake: plain C1 and undigested versions get the echo", "[rtmp][handshake]") {
  SECTION("librtmp's real plain C1") {
    const auto c0c1 = read_fixture("librtmp_publish_c0c1.bin");
    REQUIRE(c0c1.size() == 1 + kHandshakeSize);
    CHECK(std::vector<uint8_t>(c0c1.begin() + 5, c0c1.begin() + 9) == bytes({0, 0, 0, 0}));
    ServerHandshake server{SeededRandom(3)};
    auto run = run_server(server, concat({c0c1, pattern(kHandshakeSize, 1)}), 100);
    REQUIRE(run.status == ServerHandshake::Status::Done);
    CHECK_FALSE(server.used_digest());
    CHECK(std::equal(c0c1.begin() + 1, c0c1.end(), run.out.begin() + 1 + kHandshakeSize));
    // S1: time and zero field, then random.
    CHECK(std::vector<uint8_t>(run.out.begin() + 1, run.out.begin() + 9) ==
          bytes({0, 0, 0, 0, 0, 0, 0, 0}));
  }
  SECTION("a version without a valid digest falls back to plain") {
    auto c1 = ffmpeg_like::make_c1(0, 4);
    c1[700] ^= 0x01;  // breaks the digest (covered by the HMAC in both schemes)
    const auto input = concat({bytes({3}), c1, pattern(kHandshakeSize, 2)});
    ServerHandshake server{SeededRandom(3)};
    auto run = run_server(server, input, 64);
    REQUIRE(run.status == ServerHandshake::Status::Done);
    CHECK_FALSE(server.used_digest());
    CHECK(std::equal(c1.begin(), c1.end(), run.out.begin() + 1 + kHandshakeSize));
  }
}

TEST_CASE("handshake: a wrong first byte is refused at once with a helpful reason",
          "[rtmp][handshake]") {
  CHECK_THAT(server_error(bytes({0x16, 0x03, 0x01})), Catch::Contains("TLS"));
  CHECK_THAT(server_error(bytes({0x16})), Catch::Contains("RTMPS"));
  CHECK_THAT(server_error(bytes({'G', 'E', 'T', ' '})), Catch::Contains("HTTP"));
  CHECK_THAT(server_error(bytes({'P', 'O', 'S', 'T'})), Catch::Contains("HTTP"));
  CHECK_THAT(server_error(bytes({6})), Catch::Contains("RTMPE"));
  CHECK_THAT(server_error(bytes({4, 0, 0})), Catch::Contains("unsupported RTMP version 4"));
  // Errors stick.
  ServerHandshake server{SeededRandom(1)};
  std::vector<uint8_t> out;
  size_t consumed = 0;
  CHECK(server.feed(bytes({0}), consumed, out) == ServerHandshake::Status::Error);
  CHECK(server.feed(bytes({3}), consumed, out) == ServerHandshake::Status::Error);
  CHECK(consumed == 0);
}

TEST_CASE("handshake: after Done the server consumes nothing", "[rtmp][handshake]") {
  ServerHandshake server{SeededRandom(1)};
  const auto input = concat({bytes({3}), pattern(kHandshakeSize, 1), pattern(kHandshakeSize, 2)});
  auto run = run_server(server, input, input.size());
  REQUIRE(run.status == ServerHandshake::Status::Done);
  std::vector<uint8_t> out;
  size_t consumed = 99;
  CHECK(server.feed(bytes({1, 2, 3}), consumed, out) == ServerHandshake::Status::Done);
  CHECK(consumed == 0);
  CHECK(out.empty());
}

TEST_CASE("handshake: client and server agree, in both modes and any split", "[rtmp][handshake]") {
  for (auto mode : {ClientHandshake::Mode::Digest, ClientHandshake::Mode::Plain}) {
    for (size_t piece : {size_t{1}, size_t{13}, size_t{1536}, size_t{5000}}) {
      INFO("mode " << (mode == ClientHandshake::Mode::Digest ? "digest" : "plain") << " piece "
                   << piece);
      ClientHandshake client{SeededRandom(21), mode};
      ServerHandshake server{SeededRandom(22)};
      std::vector<uint8_t> c0c1;
      client.start(c0c1);
      REQUIRE(c0c1.size() == 1 + kHandshakeSize);

      auto srun = run_server(server, c0c1, piece);
      REQUIRE(srun.status == ServerHandshake::Status::NeedMore);
      CHECK(srun.out.size() == 1 + 2 * kHandshakeSize);

      // The server's answer plus the first bytes of the chunk stream.
      auto response = srun.out;
      response.insert(response.end(), {0x03, 0x00});
      std::vector<uint8_t> c2;
      ClientHandshake::Status cstatus = ClientHandshake::Status::NeedMore;
      size_t cconsumed = 0;
      for (size_t pos = 0; pos < response.size() && cstatus == ClientHandshake::Status::NeedMore;
           pos += piece) {
        size_t consumed = 0;
        cstatus = client.feed(
            std::span(response).subspan(pos, std::min(piece, response.size() - pos)), consumed, c2);
        cconsumed += consumed;
      }
      REQUIRE(cstatus == ClientHandshake::Status::Done);
      CHECK(cconsumed == 1 + 2 * kHandshakeSize);
      REQUIRE(c2.size() == kHandshakeSize);
      const bool digest = mode == ClientHandshake::Mode::Digest;
      CHECK(client.used_digest() == digest);
      CHECK(server.used_digest() == digest);
      CHECK(client.verified());

      auto srun2 = run_server(server, c2, piece);
      CHECK(srun2.status == ServerHandshake::Status::Done);
      CHECK(srun2.consumed == kHandshakeSize);

      if (digest) {
        // Our C1 is one ffmpeg's server-side peers would recognise, and the
        // answer verifies the way ffmpeg verifies it.
        const auto v = ffmpeg_like::check_server(c0c1.data() + 1, srun.out.data() + 1,
                                                 srun.out.data() + 1 + kHandshakeSize);
        CHECK(v.server_pos != 0);
        CHECK(v.signature_ok);
        // C2 is signed with a key derived from the server's digest.
        const uint8_t *s1 = srun.out.data() + 1;
        const auto player = ffmpeg_like::full_key(ffmpeg_like::kPlayerText);
        const auto key =
            ffmpeg_like::calc_digest(s1 + v.server_pos, 32, 0, player.data(), player.size());
        const auto sig =
            ffmpeg_like::calc_digest(c2.data(), kHandshakeSize - 32, 0, key.data(), 32);
        CHECK(std::memcmp(sig.data(), c2.data() + kHandshakeSize - 32, 32) == 0);
      } else {
        // Plain: C2 echoes S1.
        CHECK(std::equal(c2.begin(), c2.end(), srun.out.begin() + 1));
      }
    }
  }
}

TEST_CASE("handshake: the client notices a server that does not answer its digest",
          "[rtmp][handshake]") {
  ClientHandshake client{SeededRandom(5)};
  std::vector<uint8_t> c0c1;
  size_t consumed = 0;
  // feed() sends C0+C1 itself if start() was not called.
  CHECK(client.feed({}, consumed, c0c1) == ClientHandshake::Status::NeedMore);
  REQUIRE(c0c1.size() == 1 + kHandshakeSize);
  // A server with a version but random S1/S2, like a broken digest server.
  auto response = concat({bytes({3}), pattern(2 * kHandshakeSize, 6)});
  std::vector<uint8_t> c2;
  REQUIRE(client.feed(response, consumed, c2) == ClientHandshake::Status::Done);
  CHECK_FALSE(client.used_digest());
  CHECK_FALSE(client.verified());
  // It answers as to a plain server: C2 echoes S1.
  CHECK(std::equal(c2.begin(), c2.end(), response.begin() + 1));

  ClientHandshake bad{SeededRandom(5)};
  std::vector<uint8_t> out;
  bad.start(out);
  CHECK(bad.feed(bytes({0x16}), consumed, out) == ClientHandshake::Status::Error);
  CHECK_THAT(bad.error(), Catch::Contains("version 22"));
}

TEST_CASE("handshake: digest primitives match the independent implementation",
          "[rtmp][handshake]") {
  namespace hs = lg::rtmp::handshake;
  CHECK(hs::player_key().size() == 62);
  CHECK(hs::server_key().size() == 68);
  CHECK(std::string(hs::player_key_text().begin(), hs::player_key_text().end()) ==
        ffmpeg_like::kPlayerText);
  CHECK(std::string(hs::server_key_text().begin(), hs::server_key_text().end()) ==
        ffmpeg_like::kServerText);
  const auto c1 = ffmpeg_like::make_c1(1, 77);
  std::span<const uint8_t, kHandshakeSize> packet(c1.data(), kHandshakeSize);
  CHECK(hs::find_digest(packet, hs::player_key_text()) == 1);
  CHECK(hs::digest_position(packet, 1) == ffmpeg_like::calc_digest_pos(c1.data(), 772, 728, 776));
  CHECK(hs::digest_position(packet, 0) == ffmpeg_like::calc_digest_pos(c1.data(), 8, 728, 12));
  const auto random = pattern(kHandshakeSize, 1);
  CHECK(hs::find_digest(std::span<const uint8_t, kHandshakeSize>(random.data(), kHandshakeSize),
                        hs::player_key_text()) == -1);
  // RFC 4231 test case 2.
  const std::string key = "Jefe";
  const std::string data = "what do ya want for nothing?";
  const auto mac =
      hs::hmac_sha256(std::span(reinterpret_cast<const uint8_t *>(key.data()), key.size()),
                      std::span(reinterpret_cast<const uint8_t *>(data.data()), data.size()));
  CHECK(mac == std::array<uint8_t, 32>{0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
                                       0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
                                       0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
                                       0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43});
}
