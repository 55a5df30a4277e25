// AMF0 decoding, and encoding what was decoded: a body that decodes must
// encode to bytes that decode to the same encoding again.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "rtmp/amf0.h"

using namespace lg::rtmp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<amf0::Value> values;
  std::string error;
  if (!amf0::decode_all({data, size}, {}, values, error)) {
    lg::fuzz::check(!error.empty(), "an error says why");
    return 0;
  }
  for (const auto &value : values) {
    value.as_number();
    value.as_string();
    value.get("code");
  }
  std::vector<uint8_t> once;
  amf0::encode_all(values, once);
  std::vector<amf0::Value> again;
  lg::fuzz::check(amf0::decode_all(once, {}, again, error), "what was encoded decodes");
  std::vector<uint8_t> twice;
  amf0::encode_all(again, twice);
  lg::fuzz::check(once == twice, "encoding is stable");
  return 0;
}
