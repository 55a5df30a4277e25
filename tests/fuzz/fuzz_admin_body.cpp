// The admin API's request bodies: JSON objects as a client sends them. A
// body that parses is written back, and what is written parses to the same
// text again.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "json.h"

using namespace lgserver;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lg::fuzz::Input in(data, size);
  const bool optional = in.byte() & 1;
  JsonValue body;
  std::string error;
  if (!parse_request_body(lg::fuzz::as_text(in.rest()), optional, body, error)) {
    lg::fuzz::check(!error.empty(), "an error says why");
    return 0;
  }
  lg::fuzz::check(body.type == JsonValue::Type::Object, "a body is an object");
  // What the endpoints read from a body.
  for (const char *key : {"name", "disconnect", "passphrase", "startMs", "endMs", "role"}) {
    if (const JsonValue *value = body.find(key)) value->integer();
  }
  JsonWriter once;
  write_json(once, body);
  JsonValue again;
  lg::fuzz::check(parse_json(once.str(), again, error), "what was written parses");
  JsonWriter twice;
  write_json(twice, again);
  lg::fuzz::check(once.str() == twice.str(), "writing is stable");
  return 0;
}
