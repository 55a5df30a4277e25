"""End-to-end HLS tests: real livegate-server processes, real ffmpeg publishes,
playlists and segments read back over the server's own HTTP port.

* LivePublishOverHttpTest: a 20 s RTMP publish in real time; the live and DVR
  playlists are reloaded over HTTP every half second while it runs and every
  reload is checked against RFC 8216 (hls_rules); once the playlists are
  ended, the DVR playlist is read with ffprobe (hls_probe) and compared frame
  by frame with the source. The segment events' latencyUs (ingest to
  playlist) is printed.
* MultiFlavorMasterTest: three stream names published to one entry at once,
  two with video ("hi", "lo") and one audio only ("fr"); the master playlists
  and every playlist they point to.
* KillAndRestartTest: the server is killed with SIGKILL in the middle of a
  publish; what is on disk must be usable (complete playlists, recordings
  that decode); a new server on the same data directory continues the DVR
  playlist and a second publish appends to it after one discontinuity.

Each scenario runs once per class (setUpClass) and its test methods assert on
what was gathered. Python standard library only; needs ffmpeg and ffprobe,
and LG_SERVER_BIN naming the livegate-server binary. Every process started
is killed and reaped, and every temporary folder removed, even on failure.
"""

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import hls_probe
import hls_rules
from test_server_cli import EXIT_TIMEOUT, SERVER_BIN, TIME_SCALE, ServerProcess

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")

HTTP_TIMEOUT = 10 * TIME_SCALE
POLL_INTERVAL = 0.5  # seconds between playlist reloads, as a player would
PLAYLIST_END_MS = 1000  # --playlist-end-ms: EXT-X-ENDLIST soon after a publish
END_TIMEOUT = 30 * TIME_SCALE  # a publish's playlists getting EXT-X-ENDLIST
PUBLISH_TIMEOUT = 60 * TIME_SCALE  # one real-time ffmpeg publish of a short source
FPS = 30
SAMPLE_RATE = 48000
AAC_FRAME = 1024 / SAMPLE_RATE  # seconds of one AAC frame
SEGMENT_S = 2.0  # the library's default segment target

# Made once by setUpModule: the sources, and what ffprobe reads from them.
MEDIA = {}


def _encode(path, seconds, size=None, frequency=440, bframes=0):
    """An FLV source: testsrc2 H.264 (a keyframe every 2 s exactly) and a
    sine in AAC at 48 kHz; audio only when size is None."""
    args = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    if size:
        args += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={FPS}"]
    args += ["-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate={SAMPLE_RATE}",
             "-t", str(seconds)]
    if size:
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-keyint_min", "60",
                 "-sc_threshold", "0", "-bf", str(bframes)]
    args += ["-c:a", "aac", "-shortest", "-f", "flv", path]
    subprocess.run(args, capture_output=True, timeout=PUBLISH_TIMEOUT, check=True)
    return path


def setUpModule():
    if not SERVER_BIN or not os.access(SERVER_BIN, os.X_OK):
        raise RuntimeError("set LG_SERVER_BIN to the livegate-server binary")
    if not FFMPEG or not FFPROBE:
        return  # every class skips itself
    d = MEDIA["dir"] = tempfile.mkdtemp(prefix="lg-hls-e2e-")
    # Runs even when making a source fails (tearDownModule would not).
    unittest.addModuleCleanup(shutil.rmtree, d, ignore_errors=True)
    # With B-frames: the packager must keep decode order and composition
    # offsets; ffmpeg's FLV then starts video dts at 0, before any audio.
    MEDIA["live"] = _encode(os.path.join(d, "live.flv"), 20, "320x240", bframes=2)
    MEDIA["hi"] = _encode(os.path.join(d, "hi.flv"), 6, "640x360", 440)
    MEDIA["lo"] = _encode(os.path.join(d, "lo.flv"), 6, "320x180", 550)
    MEDIA["fr"] = _encode(os.path.join(d, "fr.flv"), 6, None, 880)
    MEDIA["long"] = _encode(os.path.join(d, "long.flv"), 20, "320x240", 440)
    MEDIA["short"] = _encode(os.path.join(d, "short.flv"), 5, "320x240", 660)
    for name in ("live", "hi", "lo", "fr", "long", "short"):
        MEDIA[name + ".probe"] = hls_probe.probe_hls(MEDIA[name])


def http_get(url):
    """(status, body) of a GET; never raises for an HTTP error status."""
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read()


def http_text(url):
    """The body of a 200 answer as text, or None for any other status."""
    status, body = http_get(url)
    return body.decode("utf-8") if status == 200 else None


def signed_av_offset(probe):
    """first video pts - first audio pts (seconds)."""
    return hls_probe.first_pts(probe.video) - hls_probe.first_pts(probe.audio)


def pts_in(stream, start, end):
    """Packets of a stream whose pts is in [start, end)."""
    return sum(1 for p in stream.packets if p.pts is not None and start <= p.pts < end)


def file_duration(path):
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
        capture_output=True, text=True, timeout=HTTP_TIMEOUT * 3, check=True).stdout
    return float(out.strip())


class Scenario(unittest.TestCase):
    """Class-level fixtures: temporary folders, servers and publishers that
    are always stopped (SIGKILL as a last resort) when the class ends."""

    @classmethod
    def setUpClass(cls):
        if not FFMPEG or not FFPROBE:
            raise unittest.SkipTest("needs the ffmpeg and ffprobe programs")
        tmp = tempfile.TemporaryDirectory(prefix="lg-hls-e2e-")
        cls.addClassCleanup(tmp.cleanup)
        cls.tmp = tmp.name
        cls.data_dir = os.path.join(cls.tmp, "data")
        cls.started = time.monotonic()
        cls.addClassCleanup(cls._report_time)

    @classmethod
    def _report_time(cls):
        print(f"\n{cls.__name__}: {time.monotonic() - cls.started:.1f} s", file=sys.stderr,
              flush=True)

    @classmethod
    def start_server(cls, name):
        """A server on ephemeral ports that has printed its ports and entry."""
        server = ServerProcess(
            ["--data-dir", cls.data_dir, "--rtmp-port", "0", "--rtmps-port", "off",
             "--srt-port", "off", "--http-port", "0", "--public-host", "127.0.0.1",
             "--playlist-end-ms", str(PLAYLIST_END_MS)],
            os.path.join(cls.tmp, f"{name}.log"))
        cls.addClassCleanup(cls._stop_server, server)
        server.listening = server.wait_event("listening")
        server.entry = server.wait_event("entry")
        server.http = f"http://127.0.0.1:{server.listening['http']}"
        return server

    @staticmethod
    def _stop_server(server):
        """SIGTERM, and a server still running is killed; one that was still
        running must then have exited 0 without a sanitizer report (in the
        ASan+UBSan build)."""
        code = None
        if server.proc.poll() is None:
            server.proc.send_signal(signal.SIGTERM)
            try:
                code = server.proc.wait(timeout=EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                code = "no exit within the timeout"
        server.close()  # SIGKILL if still running; reaps it
        if code is None:
            return  # ended before (the SIGKILL test)
        stderr = server.stderr_text()
        if code != 0 or "Sanitizer" in stderr or "runtime error" in stderr:
            raise AssertionError(f"the server did not stop cleanly ({code}):\n{stderr}")

    @classmethod
    def publish(cls, server, source, stream="1"):
        """Starts a real-time publish of `source` to `stream` of the server's
        entry; returns the running ffmpeg process."""
        url = server.entry["primary"]["rtmp"]["ffmpeg"].replace("/1?t=", f"/{stream}?t=")
        log = open(os.path.join(cls.tmp, f"ffmpeg-{stream}-{time.monotonic_ns()}.log"), "wb")
        proc = subprocess.Popen(
            [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-i", source,
             "-c", "copy", "-f", "flv", url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        proc.log_path = log.name
        cls.addClassCleanup(cls._stop_process, proc, log)
        return proc

    @staticmethod
    def _stop_process(proc, log=None):
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=EXIT_TIMEOUT)
        if log:
            log.close()

    @staticmethod
    def publish_error(proc):
        with open(proc.log_path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    @staticmethod
    def wait_ended(url, after=None, timeout=END_TIMEOUT):
        """Reloads a media playlist until it has EXT-X-ENDLIST (and, with
        `after`, a segment numbered above it); returns its text."""
        deadline = time.monotonic() + timeout
        text = None
        while time.monotonic() < deadline:
            text = http_text(url)
            if text:
                pl = hls_rules.parse_media(text)
                if pl.endlist and (after is None or
                                   (pl.segments and pl.segments[-1].sequence > after)):
                    return text
            time.sleep(POLL_INTERVAL)
        raise AssertionError(f"{url} has no EXT-X-ENDLIST within {timeout} s; last:\n{text}")

    def assertNoViolations(self, violations, what=""):
        self.assertEqual(list(violations), [], f"RFC 8216 violations {what}")


class LivePublishOverHttpTest(Scenario):
    """A 20 s publish, reloaded live over HTTP and then read back whole."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        server = cls.server = cls.start_server("server")
        entry_id = server.entry["entryId"]
        cls.base = f"{server.http}/live/{entry_id}"
        urls = {"live": f"{cls.base}/1/live.m3u8", "dvr": f"{cls.base}/1/dvr.m3u8",
                "master": f"{cls.base}/master.m3u8"}
        cls.reloads = {name: [] for name in urls}
        publisher = cls.publish(server, MEDIA["live"])
        deadline = time.monotonic() + PUBLISH_TIMEOUT
        ended = False
        while time.monotonic() < deadline:
            began = time.monotonic()
            for name, url in urls.items():
                text = http_text(url)
                if text is not None:  # 404 until the first segment
                    cls.reloads[name].append(text)
            if publisher.poll() is not None:
                finals = [cls.reloads[n][-1] if cls.reloads[n] else "" for n in ("live", "dvr")]
                if all("#EXT-X-ENDLIST" in t for t in finals):
                    ended = True
                    break
            time.sleep(max(0.0, POLL_INTERVAL - (time.monotonic() - began)))
        cls.publish_status = publisher.wait(timeout=EXIT_TIMEOUT)
        cls.publish_stderr = cls.publish_error(publisher)
        if not ended:
            raise AssertionError("the playlists did not end; server stderr:\n"
                                 + server.stderr_text())
        cls.stop = server.wait_event("publish_stop")
        cls.segments = [e for e in server.events
                        if e["event"] == "segment" and e["streamName"] == "1"]
        cls.dvr_url = urls["dvr"]
        cls.probe = hls_probe.probe_hls(cls.dvr_url)
        cls.source = MEDIA["live.probe"]

    def test_publish_went_through(self):
        self.assertEqual(self.publish_status, 0, self.publish_stderr)
        self.assertEqual(self.stop["status"], "LG_OK")
        self.assertEqual(self.stop["videoFrames"], hls_probe.video_frame_count(self.source))
        self.assertEqual(self.stop["audioFrames"], hls_probe.audio_frame_count(self.source))

    def test_live_reloads_follow_rfc8216(self):
        reloads = self.reloads["live"]
        # 20 s at two reloads a second, less the time before the first segment.
        self.assertGreaterEqual(len(reloads), 25)
        self.assertNoViolations(hls_rules.check_reloads(reloads), "across live.m3u8 reloads")
        self.assertNoViolations(hls_rules.live_window_warnings(reloads), "(live window)")
        parsed = [hls_rules.parse_media(t) for t in reloads]
        self.assertEqual({p.target_duration for p in parsed}, {2})
        sequences = [p.media_sequence for p in parsed]
        self.assertEqual(sequences, sorted(sequences), "media sequence went back")
        self.assertGreater(sequences[-1], 0, "the live window never slid")
        self.assertTrue(parsed[-1].endlist)

    def test_dvr_reloads_follow_rfc8216(self):
        reloads = self.reloads["dvr"]
        self.assertGreaterEqual(len(reloads), 25)
        self.assertNoViolations(hls_rules.check_reloads(reloads), "across dvr.m3u8 reloads")
        parsed = [hls_rules.parse_media(t) for t in reloads]
        self.assertEqual({p.target_duration for p in parsed}, {2})
        self.assertEqual({p.media_sequence for p in parsed}, {0}, "the DVR window lost segments")
        final = parsed[-1]
        self.assertTrue(final.endlist)
        self.assertEqual([s.sequence for s in final.segments], list(range(len(final.segments))))
        self.assertEqual(sorted(e["sequence"] for e in self.segments),
                         [s.sequence for s in final.segments])
        # The playlist spans the source within one video frame (the EXTINFs
        # add up the media timeline, first dts to last frame end).
        src_start = min(p.dts for s in self.source.streams for p in s.packets)
        src_end = max(hls_probe.end_time(s) for s in self.source.streams)
        self.assertAlmostEqual(final.total_duration, src_end - src_start, delta=1 / FPS)

    def test_master_playlist(self):
        masters = self.reloads["master"]
        self.assertGreater(len(masters), 0)
        for i, text in enumerate(masters):
            self.assertNoViolations(hls_rules.check_master(text), f"in master reload {i}")
        master = hls_rules.parse_master(masters[-1])
        self.assertEqual([v.uri for v in master.variants], ["1/live.m3u8"])
        variant = master.variants[0]
        self.assertEqual(variant.resolution, (320, 240))
        self.assertEqual(len(variant.codecs), 2, variant.codecs)
        self.assertTrue(variant.codecs[0].startswith("avc1."), variant.codecs)
        self.assertEqual(variant.codecs[1], "mp4a.40.2")
        self.assertGreater(variant.bandwidth, 0)
        self.assertLessEqual(variant.average_bandwidth, variant.bandwidth)

    def test_master_frame_rate_is_the_source_rate(self):
        # RFC 8216 4.3.4.2: FRAME-RATE is the variant's maximum frame rate.
        # The source is exactly 30 fps, though FLV's millisecond timestamps
        # step by 33 or 34 ms.
        variant = hls_rules.parse_master(self.reloads["master"][-1]).variants[0]
        self.assertAlmostEqual(variant.frame_rate, FPS, delta=0.05)

    def test_every_frame_arrives(self):
        src_video = hls_probe.video_frame_count(self.source)
        src_audio = hls_probe.audio_frame_count(self.source)
        self.assertEqual(hls_probe.video_frame_count(self.probe), src_video,
                         hls_probe.summary(self.probe))
        # Segments start on a keyframe, so an AAC frame that precedes the
        # first video keyframe (ffmpeg's AAC priming puts one there when the
        # video has no B-frame delay) has nowhere to go: at most that one.
        lost = src_audio - hls_probe.audio_frame_count(self.probe)
        self.assertIn(lost, (0, 1), hls_probe.summary(self.probe))

    def test_timestamps(self):
        self.assertEqual(hls_probe.dts_increasing(self.probe), {}, hls_probe.summary(self.probe))
        for stream in (self.probe.video, self.probe.audio):
            self.assertEqual(hls_probe.gaps(stream, 1.5), [], stream.codec_type)
        lost = hls_probe.audio_frame_count(self.source) - hls_probe.audio_frame_count(self.probe)
        video_s = hls_probe.stream_duration(self.source.video)
        audio_s = hls_probe.stream_duration(self.source.audio) - lost * AAC_FRAME
        self.assertEqual(hls_probe.durations_match(self.probe, video_s, ("video",)), [])
        self.assertEqual(hls_probe.durations_match(self.probe, audio_s, ("audio",)), [])
        # The same A/V start offset as the source (whose AAC starts one
        # frame early from encoder priming), within one audio frame.
        self.assertAlmostEqual(signed_av_offset(self.probe), signed_av_offset(self.source),
                               delta=AAC_FRAME + 1e-6)

    def test_decodes_cleanly(self):
        self.assertEqual(hls_probe.decode_errors(self.dvr_url), [])

    def test_segment_events_and_latency(self):
        self.assertEqual([e["sequence"] for e in self.segments], list(range(len(self.segments))))
        self.assertGreaterEqual(len(self.segments), 9)
        for event in self.segments:
            self.assertEqual(event["status"], "LG_OK", event)
            self.assertGreater(event["bytes"], 0, event)
            self.assertGreater(event["durationMs"], 0, event)
            self.assertGreaterEqual(event["latencyUs"], 0, event)
        latencies = [e["latencyUs"] for e in self.segments]
        print(f"\ningest-to-playlist latency over {len(latencies)} segments: "
              f"median {statistics.median(latencies):.0f} us, max {max(latencies)} us",
              file=sys.stderr, flush=True)
        # Writing a 2 s segment and two small playlists is far below a second.
        self.assertLess(max(latencies), 1_000_000)


class MultiFlavorMasterTest(Scenario):
    """hi (640x360), lo (320x180) and fr (audio only) on one entry at once."""

    STREAMS = ("hi", "lo", "fr")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        server = cls.server = cls.start_server("server")
        cls.base = f"{server.http}/live/{server.entry['entryId']}"
        publishers = {s: cls.publish(server, MEDIA[s], s) for s in cls.STREAMS}
        cls.publish_status = {}
        cls.publish_stderr = {}
        for stream, proc in publishers.items():
            cls.publish_status[stream] = proc.wait(timeout=PUBLISH_TIMEOUT)
            cls.publish_stderr[stream] = cls.publish_error(proc)
        for stream in cls.STREAMS:
            cls.wait_ended(f"{cls.base}/{stream}/dvr.m3u8")
            cls.wait_ended(f"{cls.base}/{stream}/live.m3u8")
        cls.master_url = f"{cls.base}/master.m3u8"
        cls.master_dvr_url = f"{cls.base}/master-dvr.m3u8"
        cls.master_text = http_text(cls.master_url)
        cls.master_dvr_text = http_text(cls.master_dvr_url)

    def test_publishes_went_through(self):
        self.assertEqual(self.publish_status, {s: 0 for s in self.STREAMS}, self.publish_stderr)

    def check_master(self, text, playlist):
        self.assertIsNotNone(text)
        self.assertNoViolations(hls_rules.check_master(text))
        master = hls_rules.parse_master(text)
        variants = {v.uri: v for v in master.variants}
        self.assertEqual(set(variants), {f"hi/{playlist}", f"lo/{playlist}"})
        hi, lo = variants[f"hi/{playlist}"], variants[f"lo/{playlist}"]
        self.assertEqual(hi.resolution, (640, 360))
        self.assertEqual(lo.resolution, (320, 180))
        for variant in (hi, lo):
            self.assertEqual(len(variant.codecs), 2, variant.codecs)
            self.assertRegex(variant.codecs[0], r"^avc1\.[0-9A-Fa-f]{6}$")
            self.assertEqual(variant.codecs[1], "mp4a.40.2")
            self.assertGreater(variant.bandwidth, 0)
            self.assertEqual(variant.audio, "audio")
        self.assertGreater(hi.bandwidth, lo.bandwidth)
        group = master.group("AUDIO", "audio")
        by_name = {r.name: r for r in group}
        self.assertEqual(set(by_name), {"main", "fr"})
        self.assertEqual(by_name["fr"].uri, f"fr/{playlist}")
        # "main" stands for the audio muxed into the variants: no URI.
        self.assertIsNone(by_name["main"].uri)
        self.assertEqual(len(master.media), 2)
        return master

    def test_master(self):
        self.check_master(self.master_text, "live.m3u8")

    def test_master_dvr(self):
        self.check_master(self.master_dvr_text, "dvr.m3u8")

    def check_playable(self, master_url, text):
        master = hls_rules.parse_master(text)
        uris = {v.uri.split("/")[0]: v.uri for v in master.variants}
        uris.update({r.name: r.uri for r in master.media if r.uri})
        self.assertEqual(set(uris), set(self.STREAMS))
        for stream, uri in uris.items():
            with self.subTest(stream=stream, uri=uri):
                url = urllib.parse.urljoin(master_url, uri)
                playlist = http_text(url)
                self.assertIsNotNone(playlist, url)
                self.assertNoViolations(hls_rules.check_media(playlist), url)
                self.assertTrue(hls_rules.parse_media(playlist).endlist)
                probe = hls_probe.probe_hls(url)
                source = MEDIA[stream + ".probe"]
                self.assertEqual(hls_probe.video_frame_count(probe),
                                 hls_probe.video_frame_count(source))
                # At most the one AAC frame ahead of the first keyframe is
                # lost (see LivePublishOverHttpTest); audio alone loses none.
                lost = hls_probe.audio_frame_count(source) - hls_probe.audio_frame_count(probe)
                self.assertIn(lost, (0, 1) if source.video else (0,))
                if probe.video:
                    self.assertEqual((probe.video.width, probe.video.height),
                                     (source.video.width, source.video.height))
                self.assertEqual(hls_probe.dts_increasing(probe), {})
                self.assertEqual(hls_probe.decode_errors(url), [])

    def test_live_uris_play(self):
        self.check_playable(self.master_url, self.master_text)

    def test_dvr_uris_play(self):
        self.check_playable(self.master_dvr_url, self.master_dvr_text)


class KillAndRestartTest(Scenario):
    """SIGKILL in the middle of a publish, then a restart on the same data."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        first = cls.first = cls.start_server("first")
        entry_id = first.entry["entryId"]
        media = first.listening["mediaDir"]
        cls.hls_dir = os.path.join(media, entry_id, "hls", "1")
        cls.recordings_dir = os.path.join(media, entry_id, "recordings", "1")

        # Killed a second after the third segment: well inside the fourth.
        publisher = cls.publish(first, MEDIA["long"])
        first.wait_event("segment", match=lambda e: e["sequence"] == 2)
        time.sleep(1.0)
        first.proc.send_signal(signal.SIGKILL)
        cls.kill_status = first.proc.wait(timeout=EXIT_TIMEOUT)
        cls._stop_process(publisher)
        first.close()
        cls.announced = [e for e in first.events if e["event"] == "segment"]

        # What the kill left on disk, before anything touches it again.
        cls.hls_files = sorted(os.listdir(cls.hls_dir))
        with open(os.path.join(cls.hls_dir, "dvr.m3u8")) as f:
            cls.dvr_after_kill = f.read()
        with open(os.path.join(cls.hls_dir, "live.m3u8")) as f:
            cls.live_after_kill = f.read()
        broadcasts = sorted(d for d in os.listdir(cls.recordings_dir)
                            if os.path.isdir(os.path.join(cls.recordings_dir, d)))
        cls.broadcasts_after_kill = broadcasts
        cls.recording_files = []
        for broadcast in broadcasts:
            folder = os.path.join(cls.recordings_dir, broadcast)
            names = sorted((n for n in os.listdir(folder) if n.endswith(".ts")),
                           key=lambda n: int(n.split(".")[0]))
            for name in names:
                path = os.path.join(folder, name)
                cls.recording_files.append({
                    "path": path, "size": os.path.getsize(path),
                    "errors": hls_probe.decode_errors(path), "duration": file_duration(path)})

        # A new server on the same data directory, and a second publish.
        second = cls.second = cls.start_server("second")
        cls.same_entry = second.entry["entryId"] == entry_id
        old = hls_rules.parse_media(cls.dvr_after_kill)
        cls.old_last = old.segments[-1].sequence
        publisher = cls.publish(second, MEDIA["short"])
        cls.publish_status = publisher.wait(timeout=PUBLISH_TIMEOUT)
        cls.publish_stderr = cls.publish_error(publisher)
        second.wait_event("publish_stop")
        cls.dvr_url = f"{second.http}/live/{entry_id}/1/dvr.m3u8"
        cls.dvr_final = cls.wait_ended(cls.dvr_url, after=cls.old_last)
        cls.probe = hls_probe.probe_hls(cls.dvr_url)

    def test_killed_with_sigkill(self):
        self.assertEqual(self.kill_status, -signal.SIGKILL)
        self.assertGreaterEqual(len(self.announced), 3)

    def test_playlists_left_complete(self):
        # Playlists are renamed into place: what a reader finds under the
        # real name is a whole playlist, never a partly written one.
        for name, text in (("dvr.m3u8", self.dvr_after_kill),
                           ("live.m3u8", self.live_after_kill)):
            with self.subTest(playlist=name):
                self.assertNoViolations(hls_rules.check_media(text), name)
                pl = hls_rules.parse_media(text)
                self.assertFalse(pl.endlist)
                for segment in pl.segments:
                    self.assertIn(segment.uri, self.hls_files)
        dvr = hls_rules.parse_media(self.dvr_after_kill)
        listed = [s.sequence for s in dvr.segments]
        # Every announced segment is listed; at most one more may be, if the
        # kill fell between the playlist rename and the event.
        self.assertEqual(listed[:len(self.announced)], [e["sequence"] for e in self.announced])
        self.assertLessEqual(len(listed), len(self.announced) + 1)
        for event, segment in zip(self.announced, dvr.segments):
            self.assertAlmostEqual(segment.duration, event["durationMs"] / 1000, delta=0.0015)
        # Leftover temporary files are never served: only .m3u8, .ts, .m4s
        # and .mp4 are (see test_http_api); list them for the record.
        leftovers = [n for n in self.hls_files
                     if not n.endswith((".m3u8", ".ts", ".m4s", ".mp4")) and n != "state"]
        if leftovers:
            print(f"\nleft in the HLS folder by the kill: {leftovers}", file=sys.stderr)

    def test_recording_survives(self):
        self.assertEqual(len(self.broadcasts_after_kill), 1)
        self.assertGreater(len(self.recording_files), 0)
        # Recording files are appended whole segments at a time, so every
        # file decodes without an error. The one allowance is for the last
        # file when its size is not a whole number of 188-byte TS packets:
        # then the kill landed inside a write(), which the kernel may leave
        # short, and its final packet is cut.
        for i, rec in enumerate(self.recording_files):
            with self.subTest(path=rec["path"]):
                last = i == len(self.recording_files) - 1
                if last and rec["size"] % 188:
                    continue
                self.assertEqual(rec["errors"], [])
        recorded = sum(r["duration"] for r in self.recording_files)
        announced = sum(e["durationMs"] for e in self.announced) / 1000
        self.assertGreaterEqual(recorded, announced - SEGMENT_S - 1 / FPS)

    def test_restart_continues_the_dvr_playlist(self):
        self.assertTrue(self.same_entry)
        self.assertEqual(self.publish_status, 0, self.publish_stderr)
        self.assertNoViolations(hls_rules.check_media(self.dvr_final), "in the final dvr.m3u8")
        # As a player that loaded the playlist before the kill would see it.
        self.assertNoViolations(hls_rules.check_reloads([self.dvr_after_kill, self.dvr_final]),
                                "from before the kill to the end")
        old = hls_rules.parse_media(self.dvr_after_kill)
        new = hls_rules.parse_media(self.dvr_final)
        self.assertTrue(new.endlist)
        self.assertEqual(new.media_sequence, old.media_sequence)
        n = len(old.segments)
        self.assertEqual([(s.sequence, s.uri, s.duration, s.discontinuity)
                          for s in new.segments[:n]],
                         [(s.sequence, s.uri, s.duration, s.discontinuity)
                          for s in old.segments])
        added = new.segments[n:]
        self.assertGreaterEqual(len(added), 2)
        self.assertEqual([s.sequence for s in added],
                         list(range(self.old_last + 1, self.old_last + 1 + len(added))))
        self.assertTrue(added[0].discontinuity, "no EXT-X-DISCONTINUITY at the restart")
        self.assertEqual(sum(s.discontinuity for s in new.segments),
                         sum(s.discontinuity for s in old.segments) + 1)
        restarted = [e for e in self.second.events if e["event"] == "segment"]
        self.assertEqual([e["sequence"] for e in restarted], [s.sequence for s in added])

    def test_whole_dvr_plays(self):
        self.assertEqual(hls_probe.decode_errors(self.dvr_url), [])
        old = hls_rules.parse_media(self.dvr_after_kill)
        long, short = MEDIA["long.probe"], MEDIA["short.probe"]
        # The first publish is in the DVR up to the end of its last complete
        # segment; the frames of the segment the kill cut off are gone.
        start = hls_probe.first_pts(long.video)
        cut = start + old.total_duration - 0.0005
        want_video = pts_in(long.video, start, cut) + hls_probe.video_frame_count(short)
        want_audio = pts_in(long.audio, start, cut) + hls_probe.audio_frame_count(short)
        self.assertEqual(hls_probe.video_frame_count(self.probe), want_video,
                         hls_probe.summary(self.probe))
        # Of the second publish, at most the AAC frame before its first
        # keyframe is lost (see LivePublishOverHttpTest).
        self.assertIn(want_audio - hls_probe.audio_frame_count(self.probe), (0, 1),
                      hls_probe.summary(self.probe))


if __name__ == "__main__":
    unittest.main()
