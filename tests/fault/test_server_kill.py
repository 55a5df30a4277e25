"""The server killed with SIGKILL while two entries record, then restarted on
the same data directory.

What a user checks: what the kill left on disk is usable (playlists that
parse, list only segments that exist and decode; recording files that decode
without an error and hold the source's first frames in order); the
restarted server continues each entry's DVR playlist (same media sequence,
the old segments kept, one discontinuity, new segments after it) and a fresh
publish to each entry arrives frame for frame, so that the DVR as a whole is
the frames kept from before the kill followed by the new publish's.
"""

import os
import signal
import time
import unittest

from fault_support import hls_probe, hls_rules  # tests/integration, on the path
from fault_support import (FaultScenario, EXIT_TIMEOUT, is_prefix, make_sources, video_md5s)

MEDIA = {}


def setUpModule():
    make_sources(MEDIA, "lg-fault-kill-", {"a": (12, 440), "b": (12, 550), "short": (4, 660)})


class ServerKillTest(FaultScenario):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        first = cls.first = cls.start_fault_server("first")
        cls.entries = {"a": first.entry, "b": cls.create_entry(first, "second")}
        publishers = [cls.push(e["primary"]["rtmp"]["ffmpeg"], MEDIA[k], f"{k}-before")
                      for k, e in cls.entries.items()]
        for e in cls.entries.values():
            first.wait_event("segment", match=lambda ev, e=e: ev["entryId"] == e["entryId"] and
                             ev["sequence"] == 1, timeout=60)
        time.sleep(1.0)  # inside the third segment
        first.proc.send_signal(signal.SIGKILL)
        cls.kill_status = first.proc.wait(timeout=EXIT_TIMEOUT)
        for p in publishers:
            cls._stop_process(p)

        # What the kill left, before anything touches it again.
        cls.left = {}
        for key, e in cls.entries.items():
            folder = cls.hls_dir(first, e["entryId"])
            with open(os.path.join(folder, "dvr.m3u8")) as f:
                dvr = f.read()
            files = cls.recording_files(first, e["entryId"])
            cls.left[key] = {
                "dvr": dvr, "hls_files": sorted(os.listdir(folder)),
                "recordings": [{"path": p, "size": os.path.getsize(p),
                                "errors": hls_probe.decode_errors(p)} for p in files],
                "recorded_md5": [m for p in files for m in cls._md5s_or_none(p)],
                "segment_md5": [m for s in hls_rules.parse_media(dvr).segments
                                for m in video_md5s(os.path.join(folder, s.uri))],
            }

        second = cls.second = cls.start_fault_server("second")
        cls.same_entry = second.entry["entryId"] == cls.entries["a"]["entryId"]
        publishers = [cls.push(e["primary"]["rtmp"]["ffmpeg"].replace(
            f":{first.listening['rtmp']}/", f":{second.listening['rtmp']}/"), MEDIA["short"],
            f"{k}-after") for k, e in cls.entries.items()]
        cls.publish_status = [cls.finish(p) for p in publishers]
        cls.final = {}
        for key, e in cls.entries.items():
            url = cls.dvr_url(second, e["entryId"])
            old_last = hls_rules.parse_media(cls.left[key]["dvr"]).segments[-1].sequence
            cls.final[key] = (url, cls.wait_ended(url, after=old_last))

    @staticmethod
    def _md5s_or_none(path):
        try:
            return video_md5s(path)
        except AssertionError:
            return []  # a file cut by the kill; test_recordings_survive says which

    def test_killed(self):
        self.assertEqual(self.kill_status, -signal.SIGKILL)

    def test_playlists_left_complete(self):
        for key, left in self.left.items():
            with self.subTest(entry=key):
                self.assertEqual(list(hls_rules.check_media(left["dvr"])), [])
                pl = hls_rules.parse_media(left["dvr"])
                self.assertGreaterEqual(len(pl.segments), 2)
                for s in pl.segments:
                    self.assertIn(s.uri, left["hls_files"])
                # The segments the playlist lists are the source's first frames.
                self.assertTrue(is_prefix(left["segment_md5"], MEDIA[key + ".md5"]))

    def test_recordings_survive(self):
        for key, left in self.left.items():
            with self.subTest(entry=key):
                recs = left["recordings"]
                self.assertGreater(len(recs), 0)
                for i, rec in enumerate(recs):
                    # A kill inside a write() may cut the last file's last TS
                    # packet; everything else must decode cleanly.
                    if i == len(recs) - 1 and rec["size"] % 188:
                        continue
                    self.assertEqual(rec["errors"], [], rec["path"])
                self.assertTrue(is_prefix(left["recorded_md5"], MEDIA[key + ".md5"]))
                self.assertGreaterEqual(len(left["recorded_md5"]), len(left["segment_md5"]))

    def test_restart_continues_each_dvr(self):
        self.assertTrue(self.same_entry)
        for (code, stderr) in self.publish_status:
            self.assertEqual(code, 0, stderr)
        for key, (url, text) in self.final.items():
            with self.subTest(entry=key):
                old = hls_rules.parse_media(self.left[key]["dvr"])
                new = hls_rules.parse_media(text)
                self.assertEqual(list(hls_rules.check_reloads([self.left[key]["dvr"], text])), [])
                self.assertEqual(new.media_sequence, old.media_sequence)
                n = len(old.segments)
                self.assertEqual([s.uri for s in new.segments[:n]], [s.uri for s in old.segments])
                self.assertTrue(new.segments[n].discontinuity)
                got = self.assertCleanDvr(url, key)
                kept = self.left[key]["segment_md5"]
                self.assertEqual(got, kept + MEDIA["short.md5"])


if __name__ == "__main__":
    unittest.main()
