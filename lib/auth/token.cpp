#include "auth/token.h"

#include <array>
#include <cstdint>

namespace lg::auth {

namespace {

constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr char kBase36[] = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr size_t kEntryIdRandomLength = 8;

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

}  // namespace

std::string generate_token(Random &random) {
  std::array<uint8_t, kGeneratedTokenLength> bytes{};
  if (!random.fill(bytes)) return {};
  std::string token(kGeneratedTokenLength, '\0');
  // 32 divides 256, so the low five bits of a uniform byte are uniform.
  for (size_t i = 0; i < bytes.size(); ++i) token[i] = kBase32[bytes[i] & 31];
  return token;
}

std::string generate_entry_id(Random &random) {
  // 252 = 7 * 36 is the largest multiple of 36 below 256: bytes from 252 up
  // are thrown away so that every symbol keeps probability 7/252.
  constexpr unsigned kLimit = 252;
  std::string id = "1_";
  std::array<uint8_t, 16> pool{};
  size_t used = pool.size();
  // Each draw is rejected with probability 4/256; 64 refills of 16 bytes
  // failing to give 8 symbols would mean a broken generator.
  for (int refills = 0; id.size() < 2 + kEntryIdRandomLength;) {
    if (used == pool.size()) {
      if (++refills > 64 || !random.fill(pool)) return {};
      used = 0;
    }
    const uint8_t b = pool[used++];
    if (b < kLimit) id.push_back(kBase36[b % 36]);
  }
  return id;
}

bool is_valid_entry_id(std::string_view id) {
  if (id.size() < 3 || id.size() > kEntryIdMaxLength) return false;
  size_t i = 0;
  while (i < id.size() && id[i] >= '0' && id[i] <= '9') ++i;
  if (i == 0 || i >= id.size() || id[i] != '_') return false;
  if (++i == id.size()) return false;
  for (; i < id.size(); ++i) {
    const char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool is_valid_token(std::string_view token) {
  if (token.size() < kTokenMinLength || token.size() > kTokenMaxLength) return false;
  for (char c : token) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

bool is_valid_stream_name(std::string_view name) {
  if (name.empty() || name.size() > kStreamNameMaxLength) return false;
  for (char c : name) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

bool tokens_equal(std::string_view presented, std::string_view expected) {
  if (expected.empty()) return false;
  // Walk `expected` in full whatever `presented` holds; a shorter or empty
  // `presented` is read cyclically (or as zero bytes) so that no branch and no
  // memory access depends on secret contents.
  const size_t plen = presented.size();
  volatile uint8_t diff = plen == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const uint8_t p = plen ? static_cast<uint8_t>(presented[i % plen]) : 0;
    diff = diff | static_cast<uint8_t>(p ^ static_cast<uint8_t>(expected[i]));
  }
  return diff == 0;
}

}  // namespace lg::auth
