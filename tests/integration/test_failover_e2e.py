"""End-to-end failover: one livegate-server, two real ffmpeg publishers
pushing the same file to an entry's primary and backup (as one encoder with
two outputs does), and a real fault on the primary in the middle. The HLS
output is then read over the server's HTTP port by ffprobe and ffmpeg, as a
viewer's player would read it.

* KillTest: the primary ffmpeg gets SIGKILL.
* StallTest: the primary ffmpeg gets SIGSTOP (its connection stays open and
  silent) and stays stopped.

Each asserts what a viewer and an archivist would check: the playlists end
normally, the DVR playlist decodes without an error, its timestamps only
rise, it holds every frame of the source exactly once (the inputs are
aligned, so nothing is repeated and nothing the backup delivered is lost),
the output went without frames no longer than the detection time plus one
GOP, and the broadcast's recording plays end to end for the source's
duration.
"""

import glob
import os
import signal
import subprocess
import time
import unittest

import hls_probe
import hls_rules
from test_hls_e2e import (EXIT_TIMEOUT, FFMPEG, FFPROBE, PUBLISH_TIMEOUT, Scenario, _encode,
                          file_duration, http_text)
from test_server_cli import SERVER_BIN, ServerProcess

SOURCE_S = 16
GOP_S = 2.0  # _encode's keyframe interval
STALL_MS = 1500  # the server's default detection time for a stall
FAULT_AFTER_S = 5.5  # into the publish: mid-GOP
RECONNECT_WINDOW_MS = 500  # the output ends soon after both publishes


class FailoverScenario(Scenario):
    """Publishes the source to primary and backup, faults the primary with
    FAULT, lets the backup finish, and gathers what the output became."""

    FAULT = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not SERVER_BIN or not os.access(SERVER_BIN, os.X_OK):
            raise unittest.SkipTest("set LG_SERVER_BIN to the livegate-server binary")
        cls.source = _encode(os.path.join(cls.tmp, "source.flv"), SOURCE_S, "320x240")
        cls.source_probe = hls_probe.probe_hls(cls.source)
        server = cls.server = ServerProcess(
            ["--data-dir", cls.data_dir, "--rtmp-port", "0", "--rtmps-port", "off",
             "--srt-port", "off", "--http-port", "0", "--public-host", "127.0.0.1",
             "--playlist-end-ms", "1000", "--stall-ms", str(STALL_MS),
             "--reconnect-window-ms", str(RECONNECT_WINDOW_MS)],
            os.path.join(cls.tmp, "server.log"))
        cls.addClassCleanup(cls._stop_server, server)
        server.listening = server.wait_event("listening")
        server.entry = server.wait_event("entry")
        entry_id = server.entry["entryId"]
        cls.dvr_url = f"http://127.0.0.1:{server.listening['http']}/live/{entry_id}/1/dvr.m3u8"
        cls.recordings = os.path.join(server.listening["mediaDir"], entry_id, "recordings", "1")

        primary = cls.push("primary")
        backup = cls.push("backup")
        # The first segment closes at the second keyframe, GOP_S in.
        server.wait_event("segment", timeout=PUBLISH_TIMEOUT)
        time.sleep(FAULT_AFTER_S - GOP_S)
        primary.send_signal(cls.FAULT)
        cls.faulted_at = time.monotonic()
        cls.failover = server.wait_event("failover", timeout=PUBLISH_TIMEOUT)
        cls.detected_after = time.monotonic() - cls.faulted_at
        cls.backup_status = backup.wait(timeout=PUBLISH_TIMEOUT)
        primary.kill()
        primary.wait(timeout=EXIT_TIMEOUT)
        cls.vod = server.wait_event("clipReady", timeout=PUBLISH_TIMEOUT)
        cls.dvr = cls.wait_ended(cls.dvr_url)
        cls.output = hls_probe.probe_hls(cls.dvr_url)
        cls.decode_errors = hls_probe.decode_errors(cls.dvr_url)
        cls.switches = [e for e in server.events if e["event"] == "failover"]

    @classmethod
    def push(cls, role):
        url = cls.server.entry[role]["rtmp"]["ffmpeg"]
        log = open(os.path.join(cls.tmp, f"ffmpeg-{role}.log"), "wb")
        proc = subprocess.Popen(
            [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-i", cls.source,
             "-c", "copy", "-f", "flv", url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        cls.addClassCleanup(cls._stop_process, proc, log)
        return proc

    def test_one_aligned_switch_to_the_backup(self):
        self.assertEqual(self.backup_status, 0)
        self.assertEqual(len(self.switches), 1, self.switches)
        e = self.failover
        self.assertEqual((e["kind"], e["from"], e["to"]), ("failover", "primary", "backup"))
        self.assertTrue(e["aligned"], e)
        self.assertEqual(e["lostMs"], 0, e)

    def test_gap_within_detection_time_and_a_gop(self):
        detection_ms = STALL_MS if self.FAULT == signal.SIGSTOP else 0
        self.assertLessEqual(self.failover["gapMs"], detection_ms + GOP_S * 1000, self.failover)
        # And the switch came when it should: not before the detection time.
        self.assertGreaterEqual(self.detected_after * 1000, detection_ms - 100)
        print(f"\n{type(self).__name__}: output gap {self.failover['gapMs']} ms, switch "
              f"{self.detected_after * 1000:.0f} ms after the fault", flush=True)

    def test_hls_over_http_decodes_cleanly(self):
        self.assertEqual(self.decode_errors, [])
        self.assertEqual(list(hls_rules.check_media(self.dvr)), [])
        self.assertTrue(hls_rules.parse_media(self.dvr).endlist)
        # Same codec parameters on both inputs: no discontinuity for players.
        self.assertNotIn("#EXT-X-DISCONTINUITY\n", self.dvr)

    def test_timestamps_only_rise(self):
        self.assertEqual(hls_probe.dts_increasing(self.output), {})

    def test_every_source_frame_exactly_once(self):
        src, out = self.source_probe.video, self.output.video
        src_pts = [round(p.pts, 3) for p in src.packets]
        out_pts = [round(p.pts, 3) for p in out.packets]
        self.assertEqual(len(out_pts), len(set(out_pts)), "a frame was repeated")
        # The output's timeline is the source's shifted by the HLS muxer's
        # constant offset: compare the shapes.
        shift = out_pts[0] - src_pts[0]
        self.assertEqual([round(p - shift, 3) for p in out_pts], src_pts,
                         hls_probe.summary(self.output))
        self.assertEqual(hls_probe.gaps(out), [])

    def test_recording_plays_end_to_end(self):
        self.assertEqual(self.vod["status"], "LG_OK")
        path = self.vod["path"]
        self.assertEqual(hls_probe.decode_errors(path), [])
        self.assertAlmostEqual(file_duration(path), SOURCE_S, delta=GOP_S)
        broadcasts = [d for d in glob.glob(os.path.join(self.recordings, "*")) if os.path.isdir(d)]
        self.assertEqual(len(broadcasts), 1, broadcasts)


class KillTest(FailoverScenario):
    FAULT = signal.SIGKILL


class StallTest(FailoverScenario):
    FAULT = signal.SIGSTOP


del FailoverScenario  # only its subclasses are tests


if __name__ == "__main__":
    unittest.main()
