// A whole server connection: a valid handshake, then the fuzzed bytes as the
// encoder's chunk stream, fed in pieces, through connect, publish, its
// acceptance (at once, later, or a refusal), metadata and media.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "rtmp/handshake.h"
#include "rtmp/session.h"

using namespace lg::rtmp;

namespace {

enum class Answer { AcceptAtOnce, AcceptLater, Reject, Never };

struct Host : ServerSession::Handler {
  ServerSession *session = nullptr;
  Answer answer = Answer::AcceptAtOnce;
  bool publish_asked = false;
  size_t sent = 0;

  void on_rtmp_send(std::vector<uint8_t> bytes) override { sent += bytes.size(); }
  void on_rtmp_connect(const ConnectInfo &info) override {
    lg::fuzz::check(info.app.size() <= 65536, "app within the AMF0 string limit");
  }
  void on_rtmp_publish(std::string_view, std::string_view) override {
    publish_asked = true;
    if (answer == Answer::AcceptAtOnce) session->accept_publish();
  }
  void on_rtmp_unpublish() override {}
  void on_rtmp_metadata(const amf0::Value &metadata) override { metadata.get("width"); }
  void on_rtmp_media(uint8_t type, uint32_t, std::vector<uint8_t>) override {
    lg::fuzz::check(type == 8 || type == 9, "media is audio or video");
    lg::fuzz::check(session->publishing(), "media only while publishing");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lg::fuzz::Input in(data, size);
  const uint8_t control = in.byte();
  const uint8_t split = in.byte();
  Host host;
  host.answer = static_cast<Answer>(control & 3);
  ServerSession session(host, lg::fuzz::fill_pattern);
  host.session = &session;

  // C0 + C1 (a plain handshake) + C2.
  std::vector<uint8_t> hello(1 + 2 * kHandshakeSize, 0);
  hello[0] = kRtmpVersion;
  lg::fuzz::check(session.feed(hello) == LG_OK, "a plain handshake succeeds");
  lg::fuzz::check(session.handshake_done(), "the handshake is done");

  std::span<const uint8_t> rest = in.rest();
  bool answered = false;
  while (!rest.empty()) {
    const size_t n = lg::fuzz::piece_size(split, rest.size());
    if (session.feed(rest.first(n)) != LG_OK) {
      lg::fuzz::check(!session.error().empty(), "an error says why");
      break;
    }
    rest = rest.subspan(n);
    if (host.publish_asked && !answered && host.answer == Answer::AcceptLater) {
      answered = true;
      session.accept_publish();
    } else if (host.publish_asked && !answered && host.answer == Answer::Reject) {
      answered = true;
      session.reject_publish("NetStream.Publish.BadName", "refused");
      break;
    }
  }
  return 0;
}
