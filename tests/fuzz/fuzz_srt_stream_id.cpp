// The SRT stream id as a caller sends it.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "url/srt_stream_id.h"

using namespace lg::url;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  PublishTarget target;
  StreamIdRefusal refusal = StreamIdRefusal::None;
  std::string error;
  if (parse_srt_stream_id(lg::fuzz::as_text({data, size}), target, refusal, error)) {
    lg::fuzz::check(refusal == StreamIdRefusal::None, "no refusal on success");
    // What was read, when the builder accepts it, is written back and reads
    // the same.
    BuildOptions options;
    options.host = "publish.example.com";
    options.scheme = Scheme::Srt;
    Endpoint endpoint;
    if (!build(options, target.entry_id, target.role, target.token, target.stream_name, endpoint,
               error)) {
      return 0;
    }
    PublishTarget reread;
    lg::fuzz::check(parse_srt_stream_id(endpoint.stream_name, reread, refusal, error),
                    "a built stream id parses");
    lg::fuzz::check(reread.entry_id == target.entry_id && reread.role == target.role &&
                        reread.token == target.token && reread.stream_name == target.stream_name,
                    "a built stream id reads the same");
  } else {
    lg::fuzz::check(refusal != StreamIdRefusal::None && !error.empty(), "a refusal says why");
  }
  return 0;
}
