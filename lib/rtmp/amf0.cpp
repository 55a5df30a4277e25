#include "rtmp/amf0.h"

#include <algorithm>
#include <bit>

namespace lg::rtmp::amf0 {

namespace {

const Properties &empty_properties() {
  static const Properties empty;
  return empty;
}

const Array &empty_array() {
  static const Array empty;
  return empty;
}

std::string hex_byte(uint8_t b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[b >> 4] + kDigits[b & 0xF];
}

class Decoder {
 public:
  Decoder(std::span<const uint8_t> in, const Limits &limits, std::string &error)
      : in_(in), limits_(limits), error_(error) {}

  bool at_end() const { return pos_ == in_.size(); }

  bool value(Value &out, size_t depth) {
    if (++items_ > limits_.max_items) {
      return fail("more than " + std::to_string(limits_.max_items) + " values in one message");
    }
    const size_t start = pos_;
    uint8_t m = 0;
    if (!u8(m)) return truncated("a type marker");
    switch (m) {
      case marker::kNumber: {
        double d = 0;
        if (!f64(d)) return truncated("a number");
        out = Value::number(d);
        return true;
      }
      case marker::kBoolean: {
        uint8_t b = 0;
        if (!u8(b)) return truncated("a boolean");
        out = Value::boolean(b != 0);
        return true;
      }
      case marker::kString: {
        std::string s;
        if (!short_string(s)) return false;
        out = Value::string(s);
        return true;
      }
      case marker::kLongString:
      case marker::kXmlDocument: {
        std::string s;
        if (!long_string(s)) return false;
        out = Value::string(s);
        return true;
      }
      case marker::kObject: {
        Properties props;
        if (!properties(props, depth)) return false;
        out = Value::object(std::move(props));
        return true;
      }
      case marker::kTypedObject: {
        std::string class_name;
        if (!short_string(class_name)) return false;
        Properties props;
        if (!properties(props, depth)) return false;
        out = Value::object(std::move(props));
        return true;
      }
      case marker::kEcmaArray: {
        // The count is advisory: encoders get it wrong, and the end marker
        // is what terminates the array, as in every mainstream decoder.
        uint32_t count_hint = 0;
        if (!u32(count_hint)) return truncated("an ECMA array count");
        Properties props;
        if (!properties(props, depth)) return false;
        out = Value::ecma_array(std::move(props));
        return true;
      }
      case marker::kStrictArray: {
        uint32_t count = 0;
        if (!u32(count)) return truncated("a strict array count");
        if (depth + 1 > limits_.max_depth) return too_deep();
        // Every item takes at least one byte: a larger count is truncated
        // input, found here before anything is allocated for it.
        if (count > in_.size() - pos_) return truncated("a strict array");
        Array items;
        items.reserve(std::min<size_t>(count, 64));
        for (uint32_t i = 0; i < count; ++i) {
          Value item;
          if (!value(item, depth + 1)) return false;
          items.push_back(std::move(item));
        }
        out = Value::strict_array(std::move(items));
        return true;
      }
      case marker::kDate: {
        double ms = 0;
        uint16_t tz = 0;
        if (!f64(ms) || !u16(tz)) return truncated("a date");
        out = Value::date(ms, static_cast<int16_t>(tz));
        return true;
      }
      case marker::kNull:
        out = Value::null();
        return true;
      case marker::kUndefined:
      case marker::kUnsupported:
        out = Value::undefined();
        return true;
      case marker::kAvmPlus:
        return fail_at(start, "AMF3 not supported (AVM+ switch marker 0x11)");
      case marker::kReference:
        // Resolving references means copying earlier objects, which lets a
        // few bytes expand into a huge value; no encoder we know needs them.
        return fail_at(start, "AMF0 object references (0x07) are not supported");
      case marker::kObjectEnd:
        return fail_at(start, "unexpected object-end marker");
      case marker::kMovieClip:
      case marker::kRecordSet:
        return fail_at(start, "reserved AMF0 type " + hex_byte(m));
      default:
        return fail_at(start, "unknown AMF0 type marker " + hex_byte(m));
    }
  }

 private:
  // Name/value pairs up to the empty name and object-end marker.
  bool properties(Properties &props, size_t depth) {
    if (depth + 1 > limits_.max_depth) return too_deep();
    for (;;) {
      std::string key;
      const size_t key_pos = pos_;
      if (!short_string(key)) return false;
      if (key.empty()) {
        uint8_t end = 0;
        if (!u8(end)) return truncated("an object-end marker");
        if (end != marker::kObjectEnd) {
          return fail_at(key_pos, "empty property name not followed by the object-end marker");
        }
        return true;
      }
      Value v;
      if (!value(v, depth + 1)) return false;
      props.emplace_back(std::move(key), std::move(v));
    }
  }

  bool short_string(std::string &s) {
    uint16_t len = 0;
    if (!u16(len)) return truncated("a string length");
    return bytes(len, s);
  }

  bool long_string(std::string &s) {
    uint32_t len = 0;
    if (!u32(len)) return truncated("a long string length");
    return bytes(len, s);
  }

  bool bytes(size_t len, std::string &s) {
    if (len > limits_.max_string) {
      return fail("string of " + std::to_string(len) + " bytes exceeds the limit of " +
                  std::to_string(limits_.max_string));
    }
    if (len > in_.size() - pos_) return truncated("a string");
    s.assign(reinterpret_cast<const char *>(in_.data() + pos_), len);
    pos_ += len;
    return true;
  }

  bool u8(uint8_t &v) {
    if (in_.size() - pos_ < 1) return false;
    v = in_[pos_++];
    return true;
  }
  bool u16(uint16_t &v) {
    if (in_.size() - pos_ < 2) return false;
    v = static_cast<uint16_t>((in_[pos_] << 8) | in_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t &v) {
    if (in_.size() - pos_ < 4) return false;
    v = (uint32_t(in_[pos_]) << 24) | (uint32_t(in_[pos_ + 1]) << 16) |
        (uint32_t(in_[pos_ + 2]) << 8) | in_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  bool f64(double &d) {
    if (in_.size() - pos_ < 8) return false;
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | in_[pos_ + i];
    pos_ += 8;
    d = std::bit_cast<double>(bits);
    return true;
  }

  bool too_deep() {
    return fail("nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
  }
  bool truncated(const char *what) {
    return fail(std::string("truncated input: ") + what + " is cut short");
  }
  bool fail(std::string message) { return fail_at(pos_, std::move(message)); }
  bool fail_at(size_t offset, std::string message) {
    error_ = std::move(message) + " at byte " + std::to_string(offset);
    return false;
  }

  std::span<const uint8_t> in_;
  const Limits &limits_;
  std::string &error_;
  size_t pos_ = 0;
  size_t items_ = 0;
};

void put_u16(std::vector<uint8_t> &out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put_u32(std::vector<uint8_t> &out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_f64(std::vector<uint8_t> &out, double d) {
  const auto bits = std::bit_cast<uint64_t>(d);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(bits >> shift));
}

void put_key(std::vector<uint8_t> &out, std::string_view key) {
  if (key.size() > 0xFFFF) key = key.substr(0, 0xFFFF);
  put_u16(out, static_cast<uint16_t>(key.size()));
  out.insert(out.end(), key.begin(), key.end());
}

void put_properties(std::vector<uint8_t> &out, const Properties &props) {
  for (const auto &[key, v] : props) {
    // An empty name would read back as the end of the object.
    if (key.empty()) continue;
    put_key(out, key);
    encode(v, out);
  }
  put_u16(out, 0);
  out.push_back(marker::kObjectEnd);
}

}  // namespace

double Value::as_number() const {
  if (const auto *d = std::get_if<double>(&v_)) return *d;
  if (const auto *date = std::get_if<Date>(&v_)) return date->ms;
  return 0;
}

bool Value::as_bool() const {
  const auto *b = std::get_if<bool>(&v_);
  return b && *b;
}

std::string_view Value::as_string() const {
  const auto *s = std::get_if<std::string>(&v_);
  return s ? std::string_view(*s) : std::string_view();
}

const Properties &Value::as_object() const {
  if (const auto *o = std::get_if<Object>(&v_)) return o->props;
  if (const auto *e = std::get_if<EcmaArray>(&v_)) return e->props;
  return empty_properties();
}

const Array &Value::as_array() const {
  const auto *a = std::get_if<Array>(&v_);
  return a ? *a : empty_array();
}

int16_t Value::date_timezone() const {
  const auto *date = std::get_if<Date>(&v_);
  return date ? date->tz : 0;
}

const Value *Value::get(std::string_view key) const {
  for (const auto &[k, v] : as_object()) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Value::set(std::string_view key, Value value) {
  Properties *props = nullptr;
  if (auto *o = std::get_if<Object>(&v_)) props = &o->props;
  if (auto *e = std::get_if<EcmaArray>(&v_)) props = &e->props;
  if (!props) return;
  for (auto &[k, v] : *props) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  props->emplace_back(std::string(key), std::move(value));
}

bool operator==(const Value &a, const Value &b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Type::Number:
      return a.as_number() == b.as_number();
    case Type::Boolean:
      return a.as_bool() == b.as_bool();
    case Type::String:
      return a.as_string() == b.as_string();
    case Type::Object:
    case Type::EcmaArray:
      return a.as_object() == b.as_object();
    case Type::StrictArray:
      return a.as_array() == b.as_array();
    case Type::Date:
      return a.as_number() == b.as_number() && a.date_timezone() == b.date_timezone();
    case Type::Null:
    case Type::Undefined:
      return true;
  }
  return false;
}

bool decode_all(std::span<const uint8_t> in, const Limits &limits, std::vector<Value> &out,
                std::string &error) {
  out.clear();
  Decoder decoder(in, limits, error);
  while (!decoder.at_end()) {
    Value v;
    if (!decoder.value(v, 0)) return false;
    out.push_back(std::move(v));
  }
  return true;
}

void encode(const Value &value, std::vector<uint8_t> &out) {
  switch (value.type()) {
    case Type::Number:
      out.push_back(marker::kNumber);
      put_f64(out, value.as_number());
      break;
    case Type::Boolean:
      out.push_back(marker::kBoolean);
      out.push_back(value.as_bool() ? 1 : 0);
      break;
    case Type::String: {
      const std::string_view s = value.as_string();
      if (s.size() <= 0xFFFF) {
        out.push_back(marker::kString);
        put_u16(out, static_cast<uint16_t>(s.size()));
      } else {
        out.push_back(marker::kLongString);
        put_u32(out, static_cast<uint32_t>(std::min<size_t>(s.size(), 0xFFFFFFFF)));
      }
      out.insert(out.end(), s.begin(), s.begin() + std::min<size_t>(s.size(), 0xFFFFFFFF));
      break;
    }
    case Type::Object:
      out.push_back(marker::kObject);
      put_properties(out, value.as_object());
      break;
    case Type::EcmaArray: {
      out.push_back(marker::kEcmaArray);
      size_t named = 0;
      for (const auto &p : value.as_object()) named += p.first.empty() ? 0 : 1;
      put_u32(out, static_cast<uint32_t>(named));
      put_properties(out, value.as_object());
      break;
    }
    case Type::StrictArray:
      out.push_back(marker::kStrictArray);
      put_u32(out, static_cast<uint32_t>(value.as_array().size()));
      for (const auto &item : value.as_array()) encode(item, out);
      break;
    case Type::Date:
      out.push_back(marker::kDate);
      put_f64(out, value.as_number());
      put_u16(out, static_cast<uint16_t>(value.date_timezone()));
      break;
    case Type::Null:
      out.push_back(marker::kNull);
      break;
    case Type::Undefined:
      out.push_back(marker::kUndefined);
      break;
  }
}

void encode_all(std::span<const Value> values, std::vector<uint8_t> &out) {
  for (const auto &v : values) encode(v, out);
}

}  // namespace lg::rtmp::amf0
