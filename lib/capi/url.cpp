#include "livegate/url.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "capi/guard.h"
#include "url/endpoint.h"

using lg::capi::copy_out;
using lg::capi::guard;

namespace {

char *dup_string(const std::string &s) {
  char *p = static_cast<char *>(std::malloc(s.size() + 1));
  if (!p) throw std::bad_alloc();
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

}  // namespace

extern "C" {

LG_API const char *lg_role_name(lg_role role) {
  return role == LG_ROLE_BACKUP ? "backup" : "primary";
}

LG_API void lg_url_options_init(lg_url_options *opts) {
  if (!opts) return;
  std::memset(opts, 0, sizeof(*opts));
  opts->struct_size = sizeof(*opts);
  opts->host = "localhost";
  opts->port = 0;
  opts->scheme = LG_SCHEME_RTMP;
  opts->app = "kLive";
}

LG_API lg_status lg_url_build(char **url, char **stream_name, char **ffmpeg_url,
                              const lg_url_options *opts, const char *entry_id, lg_role role,
                              const char *token, const char *stream) {
  return guard([&]() -> lg_status {
    if (url) *url = nullptr;
    if (stream_name) *stream_name = nullptr;
    if (ffmpeg_url) *ffmpeg_url = nullptr;
    if (!opts || opts->struct_size < sizeof(lg_url_options) || !opts->host || !entry_id || !token ||
        !stream || (role != LG_ROLE_PRIMARY && role != LG_ROLE_BACKUP)) {
      return LG_E_INVALID_ARG;
    }
    lg::url::BuildOptions build;
    build.host = opts->host;
    build.port = opts->port;
    switch (opts->scheme) {
      case LG_SCHEME_RTMP:
        build.scheme = lg::url::Scheme::Rtmp;
        break;
      case LG_SCHEME_RTMPS:
        build.scheme = lg::url::Scheme::Rtmps;
        break;
      case LG_SCHEME_SRT:
        build.scheme = lg::url::Scheme::Srt;
        break;
      default:
        return LG_E_INVALID_ARG;
    }
    if (opts->app && *opts->app) build.app = opts->app;
    lg::url::Endpoint ep;
    std::string error;
    if (!lg::url::build(build, entry_id,
                        role == LG_ROLE_BACKUP ? lg::url::Role::Backup : lg::url::Role::Primary,
                        token, stream, ep, error)) {
      return LG_E_INVALID_ARG;
    }
    char *a = url ? dup_string(ep.url) : nullptr;
    char *b = stream_name ? dup_string(ep.stream_name) : nullptr;
    char *c = ffmpeg_url ? dup_string(ep.ffmpeg_url) : nullptr;
    if (url) *url = a;
    if (stream_name) *stream_name = b;
    if (ffmpeg_url) *ffmpeg_url = c;
    return LG_OK;
  });
}

LG_API lg_status lg_url_parse(lg_url_target *out, const char *url, const char *stream_name,
                              char *error, size_t error_size) {
  return guard([&]() -> lg_status {
    if (!out || out->struct_size < sizeof(lg_url_target) || !url) return LG_E_INVALID_ARG;
    lg::url::ParsedUrl parsed;
    std::string why;
    if (!lg::url::parse_url(url, stream_name ? stream_name : "", parsed, why)) {
      copy_out(error, error_size, why);
      return LG_E_URL;
    }
    const size_t size = out->struct_size;
    std::memset(out, 0, sizeof(*out));
    out->struct_size = size;
    out->scheme = parsed.scheme == lg::url::Scheme::Rtmps ? LG_SCHEME_RTMPS
                  : parsed.scheme == lg::url::Scheme::Srt ? LG_SCHEME_SRT
                                                          : LG_SCHEME_RTMP;
    out->port = parsed.port;
    out->role = parsed.target.role == lg::url::Role::Backup ? LG_ROLE_BACKUP : LG_ROLE_PRIMARY;
    if (!copy_out(out->host, sizeof(out->host), parsed.host) ||
        !copy_out(out->entry_id, sizeof(out->entry_id), parsed.target.entry_id) ||
        !copy_out(out->token, sizeof(out->token), parsed.target.token) ||
        !copy_out(out->stream_name, sizeof(out->stream_name), parsed.target.stream_name)) {
      copy_out(error, error_size, "a URL component is longer than its limit");
      return LG_E_URL;
    }
    copy_out(error, error_size, "");
    return LG_OK;
  });
}

LG_API void lg_free(void *ptr) {
  std::free(ptr);
}

}  // extern "C"
