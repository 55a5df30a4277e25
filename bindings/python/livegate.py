"""Python bindings for LiveGate's C API (ctypes, no compilation needed).

Covers the entry store and the endpoint URL builder/parser, so a Python
control plane can create entries, rotate tokens and hand encoders their URLs
while a LiveGate server runs on the same store.

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


_ENTRY_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(_Entry))


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
