"""Disk full during recording and DVR.

One entry's media folder is a size-limited tmpfs that the test mounts
itself; the entry publishes (a looping ffmpeg) while a filler file takes
every free byte, then the filler is deleted. A bystander entry on the
ordinary disk publishes all along. Then the disk is filled once more just
as the publish ends, and freed again.

What a user checks:

* a storageError event names the entry and the cause (ENOSPC), a few
  events at most, none for the bystander;
* the server stays up and its admin API answers;
* the bystander's DVR playlist holds every frame of its source;
* once space returns, segments are written again (the DVR continues) and a
  new recording file is started and grows;
* the faulted entry's DVR playlist is valid, decodes without an error, has
  rising timestamps, and its frames are the looping source's in order,
  less what was lost while the disk was full;
* every recording file decodes without an error (a write cut short by the
  full disk leaves no half-written packet behind);
* playlists whose end fell while the disk was full still get EXT-X-ENDLIST
  once there is space; the broadcast's VOD, which cannot be made on a full
  disk, fails with an event, and a clip asked for afterwards is made.

Skips where tmpfs cannot be mounted (not root, no mount permission).
"""

import errno
import os
import subprocess
import time
import unittest

from fault_support import hls_probe, hls_rules  # tests/integration, on the path
from fault_support import (FaultScenario, http_text, kill_and_reap, log, make_sources, video_md5s)

MEDIA = {}
TMPFS_SIZE = "24m"
FULL_FOR_S = 4  # how long the disk stays full in the first phase


def setUpModule():
    make_sources(MEDIA, "lg-fault-disk-", {"loop": (6, 440), "long": (20, 550)})


def mount_tmpfs(path, size):
    """Mounts a tmpfs of `size` on `path`; None, or why it cannot."""
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs"
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                               path], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"cannot run mount: {e}"
    if done.returncode != 0:
        return f"cannot mount a tmpfs: {done.stderr.strip()}"
    return None


def unmount(path):
    subprocess.run(["umount", "-l", path], capture_output=True, timeout=10)


def fill(folder):
    """Writes a filler file in `folder` until the disk is full; its path."""
    path = os.path.join(folder, "filler")
    block = b"\0" * 65536
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
        # What is left is smaller than a block: take it too.
        for size in (4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)
    return path


def runs_in_cycle(frames, cycle):
    """Splits `frames` into maximal runs that follow `cycle` (a looping
    source's frames, in order, wrapping around); None if a frame is not in
    the cycle. Frames are found by position, so `cycle` must hold each MD5
    once (testsrc2 pictures all differ)."""
    where = {md5: i for i, md5 in enumerate(cycle)}
    if len(where) != len(cycle):
        raise AssertionError("the source repeats a picture")
    runs = 0
    expected = None
    for md5 in frames:
        at = where.get(md5)
        if at is None:
            return None
        if at != expected:
            runs += 1
        expected = (at + 1) % len(cycle)
    return runs


class DiskFullTest(FaultScenario):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        server = cls.server = cls.start_fault_server("server")
        bystander = server.entry
        cls.bystander_id = bystander["entryId"]
        entry = cls.entry = cls.create_entry(server, "on a small disk")
        cls.entry_id = entry["entryId"]
        cls.mount = os.path.join(server.media_dir, cls.entry_id)
        os.makedirs(cls.mount)
        why = mount_tmpfs(cls.mount, TMPFS_SIZE)
        if why:
            raise unittest.SkipTest(why)
        cls.addClassCleanup(unmount, cls.mount)

        def mine(e):
            return e.get("entryId") == cls.entry_id

        cls.publisher = cls.push(entry["primary"]["rtmp"]["ffmpeg"], MEDIA["loop"], "looping",
                                 loop=True)
        cls.addClassCleanup(kill_and_reap, cls.publisher)
        by = cls.push(bystander["primary"]["rtmp"]["ffmpeg"], MEDIA["long"], "bystander")
        server.wait_event("segment", match=lambda e: mine(e) and e["sequence"] >= 1,
                          timeout=60)

        # Phase 1: full for a while, in the middle of the broadcast.
        filler = fill(cls.mount)
        cls.full_at = time.monotonic()
        cls.error = server.wait_event("storageError", match=mine, timeout=30)
        time.sleep(FULL_FOR_S)
        status, cls.info_while_full = cls.api(server, "GET", f"/entries/{cls.entry_id}/streams/1")
        cls.alive_while_full = server.proc.poll() is None and status == 200
        last = max(e["sequence"] for e in server.events if e["event"] == "segment" and mine(e))
        os.unlink(filler)
        freed_at = time.monotonic()
        count_before = len(cls.recording_files(server, cls.entry_id))
        cls.segment_after = server.wait_event(
            "segment", match=lambda e: mine(e) and e["sequence"] > last, timeout=30)
        cls.resumed_after_s = time.monotonic() - freed_at

        def new_recording():
            files = cls.recording_files(server, cls.entry_id)
            return len(files) > count_before and os.path.getsize(files[-1]) > 0

        deadline = time.monotonic() + 30
        while not new_recording() and time.monotonic() < deadline:
            time.sleep(0.2)
        cls.recording_resumed = new_recording()
        cls.recording_resumed_after_s = time.monotonic() - freed_at
        # One more whole segment on the freed disk before it fills again, so
        # the DVR shows it going on (however slow the build).
        server.wait_event("segment", match=lambda e: mine(e) and
                          e["sequence"] > cls.segment_after["sequence"], timeout=60)

        # Phase 2: full again as the publish ends; freed after the
        # playlists were due to end.
        filler = fill(cls.mount)
        cls.publisher.terminate()
        cls.publisher.wait(timeout=10)
        cls.stop = server.wait_event("publish_stop", match=mine)
        cls.vod = server.wait_event("clipReady", match=lambda e: mine(e) and e["clipId"] == 0)
        time.sleep(3)  # --reconnect-window-ms 500 and --playlist-end-ms 1000 go by
        os.unlink(filler)
        cls.dvr = cls.dvr_url(server, cls.entry_id)
        cls.wait_ended(cls.dvr)

        cls.by_status = cls.finish(by)
        cls.wait_ended(cls.dvr_url(server, cls.bystander_id))
        status, clip = cls.api(server, "POST", f"/entries/{cls.entry_id}/clips",
                               {"stream": "1", "startMs": 0})
        cls.clip_request = (status, clip)
        cls.clip = None
        if status == 202:
            cls.clip = server.wait_event("clipReady", match=lambda e: mine(e) and
                                         e["clipId"] == clip["clipId"], timeout=60)
        cls.errors = [e for e in server.events if e["event"] == "storageError"]

    def test_error_event_names_the_cause(self):
        e = self.error
        self.assertEqual(e["status"], "LG_E_IO", e)
        self.assertEqual(e["streamName"], "1")
        self.assertIn("No space left on device", e["reason"])
        self.assertTrue(e["path"] and e["path"].startswith(self.mount), e)
        log(f"{type(self).__name__}: first storage error {e['reason']!r}")

    def test_errors_are_few_and_only_for_the_full_disk(self):
        self.assertEqual([e for e in self.errors if e["entryId"] != self.entry_id], [])
        # One per failure and output (segments, recording), not one per frame.
        self.assertLessEqual(len(self.errors), 12, self.errors)

    def test_server_stays_up(self):
        self.assertTrue(self.alive_while_full, self.info_while_full)
        self.assertTrue(self.info_while_full["live"])
        self.assertAlive(self.server)

    def test_bystander_unaffected(self):
        self.assertEqual(self.by_status[0], 0, self.by_status[1])
        got = self.assertCleanDvr(self.dvr_url(self.server, self.bystander_id), "bystander")
        self.assertEqual(got, MEDIA["long.md5"])
        files = self.recording_files(self.server, self.bystander_id)
        self.assertEqual(len(files), 1)
        self.assertEqual(video_md5s(files[0]), MEDIA["long.md5"])

    def test_dvr_continues_when_space_returns(self):
        self.assertEqual(self.segment_after["status"], "LG_OK")
        log(f"{type(self).__name__}: a segment {self.resumed_after_s:.1f} s and a recording "
            f"file {self.recording_resumed_after_s:.1f} s after the space returned")
        got = self.assertCleanDvr(self.dvr, "after the disk was full")
        runs = runs_in_cycle(got, MEDIA["loop.md5"])
        self.assertIsNotNone(runs, "a frame that is not the source's")
        # Whole segments went missing while the disk was full, nothing else.
        self.assertIn(runs, (1, 2, 3), f"{runs} runs")
        text = http_text(self.dvr)
        pl = hls_rules.parse_media(text)
        self.assertEqual([s.sequence for s in pl.segments],
                         list(range(pl.media_sequence, pl.media_sequence + len(pl.segments))))
        self.assertGreater(pl.segments[-1].sequence, self.segment_after["sequence"])

    def test_recording_resumes_when_space_returns(self):
        self.assertTrue(self.recording_resumed, "no new recording file after space returned")

    def test_recordings_decode_cleanly(self):
        files = self.recording_files(self.server, self.entry_id)
        self.assertGreaterEqual(len(files), 2)
        for path in files:
            with self.subTest(path=os.path.basename(path)):
                self.assertEqual(os.path.getsize(path) % 188, 0, "a partial TS packet")
                self.assertEqual(hls_probe.decode_errors(path), [])
                self.assertIsNotNone(runs_in_cycle(video_md5s(path), MEDIA["loop.md5"]))

    def test_playlists_end_once_space_returns(self):
        for name in ("dvr.m3u8", "live.m3u8"):
            with self.subTest(playlist=name):
                text = http_text(self.dvr.replace("dvr.m3u8", name))
                self.assertTrue(hls_rules.parse_media(text).endlist)

    def test_vod_on_a_full_disk_fails_with_an_event_then_a_clip_works(self):
        if self.vod["status"] != "LG_OK":
            self.assertEqual(self.vod["status"], "LG_E_IO", self.vod)
            self.assertIn("space", self.vod["reason"])
        self.assertEqual(self.clip_request[0], 202, self.clip_request)
        self.assertEqual(self.clip["status"], "LG_OK", self.clip)
        self.assertEqual(hls_probe.decode_errors(self.clip["path"]), [])


if __name__ == "__main__":
    unittest.main()
