"""Shared pieces of the fault-injection suite: a livegate-server started with
the flags a fault needs, entries made through its admin API, ffmpeg
publishers, and what a user checks afterwards (every decoded video frame of
the source, in order, in the DVR playlist or the recording; rising
timestamps; a decode without an error).

Builds on the end-to-end helpers of tests/integration (ServerProcess, the
Scenario class fixtures, hls_probe, hls_rules), which it puts on sys.path.
Python standard library only.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import hls_probe  # noqa: E402
import hls_rules  # noqa: E402
from test_hls_e2e import _encode, http_get, http_text  # noqa: E402,F401
from test_hls_e2e import Scenario  # noqa: E402
from test_server_cli import EXIT_TIMEOUT, SERVER_BIN, ServerProcess  # noqa: E402,F401

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")
OPENSSL = shutil.which("openssl")
SRT_LIVE_TRANSMIT = shutil.which("srt-live-transmit")

ADMIN_KEY = "fault-suite-admin-key-0123456789"
HTTP_TIMEOUT = 10
PUBLISH_TIMEOUT = 90  # one real-time publish of a short source, on a loaded machine
DECODE_TIMEOUT = 120  # ffmpeg reading a whole DVR playlist or recording
FPS = 30


def log(text):
    """A measurement or a note, on stderr where ctest shows it."""
    print(f"\n{text}", file=sys.stderr, flush=True)


def video_md5s(url, timeout=DECODE_TIMEOUT):
    """Decodes the first video stream of `url` with -xerror and returns the
    MD5 of every decoded picture, in presentation order. Fails the calling
    test (AssertionError) on any decode error or message at error level."""
    args = [FFMPEG, "-nostdin", "-hide_banner", "-v", "error", "-xerror", "-i", url,
            "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "framemd5", "-"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or done.stderr.strip():
        raise AssertionError(f"decoding {url} failed ({done.returncode}):\n{done.stderr}")
    return [line.rsplit(",", 1)[1].strip() for line in done.stdout.splitlines()
            if line and not line.startswith("#")]


def source_md5s(path):
    return video_md5s(path)


def make_sources(media, prefix, specs):
    """For a module's setUpModule: encodes each source of `specs` (name ->
    (seconds, sine frequency)) as 320x240 H.264 + AAC FLV into a temporary
    folder removed after the module, and fills `media` with name -> path and
    name + ".md5" -> its decoded pictures' MD5s. Does nothing without
    ffmpeg (every test then skips)."""
    if not FFMPEG or not FFPROBE:
        return
    folder = media["dir"] = tempfile.mkdtemp(prefix=prefix)
    unittest.addModuleCleanup(shutil.rmtree, folder, ignore_errors=True)
    for name, (seconds, frequency) in specs.items():
        media[name] = _encode(os.path.join(folder, f"{name}.flv"), seconds, "320x240", frequency)
        media[name + ".md5"] = source_md5s(media[name])


def is_prefix(part, whole):
    return len(part) <= len(whole) and whole[:len(part)] == part


class FaultScenario(Scenario):
    """Scenario (tests/integration/test_hls_e2e.py) with a server on the
    fault suite's flags, entries made over the admin API, and helpers that
    compare what was packaged with the source."""

    @classmethod
    def setUpClass(cls):
        if not SERVER_BIN or not os.access(SERVER_BIN, os.X_OK):
            raise unittest.SkipTest("set LG_SERVER_BIN to the livegate-server binary")
        super().setUpClass()  # skips without ffmpeg and ffprobe

    @classmethod
    def start_fault_server(cls, name, *extra, rtmps=False, srt=False, data_dir=None,
                           wrapper=()):
        """A server on ephemeral ports with an admin key, playlists that end
        a second after a publish, and a short reconnect window; `extra`
        flags go last. `wrapper` prefixes the command (ip netns exec ...)."""
        args = ["--data-dir", data_dir or cls.data_dir, "--rtmp-port", "0",
                "--rtmps-port", "0" if rtmps else "off", "--srt-port", "0" if srt else "off",
                "--http-port", "0", "--public-host", "127.0.0.1", "--admin-key", ADMIN_KEY,
                "--playlist-end-ms", "1000", "--reconnect-window-ms", "500", *extra]
        server = WrappedServer(list(wrapper), args, os.path.join(cls.tmp, f"{name}.log"))
        cls.addClassCleanup(cls._stop_server, server)
        server.listening = server.wait_event("listening")
        server.entry = server.wait_event("entry")
        server.http = f"http://127.0.0.1:{server.listening['http']}"
        server.media_dir = server.listening["mediaDir"]
        return server

    @staticmethod
    def api(server, method, path, body=None):
        """(status, parsed JSON or None) of an admin API call."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{server.http}/api/v1{path}", data=data, method=method,
            headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            with e:
                raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, None

    @classmethod
    def create_entry(cls, server, name):
        status, entry = cls.api(server, "POST", "/entries", {"name": name})
        if status != 201:
            raise AssertionError(f"creating an entry: {status} {entry}")
        return entry

    @classmethod
    def push(cls, url, source, tag, loop=False, fmt="flv", prefix=()):
        """A real-time ffmpeg publish of `source` to `url`, reaped when the
        class ends; `prefix` goes before the command (ip netns exec NS).
        Returns the running process (its log at .log_path)."""
        log_file = open(os.path.join(cls.tmp, f"ffmpeg-{tag}-{time.monotonic_ns()}.log"), "wb")
        args = [*prefix, FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re"]
        if loop:
            args += ["-stream_loop", "-1"]
        args += ["-i", source, "-c", "copy", "-f", fmt, url]
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=log_file)
        proc.log_path = log_file.name
        cls.addClassCleanup(cls._stop_process, proc, log_file)
        return proc

    @classmethod
    def finish(cls, proc, timeout=PUBLISH_TIMEOUT):
        """Waits for a publish to end; (exit status, its stderr)."""
        code = proc.wait(timeout=timeout)
        return code, cls.publish_error(proc)

    @staticmethod
    def dvr_url(server, entry_id, stream="1"):
        return f"{server.http}/live/{entry_id}/{stream}/dvr.m3u8"

    @staticmethod
    def hls_dir(server, entry_id, stream="1"):
        return os.path.join(server.media_dir, entry_id, "hls", stream)

    @staticmethod
    def recording_files(server, entry_id, stream="1"):
        """Every recording file, broadcast by broadcast, in order."""
        root = os.path.join(server.media_dir, entry_id, "recordings", stream)
        out = []
        if not os.path.isdir(root):
            return out
        for broadcast in sorted(os.listdir(root)):
            folder = os.path.join(root, broadcast)
            if not os.path.isdir(folder):
                continue
            names = [n for n in os.listdir(folder) if n.split(".")[0].isdigit()
                     and n.endswith((".ts", ".mp4"))]
            for n in sorted(names, key=lambda n: int(n.split(".")[0])):
                out.append(os.path.join(folder, n))
        return out

    def assertAlive(self, server):
        self.assertIsNone(server.proc.poll(), "the server died:\n" + server.stderr_text())
        status, entries = self.api(server, "GET", "/entries")
        self.assertEqual(status, 200, entries)
        self.assertIsInstance(entries, list)

    def assertCleanDvr(self, url, what=""):
        """The playlist ended, follows RFC 8216, decodes without an error,
        and its timestamps only rise; returns the decoded frames' MD5s."""
        text = http_text(url)
        self.assertIsNotNone(text, f"{url} {what}")
        self.assertEqual(list(hls_rules.check_media(text)), [], f"RFC 8216 violations {what}")
        self.assertTrue(hls_rules.parse_media(text).endlist, f"no EXT-X-ENDLIST {what}")
        probe = hls_probe.probe_hls(url, timeout=DECODE_TIMEOUT)
        self.assertEqual(hls_probe.dts_increasing(probe), {}, hls_probe.summary(probe))
        self.assertEqual(hls_probe.decode_errors(url, timeout=DECODE_TIMEOUT), [], what)
        return video_md5s(url)


class WrappedServer(ServerProcess):
    """ServerProcess with an optional command prefix (ip netns exec NS)."""

    def __init__(self, wrapper, args, log_path):
        if not wrapper:
            super().__init__(args, log_path)
            return
        import test_server_cli
        real = test_server_cli.SERVER_BIN
        # ServerProcess runs [SERVER_BIN, *args]: put the prefix in front.
        test_server_cli.SERVER_BIN = wrapper[0]
        try:
            super().__init__([*wrapper[1:], real, *args], log_path)
        finally:
            test_server_cli.SERVER_BIN = real


def closed_by_peer(sock, timeout):
    """True when the peer closes (EOF or reset) within `timeout` seconds;
    whatever it sends before is read and ignored."""
    sock.settimeout(0.5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
        except OSError:
            return True
    return False


def process_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def kill_and_reap(proc):
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGCONT)
        except ProcessLookupError:
            pass
        proc.kill()
    proc.wait(timeout=EXIT_TIMEOUT)
