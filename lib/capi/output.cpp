#include "livegate/output.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>

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
    if (!server->packager) return LG_E_NOT_FOUND;
    lg::pack::HlsInfo in;
    const lg_status rc = server->packager->hls_info(entry_id, stream_name, in);
    if (rc != LG_OK) return rc;
    lg_hls_info full{};
    full.struct_size = info->struct_size;
    full.live = in.live ? 1 : 0;
    full.dvr_enabled = in.dvr ? 1 : 0;
    full.recording_enabled = in.recording ? 1 : 0;
    full.format = in.format == lg::pack::Format::Fmp4 ? LG_SEGMENT_FMP4 : LG_SEGMENT_TS;
    full.first_sequence = in.first_sequence;
    full.last_sequence = in.last_sequence;
    full.segment_count = in.segment_count;
    full.window_ms = static_cast<uint64_t>(in.window_us / 1000);
    full.window_start_unix_ms = in.window_start_unix_ms;
    full.peak_bandwidth_bps = in.peak_bandwidth_bps;
    full.frames_dropped = in.frames_dropped;
    lg::capi::copy_out(full.broadcast, sizeof(full.broadcast), in.broadcast);
    std::memcpy(info, &full, std::min(info->struct_size, sizeof(full)));
    return LG_OK;
  });
}

LG_API lg_status lg_server_set_outputs(lg_server *server, const char *entry_id, int dvr,
                                       int recording) {
  return guard([&]() -> lg_status {
    if (!server || !entry_id) return LG_E_INVALID_ARG;
    if (server->packager) return server->packager->set_outputs(entry_id, dvr != 0, recording != 0);
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
    if (!server->packager) return LG_E_UNSUPPORTED;
    lg::pack::ClipRequest r;
    r.entry_id = request->entry_id;
    r.stream_name = request->stream_name;
    if (request->broadcast) r.broadcast = request->broadcast;
    r.start_ms = request->start_ms;
    r.end_ms = request->end_ms;
    std::string error;
    const lg_status rc = server->packager->request_clip(r, *clip_id, error);
    if (rc != LG_OK) server->server->log().warn("clip refused: {}", error);
    return rc;
  });
}

}  // extern "C"
