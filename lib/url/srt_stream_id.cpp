#include "url/srt_stream_id.h"

#include <vector>

#include "auth/token.h"
#include "core/text.h"

namespace lg::url {

namespace {

using core::quoted;

constexpr std::string_view kPrefix = "#!::";
constexpr size_t kMaxItems = 16;

bool fail(StreamIdRefusal why, std::string message, StreamIdRefusal &refusal, std::string &error) {
  refusal = why;
  error = std::move(message);
  return false;
}

}  // namespace

std::string build_srt_stream_id(std::string_view entry_id, Role role, std::string_view token,
                                std::string_view stream_name) {
  std::string id(kPrefix);
  id += "r=";
  id += entry_id;
  id += '.';
  id += role_letter(role);
  id += '/';
  id += stream_name;
  id += ",m=publish";
  if (!token.empty()) {
    id += ',';
    id += kSrtTokenKey;
    id += '=';
    id += token;
  }
  return id;
}

bool parse_srt_stream_id(std::string_view sid, PublishTarget &out, StreamIdRefusal &refusal,
                         std::string &error) {
  refusal = StreamIdRefusal::None;
  constexpr auto bad = StreamIdRefusal::BadRequest;
  const std::string expected =
      "expected #!::r={entryId}.{p|b}/{stream},m=publish,livegate_token={token}";
  if (sid.empty()) {
    return fail(bad, "no stream id: " + expected, refusal, error);
  }
  // FFmpeg 5.1 passes a streamid= URL parameter through without decoding
  // it, so a stream id percent-encoded for the URL arrives encoded. Ours
  // never holds a literal '%', so decoding such a one loses nothing.
  std::string decoded;
  if (sid.substr(0, 3) == "%23") {
    if (core::percent_decode(sid, decoded)) {
      return fail(bad, "bad percent-escape in the stream id", refusal, error);
    }
    sid = decoded;
  }
  if (sid.size() > kMaxSrtStreamIdLength) {
    return fail(bad, "the stream id is longer than 512 bytes", refusal, error);
  }
  for (size_t i = 0; i < sid.size(); ++i) {
    const auto c = static_cast<unsigned char>(sid[i]);
    if (c < 0x20 || c == 0x7f) {
      return fail(bad, "a control character in the stream id at offset " + std::to_string(i),
                  refusal, error);
    }
  }
  if (sid.substr(0, 3) == "#!:" && sid.size() > 3 && sid[3] == '{') {
    return fail(bad, "the nested #!:{...} stream id form is not supported: " + expected, refusal,
                error);
  }
  if (sid.substr(0, kPrefix.size()) != kPrefix) {
    return fail(bad,
                "the stream id " + quoted(sid.substr(0, 64)) +
                    " is not in the SRT access-control form: " + expected,
                refusal, error);
  }

  std::string_view resource, mode, type, token;
  bool have_resource = false, have_mode = false, have_type = false, have_token = false;
  std::vector<std::string_view> seen;
  std::string_view rest = sid.substr(kPrefix.size());
  size_t items = 0;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    if (++items > kMaxItems) {
      return fail(bad, "more than 16 key=value items in the stream id", refusal, error);
    }
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return fail(bad, "malformed stream id item " + quoted(item.substr(0, 32)) + ": " + expected,
                  refusal, error);
    }
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    for (std::string_view k : seen) {
      if (k == key) {
        return fail(bad, "the key " + quoted(key) + " is given twice in the stream id", refusal,
                    error);
      }
    }
    seen.push_back(key);
    if (key == "r") {
      resource = value;
      have_resource = true;
    } else if (key == "m") {
      mode = value;
      have_mode = true;
    } else if (key == "t") {
      type = value;
      have_type = true;
    } else if (key == kSrtTokenKey) {
      token = value;
      have_token = true;
    }
    // Anything else (h, u, s, another application's keys) says nothing we
    // act on; refusing it would only break callers that add them.
  }

  if (have_mode && mode != "publish") {
    return fail(StreamIdRefusal::BadMode,
                "mode m=" + quoted(mode) + " is not supported: this server only takes m=publish",
                refusal, error);
  }
  if (have_type && type != "stream") {
    return fail(StreamIdRefusal::UnsupportedType,
                "type t=" + quoted(type) + " is not supported: only t=stream (the default)",
                refusal, error);
  }
  if (!have_resource) {
    return fail(bad, "the stream id has no resource (r=): " + expected, refusal, error);
  }
  const size_t slash = resource.find('/');
  if (slash == std::string_view::npos) {
    return fail(bad,
                "the resource " + quoted(resource) +
                    " names no stream: expected r={entryId}.{p|b}/{stream}, e.g. "
                    "r=1_abcd1234.p/1",
                refusal, error);
  }
  const std::string_view entry_part = resource.substr(0, slash);
  const std::string_view stream = resource.substr(slash + 1);
  const size_t dot = entry_part.find('.');
  const std::string_view id = entry_part.substr(0, dot);
  if (!auth::is_valid_entry_id(id)) {
    return fail(bad,
                "malformed entry id " + quoted(id) +
                    " in the stream id: expected digits, '_', then a-z 0-9 (e.g. 1_abcd1234)",
                refusal, error);
  }
  const std::string_view letter =
      dot == std::string_view::npos ? std::string_view() : entry_part.substr(dot + 1);
  Role role = Role::Primary;
  if (letter == "p") {
    role = Role::Primary;
  } else if (letter == "b") {
    role = Role::Backup;
  } else {
    return fail(bad,
                "unknown role " + quoted(letter) +
                    " in the stream id: expected {entryId}.p (primary) or {entryId}.b (backup)",
                refusal, error);
  }
  if (!auth::is_valid_stream_name(stream)) {
    return fail(bad,
                "invalid stream name " + quoted(stream) +
                    " in the stream id: use 1 to 64 characters of A-Z a-z 0-9 _ -",
                refusal, error);
  }
  if (have_token && !token.empty() && !auth::is_valid_token(token)) {
    return fail(bad,
                "malformed token in the stream id: expected 16 to 128 characters of A-Z a-z 0-9 "
                "_ -",
                refusal, error);
  }
  out = PublishTarget{};
  out.entry_id = std::string(id);
  out.role = role;
  out.stream_name = std::string(stream);
  out.token = std::string(token);
  return true;
}

}  // namespace lg::url
