// The RTMP handshake, both sides. Both the plain handshake of the published
// specification and the digest ("complex", Flash Player 9) handshake that
// ffmpeg, Flash Player and Flash-era encoders send are supported; RTMPE
// (encrypted, C0 = 6) is not.
//
//   client                         server
//   C0 (version 3) + C1 (1536) -->
//                              <-- S0 + S1 (1536) + S2 (1536)
//   C2 (1536)                  -->
//
// In the digest handshake C1 and S1 carry an HMAC-SHA256 digest at a
// position derived from four of their own bytes, and S2/C2 are signed with a
// key derived from the peer's digest.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace lg::rtmp {

inline constexpr size_t kHandshakeSize = 1536;
inline constexpr uint8_t kRtmpVersion = 3;

namespace handshake {

inline constexpr size_t kDigestSize = 32;

// Where a digest sits: scheme 0 takes its offset from bytes 8..11 and puts
// the digest at (sum % 728) + 12; scheme 1 from bytes 772..775, at
// (sum % 728) + 776.
size_t digest_position(std::span<const uint8_t, kHandshakeSize> packet, int scheme);

// HMAC-SHA256 of the packet without the 32 bytes at `position`.
std::array<uint8_t, kDigestSize> packet_digest(std::span<const uint8_t, kHandshakeSize> packet,
                                               size_t position, std::span<const uint8_t> key);

// The scheme (0 or 1) whose digest in `packet` verifies with `key`, or -1.
int find_digest(std::span<const uint8_t, kHandshakeSize> packet, std::span<const uint8_t> key);

std::array<uint8_t, kDigestSize> hmac_sha256(std::span<const uint8_t> key,
                                             std::span<const uint8_t> data);

// The well-known keys: "Genuine Adobe Flash Player 001" (30 bytes) and
// "Genuine Adobe Flash Media Server 001" (36 bytes), each followed by the
// same 32 constant bytes.
std::span<const uint8_t> player_key();       // all 62 bytes
std::span<const uint8_t> player_key_text();  // the first 30
std::span<const uint8_t> server_key();       // all 68 bytes
std::span<const uint8_t> server_key_text();  // the first 36

}  // namespace handshake

class ServerHandshake {
 public:
  // Fills the span with unpredictable bytes (S1 and S2 contents).
  using RandomFn = std::function<void(std::span<uint8_t>)>;

  explicit ServerHandshake(RandomFn random);

  enum class Status { NeedMore, Done, Error };

  // Consumes handshake bytes (reported in `consumed`), appending S0+S1+S2 to
  // `out` once C0+C1 are complete. Returns Done once C2 is in; bytes after
  // C2 are not consumed: they are the start of the chunk stream. C2 is not
  // checked, since clients fill it inconsistently (ffmpeg publishing echoes
  // S1 even after a digest handshake).
  Status feed(std::span<const uint8_t> in, size_t &consumed, std::vector<uint8_t> &out);

  // Whether the client's C1 carried a valid digest and S1/S2 answered it.
  bool used_digest() const { return used_digest_; }
  const std::string &error() const { return error_; }

 private:
  void respond(std::vector<uint8_t> &out);

  enum class Phase { C0C1, C2, Done, Failed };

  RandomFn random_;
  Phase phase_ = Phase::C0C1;
  std::vector<uint8_t> buf_;
  bool used_digest_ = false;
  std::string error_;
};

class ClientHandshake {
 public:
  using RandomFn = ServerHandshake::RandomFn;
  enum class Mode { Plain, Digest };

  explicit ClientHandshake(RandomFn random, Mode mode = Mode::Digest);

  enum class Status { NeedMore, Done, Error };

  // Appends C0+C1 to `out`; feed() does it on its first call if not done.
  void start(std::vector<uint8_t> &out);

  // Consumes S0+S1+S2 and appends C2 to `out`, then returns Done; bytes
  // after S2 are not consumed. Like ffmpeg when publishing, a server whose
  // S1/S2 do not verify is not refused: verified() tells.
  Status feed(std::span<const uint8_t> in, size_t &consumed, std::vector<uint8_t> &out);

  // The server's S1 carried a valid digest (so C2 was signed for it).
  bool used_digest() const { return used_digest_; }
  // ...and its S2 carried the signature that our C1 digest calls for.
  bool verified() const { return verified_; }
  const std::string &error() const { return error_; }

 private:
  enum class Phase { Start, S0S1S2, Done, Failed };

  RandomFn random_;
  Mode mode_;
  Phase phase_ = Phase::Start;
  std::array<uint8_t, kHandshakeSize> c1_ = {};
  size_t c1_digest_pos_ = 0;
  std::vector<uint8_t> buf_;
  bool used_digest_ = false;
  bool verified_ = false;
  std::string error_;
};

}  // namespace lg::rtmp
