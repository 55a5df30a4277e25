// Endpoint URLs: what an encoder sends in connect and publish (tcUrl, app,
// stream name), URLs as a person pastes them, and the builder's output,
// which parse_url must read back exactly. Fields are separated by newlines.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "url/endpoint.h"

using namespace lg::url;

namespace {

bool same_target(const PublishTarget &a, const PublishTarget &b) {
  return a.entry_id == b.entry_id && a.role == b.role && a.token == b.token &&
         a.stream_name == b.stream_name;
}

void round_trip(uint8_t control, std::string_view text) {
  BuildOptions options;
  options.host = std::string(lg::fuzz::next_field(text));
  options.scheme = static_cast<Scheme>((control >> 2) % 3);
  options.port = (control & 0x20) ? 0 : static_cast<uint16_t>(1000 + control);
  const std::string_view app = lg::fuzz::next_field(text);
  if (!app.empty()) options.app = std::string(app);
  const std::string_view entry = lg::fuzz::next_field(text);
  const std::string_view token = lg::fuzz::next_field(text);
  const std::string_view stream = lg::fuzz::next_field(text);
  const Role role = (control & 0x40) ? Role::Backup : Role::Primary;
  Endpoint e;
  std::string error;
  if (!build(options, entry, role, token, stream, e, error)) return;
  const PublishTarget expected{std::string(entry), role, std::string(token), std::string(stream)};
  for (const auto &[url, key] :
       {std::pair{e.url, e.stream_name}, std::pair{e.ffmpeg_url, std::string()}}) {
    ParsedUrl parsed;
    lg::fuzz::check(parse_url(url, key, parsed, error), "a built URL parses");
    lg::fuzz::check(same_target(parsed.target, expected), "a built URL reads the same");
    lg::fuzz::check(parsed.scheme == options.scheme, "the same scheme");
    lg::fuzz::check(parsed.port == (options.port ? options.port : default_port(options.scheme)),
                    "the same port");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lg::fuzz::Input in(data, size);
  const uint8_t control = in.byte();
  std::string_view text = lg::fuzz::as_text(in.rest());
  std::string error;
  switch (control % 3) {
    case 0: {
      const std::string_view tc_url = lg::fuzz::next_field(text);
      const std::string_view app = lg::fuzz::next_field(text);
      PublishTarget target;
      parse_publish(tc_url, app, text, target, error);
      break;
    }
    case 1: {
      const std::string_view url = lg::fuzz::next_field(text);
      ParsedUrl parsed;
      parse_url(url, text, parsed, error);
      is_single_host(url);
      break;
    }
    default:
      round_trip(control, text);
      break;
  }
  return 0;
}
