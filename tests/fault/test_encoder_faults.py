"""Encoder faults: a publisher killed with SIGKILL, one stalled with SIGSTOP,
and a connection reset (RST) in the middle of a chunk.

Each runs beside a bystander: a real ffmpeg publish of the whole source to
another entry, which must arrive frame for frame. The faulted entry must be
publishable again at once, and its DVR playlist must hold the frames that
arrived before the fault followed by every frame of the fresh publish, decode
without an error and have rising timestamps. The server must stay up, answer
its admin API and stop cleanly (exit 0, no sanitizer report).
"""

import signal
import time
import unittest

from fault_support import (FaultScenario, hls_probe, is_prefix, kill_and_reap, log, make_sources)
from rtmp_raw import RawPublisher, is_video_keyframe, read_flv_tags

MEDIA = {}


def setUpModule():
    make_sources(MEDIA, "lg-fault-enc-", {"long": (10, 440), "short": (4, 660)})


class EncoderFaultScenario(FaultScenario):
    """A server with two entries: the faulted one (the server's first entry)
    and a bystander's. Subclasses set up the fault in `fault()`."""

    EXTRA = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        server = cls.server = cls.start_fault_server("server", *cls.EXTRA)
        cls.entry = server.entry
        cls.entry_id = cls.entry["entryId"]
        cls.other = cls.create_entry(server, "bystander")
        cls.bystander = cls.push(cls.other["primary"]["rtmp"]["ffmpeg"], MEDIA["long"],
                                 "bystander")
        cls.fault()
        cls.bystander_status = cls.finish(cls.bystander)
        for entry_id in (cls.entry_id, cls.other["entryId"]):
            cls.wait_ended(cls.dvr_url(server, entry_id))

    @classmethod
    def fault(cls):
        raise NotImplementedError

    @classmethod
    def republish(cls, stream="1"):
        """The short source published again to the faulted entry at once;
        returns (its publish_start event, exit status and stderr)."""
        url = cls.entry["primary"]["rtmp"]["ffmpeg"].replace("/1?t=", f"/{stream}?t=")
        fresh = cls.push(url, MEDIA["short"], "fresh")
        start = cls.server.wait_event(
            "publish_start", match=lambda e: e["entryId"] == cls.entry_id and
            e["streamName"] == stream)
        return start, cls.finish(fresh)

    def test_bystander_gets_every_frame(self):
        self.assertEqual(self.bystander_status[0], 0, self.bystander_status[1])
        got = self.assertCleanDvr(self.dvr_url(self.server, self.other["entryId"]), "bystander")
        self.assertEqual(got, MEDIA["long.md5"])

    def test_server_alive_and_answering(self):
        self.assertAlive(self.server)
        status, stream = self.api(self.server, "GET", f"/entries/{self.entry_id}/streams/1")
        self.assertEqual(status, 200, stream)
        self.assertFalse(stream["live"])

    def check_faulted_then_fresh(self, stream="1"):
        """The faulted entry's DVR: a prefix of the long source (what arrived
        before the fault), then the whole short source."""
        got = self.assertCleanDvr(self.dvr_url(self.server, self.entry_id, stream), "faulted")
        short = MEDIA["short.md5"]
        self.assertGreater(len(got), len(short), "nothing of the faulted publish was kept")
        self.assertEqual(got[len(got) - len(short):], short, "the fresh publish lost frames")
        before = got[:len(got) - len(short)]
        self.assertTrue(is_prefix(before, MEDIA["long.md5"]),
                        "the frames before the fault are not the source's first frames")
        return len(before)


class EncoderKillTest(EncoderFaultScenario):
    """ffmpeg gets SIGKILL in the middle of a GOP."""

    @classmethod
    def fault(cls):
        victim = cls.push(cls.entry["primary"]["rtmp"]["ffmpeg"], MEDIA["long"], "victim")
        start = cls.server.wait_event("publish_start",
                                      match=lambda e: e["entryId"] == cls.entry_id)
        cls.server.wait_event("segment", match=lambda e: e["entryId"] == cls.entry_id)
        time.sleep(1.0)
        victim.send_signal(signal.SIGKILL)
        cls.kill_status = victim.wait(timeout=10)
        cls.stop = cls.server.wait_event(
            "publish_stop", match=lambda e: e["sessionId"] == start["sessionId"])
        cls.fresh_start, cls.fresh_status = cls.republish()
        cls.killed_session = start["sessionId"]

    def test_the_kill_ends_the_session(self):
        self.assertEqual(self.kill_status, -signal.SIGKILL)
        self.assertNotEqual(self.stop["status"], "LG_OK", self.stop)
        self.assertGreater(self.stop["videoFrames"], 0)

    def test_publishable_again_at_once(self):
        self.assertNotEqual(self.fresh_start["sessionId"], self.killed_session)
        self.assertEqual(self.fresh_status[0], 0, self.fresh_status[1])

    def test_dvr_holds_what_arrived_then_the_fresh_publish(self):
        kept = self.check_faulted_then_fresh()
        self.assertGreaterEqual(kept, self.stop["videoFrames"] - 1, self.stop)
        log(f"{type(self).__name__}: {kept} frames kept from the killed publish "
            f"({self.stop['videoFrames']} received)")

    def test_recording_decodes(self):
        files = self.recording_files(self.server, self.entry_id)
        self.assertGreater(len(files), 0)
        for path in files:
            with self.subTest(path=path):
                self.assertEqual(hls_probe.decode_errors(path), [])


class EncoderStallTest(EncoderFaultScenario):
    """Two ffmpeg publishers of one entry stopped with SIGSTOP (their
    connections stay open and silent): stream "1" is published again at
    once by a fresh encoder, which takes over; stream "2" is left, and the
    server ends it after its idle timeout."""

    IDLE_MS = 3000
    EXTRA = ("--idle-timeout-ms", str(IDLE_MS))

    @classmethod
    def fault(cls):
        base = cls.entry["primary"]["rtmp"]["ffmpeg"]
        victims = {s: cls.push(base.replace("/1?t=", f"/{s}?t="), MEDIA["long"], f"stall{s}")
                   for s in ("1", "2")}
        starts = {}
        for s in ("1", "2"):
            starts[s] = cls.server.wait_event(
                "publish_start", match=lambda e, s=s: e["entryId"] == cls.entry_id and
                e["streamName"] == s)
        for s in ("1", "2"):
            cls.server.wait_event("segment", match=lambda e, s=s: e["entryId"] == cls.entry_id
                                  and e["streamName"] == s)
        time.sleep(1.0)
        for proc in victims.values():
            proc.send_signal(signal.SIGSTOP)
        cls.stopped_at = time.monotonic()
        time.sleep(1.0)  # a real stall before the operator restarts the encoder
        cls.fresh_start, cls.fresh_status = cls.republish("1")
        cls.stops = {s: cls.server.wait_event(
            "publish_stop", match=lambda e, s=s: e["sessionId"] == starts[s]["sessionId"])
            for s in ("1", "2")}
        cls.idle_stop_after = time.monotonic() - cls.stopped_at
        for proc in victims.values():
            kill_and_reap(proc)
        cls.starts = starts

    def test_fresh_encoder_takes_over_the_stalled_one(self):
        self.assertEqual(self.fresh_status[0], 0, self.fresh_status[1])
        self.assertNotEqual(self.fresh_start["sessionId"], self.starts["1"]["sessionId"])
        self.assertNotEqual(self.stops["1"]["status"], "LG_OK", self.stops["1"])

    def test_left_stall_ends_on_the_idle_timeout(self):
        stop = self.stops["2"]
        self.assertEqual(stop["status"], "LG_E_TIMEOUT", stop)
        self.assertIn(f"{self.IDLE_MS} ms", stop["reason"])
        log(f"{type(self).__name__}: stalled session ended {self.idle_stop_after:.1f} s after "
            f"SIGSTOP (idle timeout {self.IDLE_MS} ms)")

    def test_taken_over_stream_dvr(self):
        self.check_faulted_then_fresh("1")

    def test_left_stream_dvr_is_a_clean_prefix(self):
        got = self.assertCleanDvr(self.dvr_url(self.server, self.entry_id, "2"), "stalled")
        self.assertGreater(len(got), 0)
        self.assertTrue(is_prefix(got, MEDIA["long.md5"]))
        self.assertGreaterEqual(len(got), self.stops["2"]["videoFrames"] - 1)


class ConnectionResetTest(EncoderFaultScenario):
    """A raw RTMP publisher sends the source's first two seconds, then the
    header and half the first chunk of the next video message, and resets
    the connection (SO_LINGER 0: RST)."""

    @classmethod
    def fault(cls):
        tags = read_flv_tags(MEDIA["long"])
        raw = RawPublisher(cls.entry["primary"]["rtmp"]["ffmpeg"])
        cls.addClassCleanup(raw.close)
        raw.publish()
        # Up to the third keyframe (two whole GOPs), sent as fast as TCP takes them.
        keyframes = 0
        for i, tag in enumerate(tags):
            if is_video_keyframe(tag):
                keyframes += 1
                if keyframes == 3:
                    break
            raw.send_tag(tag)
        # The session starts (and is announced) once its media is known.
        start = cls.server.wait_event("publish_start",
                                      match=lambda e: e["entryId"] == cls.entry_id)
        raw.send_half_chunk(tags[i])
        time.sleep(0.5)  # the half chunk is read before the reset
        raw.reset()
        cls.stop = cls.server.wait_event(
            "publish_stop", match=lambda e: e["sessionId"] == start["sessionId"])
        cls.reset_session = start["sessionId"]
        cls.fresh_start, cls.fresh_status = cls.republish()

    def test_reset_ends_the_session(self):
        self.assertNotEqual(self.stop["status"], "LG_OK", self.stop)
        # Every whole video message arrived (60 frames and the AVC sequence header).
        self.assertGreaterEqual(self.stop["videoFrames"], 60, self.stop)

    def test_publishable_again_at_once(self):
        self.assertNotEqual(self.fresh_start["sessionId"], self.reset_session)
        self.assertEqual(self.fresh_status[0], 0, self.fresh_status[1])

    def test_dvr_holds_what_arrived_then_the_fresh_publish(self):
        kept = self.check_faulted_then_fresh()
        # Two whole GOPs were sent before the cut message.
        self.assertEqual(kept, 60)


del EncoderFaultScenario

if __name__ == "__main__":
    unittest.main()
