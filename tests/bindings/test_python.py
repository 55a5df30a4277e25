"""The Python binding against the real shared library and a real SQLite file."""

import ctypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bindings", "python"))
import livegate  # noqa: E402

FFMPEG = shutil.which("ffmpeg")
# Deadlines stretch in slow builds (ThreadSanitizer sets 4).
WAIT_TIMEOUT = 30 * float(os.environ.get("LG_TEST_TIME_SCALE", "1"))  # one awaited state


class BindingTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.store = livegate.Store(os.path.join(self.dir.name, "livegate.db"))

    def tearDown(self):
        self.store.close()
        self.dir.cleanup()

    def test_version(self):
        self.assertRegex(livegate.version(), r"^\d+\.\d+\.\d+$")

    def test_entries_round_trip_through_sqlite(self):
        e = self.store.create_entry("studio a")
        self.assertRegex(e["entryId"], r"^1_[a-z0-9]{8}$")
        self.assertRegex(e["token"], r"^[a-z2-7]{26}$")
        self.assertEqual(self.store.get_entry(e["entryId"])["name"], "studio a")
        again = self.store.regenerate_token(e["entryId"])
        self.assertNotEqual(again["token"], e["token"])
        self.assertEqual(again["tokenGeneration"], e["tokenGeneration"] + 1)
        # A second handle on the same file sees the change: another process would.
        with livegate.Store(os.path.join(self.dir.name, "livegate.db")) as other:
            self.assertEqual(other.get_entry(e["entryId"])["token"], again["token"])
        self.assertEqual([x["entryId"] for x in self.store.list_entries()], [e["entryId"]])
        self.store.delete_entry(e["entryId"])
        with self.assertRaises(livegate.Error) as ctx:
            self.store.get_entry(e["entryId"])
        self.assertEqual(ctx.exception.status, -2)  # LG_E_NOT_FOUND

    def test_urls_build_and_parse_back(self):
        e = self.store.create_entry()
        for host in ("publish.example.com", "127.0.0.1", "localhost"):
            for role in (livegate.PRIMARY, livegate.BACKUP):
                ep = livegate.build_url(host, e["entryId"], e["token"], role=role, stream_name="2")
                self.assertIn(e["token"], ep["url"])
                for parsed in (livegate.parse_url(ep["url"], ep["streamName"]),
                               livegate.parse_url(ep["ffmpeg"])):
                    self.assertEqual(parsed["entryId"], e["entryId"])
                    self.assertEqual(parsed["token"], e["token"])
                    self.assertEqual(parsed["streamName"], "2")
                    self.assertEqual(parsed["role"], "backup" if role else "primary")
                    self.assertEqual(parsed["host"], host)

    def test_srt_urls_and_passphrase(self):
        e = self.store.create_entry()
        self.assertIsNone(e["srtPassphrase"])
        ep = livegate.build_url("publish.example.com", e["entryId"], e["token"],
                                role=livegate.BACKUP, scheme=livegate.SRT)
        self.assertEqual(ep["url"], f"srt://{e['entryId']}.b.publish.example.com:9000")
        self.assertEqual(ep["streamName"],
                         f"#!::r={e['entryId']}.b/1,m=publish,livegate_token={e['token']}")
        for parsed in (livegate.parse_url(ep["url"], ep["streamName"]),
                       livegate.parse_url(ep["ffmpeg"]),
                       livegate.parse_url(ep["url"] + "?streamid=" + ep["streamName"])):
            self.assertEqual(parsed["scheme"], "srt")
            self.assertEqual(parsed["entryId"], e["entryId"])
            self.assertEqual(parsed["role"], "backup")
            self.assertEqual(parsed["token"], e["token"])
        updated = self.store.set_srt_passphrase(e["entryId"], "0123456789abc")
        self.assertEqual(updated["srtPassphrase"], "0123456789abc")
        self.assertEqual(self.store.get_entry(e["entryId"])["srtPassphrase"], "0123456789abc")
        with self.assertRaises(livegate.Error) as ctx:
            self.store.set_srt_passphrase(e["entryId"], "short")
        self.assertEqual(ctx.exception.status, -1)  # LG_E_INVALID_ARG
        self.assertIn("10 to 79", str(ctx.exception))
        self.assertIsNone(self.store.set_srt_passphrase(e["entryId"], None)["srtPassphrase"])

    def test_malformed_url_gives_a_precise_error(self):
        with self.assertRaises(livegate.Error) as ctx:
            livegate.parse_url("http://example.com/x")
        self.assertEqual(ctx.exception.status, -11)  # LG_E_URL
        self.assertTrue(re.search(r"scheme|rtmp", str(ctx.exception)), str(ctx.exception))


class ServerTest(unittest.TestCase):
    """A server run through the binding: options, failover state and
    switches, and the failover and output-frame callbacks."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.data_dir = tmp.name

    def server(self, **kwargs):
        kwargs.setdefault("rtmp_port", 0)
        server = livegate.Server(self.data_dir, hls=0, **kwargs)
        self.addCleanup(server.close)
        return server.start()

    def test_option_struct_matches_the_library(self):
        opts = livegate._ServerOptions()
        livegate._lib.lg_server_options_init(ctypes.byref(opts))
        # lg_server_options_init writes the library's sizeof.
        self.assertEqual(opts.struct_size, ctypes.sizeof(livegate._ServerOptions))
        # The last fields are where the library put their defaults.
        defaults = livegate.server_defaults()
        self.assertEqual((defaults["playlist_end_ms"], defaults["failover_policy"],
                          defaults["stall_ms"], defaults["keyframe_timeout_ms"],
                          defaults["bitrate_collapse_percent"], defaults["clear_ms"],
                          defaults["switch_back_ms"], defaults["reconnect_window_ms"],
                          defaults["input_buffer_bytes"], defaults["content_checks"],
                          defaults["black_after_ms"], defaults["frozen_after_ms"],
                          defaults["silence_after_ms"], defaults["silence_dbfs"]),
                         (10000, livegate.FAILOVER_AUTO, 1500, 10000, 0, 2000, 10000, 10000,
                          32 * 1024 * 1024, 0, 2000, 4000, 3000, -60))
        self.assertEqual((ctypes.sizeof(livegate._ServerCallbacks),
                          livegate._ServerCallbacks.on_output_frame.offset),
                         (10 * ctypes.sizeof(ctypes.c_void_p), 9 * ctypes.sizeof(ctypes.c_void_p)))

    def test_bad_options_are_refused(self):
        for options in ({"failover_policy": 3}, {"content_checks": 0x8},
                        {"bitrate_collapse_percent": 100}, {"silence_dbfs": 1}):
            with self.subTest(options=options):
                with self.assertRaises(livegate.Error) as ctx:
                    livegate.Server(self.data_dir, **options)
                self.assertEqual(ctx.exception.status, -1)  # LG_E_INVALID_ARG
        with self.assertRaises(TypeError):
            livegate.Server(self.data_dir, reconect_window_ms=100)

    def test_unknown_entry_has_no_output(self):
        server = self.server(failover_policy=livegate.FAILOVER_MANUAL,
                             content_checks=livegate.CHECK_BLACK | livegate.CHECK_SILENCE,
                             reconnect_window_ms=500, silence_dbfs=-50)
        self.assertGreater(server.port(), 0)
        self.assertEqual(server.list_outputs("1_zzzzzzzz"), [])
        with self.assertRaises(livegate.Error) as ctx:
            server.failover_stats("1_zzzzzzzz", "1")
        self.assertEqual(ctx.exception.status, -2)  # LG_E_NOT_FOUND
        with self.assertRaises(livegate.Error) as ctx:
            server.switch_input("1_zzzzzzzz", livegate.BACKUP)
        self.assertEqual(ctx.exception.status, -2)

    def publish(self, server, entry, role):
        """An encoder that runs until the test ends."""
        url = livegate.build_url("127.0.0.1", entry["entryId"], entry["token"], role=role,
                                 port=server.port())["ffmpeg"]
        proc = subprocess.Popen(
            [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
             "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25",
             "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-f", "flv", url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)

        self.addCleanup(stop)
        return proc

    def wait_until(self, probe, what):
        deadline = time.monotonic() + WAIT_TIMEOUT
        while time.monotonic() < deadline:
            try:
                found = probe()
            except livegate.Error:
                found = None
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"not {what} within {WAIT_TIMEOUT} s")

    @unittest.skipUnless(FFMPEG, "needs the ffmpeg program")
    def test_publish_switch_and_callbacks(self):
        lock = threading.Lock()
        events, frames = [], []

        def on_failover(event):
            with lock:
                events.append(event)

        def on_output_frame(entry_id, stream_name, frame):
            with lock:
                frames.append((entry_id, stream_name, frame))

        server = self.server(failover_policy=livegate.FAILOVER_MANUAL, on_failover=on_failover,
                             on_output_frame=on_output_frame)
        with livegate.Store(os.path.join(self.data_dir, "livegate.db")) as store:
            entry = store.create_entry("binding")
        entry_id = entry["entryId"]

        def state(check):
            def probe():
                stats = server.failover_stats(entry_id, "1")
                return stats if check(stats) else None

            return probe

        self.publish(server, entry, livegate.PRIMARY)
        stats = self.wait_until(state(lambda s: s["activeInput"] == "primary"), "live")
        self.assertTrue(stats["open"])
        self.assertEqual((stats["primaryPresent"], stats["switches"]), (True, 0))
        self.assertEqual(server.list_outputs(entry_id), ["1"])
        with self.assertRaises(livegate.Error) as ctx:
            server.switch_input(entry_id, livegate.BACKUP)
        self.assertEqual(ctx.exception.status, -9)  # LG_E_STATE: no backup

        self.publish(server, entry, livegate.BACKUP)
        # A new input counts as healthy only after the clear time.
        self.wait_until(state(lambda s: s["backupPresent"] and s["backupFault"] is None),
                        "with a healthy backup")
        server.switch_input(entry_id, livegate.BACKUP, "1")
        stats = self.wait_until(state(lambda s: s["activeInput"] == "backup"), "switched")
        self.assertEqual((stats["switches"], stats["lastSwitch"]["kind"]), (1, "manual"))
        def manual_event():
            with lock:
                return next((e for e in events if e["kind"] == "manual"), None)

        event = self.wait_until(manual_event, "a failover event")
        with lock:
            received = list(frames)
        self.assertEqual((event["entryId"], event["streamName"], event["kind"], event["from"],
                          event["to"], event["fault"]),
                         (entry_id, "1", "manual", "primary", "backup", None))
        self.assertGreater(event["sessionId"], 0)
        self.assertGreater(event["unixMs"], 0)
        self.assertTrue(received)
        self.assertEqual({(e, s) for e, s, _ in received}, {(entry_id, "1")})
        video = [f for _, _, f in received if f["track"] == "video"]
        self.assertTrue(video[0]["keyframe"])
        self.assertEqual({f["codec"] for f in video}, {"h264"})
        self.assertTrue(all(f["data"] for f in video))
        # One timeline across the switch: timestamps only rise.
        dts = [f["dtsUs"] for f in video]
        self.assertEqual(dts, sorted(dts))


if __name__ == "__main__":
    unittest.main()
