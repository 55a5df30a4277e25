/*
 * LiveGate — common definitions: export macro, version, status codes, logging.
 *
 * Every public header of LiveGate includes this one. It compiles as C99 and
 * as C++.
 */
#ifndef LIVEGATE_COMMON_H
#define LIVEGATE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(LG_BUILDING_LIBRARY)
#define LG_API __declspec(dllexport)
#else
#define LG_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define LG_API __attribute__((visibility("default")))
#else
#define LG_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define LG_VERSION_MAJOR 0
#define LG_VERSION_MINOR 1
#define LG_VERSION_PATCH 0
#define LG_VERSION_HEX ((LG_VERSION_MAJOR << 16) | (LG_VERSION_MINOR << 8) | LG_VERSION_PATCH)

/* The version of the library actually loaded, as LG_VERSION_HEX would give. */
LG_API unsigned lg_version(void);
/* The same as a string, "MAJOR.MINOR.PATCH". Static storage; never free it. */
LG_API const char *lg_version_string(void);

/*
 * Status codes. 0 is success; errors are negative and are never renumbered.
 * New codes are only ever appended.
 */
typedef enum lg_status {
  LG_OK = 0,
  LG_E_INVALID_ARG = -1,       /* an argument is NULL, out of range or malformed */
  LG_E_NOT_FOUND = -2,         /* no such entry, session or object */
  LG_E_EXISTS = -3,            /* the object already exists */
  LG_E_NOMEM = -4,             /* out of memory */
  LG_E_IO = -5,                /* a system or file error */
  LG_E_PROTOCOL = -6,          /* the peer broke the protocol */
  LG_E_AUTH = -7,              /* refused: missing, wrong or revoked token */
  LG_E_LIMIT = -8,             /* a configured limit was reached */
  LG_E_STATE = -9,             /* the call is not valid in the object's state */
  LG_E_STORE = -10,            /* the entry store (SQLite) failed */
  LG_E_URL = -11,              /* a URL or stream name could not be parsed */
  LG_E_INTERNAL = -12,         /* a bug in LiveGate; please report it */
  LG_E_UNSUPPORTED = -13,      /* not supported (codec, protocol or option) */
  LG_E_TIMEOUT = -14,          /* an operation took longer than its limit */
  LG_E_BUFFER_TOO_SMALL = -15, /* the caller's buffer is too small */
  LG_E_CLOSED = -16,           /* the object was closed or destroyed */
  LG_E_ADDR_IN_USE = -17,      /* the listen address is taken */
  LG_E_TLS = -18               /* TLS failed: handshake, certificate or record error */
} lg_status;

/* A short English description of a status. Static storage; never free it. */
LG_API const char *lg_strerror(lg_status status);
/* The symbolic name of a status, e.g. "LG_E_AUTH". Static storage. */
LG_API const char *lg_status_name(lg_status status);

typedef enum lg_log_level {
  LG_LOG_ERROR = 0,
  LG_LOG_WARN = 1,
  LG_LOG_INFO = 2,
  LG_LOG_DEBUG = 3,
  LG_LOG_TRACE = 4
} lg_log_level;

/*
 * Log sink. LiveGate never prints: every message goes to a callback that the
 * host registers (per server, in its options). `message` is valid only during
 * the call and has no trailing newline.
 */
typedef void (*lg_log_fn)(void *user, lg_log_level level, const char *message);

/* The name of a log level ("error", "warn", ...). Static storage. */
LG_API const char *lg_log_level_name(lg_log_level level);

#ifdef __cplusplus
}
#endif

#endif /* LIVEGATE_COMMON_H */
