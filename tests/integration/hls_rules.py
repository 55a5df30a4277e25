"""An RFC 8216 (HTTP Live Streaming) checker for playlists under test.

Python standard library only. Two kinds of function:

* parsers that the tests use to read a playlist: ``parse_media`` and
  ``parse_master`` (plus ``parse_attribute_list``);
* checkers that return a list of human-readable violations, empty when the
  playlist is valid: ``check_media``, ``check_master``, ``check_playlist``
  (either kind), ``check_reloads`` (successive reloads of one live media
  playlist). Advisory findings that are not errors come from
  ``live_window_warnings`` and ``master_notes``.

Every violation message starts with a stable rule key followed by a colon,
e.g. ``"extinf-over-target: line 6: ..."``, and ends with the RFC 8216
section that the rule enforces. ``RULES`` maps each key to its section and a
one-line description; ``rule_of(message)`` returns the key of a message.

The checks are deliberately a little stricter than the RFC where the RFC
leaves room that our output never needs (EXT-X-VERSION must be present, a
segment URI may not repeat within one playlist, codec strings must be of a
recognised RFC 6381 form).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

# Rule key -> (RFC 8216 section, what the rule enforces).
RULES: Dict[str, Tuple[str, str]] = {
    # Both playlist kinds.
    "extm3u": ("4.3.1.1", "the first line is #EXTM3U"),
    "attribute-list": ("4.2", "attribute lists are well-formed, names unique"),
    "attribute-value": ("4.2", "attribute values have the type their tag defines"),
    "attribute-missing": ("4.3", "required attributes of a tag are present"),
    "version-duplicate": ("4.3.1.2", "at most one EXT-X-VERSION, an integer"),
    "mixed-playlist": ("4.1", "a playlist is either a media or a master playlist"),
    # Media playlist.
    "version-missing": ("4.3.1.2", "EXT-X-VERSION is present (stricter than the RFC)"),
    "version-too-low": ("7", "EXT-X-VERSION is high enough for the features used"),
    "targetduration": ("4.3.3.1", "exactly one EXT-X-TARGETDURATION, a decimal integer"),
    "extinf-format": ("4.3.2.1", "#EXTINF:<duration>,[<title>] with a non-negative number"),
    "extinf-over-target": ("4.3.3.1", "each EXTINF rounded to the nearest integer <= target duration"),
    "extinf-without-uri": ("4.3.2.1", "each EXTINF is followed by a URI line"),
    "uri-without-extinf": ("4.3.2.1", "each segment URI is preceded by an EXTINF"),
    "media-sequence": ("4.3.3.2", "at most one EXT-X-MEDIA-SEQUENCE, an integer, before the first segment"),
    "discontinuity-sequence": ("4.3.3.3", "at most one EXT-X-DISCONTINUITY-SEQUENCE, an integer, "
                               "before the first segment and any EXT-X-DISCONTINUITY"),
    "program-date-time": ("4.3.2.6", "EXT-X-PROGRAM-DATE-TIME is ISO 8601 with a time zone"),
    "program-date-time-order": ("4.3.2.6", "EXT-X-PROGRAM-DATE-TIME values increase"),
    "endlist": ("4.3.3.4", "EXT-X-ENDLIST at most once and after the last segment"),
    "duplicate-uri": ("6.2.1", "no segment URI (and byte range) repeats in one playlist"),
    "playlist-type": ("4.3.3.5", "EXT-X-PLAYLIST-TYPE at most once, EVENT or VOD"),
    "map-uri": ("4.3.2.5", "EXT-X-MAP has a URI attribute"),
    # Successive reloads of one media playlist.
    "reload-media-sequence": ("6.2.1", "EXT-X-MEDIA-SEQUENCE never decreases"),
    "reload-target-duration": ("4.3.3.1", "EXT-X-TARGETDURATION never changes"),
    "reload-segment-changed": ("6.2.1", "a media sequence number keeps its URI, duration, "
                               "discontinuity, map and date"),
    "reload-segment-vanished": ("6.2.1", "segments are only removed from the top"),
    "reload-discontinuity-sequence": ("6.2.2", "EXT-X-DISCONTINUITY-SEQUENCE grows by the number of "
                                      "removed segments that carried EXT-X-DISCONTINUITY"),
    "reload-after-endlist": ("6.2.1", "after EXT-X-ENDLIST the playlist does not change"),
    "reload-playlist-type": ("6.2.1", "EVENT playlists only append; VOD never changes; "
                             "the type does not change"),
    # Master playlist.
    "stream-inf-bandwidth": ("4.3.4.2", "every EXT-X-STREAM-INF has BANDWIDTH, a positive integer"),
    "stream-inf-uri": ("4.3.4.2", "every EXT-X-STREAM-INF is followed by a URI line"),
    "codecs-missing": ("4.3.4.2", "every EXT-X-STREAM-INF has CODECS"),
    "codec-malformed": ("4.3.4.2", "each CODECS entry is a well-formed RFC 6381 codec string"),
    "resolution-missing": ("4.3.4.2", "a variant with video has RESOLUTION"),
    "group-undefined": ("4.3.4.2.1", "AUDIO/VIDEO/SUBTITLES/CLOSED-CAPTIONS name an EXT-X-MEDIA group "
                        "of that TYPE"),
    "media-default": ("4.3.4.1.1", "at most one DEFAULT=YES rendition per group"),
    "media-name": ("4.3.4.1.1", "rendition NAMEs are unique within a group"),
    "media-autoselect": ("4.3.4.1", "DEFAULT=YES requires AUTOSELECT=YES when AUTOSELECT is present"),
    "media-closed-captions": ("4.3.4.1", "CLOSED-CAPTIONS renditions have INSTREAM-ID and no URI"),
}

# Advisory keys (not errors).
WARNINGS: Dict[str, Tuple[str, str]] = {
    "live-window-short": ("6.2.2", "a live playlist keeps at least three target durations of segments"),
    "independent-segments-missing": ("4.3.5.1", "EXT-X-INDEPENDENT-SEGMENTS is absent"),
}

_MASTER_ONLY_TAGS = {"EXT-X-STREAM-INF", "EXT-X-I-FRAME-STREAM-INF", "EXT-X-MEDIA",
                     "EXT-X-SESSION-DATA", "EXT-X-SESSION-KEY"}
_MEDIA_ONLY_TAGS = {"EXTINF", "EXT-X-TARGETDURATION", "EXT-X-MEDIA-SEQUENCE",
                    "EXT-X-DISCONTINUITY-SEQUENCE", "EXT-X-ENDLIST", "EXT-X-PLAYLIST-TYPE",
                    "EXT-X-I-FRAMES-ONLY", "EXT-X-BYTERANGE", "EXT-X-DISCONTINUITY",
                    "EXT-X-KEY", "EXT-X-MAP", "EXT-X-PROGRAM-DATE-TIME", "EXT-X-DATERANGE"}


def _msg(rule: str, text: str, line: Optional[int] = None) -> str:
    section = (RULES.get(rule) or WARNINGS[rule])[0]
    where = f"line {line}: " if line is not None else ""
    return f"{rule}: {where}{text} (RFC 8216 {section})"


def rule_of(message: str) -> str:
    """The rule key a violation or warning message starts with."""
    return message.split(":", 1)[0]


# ---------------------------------------------------------------------------
# Attribute lists (RFC 8216 4.2)

_ATTR_NAME = re.compile(r"[A-Z0-9-]+")
_DEC_INT = re.compile(r"[0-9]{1,20}")
_HEX = re.compile(r"0[xX][0-9A-Fa-f]+")
_DEC_FLOAT = re.compile(r"[0-9]+(\.[0-9]+)?")
_SIGNED_FLOAT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_RESOLUTION = re.compile(r"([0-9]+)x([0-9]+)")
_ENUM = re.compile(r"[^\",\s]+")


def _parse_attrs_raw(text: str) -> Dict[str, str]:
    """Parse an attribute list, keeping the quotes of quoted strings.

    Raises ValueError on a malformed list or a repeated attribute name (4.2).
    """
    attrs: Dict[str, str] = {}
    pos, n = 0, len(text)
    if not text:
        return attrs
    while True:
        m = _ATTR_NAME.match(text, pos)
        if not m or m.end() >= n or text[m.end()] != "=":
            raise ValueError(f"expected NAME= at offset {pos} in {text!r}")
        name = m.group(0)
        pos = m.end() + 1
        if pos < n and text[pos] == '"':
            end = text.find('"', pos + 1)
            if end < 0:
                raise ValueError(f"unterminated quoted string for {name} in {text!r}")
            value = text[pos:end + 1]
            pos = end + 1
        else:
            end = text.find(",", pos)
            end = n if end < 0 else end
            value = text[pos:end]
            if not value or not _ENUM.fullmatch(value):
                raise ValueError(f"bad unquoted value {value!r} for {name} in {text!r}")
            pos = end
        if name in attrs:
            raise ValueError(f"attribute {name} repeated in {text!r}")
        attrs[name] = value
        if pos == n:
            return attrs
        if text[pos] != ",":
            raise ValueError(f"expected ',' at offset {pos} in {text!r}")
        pos += 1


def parse_attribute_list(text: str) -> Dict[str, str]:
    """Parse an RFC 8216 4.2 attribute list into NAME -> value.

    Quoted-string values are returned without their quotes; other values
    as written. Raises ValueError when the list is malformed.
    """
    return {k: (v[1:-1] if v.startswith('"') else v)
            for k, v in _parse_attrs_raw(text).items()}


# Attribute types per tag (RFC 8216 4.2 value types).
_Q, _INT, _HEXV, _FLOAT, _SFLOAT, _RES, _ENUMV = ("quoted", "integer", "hex", "float",
                                                  "signed-float", "resolution", "enum")
_TAG_SCHEMA: Dict[str, Tuple[Dict[str, str], Tuple[str, ...]]] = {
    # tag: ({attribute: type}, required attributes)
    "EXT-X-KEY": ({"METHOD": _ENUMV, "URI": _Q, "IV": _HEXV, "KEYFORMAT": _Q,
                   "KEYFORMATVERSIONS": _Q}, ("METHOD",)),
    "EXT-X-SESSION-KEY": ({"METHOD": _ENUMV, "URI": _Q, "IV": _HEXV, "KEYFORMAT": _Q,
                           "KEYFORMATVERSIONS": _Q}, ("METHOD",)),
    "EXT-X-MAP": ({"URI": _Q, "BYTERANGE": _Q}, ("URI",)),
    "EXT-X-DATERANGE": ({"ID": _Q, "CLASS": _Q, "START-DATE": _Q, "END-DATE": _Q,
                         "DURATION": _FLOAT, "PLANNED-DURATION": _FLOAT,
                         "END-ON-NEXT": _ENUMV}, ("ID", "START-DATE")),
    "EXT-X-MEDIA": ({"TYPE": _ENUMV, "URI": _Q, "GROUP-ID": _Q, "LANGUAGE": _Q,
                     "ASSOC-LANGUAGE": _Q, "NAME": _Q, "DEFAULT": _ENUMV,
                     "AUTOSELECT": _ENUMV, "FORCED": _ENUMV, "INSTREAM-ID": _Q,
                     "CHARACTERISTICS": _Q, "CHANNELS": _Q}, ("TYPE", "GROUP-ID", "NAME")),
    "EXT-X-STREAM-INF": ({"BANDWIDTH": _INT, "AVERAGE-BANDWIDTH": _INT, "CODECS": _Q,
                          "RESOLUTION": _RES, "FRAME-RATE": _FLOAT, "HDCP-LEVEL": _ENUMV,
                          "AUDIO": _Q, "VIDEO": _Q, "SUBTITLES": _Q,
                          "CLOSED-CAPTIONS": None, "PROGRAM-ID": _INT}, ("BANDWIDTH",)),
    "EXT-X-I-FRAME-STREAM-INF": ({"BANDWIDTH": _INT, "AVERAGE-BANDWIDTH": _INT,
                                  "CODECS": _Q, "RESOLUTION": _RES, "HDCP-LEVEL": _ENUMV,
                                  "VIDEO": _Q, "URI": _Q}, ("BANDWIDTH", "URI")),
    "EXT-X-SESSION-DATA": ({"DATA-ID": _Q, "VALUE": _Q, "URI": _Q, "LANGUAGE": _Q},
                           ("DATA-ID",)),
    "EXT-X-START": ({"TIME-OFFSET": _SFLOAT, "PRECISE": _ENUMV}, ("TIME-OFFSET",)),
}
_ENUM_VALUES = {
    ("EXT-X-KEY", "METHOD"): {"NONE", "AES-128", "SAMPLE-AES"},
    ("EXT-X-SESSION-KEY", "METHOD"): {"AES-128", "SAMPLE-AES"},
    ("EXT-X-MEDIA", "TYPE"): {"AUDIO", "VIDEO", "SUBTITLES", "CLOSED-CAPTIONS"},
    ("EXT-X-MEDIA", "DEFAULT"): {"YES", "NO"},
    ("EXT-X-MEDIA", "AUTOSELECT"): {"YES", "NO"},
    ("EXT-X-MEDIA", "FORCED"): {"YES", "NO"},
    ("EXT-X-STREAM-INF", "HDCP-LEVEL"): {"TYPE-0", "NONE"},
    ("EXT-X-I-FRAME-STREAM-INF", "HDCP-LEVEL"): {"TYPE-0", "NONE"},
    ("EXT-X-START", "PRECISE"): {"YES", "NO"},
    ("EXT-X-DATERANGE", "END-ON-NEXT"): {"YES"},
}
_TYPE_RE = {_INT: _DEC_INT, _HEXV: _HEX, _FLOAT: _DEC_FLOAT, _SFLOAT: _SIGNED_FLOAT,
            _RES: _RESOLUTION}


def _check_tag_attrs(tag: str, value: str, line: int, out: List[str]) -> Dict[str, str]:
    """Well-formedness of a tag with an attribute list (4.2, 4.3.x).

    Returns the raw attributes (quotes kept), or {} when unparseable.
    """
    try:
        attrs = _parse_attrs_raw(value)
    except ValueError as exc:
        out.append(_msg("attribute-list", f"#{tag}: {exc}", line))
        return {}
    types, required = _TAG_SCHEMA[tag]
    for name in required:
        if name not in attrs:
            out.append(_msg("attribute-missing", f"#{tag} has no {name}", line))
    for name, raw in attrs.items():
        kind = types.get(name, "unknown")
        if tag == "EXT-X-STREAM-INF" and name == "CLOSED-CAPTIONS":
            if raw != "NONE" and not raw.startswith('"'):
                out.append(_msg("attribute-value",
                                f"#{tag} CLOSED-CAPTIONS must be quoted or NONE", line))
            continue
        if kind == "unknown" or kind is None:
            continue  # unknown attributes are ignored by clients (4.2)
        quoted = raw.startswith('"')
        if kind == _Q:
            ok = quoted
        elif kind == _ENUMV:
            allowed = _ENUM_VALUES.get((tag, name))
            ok = not quoted and (allowed is None or raw in allowed)
        else:
            ok = not quoted and bool(_TYPE_RE[kind].fullmatch(raw))
        if not ok:
            out.append(_msg("attribute-value",
                            f"#{tag} {name}={raw} is not a valid {kind}", line))
    return attrs


def _unq(raw: Optional[str]) -> Optional[str]:
    if raw is None:
        return None
    return raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw


# ---------------------------------------------------------------------------
# Line scanning

def _lines(text: str) -> List[Tuple[int, str]]:
    """(1-based line number, stripped line) for every non-blank line."""
    return [(i, ln.strip()) for i, ln in enumerate(text.splitlines(), 1) if ln.strip()]


def _split_tag(line: str) -> Tuple[str, str]:
    """'#EXT-X-FOO:bar' -> ('EXT-X-FOO', 'bar'); '#EXTM3U' -> ('EXTM3U', '')."""
    body = line[1:]
    name, _, value = body.partition(":")
    return name, value


def _is_tag(line: str) -> bool:
    return line.startswith("#EXT")


def _is_comment(line: str) -> bool:
    return line.startswith("#") and not line.startswith("#EXT")


def _to_int(value: str) -> Optional[int]:
    return int(value) if _DEC_INT.fullmatch(value) else None


_PDT_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)")


def parse_program_date_time(value: str) -> Optional[datetime]:
    """An ISO 8601 date-time with a time zone (4.3.2.6), or None if invalid."""
    if not _PDT_RE.fullmatch(value):
        return None
    norm = value.replace("Z", "+00:00")
    m = re.search(r"([+-])(\d{2})(\d{2})?$", norm)
    if m and ":" not in norm[m.start():]:
        norm = norm[:m.start()] + f"{m.group(1)}{m.group(2)}:{m.group(3) or '00'}"
    # fromisoformat accepts at most 6 fractional digits.
    norm = re.sub(r"\.(\d{6})\d+", r".\1", norm)
    try:
        parsed = datetime.fromisoformat(norm)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


# ---------------------------------------------------------------------------
# Media playlists

@dataclass
class Segment:
    """One media segment of a media playlist."""
    uri: str
    duration: float
    sequence: int
    discontinuity: bool = False
    program_date_time: Optional[datetime] = None
    map_uri: Optional[str] = None  # the EXT-X-MAP in effect for this segment
    byterange: Optional[str] = None
    title: str = ""
    line: int = 0


@dataclass
class MediaPlaylist:
    """A parsed media playlist (RFC 8216 4.3.3)."""
    target_duration: Optional[int] = None
    version: Optional[int] = None
    media_sequence: int = 0
    discontinuity_sequence: int = 0
    playlist_type: Optional[str] = None
    endlist: bool = False
    independent_segments: bool = False
    i_frames_only: bool = False
    segments: List[Segment] = field(default_factory=list)

    @property
    def total_duration(self) -> float:
        return sum(s.duration for s in self.segments)

    def by_sequence(self) -> Dict[int, Segment]:
        return {s.sequence: s for s in self.segments}


def _scan_media(text: str) -> Tuple[MediaPlaylist, List[str]]:
    """Parse a media playlist and collect its violations in one pass."""
    out: List[str] = []
    pl = MediaPlaylist()
    lines = _lines(text)
    if not lines or lines[0][1] != "#EXTM3U":
        out.append(_msg("extm3u", "playlist does not start with #EXTM3U", 1))

    counts: Dict[str, int] = {}
    uses: Dict[str, int] = {}  # feature -> line where first used (for version checks)
    float_extinf_line: Optional[int] = None
    pending_extinf: Optional[Tuple[int, float, str]] = None
    pending_disc = False
    pending_pdt: Optional[datetime] = None
    pending_byterange: Optional[str] = None
    current_map: Optional[str] = None
    last_pdt: Optional[datetime] = None
    endlist_line: Optional[int] = None
    seen_uris: Dict[Tuple[str, Optional[str]], int] = {}
    seq = None  # assigned when the first segment is reached

    for lineno, line in lines:
        if endlist_line is not None and not _is_comment(line):
            out.append(_msg("endlist", f"content after EXT-X-ENDLIST (line {endlist_line})",
                            lineno))
            endlist_line = None  # report once
        if _is_comment(line):
            continue
        if not _is_tag(line):
            # A URI line: the media segment it ends.
            if pending_extinf is None:
                out.append(_msg("uri-without-extinf", f"URI {line!r} has no #EXTINF", lineno))
                continue
            if seq is None:
                seq = pl.media_sequence
            _, dur, title = pending_extinf
            key = (line, pending_byterange)
            if key in seen_uris:
                out.append(_msg("duplicate-uri",
                                f"segment URI {line!r} repeats line {seen_uris[key]}", lineno))
            seen_uris[key] = lineno
            pl.segments.append(Segment(uri=line, duration=dur, sequence=seq,
                                       discontinuity=pending_disc,
                                       program_date_time=pending_pdt, map_uri=current_map,
                                       byterange=pending_byterange, title=title,
                                       line=pending_extinf[0]))
            seq += 1
            pending_extinf, pending_disc, pending_pdt, pending_byterange = None, False, None, None
            continue

        tag, value = _split_tag(line)
        counts[tag] = counts.get(tag, 0) + 1
        if tag == "EXTM3U":
            if lineno != lines[0][0]:
                out.append(_msg("extm3u", "#EXTM3U is not the first line", lineno))
        elif tag in _MASTER_ONLY_TAGS:
            out.append(_msg("mixed-playlist", f"master playlist tag #{tag} in a media playlist",
                            lineno))
        elif tag == "EXT-X-VERSION":
            v = _to_int(value)
            if counts[tag] > 1 or v is None:
                out.append(_msg("version-duplicate", f"#EXT-X-VERSION:{value}", lineno))
            if counts[tag] == 1:
                pl.version = v
        elif tag == "EXT-X-TARGETDURATION":
            v = _to_int(value)
            if counts[tag] > 1:
                out.append(_msg("targetduration", "EXT-X-TARGETDURATION repeated", lineno))
            elif v is None:
                out.append(_msg("targetduration",
                                f"EXT-X-TARGETDURATION {value!r} is not a decimal integer",
                                lineno))
            else:
                pl.target_duration = v
        elif tag in ("EXT-X-MEDIA-SEQUENCE", "EXT-X-DISCONTINUITY-SEQUENCE"):
            rule = "media-sequence" if tag == "EXT-X-MEDIA-SEQUENCE" else "discontinuity-sequence"
            v = _to_int(value)
            if counts[tag] > 1:
                out.append(_msg(rule, f"#{tag} repeated", lineno))
            elif v is None:
                out.append(_msg(rule, f"#{tag}:{value} is not a decimal integer", lineno))
            elif seq is not None or pending_extinf is not None:
                out.append(_msg(rule, f"#{tag} after the first media segment", lineno))
            elif rule == "discontinuity-sequence" and counts.get("EXT-X-DISCONTINUITY"):
                out.append(_msg(rule, f"#{tag} after an EXT-X-DISCONTINUITY", lineno))
            elif rule == "media-sequence":
                pl.media_sequence = v
            else:
                pl.discontinuity_sequence = v
        elif tag == "EXTINF":
            if pending_extinf is not None:
                out.append(_msg("extinf-without-uri",
                                f"#EXTINF of line {pending_extinf[0]} has no URI", lineno))
            m = re.fullmatch(r"([0-9]+(?:\.[0-9]*)?)\s*,(.*)", value)
            if not m:
                out.append(_msg("extinf-format", f"#EXTINF:{value}", lineno))
                pending_extinf = (lineno, 0.0, "")
                continue
            dur = float(m.group(1))
            if "." in m.group(1) and float_extinf_line is None:
                float_extinf_line = lineno
            pending_extinf = (lineno, dur, m.group(2))
        elif tag == "EXT-X-DISCONTINUITY":
            pending_disc = True
        elif tag == "EXT-X-PROGRAM-DATE-TIME":
            pdt = parse_program_date_time(value)
            if pdt is None:
                out.append(_msg("program-date-time",
                                f"{value!r} is not an ISO 8601 date-time with time zone",
                                lineno))
                continue
            if last_pdt is not None and pdt <= last_pdt:
                out.append(_msg("program-date-time-order",
                                f"{value} does not follow {last_pdt.isoformat()}", lineno))
            last_pdt = pdt
            pending_pdt = pdt
        elif tag == "EXT-X-BYTERANGE":
            uses.setdefault("byterange", lineno)
            pending_byterange = value
        elif tag == "EXT-X-I-FRAMES-ONLY":
            uses.setdefault("i-frames-only", lineno)
            pl.i_frames_only = True
        elif tag == "EXT-X-INDEPENDENT-SEGMENTS":
            pl.independent_segments = True
        elif tag == "EXT-X-ENDLIST":
            if counts[tag] > 1:
                out.append(_msg("endlist", "EXT-X-ENDLIST repeated", lineno))
            else:
                pl.endlist = True
                endlist_line = lineno
        elif tag == "EXT-X-PLAYLIST-TYPE":
            if counts[tag] > 1:
                out.append(_msg("playlist-type", "EXT-X-PLAYLIST-TYPE repeated", lineno))
            elif value not in ("EVENT", "VOD"):
                out.append(_msg("playlist-type",
                                f"EXT-X-PLAYLIST-TYPE {value!r} is neither EVENT nor VOD", lineno))
            else:
                pl.playlist_type = value
        elif tag == "EXT-X-MAP":
            try:
                attrs = _parse_attrs_raw(value)
            except ValueError:
                attrs = {}
            if "URI" not in attrs:
                out.append(_msg("map-uri", "EXT-X-MAP without URI", lineno))
            else:
                _check_tag_attrs(tag, value, lineno, out)
            uses.setdefault("map", lineno)
            current_map = _unq(attrs.get("URI"))
        elif tag in _TAG_SCHEMA:
            attrs = _check_tag_attrs(tag, value, lineno, out)
            if tag == "EXT-X-KEY":
                if "IV" in attrs:
                    uses.setdefault("iv", lineno)
                if "KEYFORMAT" in attrs or "KEYFORMATVERSIONS" in attrs:
                    uses.setdefault("keyformat", lineno)
        # Any other tag is unknown and ignored (RFC 8216 4.1).

    if pending_extinf is not None:
        out.append(_msg("extinf-without-uri",
                        f"#EXTINF of line {pending_extinf[0]} has no URI", pending_extinf[0]))

    if counts.get("EXT-X-TARGETDURATION", 0) == 0:
        out.append(_msg("targetduration", "no EXT-X-TARGETDURATION"))
    if pl.target_duration is not None:
        for seg in pl.segments:
            if math.floor(seg.duration + 0.5) > pl.target_duration:
                out.append(_msg("extinf-over-target",
                                f"EXTINF {seg.duration:g} rounds above "
                                f"EXT-X-TARGETDURATION {pl.target_duration}", seg.line))

    # Version compatibility (RFC 8216 section 7).
    if counts.get("EXT-X-VERSION", 0) == 0:
        out.append(_msg("version-missing", "no EXT-X-VERSION"))
    version = pl.version if pl.version is not None else 1
    needs: List[Tuple[int, str, int]] = []
    if "iv" in uses:
        needs.append((2, "the IV attribute of EXT-X-KEY", uses["iv"]))
    if float_extinf_line is not None:
        needs.append((3, "a floating-point EXTINF duration", float_extinf_line))
    if "byterange" in uses:
        needs.append((4, "EXT-X-BYTERANGE", uses["byterange"]))
    if "i-frames-only" in uses:
        needs.append((4, "EXT-X-I-FRAMES-ONLY", uses["i-frames-only"]))
    if "keyformat" in uses:
        needs.append((5, "KEYFORMAT/KEYFORMATVERSIONS", uses["keyformat"]))
    if "map" in uses:
        if pl.i_frames_only:
            needs.append((5, "EXT-X-MAP in an I-frames-only playlist", uses["map"]))
        else:
            needs.append((6, "EXT-X-MAP without EXT-X-I-FRAMES-ONLY", uses["map"]))
    for need, what, lineno in needs:
        if version < need:
            out.append(_msg("version-too-low",
                            f"{what} needs EXT-X-VERSION >= {need}, playlist has {version}",
                            lineno))
    return pl, out


def parse_media(text: str) -> MediaPlaylist:
    """Parse a media playlist.

    Lenient: it returns what it can read even from an invalid playlist; use
    ``check_media`` for the violations. Raises ValueError when the text is
    not an HLS playlist at all (no #EXTM3U) or is a master playlist.
    """
    lines = _lines(text)
    if not lines or lines[0][1] != "#EXTM3U":
        raise ValueError("not an HLS playlist: no #EXTM3U")
    if is_master(text):
        raise ValueError("a master playlist, not a media playlist")
    return _scan_media(text)[0]


def check_media(text: str) -> List[str]:
    """Violations of one media playlist (RFC 8216 4.1-4.3.3 and section 7)."""
    return _scan_media(text)[1]


def is_master(text: str) -> bool:
    """True when the playlist declares variant streams (a master playlist)."""
    return any(ln.startswith(("#EXT-X-STREAM-INF", "#EXT-X-I-FRAME-STREAM-INF"))
               for _, ln in _lines(text))


# ---------------------------------------------------------------------------
# Successive reloads of one media playlist (RFC 8216 6.2.1, 6.2.2, 6.3.x)

def check_reloads(reloads: Sequence[str], each: bool = True) -> List[str]:
    """Violations across successive reloads of one media playlist.

    ``reloads`` are the texts in the order they were fetched; identical
    consecutive texts are fine. With ``each`` the violations of every single
    reload (``check_media``) are included, prefixed with ``reload N:``.
    Enforces, between consecutive reloads:

    * EXT-X-MEDIA-SEQUENCE never decreases (6.2.1);
    * EXT-X-TARGETDURATION never changes (4.3.3.1);
    * a media sequence number present in both keeps its URI, duration,
      discontinuity flag, EXT-X-MAP and explicit program date (6.2.1);
    * segments disappear only from the top: every segment of the previous
      reload at or after the new media sequence is still there (6.2.1);
    * EXT-X-DISCONTINUITY-SEQUENCE grows by exactly the number of removed
      segments that carried EXT-X-DISCONTINUITY (6.2.2); when segments were
      removed that the previous reload did not show, by at least the count
      among the removed ones it did show;
    * once EXT-X-ENDLIST appears nothing changes any more (6.2.1);
    * EXT-X-PLAYLIST-TYPE does not change, EVENT playlists only append
      (media sequence fixed, no segment removed) and VOD ones never change
      (6.2.1, 4.3.3.5).
    """
    out: List[str] = []
    parsed: List[MediaPlaylist] = []
    for i, text in enumerate(reloads):
        pl, errs = _scan_media(text)
        parsed.append(pl)
        if each:
            out.extend(f"reload {i}: {e}" for e in errs)

    for i in range(1, len(parsed)):
        prev, cur = parsed[i - 1], parsed[i]
        where = f"reload {i - 1} -> {i}"

        def add(rule: str, text: str) -> None:
            out.append(_msg(rule, f"{where}: {text}"))

        if prev.endlist:
            if _normalise(reloads[i]) != _normalise(reloads[i - 1]):
                add("reload-after-endlist", "playlist changed after EXT-X-ENDLIST")
            continue
        if prev.playlist_type != cur.playlist_type:
            add("reload-playlist-type",
                f"EXT-X-PLAYLIST-TYPE changed {prev.playlist_type} -> {cur.playlist_type}")
        elif prev.playlist_type == "VOD" and _normalise(reloads[i]) != _normalise(reloads[i - 1]):
            add("reload-playlist-type", "a VOD playlist changed")
        if cur.media_sequence < prev.media_sequence:
            add("reload-media-sequence",
                f"EXT-X-MEDIA-SEQUENCE went back {prev.media_sequence} -> {cur.media_sequence}")
            continue  # nothing else is comparable
        if prev.target_duration != cur.target_duration:
            add("reload-target-duration",
                f"EXT-X-TARGETDURATION changed {prev.target_duration} -> {cur.target_duration}")
        if prev.playlist_type == "EVENT" and cur.media_sequence != prev.media_sequence:
            add("reload-playlist-type",
                "an EVENT playlist removed segments (EXT-X-MEDIA-SEQUENCE "
                f"{prev.media_sequence} -> {cur.media_sequence})")

        cur_by_seq = cur.by_sequence()
        for seg in prev.segments:
            if seg.sequence < cur.media_sequence:
                continue
            new = cur_by_seq.get(seg.sequence)
            if new is None:
                add("reload-segment-vanished",
                    f"segment {seg.sequence} ({seg.uri}) disappeared without being at the top")
                continue
            changes = []
            if new.uri != seg.uri:
                changes.append(f"URI {seg.uri!r} -> {new.uri!r}")
            if abs(new.duration - seg.duration) > 1e-6:
                changes.append(f"duration {seg.duration:g} -> {new.duration:g}")
            if new.discontinuity != seg.discontinuity:
                changes.append(f"discontinuity {seg.discontinuity} -> {new.discontinuity}")
            if new.map_uri != seg.map_uri:
                changes.append(f"EXT-X-MAP {seg.map_uri!r} -> {new.map_uri!r}")
            if (new.program_date_time and seg.program_date_time
                    and abs((new.program_date_time - seg.program_date_time).total_seconds())
                    > 0.001):
                changes.append("EXT-X-PROGRAM-DATE-TIME "
                               f"{seg.program_date_time.isoformat()} -> "
                               f"{new.program_date_time.isoformat()}")
            if changes:
                add("reload-segment-changed",
                    f"segment {seg.sequence}: " + ", ".join(changes))

        # Discontinuity sequence (6.2.2).
        removed = cur.media_sequence - prev.media_sequence
        known = [s for s in prev.segments if s.sequence < cur.media_sequence]
        disc_removed = sum(1 for s in known if s.discontinuity)
        grew = cur.discontinuity_sequence - prev.discontinuity_sequence
        if len(known) == removed:
            if grew != disc_removed:
                add("reload-discontinuity-sequence",
                    f"{removed} segment(s) removed of which {disc_removed} had "
                    f"EXT-X-DISCONTINUITY, but EXT-X-DISCONTINUITY-SEQUENCE went "
                    f"{prev.discontinuity_sequence} -> {cur.discontinuity_sequence}")
        elif grew < disc_removed:
            add("reload-discontinuity-sequence",
                f"at least {disc_removed} removed segment(s) had EXT-X-DISCONTINUITY, but "
                f"EXT-X-DISCONTINUITY-SEQUENCE went {prev.discontinuity_sequence} -> "
                f"{cur.discontinuity_sequence}")
    return out


def live_window_warnings(reloads: Sequence[str]) -> List[str]:
    """Warnings for a live playlist that keeps too little media (6.2.2).

    RFC 8216 6.2.2: the server must not remove a segment from a playlist
    without EXT-X-ENDLIST if that leaves less than three target durations.
    Reported for every reload without EXT-X-ENDLIST that holds less than
    three target durations after an earlier reload held that much, or after
    segments were removed from the top.
    """
    out: List[str] = []
    seen_enough = False
    prev_seq: Optional[int] = None
    for i, text in enumerate(reloads):
        pl = _scan_media(text)[0]
        td = pl.target_duration
        if td is None:
            continue
        need = 3 * td
        total = pl.total_duration
        removed = prev_seq is not None and pl.media_sequence > prev_seq
        prev_seq = pl.media_sequence
        if pl.endlist:
            continue
        if total + 1e-6 >= need:
            seen_enough = True
        elif seen_enough or removed:
            out.append(_msg("live-window-short",
                            f"reload {i}: live playlist holds {total:.3f} s, less than "
                            f"three target durations ({need} s)"))
    return out


def _normalise(text: str) -> str:
    return "\n".join(ln for _, ln in _lines(text))


# ---------------------------------------------------------------------------
# Master playlists

@dataclass
class Variant:
    """One EXT-X-STREAM-INF and its URI (RFC 8216 4.3.4.2)."""
    uri: Optional[str]
    bandwidth: Optional[int] = None
    average_bandwidth: Optional[int] = None
    codecs: List[str] = field(default_factory=list)
    resolution: Optional[Tuple[int, int]] = None
    frame_rate: Optional[float] = None
    audio: Optional[str] = None
    video: Optional[str] = None
    subtitles: Optional[str] = None
    closed_captions: Optional[str] = None
    attributes: Dict[str, str] = field(default_factory=dict)  # all, quotes removed
    line: int = 0


@dataclass
class Rendition:
    """One EXT-X-MEDIA (RFC 8216 4.3.4.1)."""
    type: Optional[str]
    group_id: Optional[str]
    name: Optional[str]
    language: Optional[str] = None
    default: bool = False
    autoselect: Optional[bool] = None  # None when AUTOSELECT is absent
    uri: Optional[str] = None
    instream_id: Optional[str] = None
    channels: Optional[str] = None
    line: int = 0


@dataclass
class MasterPlaylist:
    """A parsed master playlist (RFC 8216 4.3.4)."""
    version: Optional[int] = None
    independent_segments: bool = False
    variants: List[Variant] = field(default_factory=list)
    media: List[Rendition] = field(default_factory=list)
    i_frame_variants: List[Dict[str, str]] = field(default_factory=list)

    def group(self, type_: str, group_id: str) -> List[Rendition]:
        return [m for m in self.media if m.type == type_ and m.group_id == group_id]


_VIDEO_CODEC = re.compile(r"(avc1|avc3|hvc1|hev1|dvh1|dvhe|av01|vp09)(\..*)?")
_CODEC_FORMS = [
    re.compile(r"(avc1|avc3)\.[0-9A-Fa-f]{6}"),
    re.compile(r"(hvc1|hev1)\.[ABC]?[0-9]{1,2}\.[0-9A-Fa-f]{1,8}\.[LH][0-9]{1,3}"
               r"(\.[0-9A-Fa-f]{1,2}){0,6}"),
    re.compile(r"(dvh1|dvhe)\.[0-9]{2}\.[0-9]{2}"),
    re.compile(r"av01\.[0-2]\.[0-9]{2}[MH]\.(08|10|12)"
               r"(\.[01]\.[0-3]{3}\.[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[01])?"),
    re.compile(r"vp09\.[0-9]{2}\.[0-9]{2}\.[0-9]{2}(\.[0-9]{2}){0,5}"),
    re.compile(r"mp4a\.40\.[0-9]{1,2}"),
    re.compile(r"mp4a\.(69|6B|6b|A5|a5|A6|a6)"),
    re.compile(r"ac-3|ec-3|ac-4(\.[0-9]{2}){3}|Opus|opus|fLaC|mp3|wvtt|stpp\.ttml\.im1t"),
]


def codec_is_well_formed(codec: str) -> bool:
    """True for a recognised RFC 6381 codec string (avc1.PPCCLL, hvc1/hev1,
    av01, vp09, mp4a.40.N and the common audio/text four-character codes)."""
    return any(form.fullmatch(codec) for form in _CODEC_FORMS)


def _scan_master(text: str) -> Tuple[MasterPlaylist, List[str]]:
    out: List[str] = []
    pl = MasterPlaylist()
    lines = _lines(text)
    if not lines or lines[0][1] != "#EXTM3U":
        out.append(_msg("extm3u", "playlist does not start with #EXTM3U", 1))
    version_count = 0
    instream_service_line: Optional[int] = None
    pending: Optional[Variant] = None
    for lineno, line in lines:
        if _is_comment(line):
            continue
        if not _is_tag(line):
            if pending is None:
                out.append(_msg("stream-inf-uri",
                                f"URI {line!r} not preceded by EXT-X-STREAM-INF", lineno))
            else:
                pending.uri = line
                pl.variants.append(pending)
                pending = None
            continue
        tag, value = _split_tag(line)
        if pending is not None:
            out.append(_msg("stream-inf-uri",
                            f"EXT-X-STREAM-INF of line {pending.line} is followed by #{tag}, "
                            "not a URI", lineno))
            pl.variants.append(pending)
            pending = None
        if tag == "EXTM3U":
            if lineno != lines[0][0]:
                out.append(_msg("extm3u", "#EXTM3U is not the first line", lineno))
        elif tag in _MEDIA_ONLY_TAGS:
            out.append(_msg("mixed-playlist", f"media playlist tag #{tag} in a master playlist",
                            lineno))
        elif tag == "EXT-X-VERSION":
            version_count += 1
            v = _to_int(value)
            if version_count > 1 or v is None:
                out.append(_msg("version-duplicate", f"#EXT-X-VERSION:{value}", lineno))
            if version_count == 1:
                pl.version = v
        elif tag == "EXT-X-INDEPENDENT-SEGMENTS":
            pl.independent_segments = True
        elif tag == "EXT-X-STREAM-INF":
            errs: List[str] = []
            attrs = _check_tag_attrs(tag, value, lineno, errs)
            # A missing or malformed BANDWIDTH has its own rule key.
            out.extend(e for e in errs if " BANDWIDTH" not in e)
            bw = _to_int(attrs.get("BANDWIDTH", ""))
            if "BANDWIDTH" not in attrs:
                out.append(_msg("stream-inf-bandwidth", "EXT-X-STREAM-INF has no BANDWIDTH",
                                lineno))
            elif bw is None or bw <= 0:
                out.append(_msg("stream-inf-bandwidth",
                                f"BANDWIDTH={attrs['BANDWIDTH']} is not a positive integer",
                                lineno))
            pending = _variant(attrs, lineno)
        elif tag == "EXT-X-MEDIA":
            attrs = _check_tag_attrs(tag, value, lineno, out)
            if attrs:
                pl.media.append(_rendition(attrs, lineno))
                iid = _unq(attrs.get("INSTREAM-ID")) or ""
                if iid.startswith("SERVICE") and instream_service_line is None:
                    instream_service_line = lineno
        elif tag == "EXT-X-I-FRAME-STREAM-INF":
            attrs = _check_tag_attrs(tag, value, lineno, out)
            if attrs:
                pl.i_frame_variants.append({k: _unq(v) for k, v in attrs.items()})
        elif tag in _TAG_SCHEMA:
            _check_tag_attrs(tag, value, lineno, out)
    if pending is not None:
        out.append(_msg("stream-inf-uri",
                        f"EXT-X-STREAM-INF of line {pending.line} has no URI", pending.line))
        pl.variants.append(pending)

    # Version compatibility (RFC 8216 section 7).
    if instream_service_line is not None and (pl.version or 1) < 7:
        out.append(_msg("version-too-low",
                        f"INSTREAM-ID SERVICE<n> needs EXT-X-VERSION >= 7, playlist has "
                        f"{pl.version or 1}", instream_service_line))
    _check_variants(pl, out)
    _check_renditions(pl, out)
    return pl, out


def _variant(attrs: Dict[str, str], line: int) -> Variant:
    bw = _to_int(attrs.get("BANDWIDTH", ""))
    avg = _to_int(attrs.get("AVERAGE-BANDWIDTH", ""))
    codecs = _unq(attrs.get("CODECS"))
    res = _RESOLUTION.fullmatch(attrs.get("RESOLUTION", ""))
    fr = attrs.get("FRAME-RATE")
    return Variant(
        uri=None, bandwidth=bw, average_bandwidth=avg,
        codecs=[c.strip() for c in codecs.split(",")] if codecs is not None else [],
        resolution=(int(res.group(1)), int(res.group(2))) if res else None,
        frame_rate=float(fr) if fr and _DEC_FLOAT.fullmatch(fr) else None,
        audio=_unq(attrs.get("AUDIO")), video=_unq(attrs.get("VIDEO")),
        subtitles=_unq(attrs.get("SUBTITLES")),
        closed_captions=_unq(attrs.get("CLOSED-CAPTIONS")),
        attributes={k: _unq(v) for k, v in attrs.items()}, line=line)


def _rendition(attrs: Dict[str, str], line: int) -> Rendition:
    auto = attrs.get("AUTOSELECT")
    return Rendition(
        type=attrs.get("TYPE"), group_id=_unq(attrs.get("GROUP-ID")),
        name=_unq(attrs.get("NAME")), language=_unq(attrs.get("LANGUAGE")),
        default=attrs.get("DEFAULT") == "YES",
        autoselect=None if auto is None else auto == "YES",
        uri=_unq(attrs.get("URI")), instream_id=_unq(attrs.get("INSTREAM-ID")),
        channels=_unq(attrs.get("CHANNELS")), line=line)


def _check_variants(pl: MasterPlaylist, out: List[str]) -> None:
    """CODECS, RESOLUTION and group references of each variant (4.3.4.2)."""
    for v in pl.variants:
        if not v.codecs:
            out.append(_msg("codecs-missing", "EXT-X-STREAM-INF has no CODECS", v.line))
        for c in v.codecs:
            if not codec_is_well_formed(c):
                out.append(_msg("codec-malformed", f"codec {c!r} is not well-formed", v.line))
        has_video = any(_VIDEO_CODEC.fullmatch(c) for c in v.codecs)
        if has_video and "RESOLUTION" not in v.attributes:
            out.append(_msg("resolution-missing", "a video variant has no RESOLUTION", v.line))
        for type_, gid in (("AUDIO", v.audio), ("VIDEO", v.video),
                           ("SUBTITLES", v.subtitles), ("CLOSED-CAPTIONS", v.closed_captions)):
            if gid is None or (type_ == "CLOSED-CAPTIONS" and gid == "NONE"):
                continue
            if not pl.group(type_, gid):
                out.append(_msg("group-undefined",
                                f"{type_}=\"{gid}\" names no EXT-X-MEDIA with TYPE={type_} "
                                f"and GROUP-ID=\"{gid}\"", v.line))


def _check_renditions(pl: MasterPlaylist, out: List[str]) -> None:
    """DEFAULT, NAME, AUTOSELECT and CLOSED-CAPTIONS rules (4.3.4.1, 4.3.4.1.1)."""
    groups: Dict[Tuple[Optional[str], Optional[str]], List[Rendition]] = {}
    for m in pl.media:
        groups.setdefault((m.type, m.group_id), []).append(m)
        if m.default and m.autoselect is False:
            out.append(_msg("media-autoselect",
                            f"rendition {m.name!r} has DEFAULT=YES but AUTOSELECT=NO", m.line))
        if m.type == "CLOSED-CAPTIONS" and (m.uri is not None or m.instream_id is None):
            out.append(_msg("media-closed-captions",
                            f"CLOSED-CAPTIONS rendition {m.name!r} needs INSTREAM-ID and no URI",
                            m.line))
    for (type_, gid), members in groups.items():
        defaults = [m for m in members if m.default]
        if len(defaults) > 1:
            out.append(_msg("media-default",
                            f"{type_} group {gid!r} has {len(defaults)} DEFAULT=YES renditions",
                            defaults[1].line))
        names: Dict[Optional[str], int] = {}
        for m in members:
            if m.name in names:
                out.append(_msg("media-name",
                                f"{type_} group {gid!r} repeats NAME {m.name!r} "
                                f"(line {names[m.name]})", m.line))
            names.setdefault(m.name, m.line)


def parse_master(text: str) -> MasterPlaylist:
    """Parse a master playlist (lenient; see ``check_master``).

    Raises ValueError when the text has no #EXTM3U or no EXT-X-STREAM-INF.
    """
    lines = _lines(text)
    if not lines or lines[0][1] != "#EXTM3U":
        raise ValueError("not an HLS playlist: no #EXTM3U")
    if not is_master(text):
        raise ValueError("a media playlist, not a master playlist")
    return _scan_master(text)[0]


def check_master(text: str) -> List[str]:
    """Violations of one master playlist (RFC 8216 4.1, 4.2, 4.3.4)."""
    return _scan_master(text)[1]


def master_notes(text: str) -> List[str]:
    """Advisory notes on a master playlist; not errors.

    Notes a missing EXT-X-INDEPENDENT-SEGMENTS (4.3.5.1), which is optional
    but tells clients every segment starts with a key frame.
    """
    pl = _scan_master(text)[0]
    if pl.independent_segments:
        return []
    return [_msg("independent-segments-missing", "no EXT-X-INDEPENDENT-SEGMENTS")]


def check_playlist(text: str) -> List[str]:
    """``check_master`` or ``check_media``, whichever kind the playlist is."""
    return check_master(text) if is_master(text) else check_media(text)


def assert_valid(violations: Iterable[str]) -> None:
    """Raise AssertionError listing the violations, if any."""
    found = list(violations)
    if found:
        raise AssertionError("HLS violations:\n  " + "\n  ".join(found))
