#include "livegate/failover.h"

#include <cstring>
#include <string>

#include "capi/guard.h"
#include "capi/handles.h"
#include "core/clock.h"
#include "failover/router.h"

using lg::capi::guard;

namespace {}  // namespace

extern "C" {

LG_API const char *lg_input_fault_name(lg_input_fault fault) {
  if (fault < LG_FAULT_NONE || fault > LG_FAULT_SILENT) return "unknown";
  return lg::failover::fault_name(static_cast<lg::failover::Fault>(fault));
}

LG_API const char *lg_switch_kind_name(lg_switch_kind kind) {
  if (kind < LG_SWITCH_FAILOVER || kind > LG_SWITCH_RESUME) return "unknown";
  return lg::failover::switch_kind_name(static_cast<lg::failover::SwitchKind>(kind));
}

LG_API lg_status lg_server_get_failover_stats(lg_server *server, const char *entry_id,
                                              const char *stream_name, lg_failover_stats *stats) {
  return guard([&]() -> lg_status {
    if (!server || !entry_id || !stream_name || !stats ||
        stats->struct_size < offsetof(lg_failover_stats, open) + sizeof(int)) {
      return LG_E_INVALID_ARG;
    }
    lg::failover::SelectorStats s;
    lg_status rc = LG_E_NOT_FOUND;
    int64_t now = 0;
    server->server->call([&] {
      now = lg::core::steady_us();
      rc = server->router->stats(entry_id, stream_name, s, now);
    });
    if (rc != LG_OK) return rc;
    lg_failover_stats c{};
    c.struct_size = stats->struct_size;
    c.open = s.open ? 1 : 0;
    c.has_active = s.has_active ? 1 : 0;
    c.active = lg::capi::role_to_c(s.active);
    c.primary_present = s.present[0] ? 1 : 0;
    c.backup_present = s.present[1] ? 1 : 0;
    c.primary_fault = static_cast<lg_input_fault>(s.fault[0]);
    c.backup_fault = static_cast<lg_input_fault>(s.fault[1]);
    c.switches = s.switches;
    c.resumes = s.resumes;
    if (s.has_last) {
      c.last_kind = static_cast<lg_switch_kind>(s.last.kind);
      c.last_fault = static_cast<lg_input_fault>(s.last.fault);
      c.last_unix_ms = lg::core::unix_ms() - (now - s.last_switch_us) / 1000;
      c.last_gap_ms = s.last.gap_ms;
      c.last_lost_ms = s.last.lost_ms;
    }
    c.max_gap_ms = s.max_gap_ms;
    c.backup_ms = static_cast<uint64_t>(s.backup_us / 1000);
    c.frames_out = s.frames_out;
    c.frames_overlap = s.frames_overlap;
    std::memcpy(stats, &c, std::min(stats->struct_size, sizeof(c)));
    return LG_OK;
  });
}

LG_API lg_status lg_server_switch_input(lg_server *server, const char *entry_id,
                                        const char *stream_name, lg_role role) {
  return guard([&]() -> lg_status {
    if (!server || !entry_id || (role != LG_ROLE_PRIMARY && role != LG_ROLE_BACKUP)) {
      return LG_E_INVALID_ARG;
    }
    lg_status rc = LG_E_NOT_FOUND;
    server->server->call([&] {
      rc = server->router->request(
          entry_id, stream_name ? stream_name : "",
          role == LG_ROLE_BACKUP ? lg::url::Role::Backup : lg::url::Role::Primary);
    });
    return rc;
  });
}

LG_API lg_status lg_server_list_outputs(lg_server *server, const char *entry_id, char *buf,
                                        size_t size, size_t *needed) {
  return guard([&]() -> lg_status {
    if (!server || !entry_id || (!buf && size > 0)) return LG_E_INVALID_ARG;
    std::vector<std::string> names;
    server->server->call([&] { names = server->router->stream_names(entry_id); });
    std::string text;
    for (const auto &n : names) text += (text.empty() ? "" : "\n") + n;
    if (needed) *needed = text.size() + 1;
    if (size < text.size() + 1) return LG_E_BUFFER_TOO_SMALL;
    std::memcpy(buf, text.c_str(), text.size() + 1);
    return LG_OK;
  });
}

}  // extern "C"
