"""Python bindings for LiveGate's C API (ctypes, no compilation needed).

Covers the entry store and the endpoint URL builder/parser, so a Python
control plane can create entries, rotate tokens and hand encoders their URLs
while a LiveGate server runs on the same store; and a server itself
(`Server`), with its logs, failover events, continuous output frames,
failover state and forced switches between an entry's primary and backup.

The shared library is found through $LIVEGATE_LIB, then the system loader
(liblivegate.so.0).
"""

import ctypes
import os

_ENTRY_ID_MAX = 32
_TOKEN_MAX = 128
_STREAM_NAME_MAX = 64
_HOST_MAX = 256
_ENTRY_NAME_MAX = 256
_SRT_PASSPHRASE_MAX = 79

PRIMARY, BACKUP = 0, 1
RTMP, RTMPS, SRT = 0, 1, 2
_SCHEME_NAMES = {RTMP: "rtmp", RTMPS: "rtmps", SRT: "srt"}
_ROLE_NAMES = {PRIMARY: "primary", BACKUP: "backup"}

# lg_failover_policy and the LG_CHECK_* flags of Server(content_checks=...).
FAILOVER_AUTO, FAILOVER_MANUAL, FAILOVER_STICKY = 0, 1, 2
CHECK_BLACK, CHECK_FROZEN, CHECK_SILENCE = 0x1, 0x2, 0x4


class Error(Exception):
    """A LiveGate call failed; `status` is the lg_status code."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class _Entry(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("id", ctypes.c_char * (_ENTRY_ID_MAX + 1)),
        ("name", ctypes.c_char * (_ENTRY_NAME_MAX + 1)),
        ("token", ctypes.c_char * (_TOKEN_MAX + 1)),
        ("token_generation", ctypes.c_int64),
        ("created_at_ms", ctypes.c_int64),
        ("updated_at_ms", ctypes.c_int64),
        ("has_srt_passphrase", ctypes.c_int),
        ("srt_passphrase", ctypes.c_char * (_SRT_PASSPHRASE_MAX + 1)),
    ]


class _UrlOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("host", ctypes.c_char_p),
        ("port", ctypes.c_uint16),
        ("scheme", ctypes.c_int),
        ("app", ctypes.c_char_p),
    ]


class _UrlTarget(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("scheme", ctypes.c_int),
        ("host", ctypes.c_char * (_HOST_MAX + 1)),
        ("port", ctypes.c_uint16),
        ("entry_id", ctypes.c_char * (_ENTRY_ID_MAX + 1)),
        ("role", ctypes.c_int),
        ("token", ctypes.c_char * (_TOKEN_MAX + 1)),
        ("stream_name", ctypes.c_char * (_STREAM_NAME_MAX + 1)),
    ]


_LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)


# The layouts below follow include/livegate/server.h, failover.h and
# frame.h field for field; the library reads only what struct_size covers,
# so a field left out at the end is harmless but one out of order is not.
class _ServerOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("data_dir", ctypes.c_char_p),
        ("rtmp_address", ctypes.c_char_p),
        ("rtmp_port", ctypes.c_int),
        ("log", _LOG_FN),
        ("log_user", ctypes.c_void_p),
        ("log_level", ctypes.c_int),
        ("revoke_policy", ctypes.c_int),
        ("revalidate_interval_ms", ctypes.c_uint32),
        ("handshake_timeout_ms", ctypes.c_uint32),
        ("idle_timeout_ms", ctypes.c_uint32),
        ("max_connections", ctypes.c_uint32),
        ("max_message_size", ctypes.c_uint32),
        ("max_streams_per_entry", ctypes.c_uint32),
        ("max_send_buffer", ctypes.c_uint32),
        ("host_authorization", ctypes.c_int),
        ("rtmps_address", ctypes.c_char_p),
        ("rtmps_port", ctypes.c_int),
        ("tls_cert_file", ctypes.c_char_p),
        ("tls_key_file", ctypes.c_char_p),
        ("srt_address", ctypes.c_char_p),
        ("srt_port", ctypes.c_int),
        ("srt_latency_ms", ctypes.c_uint32),
        ("srt_pbkeylen", ctypes.c_uint32),
        ("media_dir", ctypes.c_char_p),
        ("hls", ctypes.c_int),
        ("segment_format", ctypes.c_int),
        ("segment_target_ms", ctypes.c_uint32),
        ("live_playlist_segments", ctypes.c_uint32),
        ("dvr_window_s", ctypes.c_uint32),
        ("recording_rotate_s", ctypes.c_uint32),
        ("vod_on_stop", ctypes.c_int),
        ("output_queue_bytes", ctypes.c_uint32),
        ("playlist_end_ms", ctypes.c_uint32),
        ("failover_policy", ctypes.c_int),
        ("stall_ms", ctypes.c_uint32),
        ("keyframe_timeout_ms", ctypes.c_uint32),
        ("bitrate_collapse_percent", ctypes.c_uint32),
        ("clear_ms", ctypes.c_uint32),
        ("switch_back_ms", ctypes.c_uint32),
        ("reconnect_window_ms", ctypes.c_uint32),
        ("input_buffer_bytes", ctypes.c_uint32),
        ("content_checks", ctypes.c_uint32),
        ("black_after_ms", ctypes.c_uint32),
        ("frozen_after_ms", ctypes.c_uint32),
        ("silence_after_ms", ctypes.c_uint32),
        ("silence_dbfs", ctypes.c_int32),
        ("max_connections_per_address", ctypes.c_uint32),
        ("max_auth_failures_per_minute", ctypes.c_uint32),
        ("max_chunk_size", ctypes.c_uint32),
        ("max_chunk_streams", ctypes.c_uint32),
        ("max_incomplete_bytes", ctypes.c_uint32),
        ("max_amf_depth", ctypes.c_uint32),
        ("max_amf_items", ctypes.c_uint32),
        ("max_amf_string", ctypes.c_uint32),
        ("max_pending_bytes", ctypes.c_uint32),
        ("max_ts_streams", ctypes.c_uint32),
        ("srt_queue_bytes", ctypes.c_uint32),
        ("srt_max_bitrate_kbps", ctypes.c_uint32),
    ]


class _Frame(ctypes.Structure):
    _fields_ = [
        ("track", ctypes.c_int),
        ("codec", ctypes.c_int),
        ("dts_us", ctypes.c_int64),
        ("pts_us", ctypes.c_int64),
        ("keyframe", ctypes.c_int),
        ("data", ctypes.POINTER(ctypes.c_uint8)),
        ("size", ctypes.c_size_t),
    ]


class _FailoverEvent(ctypes.Structure):
    _fields_ = [
        ("entry_id", ctypes.c_char_p),
        ("stream_name", ctypes.c_char_p),
        ("kind", ctypes.c_int),
        ("from_role", ctypes.c_int),  # `from` in C
        ("to_role", ctypes.c_int),
        ("fault", ctypes.c_int),
        ("session_id", ctypes.c_uint64),
        ("aligned", ctypes.c_int),
        ("gap_ms", ctypes.c_int64),
        ("lost_ms", ctypes.c_int64),
        ("unix_ms", ctypes.c_int64),
    ]


class _FailoverStats(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("open", ctypes.c_int),
        ("has_active", ctypes.c_int),
        ("active", ctypes.c_int),
        ("primary_present", ctypes.c_int),
        ("backup_present", ctypes.c_int),
        ("primary_fault", ctypes.c_int),
        ("backup_fault", ctypes.c_int),
        ("switches", ctypes.c_uint64),
        ("resumes", ctypes.c_uint64),
        ("last_kind", ctypes.c_int),
        ("last_fault", ctypes.c_int),
        ("last_unix_ms", ctypes.c_int64),
        ("last_gap_ms", ctypes.c_int64),
        ("last_lost_ms", ctypes.c_int64),
        ("max_gap_ms", ctypes.c_int64),
        ("backup_ms", ctypes.c_uint64),
        ("frames_out", ctypes.c_uint64),
        ("frames_overlap", ctypes.c_uint64),
    ]


_ENTRY_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(_Entry))
_FAILOVER_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(_FailoverEvent))
_OUTPUT_FRAME_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                    ctypes.POINTER(_Frame))


class _ServerCallbacks(ctypes.Structure):
    # Callbacks this binding does not expose stay NULL.
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("user", ctypes.c_void_p),
        ("on_publish_start", ctypes.c_void_p),
        ("on_publish_reject", ctypes.c_void_p),
        ("on_publish_stop", ctypes.c_void_p),
        ("on_frame", ctypes.c_void_p),
        ("on_authorize", ctypes.c_void_p),
        ("on_output", ctypes.c_void_p),
        ("on_failover", _FAILOVER_FN),
        ("on_output_frame", _OUTPUT_FRAME_FN),
    ]


def _load():
    path = os.environ.get("LIVEGATE_LIB", "liblivegate.so.0")
    lib = ctypes.CDLL(path)
    lib.lg_version_string.restype = ctypes.c_char_p
    lib.lg_strerror.restype = ctypes.c_char_p
    lib.lg_strerror.argtypes = [ctypes.c_int]
    lib.lg_status_name.restype = ctypes.c_char_p
    lib.lg_status_name.argtypes = [ctypes.c_int]
    lib.lg_free.argtypes = [ctypes.c_void_p]
    lib.lg_store_open.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p,
                                  ctypes.c_char_p, ctypes.c_size_t]
    lib.lg_store_close.argtypes = [ctypes.c_void_p]
    lib.lg_store_last_error.restype = ctypes.c_char_p
    lib.lg_store_last_error.argtypes = [ctypes.c_void_p]
    for name in ("lg_store_create_entry", "lg_store_get_entry", "lg_store_regenerate_token"):
        getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.POINTER(_Entry), ctypes.c_char_p]
    lib.lg_store_delete_entry.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.lg_store_set_srt_passphrase.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Entry),
                                                ctypes.c_char_p, ctypes.c_char_p]
    lib.lg_store_list_entries.argtypes = [ctypes.c_void_p, _ENTRY_FN, ctypes.c_void_p]
    lib.lg_url_options_init.argtypes = [ctypes.POINTER(_UrlOptions)]
    lib.lg_url_build.argtypes = [ctypes.POINTER(ctypes.c_void_p)] * 3 + [
        ctypes.POINTER(_UrlOptions), ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
        ctypes.c_char_p]
    lib.lg_url_parse.argtypes = [ctypes.POINTER(_UrlTarget), ctypes.c_char_p, ctypes.c_char_p,
                                 ctypes.c_char_p, ctypes.c_size_t]
    for name in ("lg_input_fault_name", "lg_switch_kind_name", "lg_codec_name"):
        getattr(lib, name).restype = ctypes.c_char_p
        getattr(lib, name).argtypes = [ctypes.c_int]
    lib.lg_server_options_init.argtypes = [ctypes.POINTER(_ServerOptions)]
    lib.lg_server_create.argtypes = [ctypes.POINTER(ctypes.c_void_p),
                                     ctypes.POINTER(_ServerOptions),
                                     ctypes.POINTER(_ServerCallbacks)]
    lib.lg_server_start.argtypes = [ctypes.c_void_p]
    lib.lg_server_destroy.argtypes = [ctypes.c_void_p]
    lib.lg_server_get_port.argtypes = [ctypes.c_void_p, ctypes.c_int,
                                       ctypes.POINTER(ctypes.c_int)]
    lib.lg_server_get_failover_stats.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                                 ctypes.c_char_p, ctypes.POINTER(_FailoverStats)]
    lib.lg_server_switch_input.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                           ctypes.c_int]
    lib.lg_server_list_outputs.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                           ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
    return lib


_lib = _load()


def version():
    return _lib.lg_version_string().decode()


def _check(status, detail=""):
    if status != 0:
        message = _lib.lg_strerror(status).decode()
        raise Error(status, f"{message}: {detail}" if detail else message)


def _entry_dict(e):
    return {
        "entryId": e.id.decode(),
        "name": e.name.decode(),
        "token": e.token.decode(),
        "tokenGeneration": e.token_generation,
        "createdAtMs": e.created_at_ms,
        "updatedAtMs": e.updated_at_ms,
        "srtPassphrase": e.srt_passphrase.decode() if e.has_srt_passphrase else None,
    }


class Store:
    """The entry store (SQLite). Safe to share with a running server."""

    def __init__(self, path):
        self._handle = ctypes.c_void_p()
        err = ctypes.create_string_buffer(512)
        _check(_lib.lg_store_open(ctypes.byref(self._handle), path.encode(), err, len(err)),
               err.value.decode())

    def close(self):
        if self._handle:
            _lib.lg_store_close(self._handle)
            self._handle = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _entry_call(self, fn, arg):
        e = _Entry()
        e.struct_size = ctypes.sizeof(_Entry)
        status = fn(self._handle, ctypes.byref(e), arg.encode() if arg is not None else None)
        _check(status, _lib.lg_store_last_error(self._handle).decode())
        return _entry_dict(e)

    def create_entry(self, name=""):
        return self._entry_call(_lib.lg_store_create_entry, name)

    def get_entry(self, entry_id):
        return self._entry_call(_lib.lg_store_get_entry, entry_id)

    def regenerate_token(self, entry_id):
        return self._entry_call(_lib.lg_store_regenerate_token, entry_id)

    def set_srt_passphrase(self, entry_id, passphrase):
        """Sets (10 to 79 characters) or, with None, clears the SRT passphrase."""
        e = _Entry()
        e.struct_size = ctypes.sizeof(_Entry)
        status = _lib.lg_store_set_srt_passphrase(
            self._handle, ctypes.byref(e), entry_id.encode(),
            passphrase.encode() if passphrase is not None else None)
        _check(status, _lib.lg_store_last_error(self._handle).decode())
        return _entry_dict(e)

    def delete_entry(self, entry_id):
        _check(_lib.lg_store_delete_entry(self._handle, entry_id.encode()))

    def list_entries(self):
        out = []
        cb = _ENTRY_FN(lambda _user, e: out.append(_entry_dict(e.contents)))
        _check(_lib.lg_store_list_entries(self._handle, cb, None))
        return out


def build_url(host, entry_id, token, role=PRIMARY, stream_name="1", port=0, scheme=RTMP,
              app="kLive"):
    """Returns {"url", "streamName", "ffmpeg"} for one endpoint.

    For scheme=SRT, "streamName" is the SRT stream id and "ffmpeg" the URL
    with it as a percent-encoded streamid= parameter.
    """
    opts = _UrlOptions()
    _lib.lg_url_options_init(ctypes.byref(opts))
    host_b, app_b = host.encode(), app.encode()
    opts.host, opts.port, opts.scheme, opts.app = host_b, port, scheme, app_b
    url, name, ff = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    _check(_lib.lg_url_build(ctypes.byref(url), ctypes.byref(name), ctypes.byref(ff),
                             ctypes.byref(opts), entry_id.encode(), role, token.encode(),
                             stream_name.encode()))
    try:
        return {
            "url": ctypes.string_at(url).decode(),
            "streamName": ctypes.string_at(name).decode(),
            "ffmpeg": ctypes.string_at(ff).decode(),
        }
    finally:
        for p in (url, name, ff):
            _lib.lg_free(p)


def parse_url(url, stream_name=None):
    """The inverse of build_url: returns the entry, role, token and stream name."""
    t = _UrlTarget()
    t.struct_size = ctypes.sizeof(_UrlTarget)
    err = ctypes.create_string_buffer(512)
    status = _lib.lg_url_parse(ctypes.byref(t), url.encode(),
                               stream_name.encode() if stream_name else None, err, len(err))
    _check(status, err.value.decode())
    return {
        "scheme": _SCHEME_NAMES.get(t.scheme, "unknown"),
        "host": t.host.decode(),
        "port": t.port,
        "entryId": t.entry_id.decode(),
        "role": "backup" if t.role == BACKUP else "primary",
        "token": t.token.decode(),
        "streamName": t.stream_name.decode(),
    }


# Options a host may set by name; the log sink and data_dir have their own
# arguments.
_SERVER_OPTION_NAMES = {name for name, _ in _ServerOptions._fields_} - {
    "struct_size", "data_dir", "log", "log_user"}


def server_defaults():
    """The default of every lg_server_options field Server() accepts."""
    opts = _ServerOptions()
    _lib.lg_server_options_init(ctypes.byref(opts))
    out = {}
    for name in sorted(_SERVER_OPTION_NAMES):
        value = getattr(opts, name)
        out[name] = value.decode() if isinstance(value, bytes) else value
    return out


def _fault(fault):
    """The library's name of an input fault; None for none."""
    return _lib.lg_input_fault_name(fault).decode() if fault else None


def _failover_event_dict(e):
    return {
        "entryId": e.entry_id.decode(),
        "streamName": e.stream_name.decode(),
        "kind": _lib.lg_switch_kind_name(e.kind).decode(),
        "from": _ROLE_NAMES.get(e.from_role, "unknown"),
        "to": _ROLE_NAMES.get(e.to_role, "unknown"),
        "fault": _fault(e.fault),
        "sessionId": e.session_id,
        "aligned": bool(e.aligned),
        "gapMs": e.gap_ms,
        "lostMs": e.lost_ms,
        "unixMs": e.unix_ms,
    }


def _frame_dict(f):
    return {
        "track": "audio" if f.track == 1 else "video",
        "codec": _lib.lg_codec_name(f.codec).decode(),
        "dtsUs": f.dts_us,
        "ptsUs": f.pts_us,
        "keyframe": bool(f.keyframe),
        "data": ctypes.string_at(f.data, f.size) if f.size else b"",
    }


class Server:
    """A LiveGate server, running on a loop thread of its own once started.

    `options` are lg_server_options fields by their C names, for example
    rtmp_port=0, failover_policy=FAILOVER_MANUAL, reconnect_window_ms=2000;
    the others keep the library's defaults (see server_defaults()).
    Callbacks run on the server's loop thread, one at a time, and must
    return quickly:

      log(level, message)                       level 0 error ... 4 trace
      on_failover(event)                        a dict like the C event
      on_output_frame(entry_id, stream_name, frame)
                                                one frame of a stream name's
                                                continuous output, whichever
                                                input feeds it

    An exception in a callback is printed and otherwise ignored.
    """

    def __init__(self, data_dir, log=None, on_failover=None, on_output_frame=None, **options):
        unknown = set(options) - _SERVER_OPTION_NAMES
        if unknown:
            raise TypeError(f"unknown server options: {', '.join(sorted(unknown))}")
        opts = _ServerOptions()
        _lib.lg_server_options_init(ctypes.byref(opts))
        # The library reads strings during lg_server_create only, and calls
        # the callbacks until lg_server_destroy: both live as long as self.
        self._keep = []
        for name, value in [("data_dir", data_dir), *options.items()]:
            if isinstance(value, str):
                value = value.encode()
                self._keep.append(value)
            setattr(opts, name, value)
        cb = _ServerCallbacks()
        cb.struct_size = ctypes.sizeof(_ServerCallbacks)
        if log:
            opts.log = self._hold(_LOG_FN(
                lambda _user, level, message: log(level, message.decode(errors="replace"))))
        if on_failover:
            cb.on_failover = self._hold(_FAILOVER_FN(
                lambda _user, e: on_failover(_failover_event_dict(e.contents))))
        if on_output_frame:
            cb.on_output_frame = self._hold(_OUTPUT_FRAME_FN(
                lambda _user, entry_id, stream_name, f: on_output_frame(
                    entry_id.decode(), stream_name.decode(), _frame_dict(f.contents))))
        self._handle = ctypes.c_void_p()
        _check(_lib.lg_server_create(ctypes.byref(self._handle), ctypes.byref(opts),
                                     ctypes.byref(cb)))

    def _hold(self, fn):
        self._keep.append(fn)
        return fn

    def start(self):
        """Binds the listeners and starts the loop thread."""
        _check(_lib.lg_server_start(self._handle))
        return self

    def close(self):
        """Stops everything; no callback runs after it returns."""
        if self._handle:
            _lib.lg_server_destroy(self._handle)
            self._handle = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def port(self, protocol=RTMP):
        """The port a listener is bound to (useful with port 0)."""
        port = ctypes.c_int()
        _check(_lib.lg_server_get_port(self._handle, protocol, ctypes.byref(port)))
        return port.value

    def failover_stats(self, entry_id, stream_name="1"):
        """The failover state of one stream name's output. Raises Error
        (LG_E_NOT_FOUND) while it has none. Faults and switch kinds are the
        library's names ("stalled", "manual", ...); None for no fault."""
        st = _FailoverStats()
        st.struct_size = ctypes.sizeof(_FailoverStats)
        _check(_lib.lg_server_get_failover_stats(self._handle, entry_id.encode(),
                                                 stream_name.encode(), ctypes.byref(st)),
               f"stream '{stream_name}' of entry '{entry_id}'")
        last = None
        if st.last_unix_ms:
            last = {"kind": _lib.lg_switch_kind_name(st.last_kind).decode(),
                    "fault": _fault(st.last_fault), "unixMs": st.last_unix_ms,
                    "gapMs": st.last_gap_ms, "lostMs": st.last_lost_ms}
        return {
            "open": bool(st.open),
            "activeInput": _ROLE_NAMES.get(st.active) if st.has_active else None,
            "primaryPresent": bool(st.primary_present),
            "backupPresent": bool(st.backup_present),
            "primaryFault": _fault(st.primary_fault),
            "backupFault": _fault(st.backup_fault),
            "switches": st.switches,
            "resumes": st.resumes,
            "lastSwitch": last,
            "maxGapMs": st.max_gap_ms,
            "backupMs": st.backup_ms,
            "framesOut": st.frames_out,
            "framesOverlap": st.frames_overlap,
        }

    def switch_input(self, entry_id, role, stream_name=None):
        """Feeds the output of one stream name (or of all with None) from
        `role` (PRIMARY or BACKUP), from that input's next keyframe. Raises
        Error: LG_E_NOT_FOUND without an output, LG_E_STATE if that input is
        not connected."""
        _check(_lib.lg_server_switch_input(
            self._handle, entry_id.encode(),
            stream_name.encode() if stream_name is not None else None, role),
            f"entry '{entry_id}'")

    def list_outputs(self, entry_id):
        """The stream names of an entry that have an output."""
        size = 256
        while True:
            buf = ctypes.create_string_buffer(size)
            needed = ctypes.c_size_t()
            status = _lib.lg_server_list_outputs(self._handle, entry_id.encode(), buf, size,
                                                 ctypes.byref(needed))
            if status != -15:  # LG_E_BUFFER_TOO_SMALL: outputs came meanwhile
                break
            size = needed.value + 256
        _check(status)
        return [name for name in buf.value.decode().split("\n") if name]
