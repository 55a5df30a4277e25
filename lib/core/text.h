// Text helpers for error messages that quote untrusted input.
#pragma once

#include <string>
#include <string_view>

namespace lg::core {

// At most 64 bytes of `s` in single quotes, non-printables as \xNN, so an
// attacker's bytes can be named in a log or a refusal without harm.
std::string quoted(std::string_view s);

// Decodes %XX escapes. librtmp percent-decodes what it sends, FFmpeg sends
// bytes as typed, and a person may paste either: decoding everywhere gives
// one answer for all of them. Returns null on success, else what is wrong;
// a NUL byte (%00) is never legitimate.
const char *percent_decode(std::string_view in, std::string &out);

}  // namespace lg::core
