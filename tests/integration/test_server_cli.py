"""End-to-end tests of the livegate-server example host.

They run the real binary (path in LG_SERVER_BIN) as operators do: the entry
subcommands on a store, the server with its JSON events on stdout, and real
publishes with the ffmpeg command-line tool. Every child process has a hard
timeout and is killed and reaped when its test ends.
"""

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

SERVER_BIN = os.environ.get("LG_SERVER_BIN", "")
FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")

ENTRY_ID_RE = re.compile(r"^1_[a-z0-9]{8}$")
TOKEN_RE = re.compile(r"^[a-z2-7]{26}$")
ENTRY_KEYS = {"entryId", "name", "token", "streamName", "primary", "backup"}
ENDPOINT_KEYS = {"url", "streamName", "ffmpeg"}
SRT_ENDPOINT_KEYS = {"url", "streamId", "ffmpeg", "obs", "encrypted"}
SRT_PASSPHRASE = "correct-horse-battery"

# Deadlines stretch in slow builds (ThreadSanitizer sets 4); what is
# asserted does not change.
TIME_SCALE = float(os.environ.get("LG_TEST_TIME_SCALE", "1"))
CLI_TIMEOUT = 30 * TIME_SCALE  # one entry subcommand
EVENT_TIMEOUT = 30 * TIME_SCALE  # one awaited server event
EXIT_TIMEOUT = 10 * TIME_SCALE  # a server asked to stop, or one that must fail at once
PUBLISH_TIMEOUT = 60 * TIME_SCALE  # one ffmpeg publish of a short source

# Made once by setUpModule: short test sources and their frame counts.
MEDIA = {}


def _ffprobe_frames(path, stream):
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-count_frames", "-select_streams", stream,
         "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path],
        capture_output=True, text=True, timeout=CLI_TIMEOUT, check=True).stdout
    return int(out.strip())


def _make_source(path, seconds):
    subprocess.run(
        [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
         "-c:a", "aac", "-shortest", path],
        capture_output=True, timeout=PUBLISH_TIMEOUT, check=True)


def setUpModule():
    if not SERVER_BIN or not os.access(SERVER_BIN, os.X_OK):
        raise RuntimeError("set LG_SERVER_BIN to the livegate-server binary")
    if not FFMPEG or not FFPROBE:
        return  # the publish tests skip themselves
    MEDIA["dir"] = tempfile.mkdtemp(prefix="lg-cli-media-")
    MEDIA["src"] = os.path.join(MEDIA["dir"], "src.flv")
    MEDIA["short"] = os.path.join(MEDIA["dir"], "short.flv")
    _make_source(MEDIA["src"], 3)
    _make_source(MEDIA["short"], 1)
    MEDIA["video_frames"] = _ffprobe_frames(MEDIA["src"], "v:0")
    MEDIA["audio_frames"] = _ffprobe_frames(MEDIA["src"], "a:0")


def tearDownModule():
    if "dir" in MEDIA:
        shutil.rmtree(MEDIA["dir"], ignore_errors=True)


def _other_token(token):
    """A well-formed token that is not `token`."""
    return ("a" if token[0] != "a" else "b") * len(token)


class ServerProcess:
    """A running livegate-server; its stdout events are read by a thread."""

    def __init__(self, args, log_path):
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [SERVER_BIN, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._log)
        self._queue = queue.Queue()
        self._pending = []  # events read but not yet asked for
        self.events = []  # every event, in order
        self.bad_lines = []  # stdout lines that are not one JSON object with "event"
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if not isinstance(event, dict) or "event" not in event:
                self.bad_lines.append(line)
                continue
            self.events.append(event)
            self._queue.put(event)

    def stderr_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    def wait_event(self, name, timeout=EVENT_TIMEOUT, match=None):
        """The next event called `name` (and satisfying `match`), in order."""
        def wanted(event):
            return event["event"] == name and (match is None or match(event))

        for i, event in enumerate(self._pending):
            if wanted(event):
                return self._pending.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no '{name}' event within {timeout} s; events so far: {self.events}; "
                    f"exit code: {self.proc.poll()}; stderr:\n{self.stderr_text()}")
            try:
                event = self._queue.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if wanted(event):
                return event
            self._pending.append(event)

    def no_event(self, name, seconds, match=None):
        """Asserts that no `name` event arrives within `seconds`."""
        try:
            event = self.wait_event(name, timeout=seconds, match=match)
        except AssertionError:
            return
        raise AssertionError(f"unexpected '{name}' event: {event}")

    def stop(self, sig=signal.SIGTERM, timeout=EXIT_TIMEOUT):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=EXIT_TIMEOUT)
        self._reader.join(timeout=EXIT_TIMEOUT)
        self.proc.stdout.close()
        self._log.close()


class LiveGateTestCase(unittest.TestCase):
    """Temporary data folders, and cleanup of every process a test starts."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="lg-cli-")
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name
        self.data_dir = os.path.join(self.tmp, "data")
        self._children = []
        self.addCleanup(self._reap)

    def _reap(self):
        for child in reversed(self._children):
            if isinstance(child, ServerProcess):
                child.close()
            else:
                if child.poll() is None:
                    child.kill()
                child.wait(timeout=EXIT_TIMEOUT)

    def cli(self, *args, data_dir=None, expect=0):
        """Runs `livegate-server entry ...`; checks the exit code."""
        argv = [SERVER_BIN, "entry", *args, "--data-dir", data_dir or self.data_dir]
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, timeout=CLI_TIMEOUT)
        if expect is not None:
            self.assertEqual(result.returncode, expect,
                             f"{argv} exited {result.returncode}; stderr: {result.stderr}")
        return result

    def refused(self, *args):
        """Runs the binary with bad usage: exit 1, nothing on stdout, a
        message on stderr (returned)."""
        result = subprocess.run([SERVER_BIN, *args, "--data-dir", self.data_dir],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=CLI_TIMEOUT)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertIn("livegate-server:", result.stderr)
        return result.stderr

    def cli_json(self, *args, **kwargs):
        result = self.cli(*args, "--json", **kwargs)
        return json.loads(result.stdout)

    def start_server(self, *args, data_dir=None):
        log_path = os.path.join(self.tmp, f"server-{len(self._children)}.log")
        server = ServerProcess(
            ["--data-dir", data_dir or self.data_dir, "--rtmp-port", "0",
             "--rtmps-port", "0", "--srt-port", "0", "--http-port", "0",
             "--public-host", "127.0.0.1", *args], log_path)
        self._children.append(server)
        self.addCleanup(self._check_output, server)
        return server

    def _check_output(self, server):
        self.assertEqual(server.bad_lines, [], "stdout lines that are not JSON events")

    def start_server_ready(self, *args, data_dir=None):
        """A server that has printed its listening port and its entry."""
        server = self.start_server(*args, data_dir=data_dir)
        listening = server.wait_event("listening")
        entry = server.wait_event("entry")
        return server, listening["rtmp"], entry

    def assert_entry(self, entry, host="localhost", port=1935, rtmps_port=1936, srt_port=9000):
        self.assertTrue(ENTRY_KEYS.issubset(entry), f"missing keys in {entry}")
        self.assertRegex(entry["entryId"], ENTRY_ID_RE)
        self.assertRegex(entry["token"], TOKEN_RE)
        self.assertEqual(entry["streamName"], "1")
        urls = set()
        for role in ("primary", "backup"):
            rtmp = entry[role]["rtmp"]
            self.assertEqual(set(rtmp), ENDPOINT_KEYS)
            self.assertEqual(rtmp["streamName"], "1")
            for key in ("url", "ffmpeg"):
                url = rtmp[key]
                self.assertTrue(url.startswith(f"rtmp://{host}:{port}/"), url)
                self.assertIn(entry["entryId"], url)
                self.assertIn(entry["token"], url)
                urls.add(url)
            rtmps = entry[role]["rtmps"]
            self.assertEqual(set(rtmps), ENDPOINT_KEYS)
            self.assertEqual(rtmps["url"], rtmp["url"].replace(f"rtmp://{host}:{port}/",
                                                               f"rtmps://{host}:{rtmps_port}/"))
            srt = entry[role]["srt"]
            self.assertEqual(set(srt), SRT_ENDPOINT_KEYS)
            self.assertEqual(srt["url"], f"srt://{host}:{srt_port}")
            letter = role[0]
            self.assertEqual(srt["streamId"],
                             f"#!::r={entry['entryId']}.{letter}/1,m=publish,"
                             f"livegate_token={entry['token']}")
            self.assertEqual(srt["obs"], f"{srt['url']}?streamid={srt['streamId']}")
            self.assertTrue(srt["ffmpeg"].startswith(f"{srt['url']}?streamid=%23%21%3A%3Ar%3D"))
            self.assertEqual(srt["encrypted"], entry["srtPassphrase"] is not None)
        self.assertEqual(len(urls), 4, "primary and backup URLs must all differ")

    # --- publishing with the ffmpeg CLI -------------------------------------

    def publish(self, url, source=None, timeout=PUBLISH_TIMEOUT):
        """Publishes a file in real time; returns the finished process."""
        return subprocess.run(
            [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
             "-i", source or MEDIA["src"], "-c", "copy", "-f", "flv", url],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)

    def publish_srt(self, url, extra=""):
        """Publishes a file over SRT as MPEG-TS; lingers so no frame is lost."""
        return subprocess.run(
            [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error",
             "-i", MEDIA["src"], "-c", "copy", "-f", "mpegts", url + "&linger=5" + extra],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=PUBLISH_TIMEOUT)

    def publish_forever(self, url, source=None):
        """Starts a publish that loops its source until killed."""
        proc = subprocess.Popen(
            [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
             "-stream_loop", "-1", "-i", source or MEDIA["src"], "-c", "copy", "-f", "flv", url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._children.append(proc)
        return proc

    def wait_until(self, probe, what, timeout=EVENT_TIMEOUT, interval=0.1):
        """Calls `probe` until it returns something true; returns that.
        `what` names the awaited condition; a callable gives the text at the
        time of failure (to show the state it was waiting on)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found
            time.sleep(interval)
        raise AssertionError(f"not {what() if callable(what) else what} within {timeout} s")


class EntryCommandTest(LiveGateTestCase):
    """`livegate-server entry ...` on a store, no server running."""

    def test_create_prints_entry_with_token_and_urls(self):
        entry = self.cli_json("create")
        self.assert_entry(entry)
        self.assertEqual(entry["name"], "")
        self.assertTrue(os.path.isfile(os.path.join(self.data_dir, "livegate.db")))

    def test_srt_passphrase_set_read_from_stdin_and_cleared(self):
        entry = self.cli_json("create")
        self.assertIsNone(entry["srtPassphrase"])
        updated = self.cli_json("set-srt-passphrase", entry["entryId"], SRT_PASSPHRASE)
        self.assertEqual(updated["srtPassphrase"], SRT_PASSPHRASE)
        self.assert_entry(updated)
        for role in ("primary", "backup"):
            self.assertTrue(updated[role]["srt"]["encrypted"])
        self.assertEqual(self.cli_json("show", entry["entryId"])["srtPassphrase"], SRT_PASSPHRASE)
        # "-" reads it from stdin, out of the process list.
        argv = [SERVER_BIN, "entry", "set-srt-passphrase", entry["entryId"], "-", "--json",
                "--data-dir", self.data_dir]
        result = subprocess.run(argv, input="from-stdin-0123\n", capture_output=True, text=True,
                                timeout=CLI_TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout)["srtPassphrase"], "from-stdin-0123")
        cleared = self.cli_json("set-srt-passphrase", entry["entryId"], "--clear")
        self.assertIsNone(cleared["srtPassphrase"])
        self.assertFalse(cleared["primary"]["srt"]["encrypted"])

    def test_srt_passphrase_of_a_wrong_length_is_refused(self):
        entry = self.cli_json("create")
        for bad in ("123456789", "x" * 80, "has a space 123"):
            result = self.cli("set-srt-passphrase", entry["entryId"], bad, expect=1)
            self.assertIn("10 to 79", result.stderr)
        self.assertIsNone(self.cli_json("show", entry["entryId"])["srtPassphrase"])
        for ok in ("0123456789", "y" * 79):
            self.assertEqual(self.cli_json("set-srt-passphrase", entry["entryId"], ok)
                             ["srtPassphrase"], ok)
        result = self.cli("set-srt-passphrase", entry["entryId"], expect=1)
        self.assertIn("needs a passphrase", result.stderr)
        result = self.cli("set-srt-passphrase", "1_zzzzzzzz", SRT_PASSPHRASE, expect=1)
        self.assertIn("no such entry", result.stderr)

    def test_protocols_can_be_left_out(self):
        entry = self.cli_json("create", "--rtmps-port", "off", "--srt-port", "7001")
        for role in ("primary", "backup"):
            self.assertIsNone(entry[role]["rtmps"])
            self.assertEqual(entry[role]["srt"]["url"], "srt://localhost:7001")

    def test_create_with_name_keeps_unusual_characters(self):
        name = 'Studio "A" \\ caf\u00e9 \u2014 \U0001F3A5 {"x": [1]}'
        entry = self.cli_json("create", "--name", name)
        self.assertEqual(entry["name"], name)
        self.assertEqual(self.cli_json("show", entry["entryId"])["name"], name)
        # The store refuses control characters; nothing is created then.
        result = self.cli("create", "--name", "line\nbreak", "--json", expect=1)
        self.assertEqual(result.stdout, "")
        self.assertEqual(len(self.cli_json("list")), 1)

    def test_public_host_and_port_go_into_urls(self):
        entry = self.cli_json("create", "--public-host", "192.0.2.7", "--rtmp-port", "1940")
        self.assert_entry(entry, host="192.0.2.7", port=1940)
        shown = self.cli_json("show", entry["entryId"], "--public-host", "live.example.com")
        for role in ("primary", "backup"):
            url = shown[role]["rtmp"]["url"]
            self.assertIn("live.example.com", url)
            self.assertIn(shown["token"], url)

    def test_list_returns_every_entry_oldest_first(self):
        self.assertEqual(self.cli_json("list"), [])
        first = self.cli_json("create", "--name", "one")
        second = self.cli_json("create", "--name", "two")
        listed = self.cli_json("list")
        self.assertEqual([e["entryId"] for e in listed], [first["entryId"], second["entryId"]])
        for entry in listed:
            self.assert_entry(entry)
        self.assertEqual(listed[0], first)
        self.assertEqual(listed[1], second)

    def test_show_matches_create(self):
        created = self.cli_json("create", "--name", "show me")
        shown = self.cli_json("show", created["entryId"])
        # No server runs: the state of the entry's outputs is unknown.
        self.assertIsNone(shown.pop("failover"))
        self.assertEqual(shown, created)

    def test_regenerate_token_replaces_token_everywhere(self):
        created = self.cli_json("create")
        regenerated = self.cli_json("regenerate-token", created["entryId"])
        self.assert_entry(regenerated)
        self.assertEqual(regenerated["entryId"], created["entryId"])
        self.assertNotEqual(regenerated["token"], created["token"])
        for role in ("primary", "backup"):
            for key in ("url", "ffmpeg"):
                self.assertNotIn(created["token"], regenerated[role]["rtmp"][key])
        shown = self.cli_json("show", created["entryId"])
        self.assertEqual(shown["token"], regenerated["token"])
        self.assertEqual(shown["tokenGeneration"], created["tokenGeneration"] + 1)

    def test_delete_then_show_fails(self):
        keep = self.cli_json("create")
        gone = self.cli_json("create")
        deleted = self.cli_json("delete", gone["entryId"])
        self.assertEqual(deleted["entryId"], gone["entryId"])
        result = self.cli("show", gone["entryId"], "--json", expect=1)
        self.assertEqual(result.stdout, "")
        self.assertIn(gone["entryId"], result.stderr)
        self.cli("delete", gone["entryId"], expect=1)
        self.cli("regenerate-token", gone["entryId"], expect=1)
        self.assertEqual([e["entryId"] for e in self.cli_json("list")], [keep["entryId"]])

    def test_unknown_and_malformed_ids_fail(self):
        self.cli("create")
        for entry_id in ("1_zzzzzzzz", "not-an-id", ""):
            for action in ("show", "regenerate-token", "delete"):
                result = self.cli(action, entry_id, expect=1)
                self.assertEqual(result.stdout, "")
                self.assertNotEqual(result.stderr.strip(), "")

    def test_human_readable_output(self):
        created = self.cli("create", "--name", "plain").stdout
        match = re.search(r"1_[a-z0-9]{8}", created)
        self.assertIsNotNone(match, created)
        entry = self.cli_json("show", match.group(0))
        self.assertIn(entry["token"], created)
        self.assertIn(entry["primary"]["rtmp"]["url"], created)
        self.assertIn(entry["backup"]["rtmp"]["ffmpeg"], created)
        listed = self.cli("list").stdout
        self.assertIn(entry["entryId"], listed)
        self.assertEqual(len(listed.strip().splitlines()), 1)
        self.assertIn(entry["entryId"], self.cli("delete", entry["entryId"]).stdout)

    def test_bad_usage_exits_1_with_a_message(self):
        for args in (["entry"], ["entry", "show"], ["entry", "frob"], ["entry", "list", "x"],
                     ["entry", "list", "--bogus"], ["entry", "list", "--rtmp-port", "70000"],
                     ["entry", "list", "--rtmp-port"], ["entry", "list", "--log-level", "info"],
                     ["entry", "show", "1_aaaaaaaa", "--name", "x"], ["--json"], ["frob"],
                     ["--log-level", "loud"], ["--revoke-policy", "sometimes"]):
            with self.subTest(args=args):
                self.refused(*args)

    def test_help(self):
        result = subprocess.run([SERVER_BIN, "--help"], stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=CLI_TIMEOUT)
        self.assertEqual(result.returncode, 0)
        for flag in ("--data-dir", "--rtmp-port", "--public-host", "--rtmp-address",
                     "--log-level", "--revoke-policy", "regenerate-token", "--json",
                     "--failover-policy", "--stall-ms", "--keyframe-timeout-ms", "--clear-ms",
                     "--switch-back-ms", "--reconnect-window-ms", "--bitrate-collapse-percent",
                     "--content-checks", "--black-after-ms", "--frozen-after-ms",
                     "--silence-after-ms", "--silence-dbfs", "entry switch", "--stream",
                     "server.json"):
            self.assertIn(flag, result.stdout)

    def test_failover_flags_are_checked(self):
        for args, message in (
                (["--failover-policy", "sometimes"],
                 "--failover-policy takes auto, manual or sticky, not 'sometimes'"),
                (["--content-checks", "black,loud"],
                 "--content-checks takes a comma list of black, frozen and silence"),
                (["--content-checks", "black,"], "--content-checks takes"),
                (["--content-checks", ""], "--content-checks needs a non-empty value"),
                (["--stall-ms", "10"], "--stall-ms takes milliseconds from 100"),
                (["--reconnect-window-ms", "soon"], "--reconnect-window-ms takes milliseconds"),
                (["--bitrate-collapse-percent", "100"], "--bitrate-collapse-percent takes"),
                (["--silence-dbfs", "3"], "--silence-dbfs takes dBFS from -120 to -1"),
                (["--content-checks", "silence", "--silence-dbfs", "0"], "--silence-dbfs"),
                (["--black-after-ms", "500"], "--black-after-ms needs black in --content-checks"),
                (["--content-checks", "black", "--silence-dbfs=-50"],
                 "--silence-dbfs needs silence"),
                (["--failover-policy", "sticky", "--switch-back-ms", "500"],
                 "--switch-back-ms is only for --failover-policy auto"),
                (["entry", "list", "--stall-ms", "500"], "only for the server"),
                (["entry", "switch", "1_aaaaaaaa"], "needs an entry id and primary or backup"),
                (["entry", "switch", "1_aaaaaaaa", "sideways"], "primary or backup"),
                (["entry", "show", "1_aaaaaaaa", "--stream", "1"], "--stream is only for"),
                (["entry", "list", "--admin-key", "k" * 20], "--admin-key is only for")):
            with self.subTest(args=args):
                self.assertIn(message, self.refused(*args))
        self.assertFalse(os.path.exists(self.data_dir), "a refused command changed nothing")

    def test_store_that_cannot_be_opened(self):
        not_a_dir = os.path.join(self.tmp, "file")
        with open(not_a_dir, "w") as f:
            f.write("not a folder")
        result = self.cli("list", data_dir=not_a_dir, expect=1)
        self.assertEqual(result.stdout, "")
        self.assertIn(not_a_dir, result.stderr)


class ServerTest(LiveGateTestCase):
    """The server's startup, events and shutdown, without encoders."""

    def test_listening_and_first_entry(self):
        server, port, entry = self.start_server_ready()
        listening = server.events[0]
        self.assertEqual(listening["event"], "listening")
        self.assertEqual(listening["dataDir"], os.path.abspath(self.data_dir))
        for key in ("rtmps", "srt"):
            self.assertIsInstance(listening[key], int)
            self.assertGreater(listening[key], 0)
        # A self-signed certificate was made in the data folder; its
        # fingerprint is the one openssl reads from it.
        fingerprint = listening["tlsFingerprint"]
        self.assertRegex(fingerprint, r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")
        cert = os.path.join(self.data_dir, "tls", "cert.pem")
        if shutil.which("openssl"):
            out = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-fingerprint",
                                  "-sha256"], capture_output=True, text=True,
                                 timeout=CLI_TIMEOUT, check=True).stdout
            self.assertIn(fingerprint, out)
        self.assertEqual(os.stat(os.path.join(self.data_dir, "tls", "key.pem")).st_mode & 0o777,
                         0o600)
        self.assertIn(fingerprint, server.stderr_text())
        self.assertIsInstance(port, int)
        self.assertGreater(port, 0)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        self.assert_entry(entry, host="127.0.0.1", port=port, rtmps_port=listening["rtmps"],
                          srt_port=listening["srt"])
        # The entry is in the store, and a restart keeps it instead of adding one.
        self.assertEqual([e["entryId"] for e in self.cli_json("list")], [entry["entryId"]])
        self.assertEqual(server.stop(), 0)
        again, _, entry_again = self.start_server_ready()
        self.assertEqual(entry_again["entryId"], entry["entryId"])
        self.assertEqual(entry_again["token"], entry["token"])
        self.assertEqual(len(self.cli_json("list")), 1)

    def test_existing_entry_is_printed(self):
        created = self.cli_json("create", "--name", "mine")
        server, port, entry = self.start_server_ready()
        self.assertEqual(entry["entryId"], created["entryId"])
        self.assertEqual(entry["name"], "mine")
        listening = server.events[0]
        self.assert_entry(entry, host="127.0.0.1", port=port, rtmps_port=listening["rtmps"],
                          srt_port=listening["srt"])

    def test_sigterm_and_sigint_exit_0_promptly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig.name):
                server, _, _ = self.start_server_ready()
                started = time.monotonic()
                self.assertEqual(server.stop(sig), 0, server.stderr_text())
                self.assertLess(time.monotonic() - started, 5)

    def test_port_in_use_fails(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind(("0.0.0.0", 0))
            taken.listen()
            port = taken.getsockname()[1]
            server = self.start_server("--rtmp-port", str(port))
            code = server.proc.wait(timeout=EXIT_TIMEOUT)
        self.assertNotEqual(code, 0)
        self.assertIn("in use", server.stderr_text())
        self.assertEqual(server.events, [])

    def test_failover_flags_reach_the_library(self):
        # The library refuses what it cannot use, so a start is the check.
        server, _, _ = self.start_server_ready(
            "--failover-policy", "manual", "--stall-ms", "800", "--keyframe-timeout-ms", "4000",
            "--bitrate-collapse-percent", "20", "--clear-ms", "500",
            "--reconnect-window-ms", "300", "--content-checks", "black,frozen,silence",
            "--black-after-ms", "1000", "--frozen-after-ms", "1500", "--silence-after-ms", "900",
            "--silence-dbfs=-50")
        self.assertEqual(server.stop(), 0, server.stderr_text())
        server, _, _ = self.start_server_ready("--failover-policy", "auto",
                                               "--switch-back-ms", "2000",
                                               "--content-checks", "none")
        self.assertEqual(server.stop(), 0, server.stderr_text())

    def test_limit_flags_are_checked(self):
        for args, message in (
                (["--max-chunk-size", "100"], "--max-chunk-size takes bytes from 128"),
                (["--max-amf-depth", "deep"], "--max-amf-depth takes a nesting depth"),
                (["--max-connections-per-address", "-1"], "--max-connections-per-address takes"),
                (["entry", "list", "--max-send-buffer", "100000"], "only for the server")):
            with self.subTest(args=args):
                self.assertIn(message, self.refused(*args))

    def test_limit_flags_reach_the_library(self):
        # Two connections from one address at most: a third is closed at once.
        server, port, _ = self.start_server_ready(
            "--max-connections-per-address", "2", "--max-auth-failures-per-minute", "0",
            "--max-chunk-size", "65536", "--max-amf-string", "4096",
            "--max-incomplete-bytes", "1048576", "--srt-queue-bytes", "1048576",
            "--output-queue-bytes", "8388608", "--handshake-timeout-ms", "5000")
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
        try:
            time.sleep(0.3)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as third:
                third.settimeout(5)
                self.assertEqual(third.recv(1), b"", "the third connection is closed")
            # The two held ones are still open: nothing to read yet.
            for sock in held:
                sock.settimeout(0.2)
                with self.assertRaises(socket.timeout):
                    sock.recv(1)
        finally:
            for sock in held:
                sock.close()
        self.assertIn("connections from its address is the limit", server.stderr_text())
        self.assertEqual(server.stop(), 0, server.stderr_text())

    def test_server_file_names_the_http_port_while_running(self):
        server, _, _ = self.start_server_ready()
        path = os.path.join(self.data_dir, "server.json")
        with open(path) as f:
            running = json.load(f)
        self.assertEqual(running, {"pid": server.proc.pid, "httpAddress": "0.0.0.0",
                                   "httpPort": server.events[0]["http"]})
        self.assertEqual(server.stop(), 0)
        self.assertFalse(os.path.exists(path))
        # Without HTTP there is nothing to find.
        server, _, _ = self.start_server_ready("--http-port", "off")
        self.assertFalse(os.path.exists(path))

    def test_store_that_cannot_be_opened_fails(self):
        not_a_dir = os.path.join(self.tmp, "file")
        with open(not_a_dir, "w") as f:
            f.write("not a folder")
        server = self.start_server(data_dir=not_a_dir)
        self.assertNotEqual(server.proc.wait(timeout=EXIT_TIMEOUT), 0)
        self.assertIn(not_a_dir, server.stderr_text())
        self.assertEqual(server.events, [])


@unittest.skipUnless(FFMPEG and FFPROBE, "needs the ffmpeg and ffprobe programs")
class PublishTest(LiveGateTestCase):
    """Real publishes with the ffmpeg CLI to the URLs the server prints."""

    def test_publish_with_token_counts_every_frame(self):
        server, port, entry = self.start_server_ready()
        url = entry["primary"]["rtmp"]["ffmpeg"]
        result = self.publish(url)
        self.assertEqual(result.returncode, 0, result.stderr)

        start = server.wait_event("publish_start")
        self.assertEqual(start["entryId"], entry["entryId"])
        self.assertEqual(start["role"], "primary")
        self.assertEqual(start["streamName"], "1")
        self.assertEqual(start["protocol"], "rtmp")
        self.assertRegex(start["remote"], r"^127\.0\.0\.1:\d+$")
        self.assertIn("Lavf", start["encoder"])
        video, audio = start["video"], start["audio"]
        self.assertEqual(video["codec"], "h264")
        self.assertEqual((video["width"], video["height"]), (320, 240))
        self.assertIsInstance(video["profile"], int)
        self.assertIsInstance(video["level"], int)
        self.assertRegex(video["codecString"], r"^avc1\.[0-9a-f]{6}$")
        self.assertEqual(audio["codec"], "aac")
        self.assertEqual(audio["sampleRate"], 48000)
        self.assertEqual(audio["channels"], 1)
        self.assertEqual(audio["codecString"], "mp4a.40.2")
        self.assertEqual(start["metadata"].get("width"), 320)
        self.assertEqual(start["metadata"].get("height"), 240)

        stop = server.wait_event("publish_stop")
        self.assertEqual(stop["sessionId"], start["sessionId"])
        self.assertEqual(stop["entryId"], entry["entryId"])
        self.assertEqual(stop["role"], "primary")
        self.assertEqual(stop["status"], "LG_OK")
        self.assertEqual(stop["videoFrames"], MEDIA["video_frames"])
        self.assertEqual(stop["audioFrames"], MEDIA["audio_frames"])
        self.assertGreater(stop["bytes"], os.path.getsize(MEDIA["src"]) // 2)
        self.assertGreaterEqual(stop["durationMs"], 2000)  # -re: about 3 s of media
        self.assertNotIn("publish_reject", [e["event"] for e in server.events])

    def test_rtmps_publish_counts_every_frame(self):
        server, _, entry = self.start_server_ready()
        result = self.publish(entry["backup"]["rtmps"]["ffmpeg"])
        self.assertEqual(result.returncode, 0, result.stderr)
        start = server.wait_event("publish_start")
        self.assertEqual(start["protocol"], "rtmps")
        self.assertEqual(start["role"], "backup")
        stop = server.wait_event("publish_stop")
        self.assertEqual(stop["status"], "LG_OK")
        self.assertEqual(stop["videoFrames"], MEDIA["video_frames"])
        self.assertEqual(stop["audioFrames"], MEDIA["audio_frames"])

    def test_srt_publish_with_passphrase_counts_every_frame(self):
        server, _, entry = self.start_server_ready()
        updated = self.cli_json("set-srt-passphrase", entry["entryId"], SRT_PASSPHRASE)
        url = entry["primary"]["srt"]["ffmpeg"]  # with the port the server listens on
        self.assertEqual(updated["entryId"], entry["entryId"])
        result = self.publish_srt(url, f"&passphrase={SRT_PASSPHRASE}")
        self.assertEqual(result.returncode, 0, result.stderr)
        start = server.wait_event("publish_start")
        self.assertEqual(start["protocol"], "srt")
        self.assertEqual(start["video"]["codec"], "h264")
        self.assertEqual(start["audio"]["sampleRate"], 48000)
        stop = server.wait_event("publish_stop")
        self.assertEqual(stop["videoFrames"], MEDIA["video_frames"])
        self.assertEqual(stop["audioFrames"], MEDIA["audio_frames"])

    def test_srt_wrong_passphrase_and_token_are_refused(self):
        server, _, entry = self.start_server_ready()
        self.cli_json("set-srt-passphrase", entry["entryId"], SRT_PASSPHRASE)
        url = entry["primary"]["srt"]["ffmpeg"]
        result = self.publish_srt(url, "&passphrase=not-the-passphrase")
        self.assertNotEqual(result.returncode, 0)
        bad_token = url.replace(entry["token"], _other_token(entry["token"]))
        result = self.publish_srt(bad_token, f"&passphrase={SRT_PASSPHRASE}")
        self.assertNotEqual(result.returncode, 0)
        reject = server.wait_event("publish_reject")
        self.assertEqual(reject["protocol"], "srt")
        self.assertEqual(reject["status"], "LG_E_AUTH")
        self.assertEqual(reject["entryId"], entry["entryId"])
        self.assertNotIn("publish_start", [e["event"] for e in server.events])

    def test_wrong_token_is_rejected(self):
        server, port, entry = self.start_server_ready()
        url = entry["primary"]["rtmp"]["ffmpeg"].replace(entry["token"],
                                                         _other_token(entry["token"]))
        result = self.publish(url, MEDIA["short"])
        self.assertNotEqual(result.returncode, 0)
        reject = server.wait_event("publish_reject")
        self.assertEqual(reject["status"], "LG_E_AUTH")
        self.assertIn("token", reject["reason"])
        self.assertEqual(reject["entryId"], entry["entryId"])
        self.assertEqual(reject["role"], "primary")
        self.assertEqual(reject["streamName"], "1")
        self.assertEqual(reject["protocol"], "rtmp")
        self.assertRegex(reject["remote"], r"^127\.0\.0\.1:\d+$")
        self.assertNotIn("publish_start", [e["event"] for e in server.events])

    def test_token_regenerated_from_cli_applies_at_once(self):
        server, port, entry = self.start_server_ready()
        old_url = entry["primary"]["rtmp"]["ffmpeg"]
        # The old token works first, so nothing about it is cached later.
        self.assertEqual(self.publish(old_url, MEDIA["short"]).returncode, 0)
        first = server.wait_event("publish_start")
        stop = server.wait_event("publish_stop")
        self.assertEqual((stop["sessionId"], stop["status"]), (first["sessionId"], "LG_OK"))

        new = self.cli_json("regenerate-token", entry["entryId"], "--public-host", "127.0.0.1",
                            "--rtmp-port", str(port))
        self.assertNotEqual(new["token"], entry["token"])

        result = self.publish(old_url, MEDIA["short"])
        self.assertNotEqual(result.returncode, 0)
        reject = server.wait_event("publish_reject")
        self.assertEqual(reject["status"], "LG_E_AUTH")
        self.assertEqual(reject["entryId"], entry["entryId"])
        self.assertEqual(len([e for e in server.events if e["event"] == "publish_start"]), 1)

        for role in ("primary", "backup"):
            with self.subTest(role=role):
                result = self.publish(new[role]["rtmp"]["ffmpeg"], MEDIA["short"])
                self.assertEqual(result.returncode, 0, result.stderr)
                start = server.wait_event("publish_start")
                self.assertEqual((start["entryId"], start["role"]), (entry["entryId"], role))
                stop = server.wait_event("publish_stop")
                self.assertEqual(stop["sessionId"], start["sessionId"])
                self.assertEqual(stop["status"], "LG_OK")

    def test_revoke_policy_disconnect_ends_live_session(self):
        server, port, entry = self.start_server_ready("--revoke-policy", "disconnect")
        encoder = self.publish_forever(entry["primary"]["rtmp"]["ffmpeg"])
        start = server.wait_event("publish_start")
        self.cli("regenerate-token", entry["entryId"])
        # The server re-reads the store every revalidate_interval_ms (2 s).
        stop = server.wait_event("publish_stop", timeout=15 * TIME_SCALE)
        self.assertEqual(stop["sessionId"], start["sessionId"])
        self.assertEqual(stop["status"], "LG_E_AUTH")
        self.assertIn("token", stop["reason"])
        self.assertNotEqual(encoder.wait(timeout=20 * TIME_SCALE), 0)

    def test_revoke_policy_keep_leaves_live_session(self):
        server, port, entry = self.start_server_ready()
        encoder = self.publish_forever(entry["primary"]["rtmp"]["ffmpeg"])
        server.wait_event("publish_start")
        self.cli("regenerate-token", entry["entryId"])
        server.no_event("publish_stop", seconds=5)
        self.assertIsNone(encoder.poll(), "the encoder was cut off")
        # Only new publishes are refused.
        result = self.publish(entry["backup"]["rtmp"]["ffmpeg"], MEDIA["short"])
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(server.wait_event("publish_reject")["status"], "LG_E_AUTH")

    def test_sigterm_with_live_publish_exits_0(self):
        server, port, entry = self.start_server_ready()
        self.publish_forever(entry["primary"]["rtmp"]["ffmpeg"])
        server.wait_event("publish_start")
        started = time.monotonic()
        self.assertEqual(server.stop(), 0, server.stderr_text())
        self.assertLess(time.monotonic() - started, 5)



class EntryFailoverCommandTest(LiveGateTestCase):
    """entry show and entry switch with the admin API of a server running on
    the same data directory."""

    def failover(self, entry_id, *args):
        return self.cli_json("show", entry_id, *args)["failover"]

    def test_without_a_running_server(self):
        entry = self.cli_json("create")
        self.assertIsNone(self.failover(entry["entryId"]))
        text = self.cli("show", entry["entryId"]).stdout
        self.assertIn("no server is running on this data directory", text)
        result = self.cli("switch", entry["entryId"], "backup", expect=1)
        self.assertIn("no server with HTTP is running", result.stderr)
        # A file left by a server that was killed names a process that is gone.
        gone = subprocess.Popen(["true"])
        gone.wait(timeout=EXIT_TIMEOUT)
        with open(os.path.join(self.data_dir, "server.json"), "w") as f:
            json.dump({"pid": gone.pid, "httpAddress": "127.0.0.1", "httpPort": 9}, f)
        self.assertIn("no server is running", self.cli("show", entry["entryId"]).stdout)
        self.cli("switch", entry["entryId"], "backup", expect=1)
        self.cli("switch", "1_zzzzzzzz", "backup", expect=1)

    def test_show_with_a_running_server_and_a_wrong_key(self):
        server, _, entry = self.start_server_ready()
        entry_id = entry["entryId"]
        self.assertEqual(self.failover(entry_id), {})
        self.assertIn("failover    no live stream", self.cli("show", entry_id).stdout)
        wrong = ["--admin-key", "wrong-key-0123456789abcdef"]
        result = self.cli("show", entry_id, "--json", *wrong)
        self.assertIsNone(json.loads(result.stdout)["failover"])
        self.assertIn("401", result.stderr)
        result = self.cli("switch", entry_id, "backup", *wrong, expect=1)
        self.assertIn("admin key", result.stderr)
        # Nothing is published: no output to switch.
        result = self.cli("switch", entry_id, "backup", expect=1)
        self.assertIn("has no output", result.stderr)
        self.assertNotIn("failover", [e["event"] for e in server.events])

    @unittest.skipUnless(FFMPEG and FFPROBE, "needs the ffmpeg and ffprobe programs")
    def test_switch_drill(self):
        server, _, entry = self.start_server_ready("--failover-policy", "manual")
        entry_id = entry["entryId"]

        def stream_state(check):
            def probe():
                state = (self.failover(entry_id) or {}).get("1")
                return state if state and check(state) else None

            return probe

        self.publish_forever(entry["primary"]["rtmp"]["ffmpeg"])
        self.wait_until(stream_state(lambda s: s["activeInput"] == "primary"),
                        "fed by the primary")
        result = self.cli("switch", entry_id, "backup", expect=1)
        self.assertIn("backup input", result.stderr)
        self.assertIn("not connected", result.stderr)

        self.publish_forever(entry["backup"]["rtmp"]["ffmpeg"])
        # A new input counts as healthy only after the clear time.
        self.wait_until(stream_state(lambda s: s["backupPresent"] and s["backupFault"] is None),
                        "a healthy backup")
        answer = self.cli_json("switch", entry_id, "backup", "--stream", "1")
        self.assertEqual((answer["entryId"], answer["role"], answer["streamName"]),
                         (entry_id, "backup", "1"))
        state = self.wait_until(stream_state(lambda s: s["activeInput"] == "backup"),
                                "switched to the backup")
        self.assertEqual((state["switches"], state["lastSwitch"]["kind"]), (1, "manual"))
        event = server.wait_event("failover")
        self.assertEqual((event["kind"], event["from"], event["to"]),
                         ("manual", "primary", "backup"))
        text = self.cli("show", entry_id).stdout
        self.assertIn("stream 1: backup active; primary healthy, backup healthy", text)
        self.assertIn("1 switch,", text)
        self.assertIn("last manual at", text)
        result = self.cli("switch", entry_id, "primary", "--stream", "2", expect=1)
        self.assertIn("stream '2'", result.stderr)
        text = self.cli("switch", entry_id, "primary").stdout
        self.assertIn("switching every stream to the primary input", text)
        self.wait_until(stream_state(lambda s: s["activeInput"] == "primary"),
                        "back on the primary")
        self.assertEqual(server.wait_event("failover")["to"], "primary")


if __name__ == "__main__":
    unittest.main()
