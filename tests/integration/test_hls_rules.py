"""Self-test of hls_rules: valid playlists pass, every rule catches its case.

Valid input includes real live playlists written by the ffmpeg CLI (MPEG-TS
and fragmented MP4 segments), reloaded while ffmpeg runs in real time. Every
rule key in hls_rules.RULES and hls_rules.WARNINGS has at least one
hand-made violating playlist below; a test fails if one is left without.
"""

import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import hls_rules as hr

FFMPEG = shutil.which("ffmpeg")
LIVE_SECONDS = 13  # 2 s segments, window of 5: the window slides at least once
POLL_INTERVAL = 0.2


def media(*body, version=3, target=2, header=()):
    """A media playlist: #EXTM3U, version, target, extra header lines, body."""
    lines = ["#EXTM3U"]
    if version is not None:
        lines.append(f"#EXT-X-VERSION:{version}")
    if target is not None:
        lines.append(f"#EXT-X-TARGETDURATION:{target}")
    lines.extend(header)
    lines.extend(body)
    return "\n".join(lines) + "\n"


def segs(first, count, duration="2.000", disc=()):
    """EXTINF/URI pairs for media sequence numbers first..first+count-1."""
    out = []
    for n in range(first, first + count):
        if n in disc:
            out.append("#EXT-X-DISCONTINUITY")
        out += [f"#EXTINF:{duration},", f"seg{n}.ts"]
    return out


def window(first, count, dseq=0, disc=(), endlist=False, target=2, extra=()):
    """A live sliding-window media playlist starting at sequence `first`."""
    header = [f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    if dseq:
        header.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{dseq}")
    body = segs(first, count, disc=disc) + list(extra)
    if endlist:
        body.append("#EXT-X-ENDLIST")
    return media(*body, target=target, header=header)


MASTER_OK = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English, main",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/en.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Deutsch",LANGUAGE="de",DEFAULT=NO,AUTOSELECT=YES,URI="audio/de.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=2200000,AVERAGE-BANDWIDTH=2000000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=29.970,AUDIO="aud"
video/720p.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="hvc1.1.6.L93.B0,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=25,AUDIO="aud"
video/360p.m3u8
"""


def master(*lines):
    return "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n" + "\n".join(lines) + "\n"


AUDIO_GROUP = ('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",DEFAULT=YES,'
               'AUTOSELECT=YES,URI="a.m3u8"')
VARIANT = 'CODECS="avc1.42e01e,mp4a.40.2",RESOLUTION=320x240'

# Rule key -> playlists (media or master) that break only that rule.
SINGLE_CASES = {
    "extm3u": [media(*segs(0, 2)).replace("#EXTM3U\n", ""),
               "#EXT-X-VERSION:3\n" + media(*segs(0, 1), version=None)],
    "attribute-list": [media(*segs(0, 1), '#EXT-X-KEY:METHOD=NONE,,', *segs(1, 1)),
                       media('#EXT-X-KEY:METHOD=AES-128,URI="k,ey', *segs(0, 1)),
                       media('#EXT-X-KEY:METHOD=NONE,METHOD=NONE', *segs(0, 1))],
    "attribute-value": [media('#EXT-X-KEY:METHOD=AES-128,URI=key.bin', *segs(0, 1)),
                        media('#EXT-X-KEY:METHOD=ROT13,URI="k"', *segs(0, 1)),
                        media('#EXT-X-KEY:METHOD=AES-128,URI="k",IV=12G4', *segs(0, 1)),
                        master(f'#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT},RESOLUTION=320',
                               "v.m3u8").replace(",RESOLUTION=320x240", ""),
                        master(f'#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT},FRAME-RATE=fast',
                               "v.m3u8")],
    "attribute-missing": [media('#EXT-X-KEY:URI="key.bin"', *segs(0, 1)),
                          master('#EXT-X-MEDIA:TYPE=AUDIO,NAME="en"',
                                 f'#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT}', "v.m3u8")],
    "version-duplicate": [media("#EXT-X-VERSION:3", *segs(0, 1)),
                          media(*segs(0, 1, duration="2"), version="three")],
    "mixed-playlist": [media(*segs(0, 1), "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"a\""),
                       master(f"#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT}", "v.m3u8",
                              "#EXT-X-ENDLIST")],
    "version-missing": [media(*segs(0, 2, duration="2"), version=None)],
    "version-too-low": [media(*segs(0, 2), version=2),
                        media('#EXT-X-MAP:URI="init.mp4"', *segs(0, 1), version=5),
                        media("#EXT-X-BYTERANGE:1000@0", *segs(0, 1), version=3),
                        media('#EXT-X-KEY:METHOD=AES-128,URI="k",IV=0x1234',
                              *segs(0, 1, duration="2"), version=1),
                        master('#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="cc",'
                               'INSTREAM-ID="SERVICE3"',
                               f'#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT},'
                               'CLOSED-CAPTIONS="cc"', "v.m3u8")],
    "targetduration": [media(*segs(0, 1), target=None),
                       media(*segs(0, 1), target="2.5"),
                       media(*segs(0, 1), header=["#EXT-X-TARGETDURATION:2"])],
    "extinf-format": [media("#EXTINF:abc,", "seg0.ts"),
                      media("#EXTINF:2.0", "seg0.ts"),
                      media("#EXTINF:-1,", "seg0.ts")],
    "extinf-over-target": [media(*segs(0, 1, duration="2.6")),
                           media(*segs(0, 1, duration="2.5"))],
    "extinf-without-uri": [media("#EXTINF:2.0,", *segs(0, 1)),
                           media(*segs(0, 1), "#EXTINF:2.0,")],
    "uri-without-extinf": [media(*segs(0, 1), "stray.ts")],
    "media-sequence": [media(*segs(0, 1), "#EXT-X-MEDIA-SEQUENCE:1", *segs(1, 1)),
                       media(*segs(0, 1), header=["#EXT-X-MEDIA-SEQUENCE:x"]),
                       media(*segs(0, 1), header=["#EXT-X-MEDIA-SEQUENCE:0"] * 2)],
    "discontinuity-sequence": [
        media(*segs(0, 1), "#EXT-X-DISCONTINUITY-SEQUENCE:1", *segs(1, 1)),
        media("#EXT-X-DISCONTINUITY", "#EXT-X-DISCONTINUITY-SEQUENCE:1", *segs(0, 1)),
        media(*segs(0, 1), header=["#EXT-X-DISCONTINUITY-SEQUENCE:-1"])],
    "program-date-time": [media("#EXT-X-PROGRAM-DATE-TIME:2024-05-01T10:00:00.000",
                                *segs(0, 1)),
                          media("#EXT-X-PROGRAM-DATE-TIME:yesterday", *segs(0, 1))],
    "program-date-time-order": [media("#EXT-X-PROGRAM-DATE-TIME:2024-05-01T10:00:02Z",
                                      *segs(0, 1),
                                      "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:00:01+02:00",
                                      *segs(1, 1))],
    "endlist": [media(*segs(0, 1), "#EXT-X-ENDLIST", *segs(1, 1)),
                media(*segs(0, 1), "#EXT-X-ENDLIST", "#EXT-X-ENDLIST")],
    "duplicate-uri": [media(*segs(0, 2), *segs(0, 1))],
    "playlist-type": [media(*segs(0, 1), header=["#EXT-X-PLAYLIST-TYPE:LIVE"]),
                      media(*segs(0, 1), header=["#EXT-X-PLAYLIST-TYPE:VOD"] * 2)],
    "map-uri": [media('#EXT-X-MAP:BYTERANGE="1000@0"', *segs(0, 1), version=6)],
    "stream-inf-bandwidth": [master(f"#EXT-X-STREAM-INF:{VARIANT}", "v.m3u8"),
                             master(f"#EXT-X-STREAM-INF:BANDWIDTH=0,{VARIANT}", "v.m3u8"),
                             master(f"#EXT-X-STREAM-INF:BANDWIDTH=1.5e6,{VARIANT}", "v.m3u8")],
    "stream-inf-uri": [master(f"#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT}",
                              f"#EXT-X-STREAM-INF:BANDWIDTH=2000,{VARIANT}", "v.m3u8"),
                       master(f"#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT}", "v.m3u8",
                              f"#EXT-X-STREAM-INF:BANDWIDTH=2000,{VARIANT}"),
                       master(f"#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT}", "v.m3u8",
                              "stray.m3u8")],
    "codecs-missing": [master("#EXT-X-STREAM-INF:BANDWIDTH=1000,RESOLUTION=320x240", "v.m3u8")],
    "codec-malformed": [
        master('#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS="avc1.64001,mp4a.40.2",'
               'RESOLUTION=320x240', "v.m3u8"),
        master('#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS="avc1.64001G",RESOLUTION=320x240',
               "v.m3u8"),
        master('#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS="avc1.42e01e,mp4a.40",'
               'RESOLUTION=320x240', "v.m3u8"),
        master('#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS="hvc1.main,mp4a.40.2",'
               'RESOLUTION=320x240', "v.m3u8"),
        master('#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS="h264",RESOLUTION=320x240',
               "v.m3u8")],
    "resolution-missing": [master('#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS="avc1.42e01e"',
                                  "v.m3u8")],
    "group-undefined": [master(f'#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT},AUDIO="aud"',
                               "v.m3u8"),
                        master(AUDIO_GROUP.replace("TYPE=AUDIO", "TYPE=SUBTITLES"),
                               f'#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT},AUDIO="aud"',
                               "v.m3u8")],
    "media-default": [master(AUDIO_GROUP, AUDIO_GROUP.replace('NAME="en"', 'NAME="de"'),
                             f'#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT},AUDIO="aud"',
                             "v.m3u8")],
    "media-name": [master(AUDIO_GROUP, AUDIO_GROUP.replace("DEFAULT=YES", "DEFAULT=NO"),
                          f'#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT},AUDIO="aud"',
                          "v.m3u8")],
    "media-autoselect": [master(AUDIO_GROUP.replace("AUTOSELECT=YES", "AUTOSELECT=NO"),
                                f'#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT},AUDIO="aud"',
                                "v.m3u8")],
    "media-closed-captions": [
        master('#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="cc",'
               'INSTREAM-ID="CC1",URI="cc.m3u8"',
               f'#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT},CLOSED-CAPTIONS="cc"', "v.m3u8"),
        master('#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="cc"',
               f'#EXT-X-STREAM-INF:BANDWIDTH=1000,{VARIANT},CLOSED-CAPTIONS="cc"', "v.m3u8")],
}

# Rule key -> sequences of reloads of one media playlist that break only that rule.
RELOAD_CASES = {
    "reload-media-sequence": [[window(3, 4), window(2, 5)]],
    "reload-target-duration": [[window(0, 4), window(0, 4, target=4)]],
    "reload-segment-changed": [
        [window(0, 4), window(0, 4).replace("seg2.ts", "seg2b.ts")],
        [window(0, 4), window(1, 4).replace("#EXTINF:2.000,\nseg3.ts", "#EXTINF:1.500,\nseg3.ts")],
        [window(0, 4), window(0, 4, disc=(2,))],
        [media('#EXT-X-MAP:URI="a.mp4"', *segs(0, 3), version=6),
         media('#EXT-X-MAP:URI="b.mp4"', *segs(0, 3), version=6)],
        [media("#EXT-X-PROGRAM-DATE-TIME:2024-05-01T10:00:00Z", *segs(0, 2)),
         media("#EXT-X-PROGRAM-DATE-TIME:2024-05-01T10:00:01Z", *segs(0, 3))]],
    "reload-segment-vanished": [[window(0, 4), window(0, 3)],
                                [window(0, 4), window(2, 1)]],
    "reload-discontinuity-sequence": [
        # seg1 carried a discontinuity and left the top, but the count stayed at 0.
        [window(0, 4, disc=(1,)), window(2, 4, disc=())],
        # nothing with a discontinuity left, but the count grew.
        [window(0, 4), window(1, 4, dseq=1)],
        # the count went backwards.
        [window(0, 4, dseq=3), window(1, 4, dseq=2)]],
    "reload-after-endlist": [[window(0, 3, endlist=True), window(1, 3, endlist=True)],
                             [window(0, 3, endlist=True), window(0, 4)]],
    "reload-playlist-type": [
        [media(*segs(0, 3), header=["#EXT-X-PLAYLIST-TYPE:EVENT"]),
         media(*segs(1, 3), header=["#EXT-X-PLAYLIST-TYPE:EVENT", "#EXT-X-MEDIA-SEQUENCE:1"])],
        [media(*segs(0, 3), header=["#EXT-X-PLAYLIST-TYPE:EVENT"]), media(*segs(0, 4))],
        [media(*segs(0, 3), header=["#EXT-X-PLAYLIST-TYPE:VOD"]),
         media(*segs(0, 4), header=["#EXT-X-PLAYLIST-TYPE:VOD"])]],
}


def rules(violations):
    return {hr.rule_of(v) for v in violations}


def _run_live(args, directory, playlist):
    """Run ffmpeg in real time and collect every distinct playlist text.

    Returns (reloads, ffmpeg return code, ffmpeg stderr).
    """
    proc = subprocess.Popen(args, cwd=directory, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    reloads = []
    path = os.path.join(directory, playlist)
    deadline = time.monotonic() + LIVE_SECONDS + 30

    def take():
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return
        if text.endswith("\n") and (not reloads or reloads[-1] != text):
            reloads.append(text)

    try:
        while proc.poll() is None and time.monotonic() < deadline:
            take()
            time.sleep(POLL_INTERVAL)
        take()
        take()  # a reload after the end must not differ
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return reloads, proc.returncode, err


LIVE = {}  # "ts" / "fmp4" -> (reloads, rc, stderr); filled by setUpModule


def setUpModule():
    if not FFMPEG:
        return
    LIVE["_tmp"] = tempfile.mkdtemp(prefix="hls_rules_")
    common = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
              "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25",
              "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
              "-t", str(LIVE_SECONDS), "-c:v", "libx264", "-preset", "ultrafast",
              "-g", "50", "-c:a", "aac", "-f", "hls", "-hls_time", "2", "-hls_list_size", "5"]
    jobs = {"ts": common + ["index.m3u8"],
            "fmp4": common + ["-hls_segment_type", "fmp4", "index.m3u8"]}
    threads = []
    for name, args in jobs.items():
        d = os.path.join(LIVE["_tmp"], name)
        os.mkdir(d)

        def work(name=name, args=args, d=d):
            LIVE[name] = _run_live(args, d, "index.m3u8")
        t = threading.Thread(target=work)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


def tearDownModule():
    if "_tmp" in LIVE:
        shutil.rmtree(LIVE["_tmp"], ignore_errors=True)


class AttributeListTest(unittest.TestCase):
    def test_types(self):
        attrs = hr.parse_attribute_list(
            'BANDWIDTH=1280000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=1280x720,'
            'FRAME-RATE=29.970,IV=0x0123456789ABCDEF,TIME-OFFSET=-1.5,DEFAULT=YES,NAME=""')
        self.assertEqual(attrs, {"BANDWIDTH": "1280000", "CODECS": "avc1.4d401f,mp4a.40.2",
                                 "RESOLUTION": "1280x720", "FRAME-RATE": "29.970",
                                 "IV": "0x0123456789ABCDEF", "TIME-OFFSET": "-1.5",
                                 "DEFAULT": "YES", "NAME": ""})

    def test_malformed(self):
        for bad in ['A=1,', 'a=1', 'A="x', 'A=1,A=2', 'A=x y', 'A=', '=1', 'A="x"B=1']:
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                hr.parse_attribute_list(bad)

    def test_program_date_time(self):
        for good in ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123+02:00",
                     "2024-05-01T10:00:00.1234567-0530", "2024-05-01T10:00:00+01"]:
            self.assertIsNotNone(hr.parse_program_date_time(good), good)
        for bad in ["2024-05-01T10:00:00", "2024-05-01 10:00:00Z", "2024-13-01T10:00:00Z"]:
            self.assertIsNone(hr.parse_program_date_time(bad), bad)

    def test_codecs(self):
        for good in ["avc1.64001F", "avc3.42e01e", "hvc1.1.6.L93.B0", "hev1.2.4.H120.90",
                     "mp4a.40.2", "mp4a.40.5", "av01.0.04M.08", "av01.0.04M.10.0.112.09.16.09.0",
                     "vp09.00.10.08", "ac-3", "ec-3", "Opus", "wvtt"]:
            self.assertTrue(hr.codec_is_well_formed(good), good)
        for bad in ["avc1.64001", "avc1.64001G", "avc1", "mp4a.40", "mp4a.40.two",
                    "hvc1", "hvc1.1.6", "av01.0.04.08", "h264", ""]:
            self.assertFalse(hr.codec_is_well_formed(bad), bad)


class ValidPlaylistTest(unittest.TestCase):
    def test_hand_written_media(self):
        text = media(
            '#EXT-X-MAP:URI="init.mp4"',
            "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T10:00:00.000Z", *segs(7, 2, duration="1.960"),
            "#EXT-X-DISCONTINUITY", '#EXT-X-MAP:URI="init2.mp4"',
            "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T10:00:04.000+00:00",
            '#EXT-X-KEY:METHOD=AES-128,URI="https://k.example/key?a=1,b=2",IV=0x00ff',
            "#EXT-X-BYTERANGE:1000@0", "#EXTINF:2.4,title, with comma", "seg9.mp4",
            "#EXT-X-BYTERANGE:1000", "#EXTINF:2,", "seg9.mp4",
            "# a comment", "", "#EXT-X-UNKNOWN-TAG:whatever", "#EXT-X-ENDLIST",
            version=6, header=["#EXT-X-MEDIA-SEQUENCE:7", "#EXT-X-DISCONTINUITY-SEQUENCE:3",
                               "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS"])
        self.assertEqual(hr.check_media(text), [])
        pl = hr.parse_media(text)
        self.assertEqual((pl.version, pl.target_duration, pl.media_sequence,
                          pl.discontinuity_sequence, pl.playlist_type, pl.endlist),
                         (6, 2, 7, 3, "VOD", True))
        self.assertEqual([s.sequence for s in pl.segments], [7, 8, 9, 10])
        self.assertEqual([s.discontinuity for s in pl.segments], [False, False, True, False])
        self.assertEqual([s.map_uri for s in pl.segments],
                         ["init.mp4", "init.mp4", "init2.mp4", "init2.mp4"])
        self.assertEqual(pl.segments[2].program_date_time.isoformat(),
                         "2024-05-01T10:00:04+00:00")
        self.assertEqual(pl.segments[2].title, "title, with comma")
        self.assertAlmostEqual(pl.total_duration, 1.96 * 2 + 2.4 + 2)

    def test_hand_written_master(self):
        self.assertEqual(hr.check_master(MASTER_OK), [])
        self.assertEqual(hr.check_playlist(MASTER_OK), [])
        self.assertEqual(hr.master_notes(MASTER_OK), [])
        pl = hr.parse_master(MASTER_OK)
        self.assertEqual(len(pl.variants), 2)
        v = pl.variants[0]
        self.assertEqual((v.bandwidth, v.average_bandwidth, v.codecs, v.resolution,
                          v.frame_rate, v.audio, v.uri),
                         (2200000, 2000000, ["avc1.64001f", "mp4a.40.2"], (1280, 720),
                          29.97, "aud", "video/720p.m3u8"))
        self.assertIsNone(pl.variants[1].average_bandwidth)
        self.assertEqual([(m.type, m.group_id, m.name, m.language, m.default, m.autoselect,
                           m.uri) for m in pl.media],
                         [("AUDIO", "aud", "English, main", "en", True, True, "audio/en.m3u8"),
                          ("AUDIO", "aud", "Deutsch", "de", False, True, "audio/de.m3u8")])

    def test_parsers_refuse_the_other_kind(self):
        with self.assertRaises(ValueError):
            hr.parse_media(MASTER_OK)
        with self.assertRaises(ValueError):
            hr.parse_master(window(0, 3))
        with self.assertRaises(ValueError):
            hr.parse_media("not a playlist")

    def test_sliding_window_with_discontinuities(self):
        reloads = [window(0, 4, disc=(1, 3)), window(0, 4, disc=(1, 3)),
                   window(1, 4, disc=(1, 3)),            # seg0 left: no discontinuity
                   window(2, 4, dseq=1, disc=(3, 5)),    # seg1 (discontinuity) left
                   window(5, 4, dseq=2, disc=(5,)),      # seg4 left unseen, seg3 counted
                   window(5, 4, dseq=2, disc=(5,), endlist=True),
                   window(5, 4, dseq=2, disc=(5,), endlist=True)]
        self.assertEqual(hr.check_reloads(reloads), [])
        self.assertEqual(hr.live_window_warnings(reloads), [])

    def test_event_playlist_appends(self):
        reloads = [media(*segs(0, n), header=["#EXT-X-PLAYLIST-TYPE:EVENT"]) for n in (1, 2, 3)]
        reloads.append(media(*segs(0, 3), "#EXT-X-ENDLIST",
                             header=["#EXT-X-PLAYLIST-TYPE:EVENT"]))
        self.assertEqual(hr.check_reloads(reloads), [])

    def test_start_of_live_stream_is_not_short(self):
        # Fewer than three target durations before that much ever existed is fine.
        self.assertEqual(hr.live_window_warnings([window(0, 1), window(0, 2), window(0, 3)]), [])


@unittest.skipUnless(FFMPEG, "ffmpeg is not installed")
class FfmpegLiveTest(unittest.TestCase):
    """Real live playlists from ffmpeg's HLS muxer, reloaded while it runs."""

    def check_live(self, name, segment_ext):
        reloads, rc, err = LIVE[name]
        self.assertEqual(rc, 0, err)
        self.assertGreater(len(reloads), 5, "too few distinct reloads")
        hr.assert_valid(hr.check_reloads(reloads))
        self.assertEqual(hr.live_window_warnings(reloads), [])
        first, last = hr.parse_media(reloads[0]), hr.parse_media(reloads[-1])
        self.assertFalse(first.endlist)
        self.assertTrue(last.endlist)
        self.assertGreater(last.media_sequence, 0, "the live window never slid")
        self.assertTrue(all(s.uri.endswith(segment_ext) for s in last.segments))
        return reloads

    def test_mpegts(self):
        self.check_live("ts", ".ts")

    def test_fmp4(self):
        reloads = self.check_live("fmp4", ".m4s")
        pl = hr.parse_media(reloads[-1])
        self.assertGreaterEqual(pl.version, 6)
        self.assertTrue(all(s.map_uri for s in pl.segments))


class ViolationTest(unittest.TestCase):
    """Each rule reports its hand-made case, and only that rule."""

    def test_single_playlist_rules(self):
        for rule, cases in SINGLE_CASES.items():
            for i, text in enumerate(cases):
                with self.subTest(rule=rule, case=i):
                    found = hr.check_playlist(text)
                    if rule == "mixed-playlist" and not hr.is_master(text):
                        found = hr.check_media(text)
                    self.assertEqual(rules(found), {rule}, "\n".join(found) or text)

    def test_mixed_media_into_master_checker(self):
        found = hr.check_master(media(*segs(0, 1)))
        self.assertIn("mixed-playlist", rules(found))

    def test_reload_rules(self):
        for rule, cases in RELOAD_CASES.items():
            for i, reloads in enumerate(cases):
                with self.subTest(rule=rule, case=i):
                    for text in reloads:  # each reload is valid on its own
                        self.assertEqual(hr.check_media(text), [], text)
                    found = hr.check_reloads(reloads)
                    self.assertEqual(rules(found), {rule}, "\n".join(found))

    def test_extinf_2_6_over_target_2(self):
        found = hr.check_media(media(*segs(0, 1, duration="2.6")))
        self.assertEqual(len(found), 1)
        self.assertIn("2.6", found[0])
        self.assertIn("RFC 8216 4.3.3.1", found[0])

    def test_each_reload_is_checked(self):
        reloads = [window(0, 3), window(0, 3, extra=["stray.ts"])]
        found = hr.check_reloads(reloads)
        self.assertEqual(len(found), 1, found)
        self.assertTrue(found[0].startswith("reload 1: uri-without-extinf:"), found)
        self.assertEqual(hr.check_reloads(reloads, each=False), [])

    def test_live_window_short(self):
        # Three target durations existed (6 s), then segments left without new ones.
        reloads = [window(0, 3), window(1, 2)]
        self.assertEqual(hr.check_reloads(reloads), [])
        self.assertEqual(rules(hr.live_window_warnings(reloads)), {"live-window-short"})
        # Removing from a window that never held three target durations.
        self.assertEqual(rules(hr.live_window_warnings([window(0, 2), window(1, 2)])),
                         {"live-window-short"})
        # After EXT-X-ENDLIST the rule no longer applies.
        self.assertEqual(hr.live_window_warnings([window(0, 3), window(1, 2, endlist=True)]),
                         [])

    def test_independent_segments_note(self):
        text = MASTER_OK.replace("#EXT-X-INDEPENDENT-SEGMENTS\n", "")
        self.assertEqual(hr.check_master(text), [])
        self.assertEqual(rules(hr.master_notes(text)), {"independent-segments-missing"})

    def test_every_rule_has_a_case(self):
        covered = set(SINGLE_CASES) | set(RELOAD_CASES) | {"live-window-short",
                                                           "independent-segments-missing"}
        self.assertEqual(set(hr.RULES) | set(hr.WARNINGS), covered)


if __name__ == "__main__":
    unittest.main()
