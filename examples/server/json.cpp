#include "json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace lgserver {

namespace {

// Length of the valid UTF-8 sequence at the start of `s`, or 0 if it is not
// one (overlong forms, surrogates and code points past U+10FFFF included):
// encoder names and metadata come from the network and may be any bytes.
size_t utf8_sequence_length(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto continuation = [&](size_t i) { return i < s.size() && (byte(i) & 0xC0) == 0x80; };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;  // overlong
    if (lead == 0xED && byte(1) > 0x9F) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;  // overlong
    if (lead == 0xF4 && byte(1) > 0x8F) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

void JsonWriter::append_quoted(std::string &out, std::string_view value) {
  out += '"';
  size_t i = 0;
  while (i < value.size()) {
    const auto c = static_cast<unsigned char>(value[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
          out += escaped;
        } else if (c >= 0x80) {
          const size_t length = utf8_sequence_length(value.substr(i));
          if (length == 0) {
            out += "\\ufffd";
          } else {
            out.append(value.substr(i, length));
            i += length - 1;
          }
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_element_.empty()) {
    if (has_element_.back()) out_ += ',';
    has_element_.back() = true;
  }
}

JsonWriter &JsonWriter::open(char bracket) {
  before_value();
  out_ += bracket;
  has_element_.push_back(false);
  return *this;
}

JsonWriter &JsonWriter::close(char bracket) {
  if (!has_element_.empty()) has_element_.pop_back();
  out_ += bracket;
  return *this;
}

JsonWriter &JsonWriter::begin_object() {
  return open('{');
}
JsonWriter &JsonWriter::end_object() {
  return close('}');
}
JsonWriter &JsonWriter::begin_array() {
  return open('[');
}
JsonWriter &JsonWriter::end_array() {
  return close(']');
}

JsonWriter &JsonWriter::key(std::string_view name) {
  before_value();
  append_quoted(out_, name);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter &JsonWriter::string(std::string_view value) {
  before_value();
  append_quoted(out_, value);
  return *this;
}

JsonWriter &JsonWriter::string_or_null(const char *value) {
  return value ? string(value) : null();
}

JsonWriter &JsonWriter::number(int64_t value) {
  before_value();
  out_ += std::to_string(value);
  return *this;
}

JsonWriter &JsonWriter::number(uint64_t value) {
  before_value();
  out_ += std::to_string(value);
  return *this;
}

JsonWriter &JsonWriter::number(double value) {
  if (!std::isfinite(value)) return null();
  before_value();
  char text[64];
  std::snprintf(text, sizeof(text), "%.17g", value);
  out_ += text;
  return *this;
}

JsonWriter &JsonWriter::boolean(bool value) {
  before_value();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter &JsonWriter::null() {
  before_value();
  out_ += "null";
  return *this;
}

JsonWriter &JsonWriter::raw(std::string_view json) {
  before_value();
  if (json.empty()) {
    out_ += "null";
    return *this;
  }
  for (char c : json) out_ += (c == '\n' || c == '\r') ? ' ' : c;
  return *this;
}

const JsonValue *JsonValue::find(std::string_view name) const {
  for (const auto &[key, value] : members) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::optional<int64_t> JsonValue::integer() const {
  if (type != Type::Number || text.find_first_of(".eE") != std::string::npos) return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

namespace {

// A recursive-descent parser over a bounded input; every failure names the
// byte where it happened.
class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  bool parse(JsonValue &out, std::string &error) {
    skip_space();
    if (!value(out, 0)) {
      error = error_;
      return false;
    }
    skip_space();
    if (pos_ != text_.size()) {
      error = at("unexpected text after the JSON value");
      return false;
    }
    return true;
  }

 private:
  static constexpr int kMaxDepth = 16;

  std::string at(const std::string &what) const {
    return what + " at byte " + std::to_string(pos_);
  }

  bool fail(const std::string &what) {
    if (error_.empty()) error_ = at(what);
    return false;
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool value(JsonValue &out, int depth) {
    if (pos_ >= text_.size()) return fail("unexpected end of input");
    switch (text_[pos_]) {
      case '{':
        return object(out, depth + 1);
      case '[':
        return array(out, depth + 1);
      case '"':
        out.type = JsonValue::Type::String;
        return string(out.text);
      case 't':
        out.type = JsonValue::Type::Boolean;
        out.boolean = true;
        return literal("true");
      case 'f':
        out.type = JsonValue::Type::Boolean;
        out.boolean = false;
        return literal("false");
      case 'n':
        out.type = JsonValue::Type::Null;
        return literal("null");
      default:
        return number(out);
    }
  }

  bool object(JsonValue &out, int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    out.type = JsonValue::Type::Object;
    ++pos_;  // '{'
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a string key");
      std::string key;
      if (!string(key)) return false;
      if (out.find(key)) return fail("duplicate key '" + key + "'");
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != ':') return fail("expected ':'");
      ++pos_;
      skip_space();
      JsonValue member;
      if (!value(member, depth)) return false;
      out.members.emplace_back(std::move(key), std::move(member));
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(JsonValue &out, int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    out.type = JsonValue::Type::Array;
    ++pos_;  // '['
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      skip_space();
      JsonValue item;
      if (!value(item, depth)) return false;
      out.items.push_back(std::move(item));
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool number(JsonValue &out) {
    const size_t start = pos_;
    const auto digits = [&] {
      const size_t first = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ > first;
    };
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      pos_ = start;
      return fail("expected a JSON value");
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (!digits()) return fail("expected digits after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!digits()) return fail("expected digits in the exponent");
    }
    out.type = JsonValue::Type::Number;
    out.text = std::string(text_.substr(start, pos_ - start));
    return true;
  }

  bool hex4(uint32_t &out) {
    if (text_.size() - pos_ < 4) return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return fail("invalid \\u escape");
      }
    }
    return true;
  }

  static void append_utf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool string(std::string &out) {
    ++pos_;  // '"'
    out.clear();
    while (true) {
      if (pos_ >= text_.size()) return fail("unterminated string");
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return fail("control character in a string");
      if (c >= 0x80) {
        const size_t length = utf8_sequence_length(text_.substr(pos_));
        if (length == 0) return fail("invalid UTF-8 in a string");
        out.append(text_.substr(pos_, length));
        pos_ += length;
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (pos_ >= text_.size()) return fail("unterminated string");
      const char escape = text_[pos_++];
      switch (escape) {
        case '"':
        case '\\':
        case '/':
          out += escape;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("unpaired UTF-16 surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (text_.substr(pos_, 2) != "\\u") return fail("unpaired UTF-16 surrogate");
            pos_ += 2;
            if (!hex4(low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) return fail("unpaired UTF-16 surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          return fail("invalid escape in a string");
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

bool parse_json(std::string_view text, JsonValue &out, std::string &error) {
  out = JsonValue{};
  return JsonParser(text).parse(out, error);
}

JsonValue::JsonValue() = default;
JsonValue::JsonValue(const JsonValue &) = default;
JsonValue::JsonValue(JsonValue &&) noexcept = default;
JsonValue &JsonValue::operator=(const JsonValue &) = default;
JsonValue &JsonValue::operator=(JsonValue &&) noexcept = default;
JsonValue::~JsonValue() = default;

bool parse_request_body(std::string_view body, bool optional, JsonValue &out, std::string &error) {
  while (!body.empty() && (body.back() == ' ' || body.back() == '\n' || body.back() == '\r' ||
                           body.back() == '\t')) {
    body.remove_suffix(1);
  }
  if (body.empty() && optional) {
    out = JsonValue{};
    out.type = JsonValue::Type::Object;
    return true;
  }
  if (body.empty()) {
    error = "the request needs a JSON object body";
    return false;
  }
  std::string why;
  if (!parse_json(body, out, why)) {
    error = "malformed JSON: " + why;
    return false;
  }
  if (out.type != JsonValue::Type::Object) {
    error = "the body must be a JSON object";
    return false;
  }
  return true;
}

void write_json(JsonWriter &json, const JsonValue &value) {
  switch (value.type) {
    case JsonValue::Type::Null:
      json.null();
      return;
    case JsonValue::Type::Boolean:
      json.boolean(value.boolean);
      return;
    case JsonValue::Type::Number:
      json.raw(value.text);
      return;
    case JsonValue::Type::String:
      json.string(value.text);
      return;
    case JsonValue::Type::Array:
      json.begin_array();
      for (const JsonValue &item : value.items) write_json(json, item);
      json.end_array();
      return;
    case JsonValue::Type::Object:
      json.begin_object();
      for (const auto &[name, member] : value.members) {
        json.key(name);
        write_json(json, member);
      }
      json.end_object();
      return;
  }
}

}  // namespace lgserver
