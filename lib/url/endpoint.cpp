#include "url/endpoint.h"

#include <arpa/inet.h>

#include <string>

#include <vector>
#include "core/text.h"

#include "auth/token.h"
#include "url/srt_stream_id.h"

namespace lg::url {

namespace {

using core::percent_decode;
using core::quoted;

constexpr size_t kMaxAppLength = 64;
constexpr size_t kMaxQueryParams = 32;
constexpr size_t kMaxPathSegments = 8;
constexpr size_t kMaxHostLength = 253;  // a DNS name, dots included

constexpr const char *kTokenRule = "expected 16 to 128 characters of A-Z a-z 0-9 _ -";
constexpr const char *kStreamRule = "use 1 to 64 characters of A-Z a-z 0-9 _ -";
constexpr const char *kEntryRule = "expected digits, '_', then a-z 0-9 (e.g. 1_abcd1234)";

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool is_valid_app(std::string_view app) {
  if (app.empty() || app.size() > kMaxAppLength) return false;
  for (char c : app) {
    if (!is_word_char(c)) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// inet_pton reads a C string: a NUL inside `host` would hide what follows it.
bool is_ipv4(std::string_view host) {
  if (host.empty() || host.size() > 15 || host.find('\0') != std::string_view::npos) return false;
  in_addr addr{};
  return inet_pton(AF_INET, std::string(host).c_str(), &addr) == 1;
}

bool is_ipv6(std::string_view host) {
  if (host.empty() || host.size() > 45 || host.find('\0') != std::string_view::npos) return false;
  in6_addr addr{};
  return inet_pton(AF_INET6, std::string(host).c_str(), &addr) == 1;
}

std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// Everything but RFC 3986's unreserved characters, so a stream id survives
// any URL parser.
std::string percent_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_word_char(ch) || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

struct Split {
  std::string_view before;
  std::string_view query;
};

Split split_query(std::string_view s) {
  const size_t q = s.find('?');
  if (q == std::string_view::npos) return {s, {}};
  return {s.substr(0, q), s.substr(q + 1)};
}

// Collects the "t" parameters of up to three places and checks they agree.
class Tokens {
 public:
  bool add_query(std::string_view query, const char *where, std::string &error) {
    size_t count = 0;
    size_t start = 0;
    while (start <= query.size()) {
      size_t end = query.find('&', start);
      if (end == std::string_view::npos) end = query.size();
      const std::string_view param = query.substr(start, end - start);
      start = end + 1;
      if (param.empty()) continue;
      if (++count > kMaxQueryParams) {
        error = std::string("malformed query in ") + where + ": more than " +
                std::to_string(kMaxQueryParams) + " parameters";
        return false;
      }
      const size_t eq = param.find('=');
      std::string key, value;
      const char *why = percent_decode(param.substr(0, eq), key);
      if (!why && eq != std::string_view::npos) why = percent_decode(param.substr(eq + 1), value);
      if (why) {
        error = std::string("malformed query in ") + where + ": bad percent-escape in " +
                quoted(param.substr(0, eq)) + ": " + why;
        return false;
      }
      if (key.empty()) {
        error = std::string("malformed query in ") + where + ": a parameter has no name";
        return false;
      }
      if (key == "t" && !add(value, where, error)) return false;
    }
    return true;
  }

  bool add(const std::string &value, const char *where, std::string &error) {
    if (value.empty()) return true;
    if (!auth::is_valid_token(value)) {
      error = std::string("malformed token in ") + where + ": " + kTokenRule;
      return false;
    }
    if (where_ && value != value_) {
      // Never quote tokens: one of them may be the right one.
      error = where_ == where ? std::string("conflicting tokens: ") + where +
                                    " repeats t= with different values"
                              : std::string("conflicting tokens: ") + where_ + " and " + where +
                                    " carry different t= values";
      return false;
    }
    value_ = value;
    where_ = where;
    return true;
  }

  const std::string &value() const { return value_; }

 private:
  std::string value_;
  const char *where_ = nullptr;
};

// "/a/b/" -> {a, b}. One leading and one trailing '/' are allowed; an empty
// segment anywhere else is an error.
bool split_segments(std::string_view path, std::vector<std::string> &out, const char *where,
                    std::string &error) {
  out.clear();
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return true;
  if (path.back() == '/') path.remove_suffix(1);
  size_t start = 0;
  while (true) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view raw = path.substr(start, end - start);
    if (raw.empty()) {
      error = std::string("empty path segment in ") + where + " " + quoted(path);
      return false;
    }
    if (out.size() == kMaxPathSegments) {
      error = std::string("too many path segments in ") + where;
      return false;
    }
    std::string seg;
    if (const char *why = percent_decode(raw, seg)) {
      error =
          std::string("bad percent-escape in ") + where + " segment " + quoted(raw) + ": " + why;
      return false;
    }
    out.push_back(std::move(seg));
    if (end == path.size()) break;
    start = end + 1;
  }
  return true;
}

bool parse_role(std::string_view letter, Role &role) {
  if (letter == "p") {
    role = Role::Primary;
  } else if (letter == "b") {
    role = Role::Backup;
  } else {
    return false;
  }
  return true;
}

std::string role_error(std::string_view letter, const char *where) {
  return "unknown role letter " + quoted(letter) + " in " + where +
         ": expected p (primary) or b (backup)";
}

// "{entryId}.{p|b}" as a path segment.
bool parse_entry_segment(std::string_view seg, const char *where, std::string &entry, Role &role,
                         std::string &error) {
  const size_t dot = seg.find('.');
  if (dot == std::string_view::npos) {
    error = "malformed entry segment " + quoted(seg) + " in " + where +
            ": expected {entryId}.{p|b}, e.g. 1_abcd1234.p";
    return false;
  }
  const std::string_view id = seg.substr(0, dot);
  const std::string_view letter = seg.substr(dot + 1);
  if (!auth::is_valid_entry_id(id)) {
    error = "malformed entry id " + quoted(id) + " in " + where + ": " + kEntryRule;
    return false;
  }
  if (!parse_role(letter, role)) {
    error = role_error(letter, where);
    return false;
  }
  entry = std::string(id);
  return true;
}

// The production form's host: "{entryId}.{p|b}.{domain}".
struct HostEntry {
  enum Kind { kNone, kFound, kBad } kind = kNone;
  std::string entry;
  Role role = Role::Primary;
  size_t domain_offset = 0;  // where the domain starts in the host
  std::string error;
};

HostEntry examine_host(std::string_view host, const char *where) {
  HostEntry h;
  if (host.empty() || is_single_host(host)) return h;
  const size_t dot1 = host.find('.');
  if (dot1 == std::string_view::npos) return h;
  const size_t dot2 = host.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || dot2 + 1 >= host.size()) return h;
  // DNS names are case-insensitive and rtmp2 lowercases them; ids are not.
  const std::string id = lower(host.substr(0, dot1));
  const std::string letter = lower(host.substr(dot1 + 1, dot2 - dot1 - 1));
  // A host that is merely a domain ("ingest.example.com") names no entry; one
  // that tries to (an id-like first label or a one-letter second) must be
  // right.
  const bool shaped =
      auth::is_valid_entry_id(id) || letter.size() == 1 || id.find('_') != std::string::npos;
  if (!shaped) return h;
  if (!auth::is_valid_entry_id(id)) {
    h.kind = HostEntry::kBad;
    h.error = "malformed entry id " + quoted(id) + " in " + where + " " + quoted(host) + ": " +
              kEntryRule;
    return h;
  }
  if (!parse_role(letter, h.role)) {
    h.kind = HostEntry::kBad;
    h.error = role_error(letter, where);
    return h;
  }
  h.kind = HostEntry::kFound;
  h.entry = id;
  h.domain_offset = dot2 + 1;
  return h;
}

struct UrlParts {
  std::string scheme;
  std::string host;  // IPv6 without brackets
  bool has_port = false;
  uint16_t port = 0;
  std::string_view path;
  std::string_view query;
};

bool split_url(std::string_view url, UrlParts &out, const char *what, std::string &error) {
  auto fail = [&](const std::string &why) {
    error = std::string("malformed ") + what + ": " + why;
    return false;
  };
  for (size_t i = 0; i < url.size(); ++i) {
    const auto c = static_cast<unsigned char>(url[i]);
    if (c <= 0x20 || c == 0x7f) {
      return fail("a space or control character at offset " + std::to_string(i));
    }
  }
  // An SRT stream id pasted as is holds '#' in the query; anywhere else a
  // '#' would start a fragment, which no encoder sends.
  const size_t hash = url.find('#');
  if (hash != std::string_view::npos) {
    const size_t query = url.find('?');
    const bool srt = lower(url.substr(0, std::min<size_t>(6, url.size()))) == "srt://";
    if (!srt || query == std::string_view::npos || hash < query) {
      return fail("fragments ('#') are not supported");
    }
  }
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return fail("no scheme:// prefix");
  for (size_t i = 0; i < sep; ++i) {
    const char c = url[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha && (i == 0 || !((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))) {
      return fail("invalid scheme " + quoted(url.substr(0, sep)));
    }
  }
  out.scheme = lower(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);
  size_t auth_end = rest.find_first_of("/?");
  if (auth_end == std::string_view::npos) auth_end = rest.size();
  std::string_view authority = rest.substr(0, auth_end);
  if (authority.find('@') != std::string_view::npos) {
    return fail("user credentials before '@' are not supported");
  }
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("no ']' after an IPv6 address");
    const std::string_view v6 = authority.substr(1, close - 1);
    if (!is_ipv6(v6)) return fail("invalid IPv6 address " + quoted(v6));
    out.host = std::string(v6);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected " + quoted(after) + " after ']'");
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    const std::string_view host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (host.empty()) return fail("no host");
    if (host.size() > kMaxHostLength) return fail("the host is longer than 253 characters");
    for (char c : host) {
      if (!is_word_char(c) && c != '.')
        return fail("invalid character in the host " + quoted(host));
    }
    out.host = std::string(host);
  }
  out.has_port = has_port;
  if (has_port) {
    unsigned value = 0;
    bool ok = !port_text.empty() && port_text.size() <= 5;
    for (char c : port_text) {
      if (c < '0' || c > '9') ok = false;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (!ok || value == 0 || value > 65535) return fail("invalid port " + quoted(port_text));
    out.port = static_cast<uint16_t>(value);
  }
  const Split pq = split_query(rest.substr(auth_end));
  out.path = pq.before;
  out.query = pq.query;
  return true;
}

std::string no_entry_message(std::string_view host, bool have_host, std::string_view app) {
  const std::string seg = "{entryId}.{p|b}";
  if (!have_host) {
    return "no entry id found: no tcUrl host, and the app " + quoted(app) + " has no " + seg +
           " segment (e.g. kLive/1_abcd1234.p)";
  }
  if (is_single_host(host)) {
    return "no entry id found: a connection to the address " + quoted(host) +
           " needs the entry in the path, /" + std::string(app) + "/" + seg + "/";
  }
  return "no entry id found: the host " + quoted(host) + " is not " + seg +
         ".{domain} and the app " + quoted(app) + " has no " + seg + " segment";
}

enum class Resolved { kOk, kError, kNone };

// Picks the entry from a path segment and/or the host, which must agree.
Resolved resolve_entry(bool path_has_entry, const std::string &path_entry, Role path_role,
                       const HostEntry &host, const char *path_where, const char *host_where,
                       std::string &entry, Role &role, std::string &error) {
  if (path_has_entry) {
    if (host.kind == HostEntry::kFound && (host.entry != path_entry || host.role != path_role)) {
      error = std::string("conflicting entries: ") + path_where + " names " + path_entry + "." +
              role_letter(path_role) + " but " + host_where + " names " + host.entry + "." +
              role_letter(host.role);
      return Resolved::kError;
    }
    entry = path_entry;
    role = path_role;
    return Resolved::kOk;
  }
  if (host.kind == HostEntry::kFound) {
    entry = host.entry;
    role = host.role;
    return Resolved::kOk;
  }
  if (host.kind == HostEntry::kBad) {
    error = host.error;
    return Resolved::kError;
  }
  return Resolved::kNone;
}

bool validate_stream_name(std::string_view raw, const char *where, std::string &name,
                          std::string &error) {
  if (const char *why = percent_decode(raw, name)) {
    error = std::string("bad percent-escape in ") + where + " " + quoted(raw) + ": " + why;
    return false;
  }
  if (name.empty()) {
    error = std::string("the stream name is empty in ") + where +
            ": it goes in the encoder's stream key, e.g. 1";
    return false;
  }
  if (!auth::is_valid_stream_name(name)) {
    error = "invalid stream name " + quoted(name) + " in " + where + ": " + kStreamRule;
    return false;
  }
  return true;
}

bool valid_domain(std::string_view host, std::string &why) {
  if (host.empty()) {
    why = "empty";
    return false;
  }
  size_t start = 0;
  bool all_digits = true;
  while (true) {
    size_t end = host.find('.', start);
    if (end == std::string_view::npos) end = host.size();
    const std::string_view label = host.substr(start, end - start);
    if (label.empty() || label.size() > 63) {
      why = "each dot-separated label needs 1 to 63 characters";
      return false;
    }
    all_digits = true;
    for (char c : label) {
      const bool digit = c >= '0' && c <= '9';
      all_digits = all_digits && digit;
      if (!digit && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && c != '-') {
        why = "a domain holds only letters, digits, '-' and '.'";
        return false;
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      why = "a label cannot start or end with '-'";
      return false;
    }
    if (end == host.size()) break;
    start = end + 1;
  }
  if (all_digits) {
    why = "not a valid IPv4 address, nor a domain (its last label is all digits)";
    return false;
  }
  return true;
}

// srt://host:port[/][?streamid=I&...] or srt://host:port with the stream id
// given apart. The stream id names the entry; a production host, if any,
// must name the same one.
bool parse_srt_url(const UrlParts &u, std::string_view stream_id, ParsedUrl &parsed,
                   std::string &error) {
  if (!u.path.empty() && u.path != "/") {
    error = "unexpected path " + quoted(u.path) +
            " in the SRT URL: srt://host:port takes the stream id in streamid=";
    return false;
  }
  std::string from_query;
  bool in_query = false;
  size_t count = 0;
  size_t start = 0;
  while (start <= u.query.size()) {
    size_t end = u.query.find('&', start);
    if (end == std::string_view::npos) end = u.query.size();
    const std::string_view param = u.query.substr(start, end - start);
    start = end + 1;
    if (param.empty()) continue;
    if (++count > kMaxQueryParams) {
      error = "malformed query in the SRT URL: more than " + std::to_string(kMaxQueryParams) +
              " parameters";
      return false;
    }
    const size_t eq = param.find('=');
    if (param.substr(0, eq) != "streamid") continue;
    if (in_query) {
      error = "the SRT URL gives streamid= twice";
      return false;
    }
    in_query = true;
    if (eq == std::string_view::npos) continue;
    if (const char *why = percent_decode(param.substr(eq + 1), from_query)) {
      error = std::string("bad percent-escape in the SRT URL's streamid: ") + why;
      return false;
    }
  }
  if (in_query && !stream_id.empty()) {
    error = "the stream id is given twice: in the URL's streamid= and apart from it";
    return false;
  }
  const std::string_view sid = in_query ? std::string_view(from_query) : stream_id;
  StreamIdRefusal refusal;
  if (!parse_srt_stream_id(sid, parsed.target, refusal, error)) return false;
  const HostEntry host = examine_host(u.host, "the URL host");
  if (host.kind == HostEntry::kBad) {
    error = host.error;
    return false;
  }
  if (host.kind == HostEntry::kFound &&
      (host.entry != parsed.target.entry_id || host.role != parsed.target.role)) {
    error = "conflicting entries: the stream id names " + parsed.target.entry_id + "." +
            role_letter(parsed.target.role) + " but the URL host names " + host.entry + "." +
            role_letter(host.role);
    return false;
  }
  parsed.host = host.kind == HostEntry::kFound ? u.host.substr(host.domain_offset) : u.host;
  return true;
}

}  // namespace

uint16_t default_port(Scheme scheme) {
  switch (scheme) {
    case Scheme::Rtmps:
      return kDefaultRtmpsPort;
    case Scheme::Srt:
      return kDefaultSrtPort;
    default:
      return kDefaultRtmpPort;
  }
}

const char *role_letter(Role role) {
  return role == Role::Backup ? "b" : "p";
}

const char *role_name(Role role) {
  return role == Role::Backup ? "backup" : "primary";
}

const char *scheme_name(Scheme scheme) {
  switch (scheme) {
    case Scheme::Rtmps:
      return "rtmps";
    case Scheme::Srt:
      return "srt";
    default:
      return "rtmp";
  }
}

bool is_single_host(std::string_view host) {
  if (lower(host) == "localhost") return true;
  if (is_ipv4(host)) return true;
  return is_ipv6(strip_brackets(host));
}

bool build(const BuildOptions &options, std::string_view entry_id, Role role,
           std::string_view token, std::string_view stream_name, Endpoint &out,
           std::string &error) {
  out = Endpoint{};
  if (role != Role::Primary && role != Role::Backup) {
    error = "invalid role";
    return false;
  }
  if (options.scheme != Scheme::Rtmp && options.scheme != Scheme::Rtmps &&
      options.scheme != Scheme::Srt) {
    error = "invalid scheme";
    return false;
  }
  if (!auth::is_valid_entry_id(entry_id)) {
    error = "invalid entry id " + quoted(entry_id) + ": " + kEntryRule;
    return false;
  }
  if (!token.empty() && !auth::is_valid_token(token)) {
    error = std::string("invalid token: ") + kTokenRule;
    return false;
  }
  if (!auth::is_valid_stream_name(stream_name)) {
    error = "invalid stream name " + quoted(stream_name) + ": " + kStreamRule;
    return false;
  }
  if (!is_valid_app(options.app)) {
    error = "invalid app " + quoted(options.app) + ": use 1 to 64 characters of A-Z a-z 0-9 _ -";
    return false;
  }
  if (options.app == "ondemand") {
    error = "invalid app 'ondemand': FFmpeg and librtmp treat everything after it as the stream";
    return false;
  }
  const uint16_t port = options.port ? options.port : default_port(options.scheme);
  const std::string_view host = options.host;
  const std::string prefix = std::string(scheme_name(options.scheme)) + "://";
  const std::string entry = std::string(entry_id) + "." + role_letter(role);
  const std::string query = token.empty() ? std::string() : "?t=" + std::string(token);

  std::string authority;
  std::string path;  // between the app and the stream name, with its slashes
  if (is_single_host(host)) {
    const std::string_view bare = strip_brackets(host);
    authority = is_ipv6(bare) ? "[" + std::string(bare) + "]" : std::string(bare);
    path = "/" + options.app + "/" + entry + "/";
  } else {
    std::string why;
    if (!valid_domain(host, why)) {
      error = "invalid host " + quoted(host) + ": " + why;
      return false;
    }
    authority = entry + "." + std::string(host);
    if (authority.size() > kMaxHostLength) {
      error =
          "invalid host " + quoted(host) + ": with the entry and role it exceeds 253 characters";
      return false;
    }
    path = "/" + options.app + "/";
  }
  if (options.scheme == Scheme::Srt) {
    // SRT has no path: the stream id names the entry, whatever the host.
    out.url = prefix + authority + ":" + std::to_string(port);
    out.stream_name = build_srt_stream_id(entry_id, role, token, stream_name);
    out.ffmpeg_url = out.url + "?streamid=" + percent_encode(out.stream_name);
    return true;
  }
  const std::string base = prefix + authority + ":" + std::to_string(port) + path;
  out.url = base + query;
  out.stream_name = std::string(stream_name);
  out.ffmpeg_url = base + std::string(stream_name) + query;
  return true;
}

Endpoint build(const BuildOptions &options, std::string_view entry_id, Role role,
               std::string_view token, std::string_view stream_name) {
  Endpoint out;
  std::string error;
  if (!build(options, entry_id, role, token, stream_name, out, error)) return Endpoint{};
  return out;
}

bool parse_publish(std::string_view tc_url, std::string_view app, std::string_view stream,
                   PublishTarget &out, std::string &error) {
  if (tc_url.size() > kMaxUrlLength) {
    error = "the tcUrl is too long (" + std::to_string(tc_url.size()) + " bytes, at most " +
            std::to_string(kMaxUrlLength) + ")";
    return false;
  }
  if (app.size() > kMaxUrlLength) {
    error = "the app is too long (" + std::to_string(app.size()) + " bytes, at most " +
            std::to_string(kMaxUrlLength) + ")";
    return false;
  }
  if (stream.size() > kMaxStreamLength) {
    error = "the stream name is too long (" + std::to_string(stream.size()) + " bytes, at most " +
            std::to_string(kMaxStreamLength) + ")";
    return false;
  }
  PublishTarget target;
  Tokens tokens;

  const Split s = split_query(stream);
  if (!validate_stream_name(s.before, "the published stream name", target.stream_name, error) ||
      !tokens.add_query(s.query, "the stream name", error)) {
    return false;
  }

  const Split a = split_query(app);
  std::vector<std::string> segs;
  if (!split_segments(a.before, segs, "the app", error)) return false;
  if (segs.empty()) {
    error = "the app is empty: the URL needs a path such as /kLive/";
    return false;
  }
  if (!is_valid_app(segs[0])) {
    error =
        "invalid app name " + quoted(segs[0]) + ": expected 1 to 64 characters of A-Z a-z 0-9 _ -";
    return false;
  }
  if (segs.size() > 2) {
    error = "unexpected segment " + quoted(segs[2]) + " in the app " + quoted(a.before) +
            ": expected {app} or {app}/{entryId}.{p|b}";
    return false;
  }
  if (!tokens.add_query(a.query, "the app", error)) return false;
  target.app = segs[0];

  UrlParts tc;
  const bool have_tc = !tc_url.empty();
  if (have_tc) {
    if (!split_url(tc_url, tc, "tcUrl", error)) return false;
    if (!tokens.add_query(tc.query, "the tcUrl", error)) return false;
  }

  std::string path_entry;
  Role path_role = Role::Primary;
  const bool path_has_entry = segs.size() == 2;
  if (path_has_entry && !parse_entry_segment(segs[1], "the app", path_entry, path_role, error)) {
    return false;
  }
  const HostEntry host = examine_host(tc.host, "the tcUrl host");
  switch (resolve_entry(path_has_entry, path_entry, path_role, host, "the app", "the tcUrl host",
                        target.entry_id, target.role, error)) {
    case Resolved::kOk:
      break;
    case Resolved::kError:
      return false;
    case Resolved::kNone:
      error = no_entry_message(tc.host, have_tc, a.before);
      return false;
  }
  target.token = tokens.value();
  out = std::move(target);
  return true;
}

bool parse_url(std::string_view url, std::string_view stream_name, ParsedUrl &out,
               std::string &error) {
  if (url.size() > kMaxUrlLength) {
    error = "the URL is too long (" + std::to_string(url.size()) + " bytes, at most " +
            std::to_string(kMaxUrlLength) + ")";
    return false;
  }
  if (stream_name.size() > kMaxStreamLength) {
    error = "the stream key is too long (" + std::to_string(stream_name.size()) +
            " bytes, at most " + std::to_string(kMaxStreamLength) + ")";
    return false;
  }
  UrlParts u;
  if (!split_url(url, u, "URL", error)) return false;
  ParsedUrl parsed;
  if (u.scheme == "rtmp") {
    parsed.scheme = Scheme::Rtmp;
  } else if (u.scheme == "rtmps") {
    parsed.scheme = Scheme::Rtmps;
  } else if (u.scheme == "srt") {
    parsed.scheme = Scheme::Srt;
  } else {
    error = "unsupported scheme " + quoted(u.scheme) + ": expected rtmp, rtmps or srt";
    return false;
  }
  parsed.port = u.has_port ? u.port : default_port(parsed.scheme);
  if (parsed.scheme == Scheme::Srt) {
    if (!parse_srt_url(u, stream_name, parsed, error)) return false;
    out = std::move(parsed);
    return true;
  }

  std::vector<std::string> segs;
  if (!split_segments(u.path, segs, "the URL path", error)) return false;
  if (segs.empty()) {
    error = "the URL has no application path: expected /{app}/, e.g. /kLive/";
    return false;
  }
  if (!is_valid_app(segs[0])) {
    error =
        "invalid app name " + quoted(segs[0]) + ": expected 1 to 64 characters of A-Z a-z 0-9 _ -";
    return false;
  }
  parsed.app = segs[0];

  // With three segments the middle one is the entry; with two, a '.' tells
  // an entry segment from a stream name, which never holds one.
  size_t next = 1;
  std::string path_entry;
  Role path_role = Role::Primary;
  const bool path_has_entry =
      segs.size() > 2 || (segs.size() == 2 && segs[1].find('.') != std::string::npos);
  if (path_has_entry) {
    if (!parse_entry_segment(segs[1], "the URL path", path_entry, path_role, error)) return false;
    next = 2;
  }
  if (segs.size() > next + 1) {
    error = "unexpected path segment " + quoted(segs[next + 1]) +
            " in the URL: expected /{app}/[{entryId}.{p|b}/][{stream}]";
    return false;
  }

  Tokens tokens;
  if (!tokens.add_query(u.query, "the URL", error)) return false;
  const Split key = split_query(stream_name);
  const bool key_given = !stream_name.empty();
  const bool path_stream = segs.size() == next + 1;
  if (path_stream && key_given) {
    error = "the stream name is given twice: as the URL's last path segment " + quoted(segs[next]) +
            " and as the stream key " + quoted(key.before);
    return false;
  }
  if (!path_stream && !key_given) {
    error = "no stream name: give it as the stream key or as the URL's last path segment";
    return false;
  }
  if (path_stream) {
    // Already percent-decoded with its segment.
    if (!auth::is_valid_stream_name(segs[next])) {
      error = "invalid stream name " + quoted(segs[next]) + " in the URL path: " + kStreamRule;
      return false;
    }
    parsed.target.stream_name = segs[next];
  } else if (!validate_stream_name(key.before, "the stream key", parsed.target.stream_name,
                                   error) ||
             !tokens.add_query(key.query, "the stream key", error)) {
    return false;
  }

  const HostEntry host = examine_host(u.host, "the URL host");
  switch (resolve_entry(path_has_entry, path_entry, path_role, host, "the URL path", "the URL host",
                        parsed.target.entry_id, parsed.target.role, error)) {
    case Resolved::kOk:
      break;
    case Resolved::kError:
      return false;
    case Resolved::kNone:
      error = is_single_host(u.host)
                  ? "no entry id found: a URL to the address " + quoted(u.host) +
                        " needs the entry in the path, /" + parsed.app + "/{entryId}.{p|b}/"
                  : "no entry id found: the host " + quoted(u.host) +
                        " is not {entryId}.{p|b}.{domain} and the path has no {entryId}.{p|b} "
                        "segment";
      return false;
  }
  parsed.host = host.kind == HostEntry::kFound ? u.host.substr(host.domain_offset) : u.host;
  parsed.target.token = tokens.value();
  parsed.target.app = parsed.app;
  out = std::move(parsed);
  return true;
}

}  // namespace lg::url
