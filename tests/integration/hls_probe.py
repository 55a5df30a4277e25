"""Read an HLS stream the way a viewer does, with ffprobe and ffmpeg, and measure it.

Python standard library only; needs the ffprobe and ffmpeg CLIs. Works for
http:// playlist URLs and for local playlist or media files.

* ``probe_hls(url)`` reads every packet with ffprobe and returns a ``Probe``:
  the streams (codec, size, sample rate, channels) and each stream's packets
  (pts, dts, duration, key flag), in the order ffprobe read them.
* ``decode_errors(url)`` decodes everything with ffmpeg and returns the
  error lines (empty when the decode is clean).
* The remaining functions compute what a test asserts: frame counts, first
  and last timestamps, durations, dts monotonicity, A/V start and end
  offsets, gaps, and whether durations match an expected one within a frame.

All times are in seconds (floats).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

FFPROBE = shutil.which("ffprobe") or "ffprobe"
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"

_ENTRIES = ("packet=stream_index,pts_time,dts_time,duration_time,flags:"
            "stream=index,codec_type,codec_name,width,height,sample_rate,channels")


@dataclass
class Packet:
    """One demuxed packet. pts/dts/duration are None when ffprobe gave none."""
    pts: Optional[float]
    dts: Optional[float]
    duration: Optional[float]
    key: bool


@dataclass
class Stream:
    """One elementary stream and its packets in read order."""
    index: int
    codec_type: str
    codec_name: Optional[str] = None
    width: Optional[int] = None
    height: Optional[int] = None
    sample_rate: Optional[int] = None
    channels: Optional[int] = None
    packets: List[Packet] = field(default_factory=list)

    @property
    def frame_count(self) -> int:
        return len(self.packets)


@dataclass
class Probe:
    """What ffprobe read from one URL."""
    url: str
    streams: List[Stream]

    def first(self, codec_type: str) -> Optional[Stream]:
        """The first stream of a type ("video", "audio", ...), or None."""
        return next((s for s in self.streams if s.codec_type == codec_type), None)

    @property
    def video(self) -> Optional[Stream]:
        return self.first("video")

    @property
    def audio(self) -> Optional[Stream]:
        return self.first("audio")


def _num(value) -> Optional[float]:
    if value in (None, "", "N/A"):
        return None
    return float(value)


def _int(value) -> Optional[int]:
    if value in (None, "", "N/A"):
        return None
    return int(value)


def parse_ffprobe_json(text: str, url: str = "") -> Probe:
    """Build a Probe from ffprobe's JSON (the -show_entries used by probe_hls)."""
    data = json.loads(text)
    streams: Dict[int, Stream] = {}
    for s in data.get("streams", []):
        streams[int(s["index"])] = Stream(
            index=int(s["index"]), codec_type=s.get("codec_type", ""),
            codec_name=s.get("codec_name"), width=_int(s.get("width")),
            height=_int(s.get("height")), sample_rate=_int(s.get("sample_rate")),
            channels=_int(s.get("channels")))
    for p in data.get("packets", []):
        idx = int(p["stream_index"])
        stream = streams.setdefault(idx, Stream(index=idx, codec_type="unknown"))
        stream.packets.append(Packet(pts=_num(p.get("pts_time")), dts=_num(p.get("dts_time")),
                                     duration=_num(p.get("duration_time")),
                                     key="K" in p.get("flags", "")))
    return Probe(url=url, streams=[streams[i] for i in sorted(streams)])


def probe_hls(url: str, timeout: float = 60) -> Probe:
    """Read every packet of ``url`` with ffprobe.

    Runs ``ffprobe -v error -show_entries packet=...:stream=... -of json <url>``.
    Raises subprocess.CalledProcessError when ffprobe fails, and
    subprocess.TimeoutExpired after ``timeout`` seconds.
    """
    args = [FFPROBE, "-v", "error", "-show_entries", _ENTRIES, "-of", "json", url]
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, args, done.stdout, done.stderr)
    return parse_ffprobe_json(done.stdout, url)


def decode_errors(url: str, timeout: float = 60, level: str = "error") -> List[str]:
    """Decode ``url`` completely and return ffmpeg's error lines.

    Runs ``ffmpeg -v error -i <url> -f null -`` without -xerror, so every
    error is collected rather than the first one stopping the decode. A
    non-zero exit status is reported as a line of its own. Empty means the
    stream decoded cleanly.

    ``level`` may be raised to "warning": ffmpeg's HLS reader reports a
    segment it cannot fetch (HTTP 404, "Failed to open segment") only at
    warning level and carries on with the next one.
    """
    args = [FFMPEG, "-nostdin", "-hide_banner", "-v", level, "-i", url, "-f", "null", "-"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    if done.returncode != 0:
        lines.append(f"ffmpeg exited with status {done.returncode}")
    return lines


# ---------------------------------------------------------------------------
# Measurements

def frame_count(probe: Probe, codec_type: str) -> int:
    """Packets (= frames for H.264/HEVC access units and AAC) of the first
    stream of ``codec_type``; 0 when there is no such stream."""
    stream = probe.first(codec_type)
    return stream.frame_count if stream else 0


def video_frame_count(probe: Probe) -> int:
    return frame_count(probe, "video")


def audio_frame_count(probe: Probe) -> int:
    return frame_count(probe, "audio")


def frame_duration(stream: Stream) -> Optional[float]:
    """The typical (median) packet duration of a stream, or None.

    Falls back to the median dts step when packets carry no duration.
    """
    durs = [p.duration for p in stream.packets if p.duration]
    if durs:
        return statistics.median(durs)
    steps = [b - a for a, b in zip(_dts(stream), _dts(stream)[1:]) if b > a]
    return statistics.median(steps) if steps else None


def _pts(stream: Stream) -> List[float]:
    return [p.pts for p in stream.packets if p.pts is not None]


def _dts(stream: Stream) -> List[float]:
    return [p.dts if p.dts is not None else p.pts for p in stream.packets
            if p.dts is not None or p.pts is not None]


def first_pts(stream: Stream) -> Optional[float]:
    """The lowest presentation timestamp of a stream."""
    pts = _pts(stream)
    return min(pts) if pts else None


def last_pts(stream: Stream) -> Optional[float]:
    """The highest presentation timestamp of a stream."""
    pts = _pts(stream)
    return max(pts) if pts else None


def end_time(stream: Stream) -> Optional[float]:
    """When the stream's last frame ends: max(pts + duration)."""
    ends = [p.pts + (p.duration or 0.0) for p in stream.packets if p.pts is not None]
    return max(ends) if ends else None


def stream_duration(stream: Stream) -> Optional[float]:
    """Presented duration of a stream: end_time - first_pts."""
    start, end = first_pts(stream), end_time(stream)
    return None if start is None or end is None else end - start


def first_last(stream: Stream) -> Tuple[Optional[float], Optional[float]]:
    """(first pts, last pts) of a stream."""
    return first_pts(stream), last_pts(stream)


def non_increasing_dts(stream: Stream) -> List[int]:
    """Indices (in read order) of packets whose dts is not strictly greater
    than the previous packet's dts. Empty when dts strictly increases."""
    bad = []
    prev = None
    for i, p in enumerate(stream.packets):
        t = p.dts if p.dts is not None else p.pts
        if t is None:
            continue
        if prev is not None and t <= prev:
            bad.append(i)
        prev = t
    return bad


def dts_increasing(probe: Probe) -> Dict[int, List[int]]:
    """Per stream index, the offending packet indices of ``non_increasing_dts``;
    only streams with offenders appear, so an empty dict means all is well."""
    out = {}
    for s in probe.streams:
        bad = non_increasing_dts(s)
        if bad:
            out[s.index] = bad
    return out


def av_start_offset(probe: Probe) -> Optional[float]:
    """|first video pts - first audio pts|, or None without both streams."""
    v, a = probe.video, probe.audio
    if not v or not a or first_pts(v) is None or first_pts(a) is None:
        return None
    return abs(first_pts(v) - first_pts(a))


def av_end_offset(probe: Probe) -> Optional[float]:
    """|video end - audio end| (end = last pts + duration), or None."""
    v, a = probe.video, probe.audio
    if not v or not a or end_time(v) is None or end_time(a) is None:
        return None
    return abs(end_time(v) - end_time(a))


def gaps(stream: Stream, max_frames: float = 1.5) -> List[Tuple[int, float]]:
    """Holes in a stream: (packet index, seconds) wherever the dts step from
    the previous packet exceeds ``max_frames`` typical frame durations."""
    fd = frame_duration(stream)
    if not fd:
        return []
    out = []
    prev = None
    for i, p in enumerate(stream.packets):
        t = p.dts if p.dts is not None else p.pts
        if t is None:
            continue
        if prev is not None and t - prev > max_frames * fd:
            out.append((i, t - prev))
        prev = t
    return out


def duration_matches(actual: float, expected: float, frame: float) -> bool:
    """True when ``actual`` is within one frame (``frame`` seconds) of ``expected``."""
    return abs(actual - expected) <= frame + 1e-6


def durations_match(probe: Probe, expected: float,
                    codec_types: Sequence[str] = ("video", "audio")) -> List[str]:
    """Check each stream's presented duration is within one of its frames of
    ``expected`` seconds. Returns problems, empty when all match."""
    problems = []
    for ctype in codec_types:
        s = probe.first(ctype)
        if s is None:
            problems.append(f"no {ctype} stream")
            continue
        dur, fd = stream_duration(s), frame_duration(s)
        if dur is None or fd is None:
            problems.append(f"{ctype}: no timestamps")
        elif not duration_matches(dur, expected, fd):
            problems.append(f"{ctype}: duration {dur:.6f} s is not within one frame "
                            f"({fd:.6f} s) of {expected:.6f} s")
    return problems


def summary(probe: Probe) -> Dict[str, Dict[str, object]]:
    """A per-stream digest for assertion messages."""
    out = {}
    for s in probe.streams:
        out[f"{s.index}:{s.codec_type}"] = {
            "codec": s.codec_name, "frames": s.frame_count, "first_pts": first_pts(s),
            "last_pts": last_pts(s), "duration": stream_duration(s),
            "frame_duration": frame_duration(s), "non_increasing_dts": non_increasing_dts(s)[:10],
            "gaps": gaps(s)[:10]}
    return out
