/*
 * LiveGate — outputs of a running server: HLS packaging (live and DVR
 * playlists), continuous recording, and VOD clips cut from a recording.
 *
 * Every stream name that publishes to an entry is packaged, without
 * re-encoding, under the server's media_dir (see lg_server_options):
 *
 *   {media_dir}/{entry}/hls/master.m3u8            every stream name, live
 *   {media_dir}/{entry}/hls/master-dvr.m3u8        the same over the DVR window
 *   {media_dir}/{entry}/hls/{stream}/live.m3u8     the last few segments
 *   {media_dir}/{entry}/hls/{stream}/dvr.m3u8      the DVR window
 *   {media_dir}/{entry}/hls/{stream}/{n}.ts        segments (.m4s and
 *                                                  init-{k}.mp4 for fMP4)
 *   {media_dir}/{entry}/recordings/{stream}/{broadcast}/{n}.ts (or .mp4)
 *   {media_dir}/{entry}/recordings/{stream}/{broadcast}.mp4   VOD of a broadcast
 *   {media_dir}/{entry}/clips/{clip id}.mp4
 *
 * A {broadcast} is named by the UTC time its publish started,
 * "20261130T201500Z". Every file is written under a temporary name and
 * renamed into place, so a reader never sees a partial playlist or segment.
 * Recording files are appended as the stream arrives and stay playable up to
 * the last byte written if the process dies.
 *
 * All file work runs on the server's own output threads; the network loop
 * never waits for the disk. Events about outputs arrive through
 * lg_server_callbacks.on_output on the loop thread.
 */
#ifndef LIVEGATE_OUTPUT_H
#define LIVEGATE_OUTPUT_H

#include "livegate/common.h"
#include "livegate/server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lg_output_event_type {
  LG_OUTPUT_SEGMENT = 0,           /* a segment was written and its playlists updated */
  LG_OUTPUT_RECORDING_ROTATED = 1, /* a recording file was closed; `path` names it */
  LG_OUTPUT_CLIP_READY = 2,        /* a clip or broadcast VOD is complete (or failed) */
  LG_OUTPUT_STORAGE_ERROR = 3      /* a write failed; that entry's output stopped */
} lg_output_event_type;

/* Passed to lg_server_callbacks.on_output; valid during the call only. */
typedef struct lg_output_event {
  lg_output_event_type type;
  const char *entry_id;
  const char *stream_name;
  /* The file concerned (absolute), or "" when none. */
  const char *path;
  /* LG_OUTPUT_SEGMENT: the segment's media sequence number. */
  uint64_t sequence;
  /* Media duration of the segment, recording file or clip. */
  int64_t duration_ms;
  uint64_t bytes;
  /* LG_OUTPUT_SEGMENT: microseconds from the arrival of the frame that
   * closed the segment to its playlists being in place. */
  int64_t latency_us;
  /* LG_OUTPUT_CLIP_READY: the id lg_server_request_clip returned (0 for the
   * VOD made when a broadcast ends). */
  uint64_t clip_id;
  /* LG_OK, or why a clip failed or a write stopped. */
  lg_status status;
  const char *reason; /* "" if status is LG_OK */
} lg_output_event;

/* The state of one stream name's HLS output. */
typedef struct lg_hls_info {
  size_t struct_size; /* set by the caller to sizeof(lg_hls_info) */
  int live;           /* non-zero while a publish feeds it */
  int dvr_enabled;
  int recording_enabled;
  lg_segment_format format;
  uint64_t first_sequence; /* media sequence of the oldest segment kept */
  uint64_t last_sequence;  /* of the newest; both 0 with no segment yet */
  uint32_t segment_count;  /* segments in the DVR window (or the live playlist) */
  uint64_t window_ms;      /* media duration those segments cover */
  /* Wall-clock time (Unix ms) at which the oldest segment kept began. */
  int64_t window_start_unix_ms;
  uint64_t peak_bandwidth_bps; /* highest segment bitrate seen (the master's BANDWIDTH) */
  uint64_t frames_dropped;     /* frames the output threads could not keep up with */
  char broadcast[32];          /* the current or last broadcast's name, or "" */
} lg_hls_info;

/*
 * What is known of an entry's stream name's output. LG_E_NOT_FOUND if that
 * stream has never published since the server started and has nothing on
 * disk.
 */
LG_API lg_status lg_server_get_hls_info(lg_server *server, const char *entry_id,
                                        const char *stream_name, lg_hls_info *info);

/*
 * Switches an entry's DVR window and recording on or off, in the store and at
 * once for its live streams: turning recording off closes the current file;
 * on starts a new one at the next keyframe.
 */
LG_API lg_status lg_server_set_outputs(lg_server *server, const char *entry_id, int dvr,
                                       int recording);

typedef struct lg_clip_request {
  size_t struct_size; /* set by the caller to sizeof(lg_clip_request) */
  const char *entry_id;
  const char *stream_name;
  /* NULL or "": the newest broadcast of that stream (possibly still live). */
  const char *broadcast;
  /* Media time from the broadcast's start. The clip starts at the keyframe
   * at or before start_ms; end_ms -1 means everything recorded so far. */
  int64_t start_ms;
  int64_t end_ms;
} lg_clip_request;

/*
 * Asks for an MP4 (moov first, remuxed, not re-encoded) of a recorded time
 * range. Returns at once with *clip_id set; an LG_OUTPUT_CLIP_READY event
 * with that id follows, with the file's path or why it failed.
 * LG_E_NOT_FOUND if nothing of that broadcast is recorded; LG_E_INVALID_ARG
 * for a range with end_ms <= start_ms (other than -1) or a negative start.
 */
LG_API lg_status lg_server_request_clip(lg_server *server, const lg_clip_request *request,
                                        uint64_t *clip_id);

#ifdef __cplusplus
}
#endif

#endif /* LIVEGATE_OUTPUT_H */
