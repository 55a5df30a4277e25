// JSON text for what hosts receive as strings (encoder metadata).
#pragma once

#include <string>
#include <string_view>

#include "rtmp/amf0.h"

namespace lg::ingest {

// Appends `s` as a JSON string literal, escaping as RFC 8259 requires.
void append_json_string(std::string &out, std::string_view s);
// An AMF0 value as JSON: objects and ECMA arrays as objects, strict arrays
// as arrays, NaN/Infinity/undefined as null, dates as milliseconds.
std::string amf_to_json(const rtmp::amf0::Value &value);

}  // namespace lg::ingest
