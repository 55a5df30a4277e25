#!/usr/bin/env python3
"""Records what a real RTMP publisher sends, for the codec's test fixtures.

Runs `ffmpeg -listen 1` as the server and a publisher (ffmpeg, or GStreamer's
rtmpsink, which is librtmp) with a recording TCP proxy between them. Of the
publisher's bytes it keeps C0+C1 (PREFIX_c0c1.bin) and the chunk stream
after C2 (PREFIX_chunks.bin). Usage:

    capture.py PREFIX [extra publisher ffmpeg output args...]
    capture.py --librtmp PREFIX

The fixtures in this directory were made with ffmpeg 5.1 and GStreamer 1.22:

    capture.py ffmpeg_publish
    capture.py ffmpeg_publish_extts -output_ts_offset 20000
    capture.py --librtmp librtmp_publish

ffmpeg_publish_extts_c0c1.bin is not kept: ffmpeg seeds C1's random bytes
with a constant, so it equals ffmpeg_publish_c0c1.bin.
"""
import socket
import subprocess
import sys
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pump(src, dst, record):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if record is not None:
                record.extend(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def main():
    args = sys.argv[1:]
    librtmp = args[0] == "--librtmp"
    if librtmp:
        args = args[1:]
    prefix = args[0]
    extra = args[1:]
    server_port = free_port()
    server = subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-listen", "1", "-timeout", "10",
         "-i", f"rtmp://127.0.0.1:{server_port}/app/stream", "-f", "null", "-"],
        stdin=subprocess.DEVNULL)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(10)
    proxy_port = listener.getsockname()[1]
    url = f"rtmp://127.0.0.1:{proxy_port}/app/stream"
    if librtmp:
        command = ["timeout", "10", "gst-launch-1.0", "-q",
                   "videotestsrc", "num-buffers=2", "!",
                   "video/x-raw,width=64,height=64,framerate=5/1", "!",
                   "openh264enc", "bitrate=64000", "!", "h264parse", "!",
                   "flvmux", "streamable=true", "!", "rtmpsink", f"location={url}"]
    else:
        command = ["timeout", "10", "ffmpeg", "-hide_banner", "-loglevel", "error",
         "-f", "lavfi", "-i", "testsrc=size=64x64:rate=5",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000",
         "-t", "0.3", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "40", "-g", "5",
         "-c:a", "aac", "-b:a", "16k", *extra, "-f", "flv", url]
    publisher = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    client, _ = listener.accept()
    upstream = None
    for _ in range(100):
        try:
            upstream = socket.create_connection(("127.0.0.1", server_port))
            break
        except OSError:
            time.sleep(0.05)
    record = bytearray()
    threads = [threading.Thread(target=pump, args=(client, upstream, record)),
               threading.Thread(target=pump, args=(upstream, client, None))]
    for t in threads:
        t.start()
    publisher.wait(timeout=15)
    for t in threads:
        t.join(timeout=5)
    server.wait(timeout=15)
    handshake = 1 + 1536
    with open(f"{prefix}_c0c1.bin", "wb") as f:
        f.write(record[:handshake])
    with open(f"{prefix}_chunks.bin", "wb") as f:
        f.write(record[2 * handshake - 1:])
    print(f"{prefix}: {len(record)} bytes, publisher exit {publisher.returncode}")


if __name__ == "__main__":
    main()
