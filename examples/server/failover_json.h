// The failover state of an entry's outputs and the switches between its
// inputs, as the example server prints and serves them: camelCase names,
// null for "none".
#pragma once

#include <string>
#include <vector>

#include "json.h"
#include "livegate/livegate.h"

namespace lgserver {

// "failover", "switchBack", "manual", "resume".
const char *switch_kind_token(lg_switch_kind kind);
// "disconnected", "stalled", "noKeyframe", ...; nullptr for LG_FAULT_NONE.
const char *fault_token(lg_input_fault fault);

// Writes the keys of one on_failover event into the object `json` has open.
void write_failover_event(JsonWriter &json, const lg_failover_event &event);

// One stream name's state as an object: activeInput, primaryPresent, ...,
// lastSwitch, maxGapMs, backupMs, framesOut, framesOverlap.
void write_failover_stats(JsonWriter &json, const lg_failover_stats &stats);

// The stream names of an entry that have an output (none for an unknown
// entry).
lg_status list_outputs(lg_server *server, const std::string &entry_id,
                       std::vector<std::string> &out);

// {"STREAM": state, ...} over the entry's outputs; {} when it has none.
// Fails only if the outputs cannot be listed.
lg_status write_entry_failover(JsonWriter &json, lg_server *server, const std::string &entry_id);

}  // namespace lgserver
