#include "json.h"

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

}  // namespace lgserver
