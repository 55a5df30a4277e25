#include "rtmp/handshake.h"

#include <mbedtls/md.h>

#include <algorithm>
#include <cstring>

namespace lg::rtmp {

namespace handshake {

namespace {

// "Genuine Adobe Flash Player 001" followed by the 32 shared bytes.
constexpr uint8_t kPlayerKey[62] = {
    'G',  'e',  'n',  'u',  'i',  'n',  'e',  ' ',  'A',  'd',  'o',  'b',  'e',  ' ',  'F',  'l',
    'a',  's',  'h',  ' ',  'P',  'l',  'a',  'y',  'e',  'r',  ' ',  '0',  '0',  '1',  0xF0, 0xEE,
    0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC,
    0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE};
constexpr size_t kPlayerKeyTextLen = 30;

// "Genuine Adobe Flash Media Server 001" followed by the same 32 bytes.
constexpr uint8_t kServerKey[68] = {
    'G',  'e',  'n',  'u',  'i',  'n',  'e',  ' ',  'A',  'd',  'o',  'b',  'e',  ' ',
    'F',  'l',  'a',  's',  'h',  ' ',  'M',  'e',  'd',  'i',  'a',  ' ',  'S',  'e',
    'r',  'v',  'e',  'r',  ' ',  '0',  '0',  '1',  0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68,
    0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D,
    0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE};
constexpr size_t kServerKeyTextLen = 36;

class Hmac {
 public:
  explicit Hmac(std::span<const uint8_t> key) {
    mbedtls_md_init(&ctx_);
    ok_ = mbedtls_md_setup(&ctx_, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) == 0 &&
          mbedtls_md_hmac_starts(&ctx_, key.data(), key.size()) == 0;
  }
  ~Hmac() { mbedtls_md_free(&ctx_); }
  Hmac(const Hmac &) = delete;
  Hmac &operator=(const Hmac &) = delete;

  void update(std::span<const uint8_t> data) {
    if (ok_ && !data.empty()) ok_ = mbedtls_md_hmac_update(&ctx_, data.data(), data.size()) == 0;
  }
  // An all-zero result if mbedTLS failed (only on allocation failure): it
  // then simply fails to verify.
  std::array<uint8_t, kDigestSize> finish() {
    std::array<uint8_t, kDigestSize> out = {};
    if (ok_ && mbedtls_md_hmac_finish(&ctx_, out.data()) != 0) out.fill(0);
    return out;
  }

 private:
  mbedtls_md_context_t ctx_;
  bool ok_ = false;
};

}  // namespace

std::span<const uint8_t> player_key() {
  return kPlayerKey;
}
std::span<const uint8_t> player_key_text() {
  return {kPlayerKey, kPlayerKeyTextLen};
}
std::span<const uint8_t> server_key() {
  return kServerKey;
}
std::span<const uint8_t> server_key_text() {
  return {kServerKey, kServerKeyTextLen};
}

size_t digest_position(std::span<const uint8_t, kHandshakeSize> packet, int scheme) {
  const size_t offset = scheme == 0 ? 8 : 772;
  const size_t sum =
      size_t(packet[offset]) + packet[offset + 1] + packet[offset + 2] + packet[offset + 3];
  return sum % 728 + offset + 4;
}

std::array<uint8_t, kDigestSize> packet_digest(std::span<const uint8_t, kHandshakeSize> packet,
                                               size_t position, std::span<const uint8_t> key) {
  Hmac hmac(key);
  hmac.update(packet.first(position));
  hmac.update(packet.subspan(position + kDigestSize));
  return hmac.finish();
}

int find_digest(std::span<const uint8_t, kHandshakeSize> packet, std::span<const uint8_t> key) {
  for (int scheme = 0; scheme < 2; ++scheme) {
    const size_t pos = digest_position(packet, scheme);
    const auto digest = packet_digest(packet, pos, key);
    if (std::equal(digest.begin(), digest.end(), packet.begin() + static_cast<ptrdiff_t>(pos))) {
      return scheme;
    }
  }
  return -1;
}

std::array<uint8_t, kDigestSize> hmac_sha256(std::span<const uint8_t> key,
                                             std::span<const uint8_t> data) {
  Hmac hmac(key);
  hmac.update(data);
  return hmac.finish();
}

}  // namespace handshake

namespace {

constexpr size_t kSignedPart = kHandshakeSize - handshake::kDigestSize;
// What S1 announces as our version in the digest handshake; clients only
// look at whether it is non-zero (ffmpeg: first byte >= 3).
constexpr uint8_t kServerVersion[4] = {4, 5, 0, 1};
// What C1 announces in the digest handshake: a Flash Player 10 version.
constexpr uint8_t kClientVersion[4] = {10, 0, 32, 18};

std::string describe_bad_version(uint8_t v) {
  if (v == 0x16) {
    return "the client opened with a TLS handshake (first byte 0x16): it is speaking RTMPS or "
           "HTTPS to a plain RTMP port";
  }
  if (v == 6 || v == 8 || v == 9) {
    return "the client asked for encrypted RTMP (RTMPE, version " + std::to_string(v) +
           "), which is not supported";
  }
  if (v >= 'A' && v <= 'Z') {
    return "the client sent text starting with '" + std::string(1, char(v)) +
           "', which looks like an HTTP request: this port speaks RTMP, not HTTP";
  }
  return "unsupported RTMP version " + std::to_string(v) + " in C0 (expected 3)";
}

void fill_random(const ServerHandshake::RandomFn &random, std::span<uint8_t> out) {
  std::fill(out.begin(), out.end(), uint8_t{0});
  if (random) random(out);
}

// The signature that closes S2 or C2: HMAC-SHA256 of the first 1504 bytes,
// keyed by HMAC-SHA256(full key, the peer's digest).
std::array<uint8_t, handshake::kDigestSize> signature(std::span<const uint8_t> full_key,
                                                      std::span<const uint8_t> peer_digest,
                                                      std::span<const uint8_t> packet) {
  const auto key = handshake::hmac_sha256(full_key, peer_digest);
  return handshake::hmac_sha256(key, packet.first(kSignedPart));
}

using Packet = std::array<uint8_t, kHandshakeSize>;

}  // namespace

ServerHandshake::ServerHandshake(RandomFn random) : random_(std::move(random)) {}

ServerHandshake::Status ServerHandshake::feed(std::span<const uint8_t> in, size_t &consumed,
                                              std::vector<uint8_t> &out) {
  consumed = 0;
  if (phase_ == Phase::Done) return Status::Done;
  if (phase_ == Phase::Failed) return Status::Error;
  if (phase_ == Phase::C0C1) {
    if (buf_.empty() && !in.empty() && in[0] != kRtmpVersion) {
      error_ = describe_bad_version(in[0]);
      phase_ = Phase::Failed;
      return Status::Error;
    }
    const size_t take = std::min(in.size(), 1 + kHandshakeSize - buf_.size());
    buf_.insert(buf_.end(), in.begin(), in.begin() + static_cast<ptrdiff_t>(take));
    consumed += take;
    if (buf_.size() < 1 + kHandshakeSize) return Status::NeedMore;
    respond(out);
    buf_.clear();
    phase_ = Phase::C2;
  }
  // C2 is only counted: nothing in it is checked.
  const size_t take = std::min(in.size() - consumed, kHandshakeSize - buf_.size());
  buf_.insert(buf_.end(), in.begin() + static_cast<ptrdiff_t>(consumed),
              in.begin() + static_cast<ptrdiff_t>(consumed + take));
  consumed += take;
  if (buf_.size() < kHandshakeSize) return Status::NeedMore;
  buf_ = {};
  phase_ = Phase::Done;
  return Status::Done;
}

void ServerHandshake::respond(std::vector<uint8_t> &out) {
  std::span<const uint8_t, kHandshakeSize> c1(buf_.data() + 1, kHandshakeSize);
  Packet s1;
  Packet s2;
  fill_random(random_, s1);
  std::fill_n(s1.begin(), 8, uint8_t{0});  // time 0, then the version

  // A zero version means the plain handshake; otherwise look for a digest,
  // and fall back to the plain one without it, as other servers do.
  const bool has_version = c1[4] | c1[5] | c1[6] | c1[7];
  const int scheme = has_version ? handshake::find_digest(c1, handshake::player_key_text()) : -1;
  if (scheme >= 0) {
    used_digest_ = true;
    std::copy(std::begin(kServerVersion), std::end(kServerVersion), s1.begin() + 4);
    const size_t pos = handshake::digest_position(s1, scheme);
    const auto digest = handshake::packet_digest(s1, pos, handshake::server_key_text());
    std::copy(digest.begin(), digest.end(), s1.begin() + static_cast<ptrdiff_t>(pos));

    const auto client_digest =
        c1.subspan(handshake::digest_position(c1, scheme), handshake::kDigestSize);
    fill_random(random_, s2);
    const auto sig = signature(handshake::server_key(), client_digest, s2);
    std::copy(sig.begin(), sig.end(), s2.begin() + kSignedPart);
  } else {
    std::copy(c1.begin(), c1.end(), s2.begin());
  }
  out.reserve(out.size() + 1 + 2 * kHandshakeSize);
  out.push_back(kRtmpVersion);
  out.insert(out.end(), s1.begin(), s1.end());
  out.insert(out.end(), s2.begin(), s2.end());
}

ClientHandshake::ClientHandshake(RandomFn random, Mode mode)
    : random_(std::move(random)), mode_(mode) {}

void ClientHandshake::start(std::vector<uint8_t> &out) {
  if (phase_ != Phase::Start) return;
  fill_random(random_, c1_);
  std::fill_n(c1_.begin(), 8, uint8_t{0});
  if (mode_ == Mode::Digest) {
    std::copy(std::begin(kClientVersion), std::end(kClientVersion), c1_.begin() + 4);
    c1_digest_pos_ = handshake::digest_position(c1_, 0);
    const auto digest = handshake::packet_digest(c1_, c1_digest_pos_, handshake::player_key_text());
    std::copy(digest.begin(), digest.end(), c1_.begin() + static_cast<ptrdiff_t>(c1_digest_pos_));
  }
  out.push_back(kRtmpVersion);
  out.insert(out.end(), c1_.begin(), c1_.end());
  phase_ = Phase::S0S1S2;
}

ClientHandshake::Status ClientHandshake::feed(std::span<const uint8_t> in, size_t &consumed,
                                              std::vector<uint8_t> &out) {
  consumed = 0;
  if (phase_ == Phase::Start) start(out);
  if (phase_ == Phase::Done) return Status::Done;
  if (phase_ == Phase::Failed) return Status::Error;
  if (buf_.empty() && !in.empty() && in[0] != kRtmpVersion) {
    error_ = "the server answered with version " + std::to_string(in[0]) + " in S0 (expected 3)";
    phase_ = Phase::Failed;
    return Status::Error;
  }
  constexpr size_t kResponse = 1 + 2 * kHandshakeSize;
  const size_t take = std::min(in.size(), kResponse - buf_.size());
  buf_.insert(buf_.end(), in.begin(), in.begin() + static_cast<ptrdiff_t>(take));
  consumed = take;
  if (buf_.size() < kResponse) return Status::NeedMore;

  std::span<const uint8_t, kHandshakeSize> s1(buf_.data() + 1, kHandshakeSize);
  std::span<const uint8_t, kHandshakeSize> s2(buf_.data() + 1 + kHandshakeSize, kHandshakeSize);
  Packet c2;
  const bool server_version = s1[4] | s1[5] | s1[6] | s1[7];
  const int scheme = mode_ == Mode::Digest && server_version
                         ? handshake::find_digest(s1, handshake::server_key_text())
                         : -1;
  if (scheme >= 0) {
    used_digest_ = true;
    const auto expected = signature(
        handshake::server_key(),
        std::span<const uint8_t>(c1_).subspan(c1_digest_pos_, handshake::kDigestSize), s2);
    verified_ = std::equal(expected.begin(), expected.end(), s2.begin() + kSignedPart);

    const auto server_digest =
        s1.subspan(handshake::digest_position(s1, scheme), handshake::kDigestSize);
    fill_random(random_, c2);
    const auto sig = signature(handshake::player_key(), server_digest, c2);
    std::copy(sig.begin(), sig.end(), c2.begin() + kSignedPart);
  } else {
    // The plain handshake: S2 echoes C1 (servers may restamp the first 8
    // bytes), C2 echoes S1.
    verified_ = std::equal(c1_.begin() + 8, c1_.end(), s2.begin() + 8);
    std::copy(s1.begin(), s1.end(), c2.begin());
  }
  out.insert(out.end(), c2.begin(), c2.end());
  buf_ = {};
  phase_ = Phase::Done;
  return Status::Done;
}

}  // namespace lg::rtmp
