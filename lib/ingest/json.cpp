#include "ingest/json.h"

#include <fmt/format.h>

#include <cmath>

namespace lg::ingest {

void append_json_string(std::string &out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
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
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

namespace {

void append_number(std::string &out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
  } else if (d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {
    out += fmt::format("{}", static_cast<int64_t>(d));
  } else {
    out += fmt::format("{}", d);
  }
}

void append_value(std::string &out, const rtmp::amf0::Value &v) {
  using rtmp::amf0::Type;
  switch (v.type()) {
    case Type::Number:
      append_number(out, v.as_number());
      break;
    case Type::Boolean:
      out += v.as_bool() ? "true" : "false";
      break;
    case Type::String:
      append_json_string(out, v.as_string());
      break;
    case Type::Date:
      append_number(out, v.as_number());
      break;
    case Type::Object:
    case Type::EcmaArray: {
      out.push_back('{');
      bool first = true;
      for (const auto &[key, item] : v.as_object()) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, key);
        out.push_back(':');
        append_value(out, item);
      }
      out.push_back('}');
      break;
    }
    case Type::StrictArray: {
      out.push_back('[');
      bool first = true;
      for (const auto &item : v.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        append_value(out, item);
      }
      out.push_back(']');
      break;
    }
    default:
      out += "null";
      break;
  }
}

}  // namespace

std::string amf_to_json(const rtmp::amf0::Value &value) {
  std::string out;
  append_value(out, value);
  if (out.empty() || out == "null") return "{}";
  return out;
}

}  // namespace lg::ingest
