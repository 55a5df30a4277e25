// Text helpers for error messages that quote untrusted input.
#pragma once

#include <string>
#include <string_view>

namespace lg::core {

// At most 64 bytes of `s` in single quotes, non-printables as \xNN, so an
// attacker's bytes can be named in a log or a refusal without harm.
std::string quoted(std::string_view s);

}  // namespace lg::core
