/*
 * LiveGate — endpoint URLs: the builder for every URL an encoder needs and
 * the parser that is its exact inverse.
 *
 * Two forms are built:
 *   - production, for a DNS domain:
 *       rtmp://{entryId}.{p|b}.{domain}:1935/kLive/?t={token}   stream name "1"
 *   - single host, for an IP address or localhost (no DNS needed):
 *       rtmp://{host}:{port}/kLive/{entryId}.{p|b}/?t={token}    stream name "1"
 * RTMPS URLs are the same with rtmps:// and port 443. Each endpoint also has
 * an "ffmpeg" form: one URL that `ffmpeg -f flv URL` publishes to as is.
 *
 * SRT endpoints (LG_SCHEME_SRT, port 9000 by default) have no path; a stream
 * id in the SRT Access Control syntax names entry, role and stream and
 * carries the token:
 *       url          srt://{entryId}.{p|b}.{domain}:9000   (or srt://{host}:{port})
 *       stream_name  #!::r={entryId}.{p|b}/{stream},m=publish,livegate_token={token}
 *       ffmpeg_url   url?streamid={the stream id, percent-encoded}
 * For SRT, lg_url_build's `stream_name` output is that stream id, and
 * lg_url_parse takes it back the same way: as `stream_name`, or inside the
 * URL as streamid= (percent-encoded or pasted as is, as OBS users do).
 *
 * All functions here are pure and thread-safe.
 */
#ifndef LIVEGATE_URL_H
#define LIVEGATE_URL_H

#include "livegate/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lg_role { LG_ROLE_PRIMARY = 0, LG_ROLE_BACKUP = 1 } lg_role;
typedef enum lg_scheme { LG_SCHEME_RTMP = 0, LG_SCHEME_RTMPS = 1, LG_SCHEME_SRT = 2 } lg_scheme;

/* "primary" / "backup". Static storage. */
LG_API const char *lg_role_name(lg_role role);

typedef struct lg_url_options {
  size_t struct_size; /* set by lg_url_options_init */
  const char *host;   /* domain (production form) or IP/localhost (single host) */
  uint16_t port;      /* 0 (default): the scheme's own: 1935 RTMP, 443 RTMPS, 9000 SRT */
  lg_scheme scheme;   /* default LG_SCHEME_RTMP */
  const char *app;    /* default "kLive" */
} lg_url_options;

/* Fills defaults: host "localhost", port 0 (the scheme's), RTMP, app "kLive". */
LG_API void lg_url_options_init(lg_url_options *opts);

/*
 * Builds one endpoint. On success *url, *stream_name and *ffmpeg_url (each
 * may be NULL if not wanted) point to new strings that the caller frees with
 * lg_free(). `url` + `stream_name` go into an encoder's "Server" and "Stream
 * Key" fields; `ffmpeg_url` is a single URL for `ffmpeg -f flv`.
 */
LG_API lg_status lg_url_build(char **url, char **stream_name, char **ffmpeg_url,
                              const lg_url_options *opts, const char *entry_id, lg_role role,
                              const char *token, const char *stream);

#define LG_ENTRY_ID_MAX 32
#define LG_TOKEN_MAX 128
#define LG_STREAM_NAME_MAX 64
#define LG_HOST_MAX 256

/* What a URL (or what an encoder sent) names. Strings are NUL-terminated. */
typedef struct lg_url_target {
  size_t struct_size; /* set by the caller to sizeof(lg_url_target) */
  lg_scheme scheme;
  char host[LG_HOST_MAX + 1];
  uint16_t port;
  char entry_id[LG_ENTRY_ID_MAX + 1];
  lg_role role;
  char token[LG_TOKEN_MAX + 1]; /* empty if the URL carries none */
  char stream_name[LG_STREAM_NAME_MAX + 1];
} lg_url_target;

/*
 * Parses a URL that lg_url_build produced: either `url` with `stream_name`,
 * or `ffmpeg_url` with stream_name NULL or "". On failure returns LG_E_URL
 * and, if error/error_size are given, a precise reason in `error`.
 */
LG_API lg_status lg_url_parse(lg_url_target *out, const char *url, const char *stream_name,
                              char *error, size_t error_size);

/* Frees memory that LiveGate allocated for the caller. NULL is a no-op. */
LG_API void lg_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* LIVEGATE_URL_H */
