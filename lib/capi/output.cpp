#include "livegate/output.h"

#include <cstddef>
#include <cstring>

#include "capi/guard.h"
#include "capi/handles.h"

using lg::capi::guard;

extern "C" {

LG_API lg_status lg_server_get_hls_info(lg_server *server, const char *entry_id,
                                        const char *stream_name, lg_hls_info *info) {
  return guard([&]() -> lg_status {
    if (!server || !entry_id || !stream_name || !info ||
        info->struct_size < offsetof(lg_hls_info, broadcast)) {
      return LG_E_INVALID_ARG;
    }
    return LG_E_NOT_FOUND;
  });
}

LG_API lg_status lg_server_set_outputs(lg_server *server, const char *entry_id, int dvr,
                                       int recording) {
  return guard([&]() -> lg_status {
    if (!server || !entry_id) return LG_E_INVALID_ARG;
    return server->server->store().set_outputs(entry_id, dvr != 0, recording != 0);
  });
}

LG_API lg_status lg_server_request_clip(lg_server *server, const lg_clip_request *request,
                                        uint64_t *clip_id) {
  return guard([&]() -> lg_status {
    if (!server || !request || !clip_id || request->struct_size < sizeof(lg_clip_request) ||
        !request->entry_id || !request->stream_name) {
      return LG_E_INVALID_ARG;
    }
    return LG_E_UNSUPPORTED;
  });
}

}  // extern "C"
