#include "rtmp/amf0.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "rtmp_test_support.h"

using lg::rtmp::amf0::Array;
using lg::rtmp::amf0::Limits;
using lg::rtmp::amf0::Properties;
using lg::rtmp::amf0::Type;
using lg::rtmp::amf0::Value;
using lg::rtmp::test::bytes;

namespace amf0 = lg::rtmp::amf0;

namespace {

std::vector<uint8_t> enc(const Value &v) {
  std::vector<uint8_t> out;
  amf0::encode(v, out);
  return out;
}

bool dec(std::span<const uint8_t> in, std::vector<Value> &out, std::string &error,
         const Limits &limits = {}) {
  return amf0::decode_all(in, limits, out, error);
}

std::vector<Value> dec_ok(std::span<const uint8_t> in, const Limits &limits = {}) {
  std::vector<Value> out;
  std::string error;
  const bool ok = dec(in, out, error, limits);
  INFO(error);
  REQUIRE(ok);
  return out;
}

std::string dec_error(std::span<const uint8_t> in, const Limits &limits = {}) {
  std::vector<Value> out;
  std::string error;
  REQUIRE_FALSE(dec(in, out, error, limits));
  REQUIRE_FALSE(error.empty());
  return error;
}

// A value using every type, nested.
Value sample() {
  return Value::object({
      {"app", Value::string("live")},
      {"fpad", Value::boolean(false)},
      {"capabilities", Value::number(15)},
      {"nothing", Value::null()},
      {"undef", Value::undefined()},
      {"when", Value::date(1700000000123.0, -60)},
      {"list", Value::strict_array({Value::number(1), Value::string("two"),
                                    Value::object({{"three", Value::number(3)}})})},
      {"meta", Value::ecma_array({{"width", Value::number(1920)},
                                  {"height", Value::number(1080)},
                                  {"encoder", Value::string("x")}})},
  });
}

}  // namespace

TEST_CASE("amf0: scalar encodings match the specification's bytes", "[rtmp][amf0]") {
  CHECK(enc(Value::number(1.0)) == bytes({0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0}));
  CHECK(enc(Value::number(-2.5)) == bytes({0x00, 0xC0, 0x04, 0, 0, 0, 0, 0, 0}));
  CHECK(enc(Value::boolean(true)) == bytes({0x01, 0x01}));
  CHECK(enc(Value::boolean(false)) == bytes({0x01, 0x00}));
  CHECK(enc(Value::string("ab")) == bytes({0x02, 0x00, 0x02, 'a', 'b'}));
  CHECK(enc(Value::string("")) == bytes({0x02, 0x00, 0x00}));
  CHECK(enc(Value::null()) == bytes({0x05}));
  CHECK(enc(Value::undefined()) == bytes({0x06}));
  CHECK(enc(Value::date(0.0, 1)) == bytes({0x0B, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01}));
  CHECK(enc(Value::object({{"a", Value::null()}})) ==
        bytes({0x03, 0x00, 0x01, 'a', 0x05, 0x00, 0x00, 0x09}));
  CHECK(enc(Value::ecma_array({{"a", Value::boolean(true)}})) ==
        bytes({0x08, 0, 0, 0, 1, 0x00, 0x01, 'a', 0x01, 0x01, 0x00, 0x00, 0x09}));
  CHECK(enc(Value::strict_array({Value::null(), Value::number(0)})) ==
        bytes({0x0A, 0, 0, 0, 2, 0x05, 0x00, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST_CASE("amf0: every type round-trips, order preserved", "[rtmp][amf0]") {
  const Value v = sample();
  const auto encoded = enc(v);
  const auto decoded = dec_ok(encoded);
  REQUIRE(decoded.size() == 1);
  CHECK(decoded[0] == v);
  REQUIRE(decoded[0].is_object());
  const auto &props = decoded[0].as_object();
  REQUIRE(props.size() == 8);
  CHECK(props[0].first == "app");
  CHECK(props[7].first == "meta");
  CHECK(decoded[0].get("app")->as_string() == "live");
  CHECK(decoded[0].get("capabilities")->as_number() == 15);
  CHECK(decoded[0].get("fpad")->is_bool());
  CHECK_FALSE(decoded[0].get("fpad")->as_bool());
  CHECK(decoded[0].get("when")->is_date());
  CHECK(decoded[0].get("when")->as_number() == 1700000000123.0);
  CHECK(decoded[0].get("when")->date_timezone() == -60);
  CHECK(decoded[0].get("list")->as_array().size() == 3);
  CHECK(decoded[0].get("list")->as_array()[2].get("three")->as_number() == 3);
  const Value *meta = decoded[0].get("meta");
  REQUIRE(meta);
  CHECK(meta->is_ecma_array());
  CHECK(meta->get("height")->as_number() == 1080);
  CHECK(meta->as_object()[2].first == "encoder");
  CHECK(decoded[0].get("missing") == nullptr);
  // Re-encoding what was decoded gives the same bytes.
  CHECK(enc(decoded[0]) == encoded);
}

TEST_CASE("amf0: a command message decodes as a sequence of values", "[rtmp][amf0]") {
  std::vector<Value> values = {Value::string("connect"), Value::number(1), sample(), Value::null(),
                               Value::string("extra")};
  std::vector<uint8_t> encoded;
  amf0::encode_all(values, encoded);
  const auto decoded = dec_ok(encoded);
  CHECK(decoded == values);
  CHECK(dec_ok({}).empty());
}

TEST_CASE("amf0: accessors on the wrong type are harmless", "[rtmp][amf0]") {
  const Value n = Value::number(3);
  CHECK(n.as_string().empty());
  CHECK(n.as_object().empty());
  CHECK(n.as_array().empty());
  CHECK(n.get("x") == nullptr);
  CHECK_FALSE(n.as_bool());
  CHECK(Value::string("3").as_number() == 0);
  CHECK(Value().is_undefined());
  CHECK(Value::null().type() == Type::Null);
  Value copy = n;
  copy.set("x", Value::null());  // ignored: not an object
  CHECK(copy == n);
}

TEST_CASE("amf0: set replaces or appends a property", "[rtmp][amf0]") {
  Value o = Value::object({{"a", Value::number(1)}});
  o.set("b", Value::number(2));
  o.set("a", Value::string("one"));
  REQUIRE(o.as_object().size() == 2);
  CHECK(o.as_object()[0].first == "a");
  CHECK(o.get("a")->as_string() == "one");
  CHECK(o.get("b")->as_number() == 2);
}

TEST_CASE("amf0: long strings use the long-string marker and decode to String", "[rtmp][amf0]") {
  const std::string short_max(0xFFFF, 's');
  const std::string long_one(0x10000, 'l');
  const auto a = enc(Value::string(short_max));
  CHECK(a[0] == 0x02);
  CHECK(a.size() == 3 + 0xFFFF);
  const auto b = enc(Value::string(long_one));
  CHECK(b[0] == 0x0C);
  CHECK(b.size() == 5 + 0x10000);
  Limits roomy;
  roomy.max_string = 1 << 20;
  CHECK(dec_ok(a, roomy)[0].as_string() == short_max);
  const auto long_decoded = dec_ok(b, roomy);
  CHECK(long_decoded[0].is_string());
  CHECK(long_decoded[0].as_string() == long_one);
  // A short string sent with the long marker is still a String.
  CHECK(dec_ok(bytes({0x0C, 0, 0, 0, 2, 'h', 'i'}))[0].as_string() == "hi");
}

TEST_CASE("amf0: legacy types map to the nearest value", "[rtmp][amf0]") {
  // Unsupported marker: Undefined.
  CHECK(dec_ok(bytes({0x0D}))[0].is_undefined());
  // XML document: its text, as a String.
  CHECK(dec_ok(bytes({0x0F, 0, 0, 0, 3, '<', 'a', '>'}))[0].as_string() == "<a>");
  // Typed object: an Object without its class name.
  const auto typed =
      dec_ok(bytes({0x10, 0x00, 0x02, 'C', 'n', 0x00, 0x01, 'k', 0x05, 0x00, 0x00, 0x09}));
  REQUIRE(typed[0].is_object());
  CHECK(typed[0].get("k")->is_null());
}

TEST_CASE("amf0: the ECMA array count is advisory", "[rtmp][amf0]") {
  // Count says 5 but two properties follow, then the end marker.
  const auto v = dec_ok(bytes(
      {0x08, 0, 0, 0, 5, 0x00, 0x01, 'a', 0x05, 0x00, 0x01, 'b', 0x06, 0x00, 0x00, 0x09, 0x05}));
  REQUIRE(v.size() == 2);
  CHECK(v[0].as_object().size() == 2);
  CHECK(v[1].is_null());
}

TEST_CASE("amf0: AMF3, references and bad markers are clear errors", "[rtmp][amf0]") {
  CHECK_THAT(dec_error(bytes({0x05, 0x11, 0x02})), Catch::Contains("AMF3 not supported"));
  CHECK_THAT(dec_error(bytes({0x07, 0x00, 0x01})), Catch::Contains("reference"));
  CHECK_THAT(dec_error(bytes({0x09})), Catch::Contains("object-end"));
  CHECK_THAT(dec_error(bytes({0x04})), Catch::Contains("reserved"));
  CHECK_THAT(dec_error(bytes({0x0E})), Catch::Contains("reserved"));
  CHECK_THAT(dec_error(bytes({0x12})), Catch::Contains("unknown AMF0 type marker 0x12"));
  CHECK_THAT(dec_error(bytes({0x05, 0xFF})), Catch::Contains("at byte 1"));
  // An empty name must close the object.
  CHECK_THAT(dec_error(bytes({0x03, 0x00, 0x00, 0x05})), Catch::Contains("object-end marker"));
  // AMF3 inside an object is caught too.
  CHECK_THAT(dec_error(bytes({0x03, 0x00, 0x01, 'a', 0x11, 0x06})),
             Catch::Contains("AMF3 not supported"));
}

TEST_CASE("amf0: every truncation of a message fails cleanly or stops at a value boundary",
          "[rtmp][amf0]") {
  std::vector<uint8_t> full;
  amf0::encode(Value::string("connect"), full);
  const size_t first_end = full.size();
  amf0::encode(sample(), full);
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<Value> out;
    std::string error;
    const bool ok = dec(std::span(full).first(n), out, error);
    INFO("prefix of " << n << " bytes: " << error);
    if (n == 0 || n == first_end) {
      CHECK(ok);
      CHECK(out.size() == (n == 0 ? 0u : 1u));
    } else {
      CHECK_FALSE(ok);
      CHECK_THAT(error, Catch::Contains("truncated"));
    }
  }
}

TEST_CASE("amf0: nesting depth is limited", "[rtmp][amf0]") {
  auto nested_objects = [](size_t depth) {
    Value v = Value::null();
    for (size_t i = 0; i < depth; ++i) v = Value::object({{"o", v}});
    return enc(v);
  };
  auto nested_arrays = [](size_t depth) {
    Value v = Value::null();
    for (size_t i = 0; i < depth; ++i) v = Value::strict_array({v});
    return enc(v);
  };
  CHECK(dec_ok(nested_objects(16)).size() == 1);
  CHECK_THAT(dec_error(nested_objects(17)), Catch::Contains("nesting deeper than 16"));
  CHECK(dec_ok(nested_arrays(16)).size() == 1);
  CHECK_THAT(dec_error(nested_arrays(17)), Catch::Contains("nesting deeper than 16"));
  Limits shallow;
  shallow.max_depth = 2;
  CHECK(dec_ok(nested_objects(2), shallow).size() == 1);
  CHECK_FALSE(dec_error(nested_objects(3), shallow).empty());

  // A hostile message nesting 200000 objects fails at the limit instead of
  // exhausting the stack.
  std::vector<uint8_t> deep;
  for (int i = 0; i < 200000; ++i) {
    deep.insert(deep.end(), {0x03, 0x00, 0x01, 'o'});
  }
  CHECK_THAT(dec_error(deep), Catch::Contains("nesting"));
}

TEST_CASE("amf0: the item limit counts values across the whole message", "[rtmp][amf0]") {
  Limits limits;
  limits.max_items = 100;
  Array many(99, Value::null());
  // The array itself plus 99 items: exactly 100.
  CHECK(dec_ok(enc(Value::strict_array(many)), limits).size() == 1);
  many.push_back(Value::null());
  CHECK_THAT(dec_error(enc(Value::strict_array(many)), limits),
             Catch::Contains("more than 100 values"));
  // Spread over several top-level values it is still one budget.
  std::vector<uint8_t> spread;
  for (int i = 0; i < 3; ++i) amf0::encode(Value::strict_array(Array(40, Value::null())), spread);
  CHECK_THAT(dec_error(spread, limits), Catch::Contains("more than 100 values"));
  // Object properties count too.
  Properties props;
  for (int i = 0; i < 150; ++i) props.emplace_back("k" + std::to_string(i), Value::null());
  CHECK_FALSE(dec_error(enc(Value::object(props)), limits).empty());
}

TEST_CASE("amf0: string and name lengths are limited", "[rtmp][amf0]") {
  Limits limits;
  limits.max_string = 10;
  CHECK(dec_ok(enc(Value::string("0123456789")), limits).size() == 1);
  CHECK_THAT(dec_error(enc(Value::string("0123456789A")), limits),
             Catch::Contains("string of 11 bytes exceeds the limit of 10"));
  CHECK_FALSE(
      dec_error(enc(Value::object({{"a_long_property_name", Value::null()}})), limits).empty());
  // A long string announcing 4 GiB with nothing behind it.
  CHECK_FALSE(dec_error(bytes({0x0C, 0xFF, 0xFF, 0xFF, 0xFF, 'x'})).empty());
}

TEST_CASE("amf0: a strict array count larger than the input fails before allocating",
          "[rtmp][amf0]") {
  CHECK_THAT(dec_error(bytes({0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05, 0x05})),
             Catch::Contains("truncated"));
}

TEST_CASE("amf0: random and mutated input never crashes the decoder", "[rtmp][amf0]") {
  std::mt19937 rng(1234);
  std::vector<uint8_t> valid;
  amf0::encode_all(std::vector<Value>{Value::string("publish"), Value::number(5), sample()}, valid);
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> in;
    if (round % 2 == 0) {
      in.resize(rng() % 64);
      for (auto &b : in) b = static_cast<uint8_t>(rng() % 20);  // mostly valid markers
    } else {
      in = valid;
      for (int m = 0; m < 4; ++m) in[rng() % in.size()] = static_cast<uint8_t>(rng());
      in.resize(rng() % (in.size() + 1));
    }
    std::vector<Value> out;
    std::string error;
    if (!dec(in, out, error)) CHECK_FALSE(error.empty());
  }
}

TEST_CASE("amf0: special numbers survive the round trip", "[rtmp][amf0]") {
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(dec_ok(enc(Value::number(inf)))[0].as_number() == inf);
  CHECK(std::isnan(dec_ok(enc(Value::number(std::nan(""))))[0].as_number()));
  CHECK(dec_ok(enc(Value::number(-0.0)))[0].as_number() == 0.0);
  CHECK(dec_ok(enc(Value::number(123456789.125)))[0].as_number() == 123456789.125);
}
