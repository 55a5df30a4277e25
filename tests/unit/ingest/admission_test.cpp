// Per-source connection counting and the failed-attempt throttle, with a
// synthetic clock.
#include "ingest/admission.h"

#include <catch2/catch.hpp>

using lg::ingest::Admission;
using lg::ingest::AdmissionLimits;
using lg::ingest::source_of;

TEST_CASE("admission: a source is an IPv4 address or an IPv6 /64", "[ingest][admission]") {
  CHECK(source_of("192.0.2.7:51000") == "192.0.2.7");
  CHECK(source_of("[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:1935") == "2001:db8:1:2::/64");
  CHECK(source_of("[2001:db8:1:2::1]:1") == source_of("[2001:db8:1:2:ffff::9]:2"));
  CHECK(source_of("[2001:db8:1:3::1]:1") != source_of("[2001:db8:1:2::1]:1"));
  CHECK(source_of("[::ffff:192.0.2.7]:9") == "192.0.2.7");
  CHECK(source_of("[::1]:9") == "::/64");
  // Not an address: counted as itself, never merged with another.
  CHECK(source_of("?") == "?");
  CHECK(source_of("[nonsense") == "[nonsense");
}

TEST_CASE("admission: connections per source", "[ingest][admission]") {
  AdmissionLimits limits;
  limits.max_connections_per_source = 2;
  Admission admission(limits);
  CHECK(admission.try_open("a"));
  CHECK(admission.try_open("a"));
  CHECK_FALSE(admission.try_open("a"));
  CHECK(admission.try_open("b"));
  CHECK(admission.open_from("a") == 2);
  admission.close("a");
  CHECK(admission.try_open("a"));
  admission.close("never-opened");  // harmless
  CHECK(admission.open_from("never-opened") == 0);

  limits.max_connections_per_source = 0;  // no limit
  Admission unlimited(limits);
  for (int i = 0; i < 1000; ++i) REQUIRE(unlimited.try_open("a"));
}

TEST_CASE("admission: failed attempts are throttled within a sliding minute",
          "[ingest][admission]") {
  AdmissionLimits limits;
  limits.max_auth_failures = 3;
  Admission admission(limits);
  uint64_t retry = 0;
  const uint64_t t0 = 1'000'000;
  for (uint64_t i = 0; i < 3; ++i) {
    REQUIRE(admission.may_try("a", "e1", t0 + i * 1000, retry));
    admission.failed("a", t0 + i * 1000);
  }
  CHECK_FALSE(admission.may_try("a", "e1", t0 + 5000, retry));
  CHECK(retry == 55'000);  // when the first failure is a minute old
  CHECK(admission.throttled() == 1);
  // Another source and another entry of a throttled source.
  CHECK(admission.may_try("b", "e1", t0 + 5000, retry));
  CHECK_FALSE(admission.may_try("a", "e2", t0 + 5000, retry));
  // The window slides: one failure leaves it, one attempt is allowed.
  CHECK(admission.may_try("a", "e1", t0 + 60'001, retry));
  admission.failed("a", t0 + 60'001);
  CHECK_FALSE(admission.may_try("a", "e1", t0 + 60'002, retry));
  CHECK(retry == 998);  // the failure at t0 + 1000 leaves at t0 + 61000
  // A guesser that waits a minute between bursts gets 3 per minute, no more.
  CHECK(admission.may_try("a", "e1", t0 + 200'000, retry));
}

TEST_CASE(
    "admission: an encoder with a proven token is never locked out by a guesser behind "
    "the same address",
    "[ingest][admission]") {
  AdmissionLimits limits;
  limits.max_auth_failures = 2;
  Admission admission(limits);
  uint64_t retry = 0;
  admission.succeeded("nat", "mine", 0);
  admission.failed("nat", 10);
  admission.failed("nat", 20);
  CHECK_FALSE(admission.may_try("nat", "theirs", 30, retry));
  CHECK(admission.may_try("nat", "mine", 30, retry));
  // Trust lasts trust_ms after the last success.
  admission.failed("nat", uint64_t{limits.trust_ms} + 5);
  admission.failed("nat", uint64_t{limits.trust_ms} + 6);
  CHECK_FALSE(admission.may_try("nat", "mine", uint64_t{limits.trust_ms} + 7, retry));
}

TEST_CASE("admission: memory stays bounded under many guessing sources", "[ingest][admission]") {
  AdmissionLimits limits;
  limits.max_auth_failures = 1;
  limits.max_sources = 4;
  Admission admission(limits);
  uint64_t retry = 0;
  for (int i = 0; i < 4; ++i) admission.failed("s" + std::to_string(i), 1000 + i);
  for (int i = 0; i < 4; ++i)
    CHECK_FALSE(admission.may_try("s" + std::to_string(i), "e", 2000, retry));
  // A fifth source pushes out the one whose latest failure is oldest.
  admission.failed("s4", 1500);
  CHECK(admission.may_try("s0", "e", 2000, retry));
  CHECK_FALSE(admission.may_try("s4", "e", 2000, retry));
  // Expired sources are dropped first.
  admission.failed("s5", 70'000);
  CHECK_FALSE(admission.may_try("s5", "e", 70'001, retry));
  for (int i = 0; i < 10000; ++i) admission.succeeded("t" + std::to_string(i), "e", i);
  CHECK(admission.may_try("t9999", "e", 10'000, retry));
}

TEST_CASE("admission: no limit keeps no table", "[ingest][admission]") {
  AdmissionLimits limits;
  limits.max_auth_failures = 0;
  Admission admission(limits);
  uint64_t retry = 0;
  for (int i = 0; i < 100; ++i) admission.failed("a", i);
  CHECK(admission.may_try("a", "e", 100, retry));
  CHECK(admission.throttled() == 0);
}
