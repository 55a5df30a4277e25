// A minimal JSON writer for the example server's machine-readable output.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace example {

class Json {
 public:
  Json &begin_object() { return open('{'); }
  Json &end_object() { return close('}'); }
  Json &begin_array() { return open('['); }
  Json &end_array() { return close(']'); }

  Json &key(std::string_view k) {
    comma();
    string_literal(k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  Json &value(std::string_view s) {
    comma();
    string_literal(s);
    return *this;
  }
  Json &value(const char *s) { return value(std::string_view(s ? s : "")); }
  Json &value(int64_t n) {
    comma();
    out_ += std::to_string(n);
    return *this;
  }
  Json &value(uint64_t n) {
    comma();
    out_ += std::to_string(n);
    return *this;
  }
  Json &value(int n) { return value(static_cast<int64_t>(n)); }
  Json &value(double d) {
    comma();
    if (!std::isfinite(d)) {
      out_ += "null";
    } else {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.3f", d);
      out_ += buf;
    }
    return *this;
  }
  Json &value(bool b) {
    comma();
    out_ += b ? "true" : "false";
    return *this;
  }
  // Inserts text that is already JSON (the library's metadata_json).
  Json &raw(std::string_view json) {
    comma();
    out_ += json.empty() ? std::string_view("null") : json;
    return *this;
  }
  template <typename T>
  Json &field(std::string_view k, T v) {
    key(k);
    return value(v);
  }

  const std::string &str() const { return out_; }

 private:
  Json &open(char c) {
    comma();
    out_ += c;
    first_ = true;
    return *this;
  }
  Json &close(char c) {
    out_ += c;
    first_ = false;
    return *this;
  }
  void comma() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_ && !out_.empty()) out_ += ',';
    first_ = false;
  }
  void string_literal(std::string_view s) {
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", c);
            out_ += buf;
          } else {
            out_ += static_cast<char>(c);
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace example
