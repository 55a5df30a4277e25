// Clips of a recording: a time range of a broadcast's files, remuxed (never
// re-encoded) into one standalone MP4 that a browser can start playing before
// it has the whole file (moov at the front).
//
// A broadcast is a folder of files (0.ts, 1.ts, ... or 0.mp4, 1.mp4, ...),
// MPEG-TS or fragmented MP4 with an init segment in each file, cut at
// keyframes, on one timeline. The last file may end in the middle of a packet
// (still being written, or its writer was killed): what is complete before
// the cut is used, the rest ignored.
//
// Threading: make_clip keeps no state between calls; concurrent calls with
// different outputs are independent.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "livegate/common.h"

namespace lg::record {

struct ClipRange {
  int64_t start_ms = 0;  // from the broadcast's first timestamp (earliest dts of the first file)
  int64_t end_ms = -1;   // exclusive; -1: to the end of what is recorded
};

struct ClipResult {
  int64_t start_ms = 0;     // where the clip really starts: the presentation time of the
                            // keyframe at or before range.start_ms, broadcast time
  int64_t duration_ms = 0;  // media duration of the output
  uint64_t video_frames = 0;
  uint64_t audio_frames = 0;
  uint64_t bytes = 0;  // size of the output file
};

// Memory held between the keyframe before range.start_ms and range.start_ms
// (one GOP, plus audio that goes with it). A recording whose keyframes are
// further apart than this fails with LG_E_LIMIT rather than growing.
constexpr size_t kClipMaxBufferedBytes = size_t{64} << 20;

// Remuxes [range.start_ms, range.end_ms) of the recording `inputs` (in
// order) into one MP4 at `output`, moov first. The file is written as
// `output + ".part"` and renamed into place only when complete; no .part file
// is left behind on failure.
//
// The first video stream and the first audio stream that MP4 can carry are
// kept (matched by type in every file); others are ignored. Video starts at
// the video keyframe whose presentation time is at or before start_ms (or the
// first keyframe, if the range starts before it); audio from that keyframe's
// time on. Times are presentation times on the broadcast timeline, which
// starts at the first dts: with B-frames the first picture shows a few frames
// after 0. Output timestamps start at 0 at that keyframe, A/V offsets
// preserved. Video is cut in decode order (every picture kept decodes) where
// its presentation reaches end_ms, audio at the last frame presented before
// end_ms. Without video, audio starts at the audio frame at or before start_ms.
//
// Timestamps run on from file to file as recorded; a file whose timestamps
// restart (or wrap at 33 bits, in MPEG-TS) is placed after the one before it.
//
// Returns LG_OK and fills `result`; LG_E_NOT_FOUND if there is no input, an
// input file does not exist, or nothing is recorded in the range;
// LG_E_INVALID_ARG for a bad range or empty output path; LG_E_IO if a file
// cannot be read or written; LG_E_UNSUPPORTED if there is no stream that MP4
// can carry; LG_E_LIMIT if a GOP exceeds kClipMaxBufferedBytes. On failure
// `error` says which file and why (with libavformat's own text).
lg_status make_clip(std::span<const std::string> inputs, ClipRange range, const std::string &output,
                    ClipResult &result, std::string &error);

}  // namespace lg::record
