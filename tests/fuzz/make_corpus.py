#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into corpus/<target>/.

Seeds come from real streams: the RTMP captures of tests/data/rtmp (see
capture.py there) and one second of ffmpeg's testsrc2 and sine encoded with
x264, x265 and aac, cut into what each parser reads. Every seed starts with
the control bytes its target reads first (see each fuzz_<target>.cpp). Kept
small: at most 8 KiB a file. Usage: make_corpus.py  (needs ffmpeg)
"""
import os
import pathlib
import struct
import subprocess
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
RTMP = HERE.parent / "data" / "rtmp"
MAX = 8192


def write(target, name, data):
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(bytes(data[:MAX]))


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def amf_string(s):
    b = s.encode()
    return b"\x02" + struct.pack(">H", len(b)) + b


def amf_number(x):
    return b"\x00" + struct.pack(">d", x)


def amf_props(props):
    out = b""
    for k, v in props:
        kb = k.encode()
        out += struct.pack(">H", len(kb)) + kb + v
    return out + b"\x00\x00\x09"


def amf_object(props):
    return b"\x03" + amf_props(props)


def amf_ecma(props):
    return b"\x08" + struct.pack(">I", len(props)) + amf_props(props)


def amf_bodies():
    connect = (amf_string("connect") + amf_number(1) +
               amf_object([("app", amf_string("kLive/abc.p")), ("type", amf_string("nonprivate")),
                           ("flashVer", amf_string("FMLE/3.0 (compatible; FMSc/1.0)")),
                           ("tcUrl", amf_string("rtmp://127.0.0.1:1935/kLive/abc.p"))]))
    publish = (amf_string("publish") + amf_number(5) + b"\x05" + amf_string("1?t=token") +
               amf_string("live"))
    meta = (amf_string("@setDataFrame") + amf_string("onMetaData") +
            amf_ecma([("width", amf_number(160)), ("height", amf_number(90)),
                      ("videocodecid", amf_number(7)), ("stereo", b"\x01\x01"),
                      ("encoder", amf_string("Lavf59.27.100"))]))
    result = (amf_string("_result") + amf_number(1) + b"\x05" +
              amf_object([("level", amf_string("status")),
                          ("code", amf_string("NetStream.Publish.Start"))]))
    other = (b"\x0a\x00\x00\x00\x02" + amf_number(1) + b"\x06" +
             b"\x0b" + struct.pack(">d", 1.6e12) + b"\x00\x00" +
             b"\x0c\x00\x00\x00\x03abc" + b"\x0f\x00\x00\x00\x03<a/>" +
             b"\x10\x00\x03Foo" + amf_props([("x", amf_number(2))]) + b"\x0d")
    return {"connect": connect, "publish": publish, "metadata": meta, "result": result,
            "other_types": other}


def flv_tags(path):
    data = path.read_bytes()
    pos = data[5:9] and struct.unpack(">I", data[5:9])[0] + 4
    while pos + 11 <= len(data):
        ttype = data[pos] & 0x1f
        size = int.from_bytes(data[pos + 1:pos + 4], "big")
        yield ttype, data[pos + 11:pos + 11 + size]
        pos += 11 + size + 4


def mp4_box(data, name):
    at = data.find(name)
    size = struct.unpack(">I", data[at - 4:at])[0]
    return data[at + 4:at - 4 + size]


def annexb_nals(data):
    out, i = [], 0
    starts = []
    while True:
        i = data.find(b"\x00\x00\x01", i)
        if i < 0:
            break
        starts.append(i + 3)
        i += 3
    for n, s in enumerate(starts):
        e = starts[n + 1] - 3 if n + 1 < len(starts) else len(data)
        out.append(data[s:e].rstrip(b"\x00"))
    return out


def main():
    captures = {p.stem: p.read_bytes() for p in RTMP.glob("*.bin")}
    for name, data in captures.items():
        if name.endswith("_c0c1"):
            write("handshake", name, b"\x00\x07" + data + bytes(1536))
            write("handshake", name + "_client", b"\x03\x07" + data + data[1:])
        else:
            write("chunk", name, b"\xff" + data)
            write("chunk", name + "_split7", b"\x06" + data)
            write("session", name, b"\x00\xff" + data)
            write("session", name + "_accept_later", b"\x01\x20" + data)
            write("session", name + "_reject", b"\x02\x05" + data)
    for name, body in amf_bodies().items():
        write("amf0", name, body)

    with tempfile.TemporaryDirectory() as tmp:
        t = pathlib.Path(tmp)
        src = ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10"]
        tone = ["-f", "lavfi", "-i", "sine=sample_rate=44100"]
        x265 = ["-c:v", "libx265", "-x265-params", "log-level=error", "-preset", "ultrafast"]
        x264 = ["-c:v", "libx264", "-preset", "ultrafast"]
        ffmpeg(*src, *tone, "-t", "1", *x264, "-g", "10", "-c:a", "aac", "-b:a", "32k",
               "-shortest", str(t / "a.flv"))
        ffmpeg(*src, *tone, "-t", "1", *x264, "-g", "10", "-c:a", "aac", "-b:a", "32k",
               "-shortest", str(t / "a.ts"))
        ffmpeg(*src, *tone, "-t", "1", *x265, "-g", "10", "-c:a", "aac", "-b:a", "32k",
               "-shortest", str(t / "h.ts"))
        ffmpeg(*src, "-t", "0.3", *x265, "-tag:v", "hvc1", str(t / "h.mp4"))
        ffmpeg(*src, "-t", "0.3", *x264, str(t / "a.h264"))
        ffmpeg(*src, "-t", "0.3", *x265, str(t / "h.hevc"))
        ffmpeg(*tone, "-t", "0.2", "-c:a", "aac", "-f", "adts", str(t / "a.aac"))
        ffmpeg(*tone, "-t", "0.2", "-c:a", "libmp3lame", str(t / "a.mp3"))
        ffmpeg(*tone, "-t", "0.2", "-c:a", "aac", "-profile:a", "aac_he", str(t / "he.m4a"))

        video = audio = 0
        for ttype, body in flv_tags(t / "a.flv"):
            if ttype == 9 and video < 4:
                write("flv", f"video_{video}", b"\x00" + body)
                if video == 0:
                    write("h264", "avcc", b"\x01" + body[5:])
                video += 1
            elif ttype == 8 and audio < 3:
                write("flv", f"audio_{audio}", b"\x01" + body)
                if audio == 0:
                    write("aac", "asc_lc", b"\x00" + body[2:])
                audio += 1
        # Enhanced RTMP HEVC sequence start and a legacy codec-12 one.
        hvcc = mp4_box((t / "h.mp4").read_bytes(), b"hvcC")
        write("flv", "video_hevc_enhanced", b"\x00" + b"\x90hvc1" + hvcc)
        write("flv", "video_hevc_legacy", b"\x00" + b"\x1c\x00\x00\x00\x00" + hvcc)
        write("hevc", "hvcc", b"\x01" + hvcc)
        mp3 = (t / "a.mp3").read_bytes()
        frame = mp3.find(b"\xff\xfb")
        write("flv", "audio_mp3", b"\x01" + b"\x2f" + mp3[frame:frame + 1000])
        write("aac", "mp3_header", b"\x02" + mp3[frame:frame + 16])
        write("aac", "adts", b"\x01" + (t / "a.aac").read_bytes()[:64])
        m4a = (t / "he.m4a").read_bytes()
        esds = mp4_box(m4a, b"esds")
        asc_at = esds.find(b"\x05\x80\x80\x80")
        if asc_at >= 0:
            write("aac", "asc_he", b"\x00" + esds[asc_at + 5:asc_at + 5 + esds[asc_at + 4]])

        h264 = (t / "a.h264").read_bytes()
        for nal in annexb_nals(h264):
            if nal[0] & 0x1f == 7:
                write("h264", "sps", b"\x00" + nal)
                break
        write("h264", "annexb_build", b"\x02" + h264[:3000])
        write("h264", "annexb_reframe", b"\x03" + h264[:3000])
        hevc = (t / "h.hevc").read_bytes()
        for nal in annexb_nals(hevc):
            if (nal[0] >> 1) & 0x3f == 33:
                write("hevc", "sps", b"\x00" + nal)
                break
        write("hevc", "annexb_build", b"\x02" + hevc[:3000])

        for name in ("a", "h"):
            ts = (t / f"{name}.ts").read_bytes()
            write("ts_demux", f"{name}_whole_packets", b"\x80\x00" + ts[:188 * 43])
            write("ts_demux", f"{name}_split", b"\x0d\x03" + ts[:188 * 43])

    srt = ["#!::r=abc123.p/1,m=publish,livegate_token=tok_0123",
           "#!::m=publish,r=abc123.b/main,t=stream,h=example.com,u=me,livegate_token=x",
           "#!::r=abc123.p/1,m=request", "#!::r=abc123.p/1,t=file,m=publish"]
    for i, s in enumerate(srt):
        write("srt_stream_id", f"stream_id_{i}", s.encode())

    urls = [
        b"\x00rtmp://abc123.p.publish.example.com:1935/kLive\nkLive\n1?t=tok",
        b"\x00rtmp://127.0.0.1:1935/kLive/abc123.b/?t=tok\nkLive/abc123.b/?t=tok\n1",
        b"\x00rtmp://[::1]/kLive/abc123.p\nkLive/abc123.p\nmain%3Ft%3Dtok",
        b"\x01rtmps://abc123.p.publish.example.com:443/kLive/1?t=tok\n",
        b"\x01srt://127.0.0.1:9000?streamid=%23%21%3A%3Ar%3Dabc.p%2F1%2Cm%3Dpublish\n",
        b"\x01rtmp://[2001:db8::1]:1935/kLive/abc123.p/?t=tok\n1",
        b"\x02publish.example.com\nkLive\nabc123\ntok_1\n1",
        b"\x26127.0.0.1\n\nabc123\n\nmain",
        b"\x4a::1\nlive\nabc123\ntok\n2",
    ]
    for i, u in enumerate(urls):
        write("url", f"url_{i}", u)

    bodies = [b'{"name": "studio A"}', b'{"disconnect": true}', b'{"passphrase": null}',
              b'{"dvr": true, "recording": false}',
              b'{"stream": "1", "broadcast": "b1", "startMs": -5000, "endMs": 12345678901}',
              b'{"role": "backup", "streamName": "main"}', b' \n',
              b'{"name": "\\u00e9\\ud83d\\ude00\\n", "x": [1.5e3, {"y": null}]}']
    for i, b in enumerate(bodies):
        write("admin_body", f"body_{i}", (b"\x01" if i == 6 else b"\x00") + b)


if __name__ == "__main__":
    main()
