/*
 * LiveGate — redundancy: an entry's primary and backup inputs feed one
 * output per stream name.
 *
 * An encoder may push to the primary and the backup endpoint at the same
 * time (or a second encoder pushes to the backup). For each stream name the
 * server picks one input to feed the output that HLS, DVR, recording and
 * on_output_frame consume; they never see a switch except as an event.
 *
 * An input fails when it disconnects, stalls (no media for stall_ms), sends
 * no keyframe for keyframe_timeout_ms, optionally when its bitrate
 * collapses, and optionally on black video, frozen video or audio silence
 * (lg_server_options.content_checks). Failure is judged on the server's
 * timers, every 50 ms, not at the next packet. A failed input counts as
 * healthy again only after clear_ms without a fault, so a flapping encoder
 * causes one switch, not a storm.
 *
 * A switch takes the other input from its latest keyframe, which a standby
 * input keeps buffered (with everything it sent over the last stall_ms and
 * a second more). When both inputs
 * carry the same frames (one encoder pushing to both, recognised by
 * comparing payloads), the output continues with the first frame it has
 * not yet sent: nothing repeated, nothing lost that the backup delivered.
 * Otherwise the new input is rebased so that output timestamps continue one
 * frame interval after the last; the HLS playlists mark a discontinuity only
 * if the codec parameters differ.
 *
 * When the last input of a stream name leaves, the output stays open for
 * reconnect_window_ms: an encoder that reconnects within it continues the
 * same playlists, media sequence and recording.
 */
#ifndef LIVEGATE_FAILOVER_H
#define LIVEGATE_FAILOVER_H

#include "livegate/common.h"
#include "livegate/server.h"
#include "livegate/url.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lg_input_fault {
  LG_FAULT_NONE = 0,
  LG_FAULT_DISCONNECTED = 1,
  LG_FAULT_STALLED = 2,
  LG_FAULT_NO_KEYFRAME = 3,
  LG_FAULT_BITRATE_COLLAPSE = 4,
  LG_FAULT_BLACK = 5,
  LG_FAULT_FROZEN = 6,
  LG_FAULT_SILENT = 7
} lg_input_fault;

typedef enum lg_switch_kind {
  LG_SWITCH_FAILOVER = 0, /* the active input failed */
  LG_SWITCH_BACK = 1,     /* LG_FAILOVER_AUTO returned to the primary */
  LG_SWITCH_MANUAL = 2,   /* lg_server_switch_input */
  LG_SWITCH_RESUME = 3    /* an input came back to an output that had none */
} lg_switch_kind;

/* "healthy", "disconnected", "stalled", ... Static storage. */
LG_API const char *lg_input_fault_name(lg_input_fault fault);
/* "failover", "switch back", "manual", "resume". Static storage. */
LG_API const char *lg_switch_kind_name(lg_switch_kind kind);

/* Passed to lg_server_callbacks.on_failover; valid during the call only. */
typedef struct lg_failover_event {
  const char *entry_id;
  const char *stream_name;
  lg_switch_kind kind;
  lg_role from;
  lg_role to;
  lg_input_fault fault; /* LG_SWITCH_FAILOVER: what was wrong with `from` */
  uint64_t session_id;  /* the session now feeding the output */
  /* Non-zero when both inputs carried the same frames: the output went on
   * frame for frame. */
  int aligned;
  /* Wall time the output went without a frame across the switch, up to
   * the new input's first frame: the event comes with that frame. */
  int64_t gap_ms;
  /* Media skipped: exact when aligned (0 when no frame was lost), estimated
   * from arrival times otherwise (negative: some media repeats). */
  int64_t lost_ms;
  int64_t unix_ms; /* when it happened */
} lg_failover_event;

typedef struct lg_failover_stats {
  size_t struct_size; /* set by the caller to sizeof(lg_failover_stats) */
  int open;           /* non-zero while the output exists (live or awaiting a reconnect) */
  int has_active;     /* zero while it awaits a reconnect */
  lg_role active;     /* the input feeding it (or that fed it last) */
  int primary_present;
  int backup_present;
  lg_input_fault primary_fault;
  lg_input_fault backup_fault;
  uint64_t switches; /* failovers, switch-backs and manual switches */
  uint64_t resumes;  /* reconnects after the output had no input */
  /* The last switch or resume; last_unix_ms is 0 if there was none. */
  lg_switch_kind last_kind;
  lg_input_fault last_fault;
  int64_t last_unix_ms;
  int64_t last_gap_ms;
  int64_t last_lost_ms;
  int64_t max_gap_ms;  /* over switches (resumes excluded) */
  uint64_t backup_ms;  /* time the backup has fed the output */
  uint64_t frames_out; /* frames sent to the output */
  /* Frames not sent because the output already had them (an aligned
   * backup that lagged) or their timestamps went backwards. */
  uint64_t frames_overlap;
} lg_failover_stats;

/*
 * The failover state of one stream name of an entry. LG_E_NOT_FOUND when
 * that stream name has no output (never published, or ended). Set
 * stats->struct_size; fields past it are left alone. Any thread.
 */
LG_API lg_status lg_server_get_failover_stats(lg_server *server, const char *entry_id,
                                              const char *stream_name, lg_failover_stats *stats);

/*
 * Switches the output of one stream name (or of every stream name of the
 * entry when `stream_name` is NULL) to `role`, at that input's next
 * keyframe: for drills, and the way back under LG_FAILOVER_MANUAL.
 * LG_E_NOT_FOUND if the entry has no output; LG_E_STATE if `role` has no
 * input connected. Any thread.
 */
LG_API lg_status lg_server_switch_input(lg_server *server, const char *entry_id,
                                        const char *stream_name, lg_role role);

/*
 * The stream names of an entry that have an output, separated by '\n', into
 * `buf` (NUL-terminated). LG_E_BUFFER_TOO_SMALL if it does not fit; `needed`
 * (may be NULL) receives the size required, NUL included. Any thread.
 */
LG_API lg_status lg_server_list_outputs(lg_server *server, const char *entry_id, char *buf,
                                        size_t size, size_t *needed);

#ifdef __cplusplus
}
#endif

#endif /* LIVEGATE_FAILOVER_H */
