// The RTMP handshake, both sides: the server reading C0+C1+C2 and the
// client reading S0+S1+S2, fed in pieces.
#include <cstdint>
#include <vector>

#include "fuzz_support.h"
#include "rtmp/handshake.h"

using namespace lg::rtmp;

namespace {

template <typename Handshake>
void drive(Handshake &hs, lg::fuzz::Input &in, uint8_t split) {
  std::span<const uint8_t> rest = in.rest();
  std::vector<uint8_t> out;
  while (true) {
    const size_t n = lg::fuzz::piece_size(split, rest.size());
    size_t consumed = 0;
    const auto status = hs.feed(rest.first(n), consumed, out);
    lg::fuzz::check(consumed <= n, "consumed no more than given");
    rest = rest.subspan(consumed);
    if (status != Handshake::Status::NeedMore) break;
    lg::fuzz::check(consumed == n, "NeedMore consumes everything");
    if (rest.empty()) break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lg::fuzz::Input in(data, size);
  const uint8_t control = in.byte();
  const uint8_t split = in.byte();
  if (control & 1) {
    ClientHandshake client(lg::fuzz::fill_pattern, (control & 2) ? ClientHandshake::Mode::Digest
                                                                 : ClientHandshake::Mode::Plain);
    drive(client, in, split);
  } else {
    ServerHandshake server(lg::fuzz::fill_pattern);
    drive(server, in, split);
  }
  return 0;
}
