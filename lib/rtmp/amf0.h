// AMF0 (Action Message Format 0), the encoding of RTMP command and data
// messages. Values are plain value types; the decoder never throws and is
// bounded by Limits so that a hostile peer cannot make it recurse or allocate
// without bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace lg::rtmp::amf0 {

// Type markers on the wire.
namespace marker {
inline constexpr uint8_t kNumber = 0x00;
inline constexpr uint8_t kBoolean = 0x01;
inline constexpr uint8_t kString = 0x02;
inline constexpr uint8_t kObject = 0x03;
inline constexpr uint8_t kMovieClip = 0x04;
inline constexpr uint8_t kNull = 0x05;
inline constexpr uint8_t kUndefined = 0x06;
inline constexpr uint8_t kReference = 0x07;
inline constexpr uint8_t kEcmaArray = 0x08;
inline constexpr uint8_t kObjectEnd = 0x09;
inline constexpr uint8_t kStrictArray = 0x0A;
inline constexpr uint8_t kDate = 0x0B;
inline constexpr uint8_t kLongString = 0x0C;
inline constexpr uint8_t kUnsupported = 0x0D;
inline constexpr uint8_t kRecordSet = 0x0E;
inline constexpr uint8_t kXmlDocument = 0x0F;
inline constexpr uint8_t kTypedObject = 0x10;
inline constexpr uint8_t kAvmPlus = 0x11;  // switch to AMF3
}  // namespace marker

// The order matches the alternatives of Value's variant.
enum class Type : uint8_t {
  Number,
  Boolean,
  String,
  Object,
  Null,
  Undefined,
  EcmaArray,
  StrictArray,
  Date
};

class Value;
using Property = std::pair<std::string, Value>;
// Properties keep their wire order: clients and servers are sensitive to it
// (the command object of connect, onStatus info objects).
using Properties = std::vector<Property>;
using Array = std::vector<Value>;

struct Null {};
struct Undefined {};
struct Date {
  double ms = 0;   // milliseconds since the Unix epoch
  int16_t tz = 0;  // minutes; reserved by the specification, kept as sent
};
struct Object {
  Properties props;
};
struct EcmaArray {
  Properties props;
};

class Value {
 public:
  // A default value is Undefined.
  Value() : v_(Undefined{}) {}

  static Value number(double x) { return Value(Tag{}, x); }
  static Value boolean(bool b) { return Value(Tag{}, b); }
  static Value string(std::string_view s) { return Value(Tag{}, std::string(s)); }
  static Value object(Properties props = {}) { return Value(Tag{}, Object{std::move(props)}); }
  static Value ecma_array(Properties props = {}) {
    return Value(Tag{}, EcmaArray{std::move(props)});
  }
  static Value strict_array(Array items = {}) { return Value(Tag{}, std::move(items)); }
  static Value null() { return Value(Tag{}, Null{}); }
  static Value undefined() { return Value(Tag{}, Undefined{}); }
  static Value date(double ms, int16_t tz = 0) { return Value(Tag{}, Date{ms, tz}); }

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_number() const { return type() == Type::Number; }
  bool is_bool() const { return type() == Type::Boolean; }
  bool is_string() const { return type() == Type::String; }
  bool is_object() const { return type() == Type::Object; }
  bool is_null() const { return type() == Type::Null; }
  bool is_undefined() const { return type() == Type::Undefined; }
  bool is_ecma_array() const { return type() == Type::EcmaArray; }
  bool is_strict_array() const { return type() == Type::StrictArray; }
  bool is_date() const { return type() == Type::Date; }

  // The number; for a Date, its milliseconds; 0 for anything else.
  double as_number() const;
  // false unless a Boolean true.
  bool as_bool() const;
  // An empty view unless a String. The view lives as long as this value.
  std::string_view as_string() const;
  // The properties of an Object or EcmaArray; an empty list otherwise.
  const Properties &as_object() const;
  // The items of a StrictArray; an empty list otherwise.
  const Array &as_array() const;
  // The timezone field of a Date; 0 otherwise.
  int16_t date_timezone() const;

  // The first property named `key` of an Object or EcmaArray, or nullptr.
  const Value *get(std::string_view key) const;
  // Adds or replaces a property of an Object or EcmaArray; ignored otherwise.
  void set(std::string_view key, Value value);

  friend bool operator==(const Value &a, const Value &b);

 private:
  using Variant =
      std::variant<double, bool, std::string, Object, Null, Undefined, EcmaArray, Array, Date>;
  struct Tag {};
  Value(Tag, Variant v) : v_(std::move(v)) {}

  Variant v_;
};

struct Limits {
  size_t max_depth = 16;      // nesting of objects and arrays
  size_t max_items = 1024;    // values in the whole message, nested ones included
  size_t max_string = 65536;  // bytes of any one string or property name
};

// Decodes every value of a command or data message body into `out` (cleared
// first). Returns false with a precise `error` on malformed or truncated
// input, AMF3 content, object references, or a limit exceeded.
//
// Types without a value of their own are mapped: Unsupported to Undefined,
// XML document to String, typed object to Object (the class name is dropped).
bool decode_all(std::span<const uint8_t> in, const Limits &limits, std::vector<Value> &out,
                std::string &error);

// Appends the encoding of `value`. Strings longer than 65535 bytes use the
// long-string marker; property names longer than that are truncated, as
// the format cannot carry them.
void encode(const Value &value, std::vector<uint8_t> &out);
void encode_all(std::span<const Value> values, std::vector<uint8_t> &out);

}  // namespace lg::rtmp::amf0
