#include "failover_json.h"

namespace lgserver {

const char *switch_kind_token(lg_switch_kind kind) {
  switch (kind) {
    case LG_SWITCH_FAILOVER:
      return "failover";
    case LG_SWITCH_BACK:
      return "switchBack";
    case LG_SWITCH_MANUAL:
      return "manual";
    case LG_SWITCH_RESUME:
      return "resume";
  }
  // A kind newer than this program: the library's own name says what it is.
  return lg_switch_kind_name(kind);
}

const char *fault_token(lg_input_fault fault) {
  switch (fault) {
    case LG_FAULT_NONE:
      return nullptr;
    case LG_FAULT_DISCONNECTED:
      return "disconnected";
    case LG_FAULT_STALLED:
      return "stalled";
    case LG_FAULT_NO_KEYFRAME:
      return "noKeyframe";
    case LG_FAULT_BITRATE_COLLAPSE:
      return "bitrateCollapse";
    case LG_FAULT_BLACK:
      return "black";
    case LG_FAULT_FROZEN:
      return "frozen";
    case LG_FAULT_SILENT:
      return "silence";
  }
  return lg_input_fault_name(fault);
}

void write_failover_event(JsonWriter &json, const lg_failover_event &event) {
  json.key("entryId").string_or_null(event.entry_id);
  json.key("streamName").string_or_null(event.stream_name);
  json.key("kind").string(switch_kind_token(event.kind));
  json.key("from").string(lg_role_name(event.from));
  json.key("to").string(lg_role_name(event.to));
  json.key("fault").string_or_null(fault_token(event.fault));
  json.key("aligned").boolean(event.aligned != 0);
  json.key("gapMs").number(event.gap_ms);
  json.key("lostMs").number(event.lost_ms);
  json.key("sessionId").number(event.session_id);
  json.key("unixMs").number(event.unix_ms);
}

void write_failover_stats(JsonWriter &json, const lg_failover_stats &stats) {
  json.begin_object();
  json.key("activeInput").string_or_null(stats.has_active ? lg_role_name(stats.active) : nullptr);
  json.key("primaryPresent").boolean(stats.primary_present != 0);
  json.key("backupPresent").boolean(stats.backup_present != 0);
  json.key("primaryFault").string_or_null(fault_token(stats.primary_fault));
  json.key("backupFault").string_or_null(fault_token(stats.backup_fault));
  json.key("switches").number(stats.switches);
  json.key("resumes").number(stats.resumes);
  json.key("lastSwitch");
  if (stats.last_unix_ms == 0) {
    json.null();
  } else {
    json.begin_object();
    json.key("kind").string(switch_kind_token(stats.last_kind));
    json.key("fault").string_or_null(fault_token(stats.last_fault));
    json.key("unixMs").number(stats.last_unix_ms);
    json.key("gapMs").number(stats.last_gap_ms);
    json.key("lostMs").number(stats.last_lost_ms);
    json.end_object();
  }
  json.key("maxGapMs").number(stats.max_gap_ms);
  json.key("backupMs").number(stats.backup_ms);
  json.key("framesOut").number(stats.frames_out);
  json.key("framesOverlap").number(stats.frames_overlap);
  json.end_object();
}

lg_status list_outputs(lg_server *server, const std::string &entry_id,
                       std::vector<std::string> &out) {
  out.clear();
  std::string names(256, '\0');
  size_t needed = 0;
  lg_status rc;
  // Outputs may open between two calls: retry with what the last one needed.
  while ((rc = lg_server_list_outputs(server, entry_id.c_str(), names.data(), names.size(),
                                      &needed)) == LG_E_BUFFER_TOO_SMALL) {
    names.resize(needed + 256);
  }
  if (rc != LG_OK) return rc;
  names.resize(names.find('\0'));
  size_t start = 0;
  while (start < names.size()) {
    size_t end = names.find('\n', start);
    if (end == std::string::npos) end = names.size();
    if (end > start) out.push_back(names.substr(start, end - start));
    start = end + 1;
  }
  return LG_OK;
}

lg_status write_entry_failover(JsonWriter &json, lg_server *server, const std::string &entry_id) {
  std::vector<std::string> names;
  const lg_status rc = list_outputs(server, entry_id, names);
  if (rc != LG_OK) return rc;
  json.begin_object();
  for (const std::string &name : names) {
    lg_failover_stats stats{};
    stats.struct_size = sizeof(stats);
    // An output that closed since the listing is left out.
    if (lg_server_get_failover_stats(server, entry_id.c_str(), name.c_str(), &stats) != LG_OK) {
      continue;
    }
    json.key(name);
    write_failover_stats(json, stats);
  }
  json.end_object();
  return LG_OK;
}

}  // namespace lgserver
