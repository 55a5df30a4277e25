/*
 * LiveGate — the media frame model that every ingest protocol produces.
 *
 * Whatever the protocol (RTMP now; RTMPS and SRT share this model), a host
 * sees frames of one shape:
 *   - H.264 / HEVC payloads are length-prefixed NAL units (4-byte big-endian
 *     lengths unless the codec parameters say otherwise), as in FLV and MP4;
 *     the decoder configuration record is in lg_video_params.config.
 *   - AAC payloads are raw access units (no ADTS header); the
 *     AudioSpecificConfig is in lg_audio_params.config.
 * Timestamps are in microseconds on the stream's own clock.
 */
#ifndef LIVEGATE_FRAME_H
#define LIVEGATE_FRAME_H

#include "livegate/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lg_codec {
  LG_CODEC_UNKNOWN = 0,
  LG_CODEC_H264 = 1,
  LG_CODEC_HEVC = 2,
  LG_CODEC_AV1 = 3,
  LG_CODEC_AAC = 4,
  LG_CODEC_MP3 = 5,
  LG_CODEC_OPUS = 6
} lg_codec;

typedef enum lg_track_type { LG_TRACK_VIDEO = 0, LG_TRACK_AUDIO = 1 } lg_track_type;

/* "h264", "hevc", "aac", ...; "unknown" for anything else. Static storage. */
LG_API const char *lg_codec_name(lg_codec codec);

typedef struct lg_video_params {
  lg_codec codec;           /* LG_CODEC_UNKNOWN if the stream has no video (yet) */
  int profile;              /* profile_idc (H.264) or general_profile_idc (HEVC) */
  int level;                /* level_idc as coded */
  int width, height;        /* display size, cropping applied */
  int nal_length_size;      /* bytes per NAL length prefix in frame payloads */
  const char *codec_string; /* RFC 6381, e.g. "avc1.64001f" */
  const uint8_t *config;    /* decoder configuration record */
  size_t config_size;
} lg_video_params;

typedef struct lg_audio_params {
  lg_codec codec;  /* LG_CODEC_UNKNOWN if the stream has no audio (yet) */
  int object_type; /* AAC audio object type (2 = LC) */
  int sample_rate; /* Hz */
  int channels;
  const char *codec_string; /* RFC 6381, e.g. "mp4a.40.2" */
  const uint8_t *config;    /* AudioSpecificConfig */
  size_t config_size;
} lg_audio_params;

typedef struct lg_frame {
  lg_track_type track;
  lg_codec codec;
  int64_t dts_us;
  int64_t pts_us;
  int keyframe; /* non-zero for a random access point */
  const uint8_t *data;
  size_t size;
} lg_frame;

#ifdef __cplusplus
}
#endif

#endif /* LIVEGATE_FRAME_H */
