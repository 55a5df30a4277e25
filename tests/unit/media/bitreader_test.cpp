#include "media/bitreader.h"

#include <catch2/catch.hpp>
#include <vector>

#include "media_test_support.h"

using lg::media::BitReader;
using lg::media::test::BitWriter;

TEST_CASE("bitreader: fixed-width fields, MSB first", "[media][bitreader]") {
  const std::vector<uint8_t> data = {0xa5, 0x0f, 0xff, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a};
  BitReader br(data);
  CHECK(br.bits(1) == 1);
  CHECK(br.bits(3) == 2);
  CHECK(br.bits(4) == 5);
  CHECK(br.bits(12) == 0x0ff);
  CHECK(br.bits(0) == 0);
  CHECK(br.byte_aligned() == false);
  CHECK(br.bits(4) == 0xf);
  CHECK(br.byte_aligned());
  CHECK(br.bits(8) == 0);
  CHECK(br.bits(32) == 0x12345678);
  CHECK(br.bits_left() == 8);
  CHECK(br.ok());
  CHECK(br.error() == nullptr);
}

TEST_CASE("bitreader: overrun is reported, never read", "[media][bitreader]") {
  const std::vector<uint8_t> data = {0xff, 0xff};
  BitReader br{std::span(data).first(1)};  // the second byte must stay untouched
  CHECK(br.bits(6) == 0x3f);
  CHECK(br.bits(3) == 0);  // only 2 bits left
  CHECK_FALSE(br.ok());
  CHECK(std::string(br.error()) == "truncated");
  CHECK(br.bits_left() == 0);
  CHECK(br.bits(1) == 0);
  CHECK(br.ue() == 0);
  CHECK_FALSE(br.ok());

  BitReader skipper(data);
  skipper.skip(15);
  CHECK(skipper.ok());
  CHECK(skipper.flag());
  skipper.skip(1);
  CHECK_FALSE(skipper.ok());

  BitReader wide(data);
  CHECK(wide.bits(33) == 0);
  CHECK_FALSE(wide.ok());
  CHECK(std::string(wide.error()) == "a read of more than 32 bits");

  BitReader empty(std::span<const uint8_t>{});
  CHECK(empty.bits_left() == 0);
  CHECK(empty.se() == 0);
  CHECK_FALSE(empty.ok());
}

TEST_CASE("bitreader: exp-Golomb codes", "[media][bitreader]") {
  // 1 -> 0, 010 -> 1, 011 -> 2, 00100 -> 3, 00111 -> 6
  const std::vector<uint8_t> data = {0b10100110, 0b01000011, 0b10000000};
  BitReader br(data);
  CHECK(br.ue() == 0);
  CHECK(br.ue() == 1);
  CHECK(br.ue() == 2);
  CHECK(br.ue() == 3);
  CHECK(br.ue() == 6);
  CHECK(br.ok());

  // Round trips through the writer, up to the largest 32-bit code.
  const std::vector<uint64_t> values = {0,   1,     2,        254,        255,
                                        256, 65535, 1u << 20, 0x7fffffff, 0xfffffffe};
  BitWriter w;
  for (uint64_t v : values) w.ue(v);
  for (int64_t v : {0, 1, -1, 2, -2, 127, -128, 1 << 30, -(1 << 30), INT32_MAX, -INT32_MAX})
    w.se(v);
  const auto bytes = w.take();
  BitReader r(bytes);
  for (uint64_t v : values) CHECK(r.ue() == v);
  for (int64_t v : {0, 1, -1, 2, -2, 127, -128, 1 << 30, -(1 << 30), INT32_MAX, -INT32_MAX})
    CHECK(r.se() == v);
  CHECK(r.ok());

  // 32 leading zeros: no 32-bit value has such a code.
  const std::vector<uint8_t> too_long = {0, 0, 0, 0, 0x80, 0, 0, 0, 0};
  BitReader bad(too_long);
  CHECK(bad.ue() == 0);
  CHECK_FALSE(bad.ok());
  CHECK(std::string(bad.error()).find("exp-Golomb") != std::string::npos);

  // A code cut off inside its suffix.
  const std::vector<uint8_t> cut = {0b00000001};
  BitReader c(cut);
  CHECK(c.ue() == 0);
  CHECK_FALSE(c.ok());
}
