#include "livegate/common.h"

extern "C" {

LG_API const char *lg_strerror(lg_status status) {
  switch (status) {
    case LG_OK:
      return "success";
    case LG_E_INVALID_ARG:
      return "invalid argument";
    case LG_E_NOT_FOUND:
      return "not found";
    case LG_E_EXISTS:
      return "already exists";
    case LG_E_NOMEM:
      return "out of memory";
    case LG_E_IO:
      return "input/output error";
    case LG_E_PROTOCOL:
      return "protocol error";
    case LG_E_AUTH:
      return "authentication failed";
    case LG_E_LIMIT:
      return "limit reached";
    case LG_E_STATE:
      return "invalid state for this call";
    case LG_E_STORE:
      return "entry store error";
    case LG_E_URL:
      return "malformed URL or stream name";
    case LG_E_INTERNAL:
      return "internal error";
    case LG_E_UNSUPPORTED:
      return "not supported";
    case LG_E_TIMEOUT:
      return "timed out";
    case LG_E_BUFFER_TOO_SMALL:
      return "buffer too small";
    case LG_E_CLOSED:
      return "closed";
    case LG_E_ADDR_IN_USE:
      return "address already in use";
    case LG_E_TLS:
      return "TLS failure";
  }
  return "unknown status";
}

LG_API const char *lg_status_name(lg_status status) {
  switch (status) {
    case LG_OK:
      return "LG_OK";
    case LG_E_INVALID_ARG:
      return "LG_E_INVALID_ARG";
    case LG_E_NOT_FOUND:
      return "LG_E_NOT_FOUND";
    case LG_E_EXISTS:
      return "LG_E_EXISTS";
    case LG_E_NOMEM:
      return "LG_E_NOMEM";
    case LG_E_IO:
      return "LG_E_IO";
    case LG_E_PROTOCOL:
      return "LG_E_PROTOCOL";
    case LG_E_AUTH:
      return "LG_E_AUTH";
    case LG_E_LIMIT:
      return "LG_E_LIMIT";
    case LG_E_STATE:
      return "LG_E_STATE";
    case LG_E_STORE:
      return "LG_E_STORE";
    case LG_E_URL:
      return "LG_E_URL";
    case LG_E_INTERNAL:
      return "LG_E_INTERNAL";
    case LG_E_UNSUPPORTED:
      return "LG_E_UNSUPPORTED";
    case LG_E_TIMEOUT:
      return "LG_E_TIMEOUT";
    case LG_E_BUFFER_TOO_SMALL:
      return "LG_E_BUFFER_TOO_SMALL";
    case LG_E_CLOSED:
      return "LG_E_CLOSED";
    case LG_E_ADDR_IN_USE:
      return "LG_E_ADDR_IN_USE";
    case LG_E_TLS:
      return "LG_E_TLS";
  }
  return "LG_E_UNKNOWN";
}

LG_API const char *lg_log_level_name(lg_log_level level) {
  switch (level) {
    case LG_LOG_ERROR:
      return "error";
    case LG_LOG_WARN:
      return "warn";
    case LG_LOG_INFO:
      return "info";
    case LG_LOG_DEBUG:
      return "debug";
    case LG_LOG_TRACE:
      return "trace";
  }
  return "unknown";
}

LG_API unsigned lg_version(void) {
  return LG_VERSION_HEX;
}

#define LG_STR2(x) #x
#define LG_STR(x) LG_STR2(x)
LG_API const char *lg_version_string(void) {
  return LG_STR(LG_VERSION_MAJOR) "." LG_STR(LG_VERSION_MINOR) "." LG_STR(LG_VERSION_PATCH);
}

}  // extern "C"
