"""Self-test of hls_probe against an HLS stream served over HTTP.

A 6 s source (testsrc2 at 25 fps, 440 Hz sine at 48 kHz; libx264 ultrafast
with a 50-frame GOP, AAC) is cut into 2 s MPEG-TS segments by ffmpeg with
stream copy, so the HLS holds exactly the source's packets. The directory is
served by http.server on 127.0.0.1 and read back through hls_probe: the frame
counts must equal what ffprobe reads of the source file, exactly. Two
tampered copies (a segment deleted, a segment's timestamps shifted back) must
be caught.
"""

import functools
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

import hls_probe as hp

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")
TIMEOUT = 60

SECONDS = 6
FPS = 25
SAMPLE_RATE = 48000
AAC_FRAME = 1024 / SAMPLE_RATE  # seconds per AAC frame

STATE = {}  # tmp dir, server, base URL, source probe; filled by setUpModule


def _ffmpeg(*args):
    subprocess.run([FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                   capture_output=True, timeout=TIMEOUT, check=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep test output clean
        pass


def setUpModule():
    if not (FFMPEG and FFPROBE):
        return
    tmp = tempfile.mkdtemp(prefix="hls_probe_")
    STATE["tmp"] = tmp
    source = os.path.join(tmp, "source.ts")
    # The AAC encoder primes 1024 samples and shifts its timestamps back by
    # that much; moving the audio input forward by one frame makes the first
    # audio packet start with the first video frame.
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={SAMPLE_RATE}",
            "-t", str(SECONDS), "-af", "asetpts=PTS+1024/SR/TB",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "50",
            "-c:a", "aac", "-shortest", source)
    STATE["source"] = hp.probe_hls(source, timeout=TIMEOUT)

    clean = os.path.join(tmp, "clean")
    os.mkdir(clean)
    _ffmpeg("-i", source, "-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
            "-hls_playlist_type", "vod", os.path.join(clean, "index.m3u8"))

    # A segment in the middle deleted; the playlist still lists it.
    gone = os.path.join(tmp, "gone")
    shutil.copytree(clean, gone)
    os.remove(os.path.join(gone, "index1.ts"))

    # The last segment's timestamps moved 2 s back, into the previous segment.
    shifted = os.path.join(tmp, "shifted")
    shutil.copytree(clean, shifted)
    seg = os.path.join(shifted, "index2.ts")
    _ffmpeg("-i", seg, "-c", "copy", "-copyts", "-output_ts_offset", "-2",
            "-muxdelay", "0", "-muxpreload", "0", "-f", "mpegts", seg + ".tmp")
    os.replace(seg + ".tmp", seg)

    handler = functools.partial(_QuietHandler, directory=tmp)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    STATE["server"], STATE["thread"] = server, thread
    STATE["base"] = f"http://127.0.0.1:{server.server_address[1]}"


def tearDownModule():
    if "server" in STATE:
        STATE["server"].shutdown()
        STATE["server"].server_close()
        STATE["thread"].join(timeout=5)
    if "tmp" in STATE:
        shutil.rmtree(STATE["tmp"], ignore_errors=True)


def url(name):
    return f"{STATE['base']}/{name}/index.m3u8"


@unittest.skipUnless(FFMPEG and FFPROBE, "ffmpeg/ffprobe are not installed")
class CleanStreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.probe = hp.probe_hls(url("clean"), timeout=TIMEOUT)
        cls.source = STATE["source"]

    def test_streams(self):
        v, a = self.probe.video, self.probe.audio
        self.assertEqual((v.codec_name, v.width, v.height), ("h264", 320, 240))
        self.assertEqual((a.codec_name, a.sample_rate, a.channels), ("aac", SAMPLE_RATE, 1))

    def test_frame_counts_equal_the_source(self):
        self.assertEqual(hp.video_frame_count(self.probe), SECONDS * FPS)
        self.assertEqual(hp.video_frame_count(self.source), SECONDS * FPS)
        expected_audio = hp.audio_frame_count(self.source)
        # 6 s of 48 kHz is 281.25 AAC frames; the encoder emits whole frames.
        self.assertIn(expected_audio, range(282, 285))
        self.assertEqual(hp.audio_frame_count(self.probe), expected_audio,
                         hp.summary(self.probe))

    def test_timestamps_rise(self):
        self.assertEqual(hp.dts_increasing(self.probe), {}, hp.summary(self.probe))
        for s in self.probe.streams:
            self.assertEqual(hp.gaps(s), [], s.codec_type)
            first, last = hp.first_last(s)
            self.assertLess(first, last)

    def test_av_offsets(self):
        self.assertLess(hp.av_start_offset(self.probe), AAC_FRAME)
        self.assertLess(hp.av_end_offset(self.probe), AAC_FRAME + 1 / FPS)

    def test_durations(self):
        self.assertEqual(hp.durations_match(self.probe, SECONDS), [])
        self.assertAlmostEqual(hp.stream_duration(self.probe.video), SECONDS, places=3)
        self.assertTrue(hp.durations_match(self.probe, SECONDS + 0.5))
        self.assertTrue(hp.duration_matches(6.039, 6.0, 0.04))
        self.assertFalse(hp.duration_matches(6.041, 6.0, 0.04))

    def test_same_packets_as_the_local_files(self):
        local = hp.probe_hls(os.path.join(STATE["tmp"], "clean", "index.m3u8"), timeout=TIMEOUT)
        self.assertEqual(hp.summary(local), hp.summary(self.probe))

    def test_decodes_cleanly(self):
        self.assertEqual(hp.decode_errors(url("clean"), timeout=TIMEOUT), [])


@unittest.skipUnless(FFMPEG and FFPROBE, "ffmpeg/ffprobe are not installed")
class TamperedStreamTest(unittest.TestCase):
    def test_deleted_segment(self):
        probe = hp.probe_hls(url("gone"), timeout=TIMEOUT)
        video_gaps = hp.gaps(probe.video)
        errors = hp.decode_errors(url("gone"), timeout=TIMEOUT)
        self.assertTrue(errors or video_gaps, hp.summary(probe))
        # ffmpeg skips the missing segment with a warning, not an error.
        warnings = hp.decode_errors(url("gone"), timeout=TIMEOUT, level="warning")
        self.assertTrue(any("404" in w for w in warnings), warnings)
        self.assertTrue(any("Failed to open segment 1" in w for w in warnings), warnings)
        self.assertEqual(hp.decode_errors(url("clean"), timeout=TIMEOUT, level="warning"), [])
        self.assertEqual(len(video_gaps), 1, video_gaps)
        self.assertEqual(len(hp.gaps(probe.audio)), 1)
        self.assertAlmostEqual(video_gaps[0][1], 2 + 1 / FPS, places=3)
        self.assertEqual(hp.video_frame_count(probe), (SECONDS - 2) * FPS)
        # The presented span still covers 6 s: only counts and gaps show the hole.
        self.assertEqual(hp.durations_match(probe, SECONDS), [])

    def test_shifted_segment(self):
        probe = hp.probe_hls(url("shifted"), timeout=TIMEOUT)
        bad = hp.dts_increasing(probe)
        self.assertIn(probe.video.index, bad)
        self.assertIn(probe.audio.index, bad)
        # The first offending video packet is the first one of the third segment.
        self.assertEqual(bad[probe.video.index][0], 2 * 2 * FPS)
        self.assertEqual(hp.non_increasing_dts(probe.video), bad[probe.video.index])


class MeasurementTest(unittest.TestCase):
    """The helpers on hand-made packet lists."""

    def stream(self, times, dur=0.04, codec_type="video"):
        return hp.Stream(index=0, codec_type=codec_type,
                         packets=[hp.Packet(t, t, dur, i == 0) for i, t in enumerate(times)])

    def test_non_increasing(self):
        s = self.stream([0.0, 0.04, 0.08, 0.08, 0.04, 0.12])
        self.assertEqual(hp.non_increasing_dts(s), [3, 4])

    def test_gaps(self):
        s = self.stream([0.0, 0.04, 0.08, 0.2, 0.24])
        self.assertEqual([i for i, _ in hp.gaps(s)], [3])
        self.assertEqual(hp.gaps(s, max_frames=4), [])

    def test_offsets(self):
        probe = hp.Probe("x", [self.stream([1.0, 1.04]),
                               hp.Stream(index=1, codec_type="audio",
                                         packets=[hp.Packet(1.01, 1.01, 0.02, True),
                                                  hp.Packet(1.03, 1.03, 0.02, True),
                                                  hp.Packet(1.05, 1.05, 0.02, True)])])
        self.assertAlmostEqual(hp.av_start_offset(probe), 0.01)
        self.assertAlmostEqual(hp.av_end_offset(probe), 0.01)

    def test_parse_json(self):
        text = ('{"packets": [{"stream_index": 0, "pts_time": "1.4", "dts_time": "1.36",'
                ' "duration_time": "0.04", "flags": "K_"}, {"stream_index": 0,'
                ' "pts_time": "N/A", "flags": "__"}], "streams": [{"index": 0,'
                ' "codec_type": "video", "codec_name": "h264", "width": 320, "height": 240}]}')
        probe = hp.parse_ffprobe_json(text)
        self.assertEqual(probe.video.packets, [hp.Packet(1.4, 1.36, 0.04, True),
                                               hp.Packet(None, None, None, False)])
        self.assertEqual((probe.video.width, probe.video.height), (320, 240))
        self.assertIsNone(probe.audio)
        self.assertIsNone(hp.av_start_offset(probe))


if __name__ == "__main__":
    unittest.main()
