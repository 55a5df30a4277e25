// The SRT stream id: how an SRT caller names the entry, role and stream it
// publishes to, and presents the entry's token, in the SRT Access Control
// syntax (Haivision's access-control.md):
//
//   #!::r={entryId}.{p|b}/{stream},m=publish,livegate_token={token}
//
// `r` (resource) mirrors the RTMP single-host path, `m=publish` states the
// intent, and the token travels under a prefixed custom key because every
// single-letter key is reserved by the convention (and `t` already means the
// type). Keys may come in any order; `h`, `u` and `s` are tolerated and
// ignored, as is any other application's prefixed key. `t`, when given, must
// be `stream`. Percent-decoding is the URL layer's job, not this one's.
//
// Nothing here does I/O or throws; every function is safe from any thread.
#ifndef LG_URL_SRT_STREAM_ID_H
#define LG_URL_SRT_STREAM_ID_H

#include <string>
#include <string_view>

#include "url/endpoint.h"

namespace lg::url {

// SRT limits SRTO_STREAMID to 512 bytes.
inline constexpr size_t kMaxSrtStreamIdLength = 512;
inline constexpr std::string_view kSrtTokenKey = "livegate_token";

// Why a stream id is refused, one for each SRT access-control reject code
// that applies (SRT_REJX_BAD_REQUEST, SRT_REJX_BAD_MODE,
// SRT_REJX_NOTSUP_MEDIA).
enum class StreamIdRefusal { None, BadRequest, BadMode, UnsupportedType };

// The stream id for an entry, role, token (may be empty) and stream name.
// The arguments must already be valid (build() checks them).
std::string build_srt_stream_id(std::string_view entry_id, Role role, std::string_view token,
                                std::string_view stream_name);

// Reads a stream id as a caller sent it. On failure returns false, sets
// `refusal` and a precise reason in `error` (tokens are never quoted).
// out.app is left empty.
bool parse_srt_stream_id(std::string_view stream_id, PublishTarget &out, StreamIdRefusal &refusal,
                         std::string &error);

}  // namespace lg::url

#endif  // LG_URL_SRT_STREAM_ID_H
