#include <catch2/catch.hpp>

#include "ingest/timestamps.h"

using lg::ingest::TimestampExtender;

TEST_CASE("RTMP timestamps extend across the 32-bit wrap", "[ingest][timestamps]") {
  TimestampExtender clock;
  CHECK(clock.extend(0xFFFFFF00u) == 0xFFFFFF00ll);
  CHECK(clock.extend(0xFFFFFFF0u) == 0xFFFFFFF0ll);
  // The wrap: 0x10 is 0x20 ms after 0xFFFFFFF0.
  CHECK(clock.extend(0x10u) == 0x100000010ll);
  CHECK(clock.extend(0x1000u) == 0x100001000ll);
}

TEST_CASE("small steps back between interleaved tracks stay small", "[ingest][timestamps]") {
  TimestampExtender clock;
  CHECK(clock.extend(1000) == 1000);
  CHECK(clock.extend(990) == 990);  // a B-frame-ish reorder, not a wrap
  CHECK(clock.extend(1033) == 1033);
}

TEST_CASE("a stream that starts at a large timestamp keeps it", "[ingest][timestamps]") {
  TimestampExtender clock;
  CHECK(clock.extend(3600000) == 3600000);
  CHECK(clock.extend(3600033) == 3600033);
}
