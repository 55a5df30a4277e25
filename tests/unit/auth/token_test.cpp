#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "auth/random.h"
#include "auth/token.h"

using namespace lg::auth;

namespace {

std::unique_ptr<Random> make_random() {
  std::string error;
  auto random = Random::create(error);
  REQUIRE(random);
  return random;
}

// Pearson's chi-squared statistic of `counts` against a uniform expectation.
double chi2_uniform(const std::vector<double> &counts) {
  double total = 0;
  for (double c : counts) total += c;
  const double expected = total / static_cast<double>(counts.size());
  double chi2 = 0;
  for (double c : counts) chi2 += (c - expected) * (c - expected) / expected;
  return chi2;
}

}  // namespace

TEST_CASE("auth::generate_token gives 26 lowercase base32 symbols", "[auth][token]") {
  auto random = make_random();
  for (int i = 0; i < 100; ++i) {
    const std::string token = generate_token(*random);
    INFO(token);
    REQUIRE(token.size() == 26);
    for (char c : token) {
      CHECK(((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')));
    }
    CHECK(is_valid_token(token));
  }
}

TEST_CASE("auth::generate_token never repeats over 10,000 tokens", "[auth][token]") {
  auto random = make_random();
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(generate_token(*random));
  CHECK(seen.size() == 10000);
}

TEST_CASE("auth::generate_token symbols are uniform overall and per position", "[auth][token]") {
  auto random = make_random();
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  constexpr int kTokens = 10000;
  std::vector<double> overall(32, 0);
  std::vector<std::vector<double>> per_position(26, std::vector<double>(32, 0));
  for (int i = 0; i < kTokens; ++i) {
    const std::string token = generate_token(*random);
    REQUIRE(token.size() == 26);
    for (size_t pos = 0; pos < token.size(); ++pos) {
      const size_t symbol = alphabet.find(token[pos]);
      REQUIRE(symbol != std::string::npos);
      overall[symbol] += 1;
      per_position[pos][symbol] += 1;
    }
  }
  // Each symbol: expected 8125 of 260,000, sd ~89; a plausible proportion is
  // within 6 sd.
  for (size_t s = 0; s < overall.size(); ++s) {
    INFO("symbol " << alphabet[s] << " appears " << overall[s] << " times");
    CHECK(std::abs(overall[s] - 8125.0) < 540);
  }
  // 31 degrees of freedom: mean 31, sd ~7.9.
  CHECK(chi2_uniform(overall) < 90);
  for (size_t pos = 0; pos < per_position.size(); ++pos) {
    INFO("position " << pos);
    CHECK(chi2_uniform(per_position[pos]) < 90);
  }
}

TEST_CASE("auth::generate_entry_id gives 1_ and 8 unbiased [a-z0-9]", "[auth][token]") {
  auto random = make_random();
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::vector<double> counts(36, 0);
  std::set<std::string> seen;
  constexpr int kIds = 20000;
  for (int i = 0; i < kIds; ++i) {
    const std::string id = generate_entry_id(*random);
    INFO(id);
    REQUIRE(id.size() == 10);
    REQUIRE(id.substr(0, 2) == "1_");
    REQUIRE(is_valid_entry_id(id));
    for (size_t k = 2; k < id.size(); ++k) {
      const size_t symbol = alphabet.find(id[k]);
      REQUIRE(symbol != std::string::npos);
      counts[symbol] += 1;
    }
    seen.insert(id);
  }
  CHECK(seen.size() == kIds);
  // A modulo-36 draw from one byte would give a..d 8/256 instead of 7/256,
  // i.e. ~5080 instead of ~4444 here (sd ~66).
  for (size_t s = 0; s < counts.size(); ++s) {
    INFO("symbol " << alphabet[s] << " appears " << counts[s] << " times");
    CHECK(std::abs(counts[s] - 160000.0 / 36) < 400);
  }
  CHECK(chi2_uniform(counts) < 95);  // 35 degrees of freedom
}

TEST_CASE("auth::is_valid_entry_id", "[auth][token]") {
  CHECK(is_valid_entry_id("1_abcd1234"));
  CHECK(is_valid_entry_id("0_gdrt137u"));
  CHECK(is_valid_entry_id("12_x"));
  CHECK(is_valid_entry_id("1_" + std::string(30, 'a')));  // 32 characters
  CHECK_FALSE(is_valid_entry_id("1_" + std::string(31, 'a')));
  CHECK_FALSE(is_valid_entry_id(""));
  CHECK_FALSE(is_valid_entry_id("1_"));
  CHECK_FALSE(is_valid_entry_id("_abcd1234"));
  CHECK_FALSE(is_valid_entry_id("a_abcd1234"));
  CHECK_FALSE(is_valid_entry_id("1abcd1234"));
  CHECK_FALSE(is_valid_entry_id("1_ABCD1234"));
  CHECK_FALSE(is_valid_entry_id("1_abcd.234"));
  CHECK_FALSE(is_valid_entry_id("1_abcd_234"));
  CHECK_FALSE(is_valid_entry_id("1_abcd123 "));
  CHECK_FALSE(is_valid_entry_id(std::string("1_ab\0d", 6)));
}

TEST_CASE("auth::is_valid_token is liberal but bounded", "[auth][token]") {
  CHECK(is_valid_token(std::string(8, 'a')));
  CHECK(is_valid_token("b9106yth4"));  // the reference document's example
  CHECK(is_valid_token(std::string(128, 'Z')));
  CHECK(is_valid_token("Ab-_09zzAb-_09zz"));
  CHECK_FALSE(is_valid_token(std::string(7, 'a')));
  CHECK_FALSE(is_valid_token(std::string(129, 'a')));
  CHECK_FALSE(is_valid_token(""));
  for (char bad : std::string(" .+/%?&=#:~\"'")) {
    std::string token(20, 'a');
    token[7] = bad;
    INFO("character " << bad);
    CHECK_FALSE(is_valid_token(token));
  }
  std::string non_ascii(20, 'a');
  non_ascii[3] = static_cast<char>(0xc3);
  CHECK_FALSE(is_valid_token(non_ascii));
}

TEST_CASE("auth::is_valid_stream_name", "[auth][token]") {
  CHECK(is_valid_stream_name("1"));
  CHECK(is_valid_stream_name("audio_fr"));
  CHECK(is_valid_stream_name("Video-1080p_60"));
  CHECK(is_valid_stream_name(std::string(64, 'x')));
  CHECK_FALSE(is_valid_stream_name(std::string(65, 'x')));
  CHECK_FALSE(is_valid_stream_name(""));
  CHECK_FALSE(is_valid_stream_name("a.flv"));
  CHECK_FALSE(is_valid_stream_name("1?t=x"));
  CHECK_FALSE(is_valid_stream_name("a/b"));
  CHECK_FALSE(is_valid_stream_name("a b"));
  CHECK_FALSE(is_valid_stream_name("mp4:x"));
  CHECK_FALSE(is_valid_stream_name("caf\xc3\xa9"));
}

TEST_CASE("auth::tokens_equal", "[auth][token]") {
  const std::string token = "abcdefghijklmnopqrstuvwxyz";
  CHECK(tokens_equal(token, token));
  CHECK(tokens_equal(std::string(token), std::string_view(token)));

  std::string first = token, last = token, middle = token;
  first[0] = 'z';
  last[25] = 'a';
  middle[13] = 'A';
  CHECK_FALSE(tokens_equal(first, token));
  CHECK_FALSE(tokens_equal(last, token));
  CHECK_FALSE(tokens_equal(middle, token));

  // Different lengths, including prefixes either way.
  CHECK_FALSE(tokens_equal(token.substr(0, 25), token));
  CHECK_FALSE(tokens_equal(token + "a", token));
  CHECK_FALSE(tokens_equal(token, token.substr(0, 25)));
  // A presented token that repeats a short prefix must not match by wrapping.
  CHECK_FALSE(tokens_equal("ab", "abab"));
  CHECK_FALSE(tokens_equal("a", std::string_view("a\0", 2)));

  // Empty inputs: nothing matches an empty expected token.
  CHECK_FALSE(tokens_equal("", token));
  CHECK_FALSE(tokens_equal(token, ""));
  CHECK_FALSE(tokens_equal("", ""));

  // Bytes beyond ASCII compare as bytes.
  CHECK(tokens_equal("\xff\x80x", "\xff\x80x"));
  CHECK_FALSE(tokens_equal("\xff\x80x", "\x7f\x80x"));
}
