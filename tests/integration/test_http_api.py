"""End-to-end tests of livegate-server's HTTP side: the JSON admin API under
/api/v1 and the static delivery of what the library writes under the media
directory (/live, /recordings, /clips).

They run the real binary (path in LG_SERVER_BIN) with every listener on an
ephemeral port, read the ports from the `listening` event, and talk to it
with urllib and http.client. Media files are put into the media directory by
the test itself, so delivery is tested without depending on the packager.
"""

import http.client
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

from test_server_cli import CLI_TIMEOUT, SERVER_BIN, SRT_PASSPHRASE, TIME_SCALE, LiveGateTestCase

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")

HTTP_TIMEOUT = 10 * TIME_SCALE
KEY = "test-admin-key-0123456789abcdef"

# Made once by setUpModule: a real one-second MPEG-TS and MP4, and a source
# to publish.
MEDIA = {}


def setUpModule():
    if not SERVER_BIN or not os.access(SERVER_BIN, os.X_OK):
        raise RuntimeError("set LG_SERVER_BIN to the livegate-server binary")
    MEDIA["dir"] = tempfile.mkdtemp(prefix="lg-http-media-")
    if not FFMPEG:
        return
    for name, fmt, seconds in (("seg.ts", "mpegts", 1), ("clip.mp4", "mp4", 1),
                               ("src.flv", "flv", 1), ("live.flv", "flv", 3)):
        path = os.path.join(MEDIA["dir"], name)
        subprocess.run(
            [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25",
             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
             "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
             "-c:a", "aac", "-shortest", "-f", fmt, path],
            capture_output=True, timeout=CLI_TIMEOUT, check=True)
        MEDIA[name] = path


def tearDownModule():
    if "dir" in MEDIA:
        shutil.rmtree(MEDIA["dir"], ignore_errors=True)


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


class HttpTestCase(LiveGateTestCase):
    """A server with HTTP on an ephemeral port, and request helpers."""

    def start_http(self, *args, key=KEY):
        extra = ["--admin-key", key] if key else []
        server, _, entry = self.start_server_ready("--http-port", "0", *extra, *args)
        self.server = server
        self.listening = server.events[0]
        self.http_port = self.listening["http"]
        self.assertIsInstance(self.http_port, int)
        self.entry = entry
        self.entry_id = entry["entryId"]
        self.key = key
        self.addCleanup(self._stops_cleanly, server)
        return server

    def _stops_cleanly(self, server):
        """After every request a test made, the server still stops with 0 and
        without a sanitizer report (in the ASan+UBSan build)."""
        if server.proc.poll() is None:
            code = server.stop()
            stderr = server.stderr_text()
            self.assertEqual(code, 0, stderr)
            self.assertNotIn("Sanitizer", stderr)
            self.assertNotIn("runtime error", stderr)

    def request(self, method, path, body=None, key=None, headers=None, raw=None):
        """One request; never raises for an HTTP error status."""
        all_headers = dict(headers or {})
        key = self.key if key is None else key
        if key:
            all_headers["Authorization"] = f"Bearer {key}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", data=data,
                                     method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:
                return Reply(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as e:
            with e:
                return Reply(e.code, e.headers, e.read())

    def raw_request(self, method, path, headers=None):
        """A request with the path sent exactly as given (no normalisation)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=HTTP_TIMEOUT)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.endheaders()
            resp = conn.getresponse()
            return Reply(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def api(self, method, path, body=None, expect=200, **kwargs):
        reply = self.request(method, "/api/v1" + path, body=body, **kwargs)
        self.assertEqual(reply.status, expect, reply.body)
        if reply.status != 204:
            self.assertEqual(reply.headers["Content-Type"], "application/json")
        return reply

    def assert_error(self, reply, status, contains=None):
        self.assertEqual(reply.status, status, reply.body)
        error = reply.json()["error"]
        self.assertIsInstance(error, str)
        if contains:
            self.assertIn(contains, error)
        return error

    def cli_json_at_server(self, *args):
        """An entry subcommand with the running server's ports, so its URLs
        match the API's."""
        return self.cli_json(*args, "--public-host", "127.0.0.1",
                             "--rtmp-port", str(self.listening["rtmp"]),
                             "--rtmps-port", str(self.listening["rtmps"]),
                             "--srt-port", str(self.listening["srt"]),
                             "--http-port", str(self.http_port))


class AdminAuthTest(HttpTestCase):

    def test_missing_or_wrong_key_is_401(self):
        self.start_http()
        # No header, an empty one, and keys that are almost right.
        for key in ("", "wrong-key-0123456789abcdef", KEY + "x", KEY[:-1]):
            with self.subTest(key=key):
                reply = self.request("GET", "/api/v1/entries", key=key)
                self.assert_error(reply, 401, "admin key")
                self.assertIn("Bearer", reply.headers["WWW-Authenticate"])
        for header in ("", f"Basic {KEY}", KEY, f"Bearer{KEY}", "Bearer "):
            reply = self.request("GET", "/api/v1/entries", key="",
                                 headers={"Authorization": header})
            self.assert_error(reply, 401)
        # No path, known or not, answers anything else without the key.
        for path in ("/api/v1/nothing", f"/api/v1/entries/{self.entry_id}", "/api"):
            self.assert_error(self.request("GET", path, key=""), 401)
        self.assertEqual(self.api("GET", "/entries", headers={}).status, 200)
        self.assertEqual(self.request("GET", "/api/v1/entries", key="",
                                      headers={"Authorization": f"bearer {KEY}"}).status, 200)

    def test_key_file_is_made_once_with_mode_0600(self):
        server = self.start_http(key=None)
        key_file = os.path.join(os.path.abspath(self.data_dir), "admin-key")
        self.assertEqual(self.listening["adminKeyFile"], key_file)
        self.assertEqual(stat.S_IMODE(os.stat(key_file).st_mode), 0o600)
        with open(key_file) as f:
            key = f.read().strip()
        self.assertRegex(key, r"^[0-9a-f]{32}$")
        self.key = key
        self.assertEqual(self.api("GET", "/entries").json()[0]["entryId"], self.entry_id)
        # The key is never printed.
        self.assertNotIn(key, json.dumps(server.events))
        self.assertNotIn(key, server.stderr_text())
        self.assertEqual(server.stop(), 0)
        # A restart keeps it.
        self.start_http(key=None)
        with open(key_file) as f:
            self.assertEqual(f.read().strip(), key)
        self.assert_error(self.request("GET", "/api/v1/entries", key=KEY), 401)
        self.assertEqual(self.request("GET", "/api/v1/entries", key=key).status, 200)

    def test_key_from_flag_writes_no_file(self):
        self.start_http()
        self.assertIsNone(self.listening["adminKeyFile"])
        self.assertFalse(os.path.exists(os.path.join(self.data_dir, "admin-key")))

    def test_short_key_and_bad_http_flags_fail(self):
        for args in (["--admin-key", "short"], ["--http-port", "70000"],
                     ["--http-address", "not-an-ip"], ["--segment-format", "avi"],
                     ["--dvr-window", "0"], ["--live-segments", "x"]):
            with self.subTest(args=args):
                server = self.start_server(*args)
                self.assertEqual(server.proc.wait(timeout=CLI_TIMEOUT), 1)
                self.assertEqual(server.events, [])

    def test_http_port_in_use_fails(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            server = self.start_server("--http-port", str(port), "--http-address", "127.0.0.1",
                                       "--admin-key", KEY)
            self.assertEqual(server.proc.wait(timeout=CLI_TIMEOUT), 1)
        self.assertIn("cannot start the HTTP server", server.stderr_text())
        self.assertEqual(server.events, [])

    def test_help_names_the_http_flags(self):
        result = subprocess.run([SERVER_BIN, "--help"], stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=CLI_TIMEOUT)
        self.assertEqual(result.returncode, 0)
        for flag in ("--http-port", "--http-address", "--admin-key", "--media-dir",
                     "--segment-format", "--segment-target-ms", "--live-segments",
                     "--dvr-window", "--recording-rotate", "--no-vod-on-stop", "--no-hls",
                     "set-outputs", "/api/v1"):
            self.assertIn(flag, result.stdout)

    def test_http_off(self):
        server = self.start_server("--http-port", "off")
        listening = server.wait_event("listening")
        self.assertIsNone(listening["http"])
        self.assertIsNone(listening["adminKeyFile"])
        self.assertIsNone(server.wait_event("entry")["hls"])
        self.assertFalse(os.path.exists(os.path.join(self.data_dir, "admin-key")))


class AdminEntriesTest(HttpTestCase):

    def test_create_list_show_delete(self):
        self.start_http()
        reply = self.api("POST", "/entries", {"name": "Studio \u00e9 \"B\""}, expect=201)
        created = reply.json()
        entry_id = created["entryId"]
        self.assertEqual(reply.headers["Location"], f"/api/v1/entries/{entry_id}")
        self.assertEqual(created["name"], "Studio \u00e9 \"B\"")
        self.assertEqual(reply.headers["Cache-Control"], "no-store")
        self.assert_entry(created, host="127.0.0.1", port=self.listening["rtmp"],
                          rtmps_port=self.listening["rtmps"], srt_port=self.listening["srt"])
        self.assertIs(created["dvr"], True)
        self.assertIs(created["recording"], True)
        base = f"http://127.0.0.1:{self.http_port}/live/{entry_id}"
        self.assertEqual(created["hls"], {"master": f"{base}/master.m3u8",
                                          "dvr": f"{base}/master-dvr.m3u8"})
        # The same object the entry subcommand prints, from the same store;
        # both add the failover state of the entry's outputs (none yet).
        shown = self.cli_json_at_server("show", entry_id, "--admin-key", KEY)
        self.assertEqual(shown.pop("failover"), {})
        self.assertEqual(shown, created)
        listed = self.cli_json("list")
        self.assertEqual([e["entryId"] for e in listed], [self.entry_id, entry_id])
        api_list = self.api("GET", "/entries").json()
        self.assertEqual(api_list, self.cli_json_at_server("list"))
        shown = self.api("GET", f"/entries/{entry_id}").json()
        self.assertEqual(shown.pop("failover"), {})
        self.assertEqual(shown, created)
        # No body, or an empty object, makes an unnamed entry.
        self.assertEqual(self.api("POST", "/entries", expect=201).json()["name"], "")
        self.assertEqual(self.api("POST", "/entries", {}, expect=201).json()["name"], "")

        reply = self.api("DELETE", f"/entries/{entry_id}", expect=204)
        self.assertEqual(reply.body, b"")
        self.assert_error(self.api("GET", f"/entries/{entry_id}", expect=404), 404, entry_id)
        self.assert_error(self.api("DELETE", f"/entries/{entry_id}", expect=404), 404)
        self.cli("show", entry_id, expect=1)

    def test_unknown_ids_are_404(self):
        self.start_http()
        for entry_id in ("1_zzzzzzzz", "nope", "..", "%2e%2e", "1_aaaa%2faaa"):
            with self.subTest(entry_id=entry_id):
                for method, suffix, body in (("GET", "", None), ("DELETE", "", None),
                                             ("POST", "/token", None),
                                             ("PUT", "/srt-passphrase", {"passphrase": None}),
                                             ("PUT", "/outputs", {"dvr": True}),
                                             ("POST", "/clips", {"stream": "1", "startMs": 0}),
                                             ("POST", "/switch", {"role": "backup"}),
                                             ("GET", "/streams/1", None)):
                    reply = self.raw_api(method, f"/api/v1/entries/{entry_id}{suffix}", body)
                    self.assertEqual(reply.status, 404, (method, suffix, reply.body))

    def raw_api(self, method, path, body):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=HTTP_TIMEOUT)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Authorization": f"Bearer {KEY}"})
            resp = conn.getresponse()
            return Reply(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def test_bad_requests(self):
        self.start_http()
        for raw in (b"{", b"{\"name\": }", b"[1, 2", b"{\"name\": \"x\"} trailing",
                    b"{\"name\": \"\\ud800\"}", b"\xff\xfe", b"{\"a\": 1, \"a\": 2}"):
            with self.subTest(raw=raw):
                error = self.assert_error(self.request("POST", "/api/v1/entries", raw=raw), 400)
                self.assertIn("malformed JSON", error)
        cases = [
            ("POST", "/entries", b"[]", "JSON object"),
            ("POST", "/entries", b"\"name\"", "JSON object"),
            ("POST", "/entries", b"{\"name\": 5}", "'name'"),
            ("POST", "/entries", b"{\"nmae\": \"x\"}", "unknown key 'nmae'"),
            ("POST", "/entries", b"{\"name\": \"a\\u0000b\"}", "NUL"),
            ("PUT", f"/entries/{self.entry_id}/outputs", b"{}", "dvr"),
            ("PUT", f"/entries/{self.entry_id}/outputs", b"{\"dvr\": \"off\"}", "true or false"),
            ("PUT", f"/entries/{self.entry_id}/outputs", b"", "JSON object"),
            ("POST", f"/entries/{self.entry_id}/token", b"{\"disconnect\": 1}", "true or false"),
        ]
        for method, path, raw, contains in cases:
            with self.subTest(path=path, raw=raw):
                self.assert_error(self.request(method, "/api/v1" + path, raw=raw), 400, contains)
        # Deep nesting is refused, not a stack overflow.
        deep = b"[" * 20000 + b"]" * 20000
        self.assert_error(self.request("POST", "/api/v1/entries", raw=deep), 400, "nesting")
        # Nothing was created by any of these.
        self.assertEqual(len(self.api("GET", "/entries").json()), 1)

    def test_oversized_body_is_413(self):
        self.start_http()
        name = "x" * (100 * 1024)
        reply = self.request("POST", "/api/v1/entries", raw=json.dumps({"name": name}).encode())
        self.assert_error(reply, 413, "65536")
        # Just under the limit is read (and refused by the store for its length).
        reply = self.request("POST", "/api/v1/entries",
                             raw=json.dumps({"name": "y" * 60000}).encode())
        self.assertNotEqual(reply.status, 413)
        # A body announced far past the limit is refused before it is read.
        reply = self.raw_request("POST", "/api/v1/entries",
                                 headers={"Authorization": f"Bearer {KEY}",
                                          "Content-Length": str(50 * 1024 * 1024)})
        self.assertEqual(reply.status, 413)
        self.assertEqual(len(self.api("GET", "/entries").json()), 1)

    def test_wrong_method_and_unknown_paths(self):
        self.start_http()
        for method, path, allow in (("PUT", "/entries", "GET, POST"),
                                    ("POST", f"/entries/{self.entry_id}", "GET, DELETE"),
                                    ("GET", f"/entries/{self.entry_id}/token", "POST"),
                                    ("GET", f"/entries/{self.entry_id}/outputs", "PUT"),
                                    ("GET", f"/entries/{self.entry_id}/switch", "POST")):
            with self.subTest(method=method, path=path):
                reply = self.api(method, path, expect=405)
                self.assertEqual(reply.headers["Allow"], allow)
        for path in ("/entrie", f"/entries/{self.entry_id}/frob", "/entries/", "/"):
            with self.subTest(path=path):
                self.assert_error(self.api("GET", path, expect=404), 404)
        self.assertEqual(self.request("GET", "/", key="").status, 404)


class AdminEntryActionsTest(HttpTestCase):

    def test_token_regenerate(self):
        server = self.start_http()
        old = self.entry
        new = self.api("POST", f"/entries/{self.entry_id}/token").json()
        self.assertEqual(new["entryId"], self.entry_id)
        self.assertNotEqual(new["token"], old["token"])
        self.assertEqual(new["tokenGeneration"], old["tokenGeneration"] + 1)
        self.assertNotIn(old["token"], json.dumps(new))
        shown = self.cli_json("show", self.entry_id)
        self.assertEqual((shown["token"], shown["tokenGeneration"]),
                         (new["token"], old["tokenGeneration"] + 1))
        again = self.api("POST", f"/entries/{self.entry_id}/token", {"disconnect": True}).json()
        self.assertEqual(again["tokenGeneration"], old["tokenGeneration"] + 2)
        self.assertNotEqual(again["token"], new["token"])
        if not FFMPEG:
            return
        # The server refuses the old token at once.
        result = subprocess.run(
            [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", MEDIA["src.flv"],
             "-c", "copy", "-f", "flv", old["primary"]["rtmp"]["ffmpeg"]],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=CLI_TIMEOUT)
        self.assertNotEqual(result.returncode, 0)
        reject = server.wait_event("publish_reject")
        self.assertEqual((reject["status"], reject["entryId"]), ("LG_E_AUTH", self.entry_id))

    def test_srt_passphrase(self):
        self.start_http()
        path = f"/entries/{self.entry_id}/srt-passphrase"
        updated = self.api("PUT", path, {"passphrase": SRT_PASSPHRASE}).json()
        self.assertEqual(updated["srtPassphrase"], SRT_PASSPHRASE)
        self.assertTrue(updated["primary"]["srt"]["encrypted"])
        self.assertEqual(self.cli_json("show", self.entry_id)["srtPassphrase"], SRT_PASSPHRASE)
        for bad in ("123456789", "x" * 80, "has a space 123"):
            with self.subTest(bad=bad):
                reply = self.api("PUT", path, {"passphrase": bad}, expect=400)
                self.assertIn("10 to 79", self.assert_error(reply, 400))
                self.assertEqual(reply.json()["status"], "LG_E_INVALID_ARG")
        self.assertEqual(self.cli_json("show", self.entry_id)["srtPassphrase"], SRT_PASSPHRASE)
        self.assert_error(self.api("PUT", path, {}, expect=400), 400, "'passphrase' is required")
        self.assert_error(self.api("PUT", path, {"passphrase": 12345678901}, expect=400), 400)
        cleared = self.api("PUT", path, {"passphrase": None}).json()
        self.assertIsNone(cleared["srtPassphrase"])
        self.assertIsNone(self.cli_json("show", self.entry_id)["srtPassphrase"])

    def test_outputs_toggle(self):
        self.start_http()
        path = f"/entries/{self.entry_id}/outputs"
        entry = self.api("PUT", path, {"dvr": False}).json()
        self.assertEqual((entry["dvr"], entry["recording"]), (False, True))
        shown = self.cli_json("show", self.entry_id)
        self.assertEqual((shown["dvr"], shown["recording"]), (False, True))
        entry = self.api("PUT", path, {"dvr": True, "recording": False}).json()
        self.assertEqual((entry["dvr"], entry["recording"]), (True, False))
        shown = self.cli_json("show", self.entry_id)
        self.assertEqual((shown["dvr"], shown["recording"]), (True, False))
        # The entry subcommand changes the same store.
        self.cli_json("set-outputs", self.entry_id, "--dvr", "off", "--recording", "on")
        entry = self.api("GET", f"/entries/{self.entry_id}").json()
        self.assertEqual((entry["dvr"], entry["recording"]), (False, True))

    def test_clips_and_streams(self):
        self.start_http()
        clips = f"/entries/{self.entry_id}/clips"
        for body, contains in (({"startMs": 0}, "'stream'"), ({"stream": "1"}, "'startMs'"),
                               ({"stream": "1", "startMs": 1.5}, "integer"),
                               ({"stream": "../x", "startMs": 0}, "'stream'"),
                               ({"stream": "1", "startMs": 0, "endMs": "x"}, "integer")):
            with self.subTest(body=body):
                self.assert_error(self.api("POST", clips, body, expect=400), 400, contains)
        # Nothing is recorded: the library says not found (or, before clips
        # exist in it, not supported), never success.
        reply = self.request("POST", "/api/v1" + clips, {"stream": "1", "startMs": 0})
        self.assertIn(reply.status, (404, 501), reply.body)
        self.assertIn(reply.json()["status"], ("LG_E_NOT_FOUND", "LG_E_UNSUPPORTED"))
        self.assert_error(self.api("GET", f"{clips}/12345", expect=404), 404)
        self.assert_error(self.api("GET", f"{clips}/x", expect=404), 404)
        reply = self.api("GET", f"/entries/{self.entry_id}/streams/1", expect=404)
        self.assertEqual(reply.json()["status"], "LG_E_NOT_FOUND")
        self.assert_error(self.api("GET", "/entries/1_zzzzzzzz/streams/1", expect=404), 404,
                          "no such entry")


    def test_switch_requests_are_checked(self):
        self.start_http()
        path = f"/entries/{self.entry_id}/switch"
        self.assert_error(self.request("POST", "/api/v1" + path, {"role": "backup"}, key=""), 401)
        for raw, contains in ((b"", "JSON object"), (b"{}", "'role'"),
                              (b"{\"role\": \"middle\"}", "'role'"),
                              (b"{\"role\": 1}", "'role'"), (b"{\"role\": null}", "'role'"),
                              (b"{\"role\": \"backup\", \"streamName\": \"../1\"}",
                               "'streamName'"),
                              (b"{\"role\": \"backup\", \"stream\": \"1\"}", "unknown key"),
                              (b"[\"backup\"]", "JSON object")):
            with self.subTest(raw=raw):
                self.assert_error(self.request("POST", "/api/v1" + path, raw=raw), 400, contains)
        # Nothing is published: no output to switch, for the entry or one name.
        for body in ({"role": "backup"}, {"role": "primary", "streamName": "1"},
                     {"role": "primary", "streamName": None}):
            with self.subTest(body=body):
                reply = self.api("POST", path, body, expect=404)
                self.assert_error(reply, 404, "has no output")
                self.assertEqual(reply.json()["status"], "LG_E_NOT_FOUND")
        self.assert_error(self.api("POST", "/entries/1_zzzzzzzz/switch", {"role": "backup"},
                                   expect=404), 404, "no such entry")
        self.assertEqual(self.api("GET", f"/entries/{self.entry_id}").json()["failover"], {})


@unittest.skipUnless(FFMPEG, "needs the ffmpeg program")
class FailoverApiTest(HttpTestCase):
    """The failover state of an entry's outputs and forced switches, with
    one source published in a loop to the primary and the backup."""

    def failover(self, stream="1"):
        """The state of one output, or None while it has none."""
        return self.api("GET", f"/entries/{self.entry_id}").json()["failover"].get(stream)

    def wait_state(self, what, check):
        """Polls the state of output "1" until `check` holds; returns it."""
        def probe():
            state = self.failover()
            return state if state and check(state) else None

        return self.wait_until(probe, lambda: f"{what} (last state: {self.failover()})")

    def test_state_and_forced_switch(self):
        server = self.start_http("--failover-policy", "manual")
        switch = f"/entries/{self.entry_id}/switch"
        self.publish_forever(self.entry["primary"]["rtmp"]["ffmpeg"], MEDIA["live.flv"])
        primary = server.wait_event("publish_start", match=lambda e: e["role"] == "primary")
        state = self.wait_state("fed by the primary", lambda f: f["activeInput"] == "primary")
        self.assertEqual((state["primaryPresent"], state["backupPresent"]), (True, False))
        self.assertIsNone(state["primaryFault"])
        self.assertEqual((state["switches"], state["resumes"]), (0, 0))
        self.assertIsNone(state["lastSwitch"])
        self.assertEqual((state["backupMs"], state["framesOverlap"]), (0, 0))
        self.assertGreater(self.wait_state("sending frames", lambda f: f["framesOut"] > 0)
                           ["framesOut"], 0)
        stream = self.api("GET", f"/entries/{self.entry_id}/streams/1").json()
        self.assertEqual(stream["failover"]["activeInput"], "primary")

        # No backup yet: there is nothing to switch to.
        reply = self.api("POST", switch, {"role": "backup"}, expect=409)
        self.assert_error(reply, 409, "not connected")
        self.assertEqual(reply.json()["status"], "LG_E_STATE")
        self.assertEqual(self.api("POST", switch, {"role": "backup", "streamName": "2"},
                                  expect=404).json()["status"], "LG_E_NOT_FOUND")

        self.publish_forever(self.entry["backup"]["rtmp"]["ffmpeg"], MEDIA["live.flv"])
        backup = server.wait_event("publish_start", match=lambda e: e["role"] == "backup")
        # A new input counts as healthy only after the clear time.
        self.wait_state("with a healthy backup",
                        lambda f: f["backupPresent"] and f["backupFault"] is None)
        answer = self.api("POST", switch, {"role": "backup", "streamName": "1"}).json()
        self.assertEqual((answer["entryId"], answer["role"], answer["streamName"]),
                         (self.entry_id, "backup", "1"))
        self.assertIn("1", answer["failover"])
        # The switch waits for the backup's next keyframe.
        state = self.wait_state("switched to the backup",
                                lambda f: f["activeInput"] == "backup" and f["switches"] == 1)
        self.assertEqual(state["lastSwitch"]["kind"], "manual")
        self.assertIsNone(state["lastSwitch"]["fault"])
        self.assertGreater(state["lastSwitch"]["unixMs"], 0)
        self.assertGreaterEqual(state["maxGapMs"], state["lastSwitch"]["gapMs"])
        event = server.wait_event("failover")
        self.assertEqual((event["entryId"], event["streamName"], event["kind"]),
                         (self.entry_id, "1", "manual"))
        self.assertEqual((event["from"], event["to"], event["fault"]),
                         ("primary", "backup", None))
        self.assertEqual(event["sessionId"], backup["sessionId"])
        self.assertNotEqual(event["sessionId"], primary["sessionId"])
        self.assertIsInstance(event["aligned"], bool)
        for key in ("gapMs", "lostMs", "unixMs"):
            self.assertIsInstance(event[key], int)
        # Under the manual policy the output stays on the backup.
        self.wait_state("fed by the backup for a while", lambda f: f["backupMs"] >= 1000)
        self.assertEqual(self.failover()["activeInput"], "backup")
        # Without a stream name every output of the entry goes back.
        self.api("POST", switch, {"role": "primary"})
        self.wait_state("back on the primary",
                        lambda f: f["activeInput"] == "primary" and f["switches"] == 2)
        self.assertEqual(server.wait_event("failover")["to"], "primary")


class EntryCommandHttpTest(LiveGateTestCase):
    """The entry subcommands' new fields and set-outputs, without a server."""

    def test_hls_urls_and_outputs(self):
        entry = self.cli_json("create")
        self.assertEqual(entry["hls"]["master"],
                         f"http://localhost:8080/live/{entry['entryId']}/master.m3u8")
        self.assertEqual(entry["hls"]["dvr"],
                         f"http://localhost:8080/live/{entry['entryId']}/master-dvr.m3u8")
        self.assertEqual((entry["dvr"], entry["recording"]), (True, True))
        shown = self.cli_json("show", entry["entryId"], "--http-port", "9090",
                              "--public-host", "192.0.2.1")
        self.assertTrue(shown["hls"]["master"].startswith("http://192.0.2.1:9090/live/"))
        self.assertIsNone(self.cli_json("show", entry["entryId"], "--http-port", "off")["hls"])
        changed = self.cli_json("set-outputs", entry["entryId"], "--recording", "off")
        self.assertEqual((changed["dvr"], changed["recording"]), (True, False))
        changed = self.cli_json("set-outputs", entry["entryId"], "--dvr", "off")
        self.assertEqual((changed["dvr"], changed["recording"]), (False, False))
        text = self.cli("show", entry["entryId"]).stdout
        self.assertIn("DVR off, recording off", text)
        self.assertIn(entry["hls"]["master"], text)
        for args in (["set-outputs", entry["entryId"]],
                     ["set-outputs", entry["entryId"], "--dvr", "maybe"],
                     ["show", entry["entryId"], "--dvr", "on"]):
            with self.subTest(args=args):
                self.assertIn("livegate-server:", self.cli(*args, expect=1).stderr)
        self.assertIn("no such entry",
                      self.cli("set-outputs", "1_zzzzzzzz", "--dvr", "on", expect=1).stderr)


class StaticDeliveryTest(HttpTestCase):

    def setUp(self):
        super().setUp()
        self.start_http()
        self.media_dir = self.listening["mediaDir"]
        self.assertEqual(self.media_dir, os.path.join(os.path.abspath(self.data_dir), "media"))
        self.files = {}
        root = os.path.join(self.media_dir, self.entry_id)
        segment = self.read_or_random(MEDIA.get("seg.ts"), 188 * 40)
        mp4 = self.read_or_random(MEDIA.get("clip.mp4"), 5000)
        self.put(root, "hls/master.m3u8", b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n1/live.m3u8\n")
        self.put(root, "hls/1/live.m3u8", b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n"
                 b"7.ts\n")
        self.put(root, "hls/1/7.ts", segment)
        self.put(root, "hls/1/3.m4s", os.urandom(3000))
        self.put(root, "hls/1/init-0.mp4", os.urandom(700))
        self.put(root, "recordings/1/20261130T201500Z/0.ts", segment)
        self.put(root, "recordings/1/20261130T201500Z.mp4", mp4)
        self.put(root, "clips/7.mp4", mp4)
        self.put(root, "hls/1/.hidden.ts", segment)
        self.put(root, "hls/1/notes.txt", b"not media")
        self.put(root, "hls/1/empty.ts", b"")
        # Outside the media tree, but inside the data directory.
        self.secret = os.path.join(self.data_dir, "secret.ts")
        with open(self.secret, "wb") as f:
            f.write(b"SECRET" * 100)
        os.symlink(self.secret, os.path.join(root, "hls", "1", "link.ts"))
        os.symlink(self.data_dir, os.path.join(root, "hls", "up"))
        os.symlink(os.path.join(self.data_dir, "livegate.db"),
                   os.path.join(root, "clips", "db.mp4"))

    @staticmethod
    def read_or_random(path, size):
        if path:
            with open(path, "rb") as f:
                return f.read()
        return os.urandom(size)

    def put(self, root, rel, data):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        self.files[rel] = data

    def get(self, path, method="GET", headers=None):
        return self.request(method, path, key="", headers=headers)

    def test_files_are_served_with_types_and_cache_headers(self):
        e = self.entry_id
        cases = [
            (f"/live/{e}/master.m3u8", "hls/master.m3u8", "application/vnd.apple.mpegurl",
             "no-cache"),
            (f"/live/{e}/1/live.m3u8", "hls/1/live.m3u8", "application/vnd.apple.mpegurl",
             "no-cache"),
            (f"/live/{e}/1/7.ts", "hls/1/7.ts", "video/mp2t", "max-age="),
            (f"/live/{e}/1/3.m4s", "hls/1/3.m4s", "video/iso.segment", "max-age="),
            (f"/live/{e}/1/init-0.mp4", "hls/1/init-0.mp4", "video/mp4", "max-age="),
            (f"/recordings/{e}/1/20261130T201500Z.mp4", "recordings/1/20261130T201500Z.mp4",
             "video/mp4", "max-age="),
            (f"/recordings/{e}/1/20261130T201500Z/0.ts", "recordings/1/20261130T201500Z/0.ts",
             "video/mp2t", "no-cache"),
            (f"/clips/{e}/7.mp4", "clips/7.mp4", "video/mp4", "max-age="),
            (f"/live/{e}/1/empty.ts", "hls/1/empty.ts", "video/mp2t", "max-age="),
        ]
        for url, rel, content_type, cache in cases:
            with self.subTest(url=url):
                reply = self.get(url)
                self.assertEqual(reply.status, 200)
                self.assertEqual(reply.body, self.files[rel])
                self.assertEqual(reply.headers["Content-Type"], content_type)
                self.assertIn(cache, reply.headers["Cache-Control"])
                self.assertEqual(reply.headers["Access-Control-Allow-Origin"], "*")
                self.assertEqual(int(reply.headers["Content-Length"]), len(self.files[rel]))
                head = self.get(url, method="HEAD")
                self.assertEqual(head.status, 200)
                self.assertEqual(head.body, b"")
                self.assertEqual(int(head.headers["Content-Length"]), len(self.files[rel]))
        self.assertEqual(self.get(f"/live/{e}/1/live.m3u8",
                                  method="POST").status, 405)
        preflight = self.get(f"/clips/{e}/7.mp4", method="OPTIONS")
        self.assertEqual(preflight.status, 204)
        self.assertIn("Range", preflight.headers["Access-Control-Allow-Headers"])

    def test_range_requests(self):
        url = f"/clips/{self.entry_id}/7.mp4"
        data = self.files["clips/7.mp4"]
        size = len(data)
        self.assertGreater(size, 1000)
        self.assertEqual(self.get(url).headers["Accept-Ranges"], "bytes")
        for header, first, last in (("bytes=0-0", 0, 0), ("bytes=10-99", 10, 99),
                                    ("bytes=100-", 100, size - 1), ("bytes=-50", size - 50,
                                                                    size - 1),
                                    (f"bytes=5-{size + 1000}", 5, size - 1),
                                    (f"bytes=-{size * 2}", 0, size - 1)):
            with self.subTest(range=header):
                reply = self.get(url, headers={"Range": header})
                self.assertEqual(reply.status, 206)
                self.assertEqual(reply.body, data[first:last + 1])
                self.assertEqual(reply.headers["Content-Range"], f"bytes {first}-{last}/{size}")
                self.assertEqual(int(reply.headers["Content-Length"]), last - first + 1)
        for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
            with self.subTest(range=header):
                reply = self.get(url, headers={"Range": header})
                self.assertEqual(reply.status, 416)
                self.assertEqual(reply.headers["Content-Range"], f"bytes */{size}")
        # Several ranges, or a malformed header, are ignored: the whole file.
        for header in ("bytes=0-1,5-6", "bytes=abc", "items=0-1", "bytes=9-3"):
            with self.subTest(range=header):
                reply = self.get(url, headers={"Range": header})
                self.assertEqual((reply.status, reply.body), (200, data))

    def test_path_traversal_and_links_are_refused(self):
        e = self.entry_id
        with open(os.path.join(self.data_dir, "livegate.db"), "rb") as f:
            db_head = f.read(16)
        paths = [
            f"/live/{e}/../../livegate.db",
            f"/live/{e}/1/../../../secret.ts",
            f"/live/{e}/%2e%2e/%2e%2e/livegate.db",
            f"/live/{e}/%2E%2E/%2E%2E/secret.ts",
            f"/live/{e}/1%2f7.ts",
            f"/live/{e}%2f1%2f7.ts",
            f"/live/..%2f..%2fsecret.ts",
            f"/live/{e}/1/%37.ts",
            "/live//etc/passwd",
            "//etc/passwd",
            "/live/%2fetc%2fpasswd",
            f"/live/{e}/1/.hidden.ts",
            f"/live/{e}/1/notes.txt",
            f"/live/{e}/1/link.ts",
            f"/live/{e}/up/secret.ts",
            f"/clips/{e}/db.mp4",
            f"/live/{e}/1",
            f"/live/{e}/1/",
            f"/live/{e}",
            f"/live/{e}/1/7.ts/",
            f"/clips/{e}/../7.mp4",
            f"/clips/{e}/x/7.mp4",
            f"/recordings/{e}/../hls/1/7.ts",
            "/live/" + "/".join(["a"] * 9) + ".ts",
            f"/live/{e}/" + "a" * 200 + ".ts",
            f"/live/{e}/1/7.ts\\..\\..\\secret.ts",
            f"/live/{e}/1/-7.ts",
            "/livegate.db",
            "/",
        ]
        for path in paths:
            with self.subTest(path=path):
                reply = self.raw_request("GET", path)
                self.assertIn(reply.status, (400, 404), reply.body[:100])
                self.assertNotIn(b"SECRET", reply.body)
                self.assertNotIn(db_head, reply.body)
        reply = self.raw_request("GET", f"http://127.0.0.1/live/{e}/../../livegate.db")
        self.assertIn(reply.status, (400, 404))
        self.assertNotIn(db_head, reply.body)

    @unittest.skipUnless(FFMPEG and FFPROBE, "needs the ffmpeg and ffprobe programs")
    def test_ffprobe_reads_served_segment(self):
        url = f"http://127.0.0.1:{self.http_port}/live/{self.entry_id}/1/7.ts"
        out = subprocess.run(
            [FFPROBE, "-v", "error", "-show_entries", "format=format_name:stream=codec_name",
             "-of", "json", url],
            capture_output=True, text=True, timeout=CLI_TIMEOUT, check=True).stdout
        probed = json.loads(out)
        self.assertEqual(probed["format"]["format_name"], "mpegts")
        self.assertEqual([s["codec_name"] for s in probed["streams"]], ["h264", "aac"])
        playlist = f"http://127.0.0.1:{self.http_port}/live/{self.entry_id}/1/live.m3u8"
        out = subprocess.run(
            [FFPROBE, "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
             playlist], capture_output=True, text=True, timeout=CLI_TIMEOUT, check=True).stdout
        self.assertIn("h264", out)


@unittest.skipUnless(FFMPEG and FFPROBE, "needs the ffmpeg and ffprobe programs")
class PackagedStreamTest(HttpTestCase):
    """A real publish, packaged by the library and played over HTTP. Skips
    itself while the library writes no HLS (no segment event)."""

    def test_published_stream_plays_over_http(self):
        # A short reconnect window: the output stops soon after the publish.
        server = self.start_http("--segment-target-ms", "1000", "--reconnect-window-ms", "200")
        result = subprocess.run(
            [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
             "-i", MEDIA["live.flv"], "-c", "copy", "-f", "flv",
             self.entry["primary"]["rtmp"]["ffmpeg"]],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=CLI_TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stderr)
        server.wait_event("publish_stop")
        try:
            segment = server.wait_event("segment", timeout=5 * TIME_SCALE)
        except AssertionError:
            self.skipTest("the library packages no HLS yet")
        self.assertEqual((segment["entryId"], segment["streamName"]), (self.entry_id, "1"))
        self.assertTrue(segment["path"].startswith(self.listening["mediaDir"] + os.sep))
        self.assertGreater(segment["bytes"], 0)
        self.assertIsInstance(segment["sequence"], int)
        self.assertEqual(segment["status"], "LG_OK")

        master = self.request("GET", self.entry["hls"]["master"].split(str(self.http_port), 1)[1],
                              key="")
        self.assertEqual(master.status, 200)
        self.assertEqual(master.headers["Content-Type"], "application/vnd.apple.mpegurl")
        self.assertTrue(master.body.startswith(b"#EXTM3U"))
        out = subprocess.run(
            [FFPROBE, "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
             self.entry["hls"]["master"]],
            capture_output=True, text=True, timeout=CLI_TIMEOUT, check=True).stdout
        self.assertIn("h264", out)

        def stopped():
            info = self.api("GET", f"/entries/{self.entry_id}/streams/1").json()
            return None if info["live"] else info

        # The output waits out the reconnect window before it stops.
        info = self.wait_until(stopped, "the stream stopped", timeout=10 * TIME_SCALE)
        self.assertIsNone(info["failover"])
        self.assertGreaterEqual(info["segmentCount"], 1)
        self.assertGreaterEqual(info["lastSequence"], segment["sequence"])
        self.assertTrue(info["liveUrl"].endswith(f"/live/{self.entry_id}/1/live.m3u8"))
        self.assertEqual(self.request("GET", info["liveUrl"].split(str(self.http_port), 1)[1],
                                      key="").status, 200)

        reply = self.request("POST", f"/api/v1/entries/{self.entry_id}/clips",
                             {"stream": "1", "startMs": 0, "endMs": 2000})
        if reply.status == 501:
            self.skipTest("the library makes no clips yet")
        self.assertEqual(reply.status, 202, reply.body)
        clip = reply.json()
        ready = server.wait_event("clipReady", timeout=15 * TIME_SCALE,
                                  match=lambda e: e["clipId"] == clip["clipId"])
        self.assertEqual(ready["status"], "LG_OK", ready)
        shown = self.api("GET", f"/entries/{self.entry_id}/clips/{clip['clipId']}").json()
        self.assertEqual((shown["state"], shown["url"]), ("ready", clip["url"]))
        self.assertGreater(shown["durationMs"], 0)
        whole = self.request("GET", clip["url"], key="")
        self.assertEqual((whole.status, whole.headers["Content-Type"]), (200, "video/mp4"))
        part = self.request("GET", clip["url"], key="", headers={"Range": "bytes=8-15"})
        self.assertEqual((part.status, part.body), (206, whole.body[8:16]))
        out = subprocess.run(
            [FFPROBE, "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
             f"http://127.0.0.1:{self.http_port}{clip['url']}"],
            capture_output=True, text=True, timeout=CLI_TIMEOUT, check=True).stdout
        self.assertIn("h264", out)


if __name__ == "__main__":
    unittest.main()
