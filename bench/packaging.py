#!/usr/bin/env python3
"""CPU cost and latency of packaging one 3 Mbps stream into HLS.

Runs, in one invocation and on the same input:
  - livegate-server receiving an RTMP publish with packaging off (ingest only),
  - livegate-server with HLS + DVR + recording on (the default),
  - the peer: the ffmpeg CLI remuxing the same FLV file to HLS
    (`ffmpeg -i src.flv -c copy -f hls -hls_time 2`), which does the same
    container work but reads a local file instead of a socket.

The publisher pushes the file as fast as it can (no -re), so the figures are
CPU seconds per minute of media, not real-time load; `% core` is that cost as
a share of one core when the stream runs in real time. Server CPU is read
from /proc/<pid>/stat (user + system) just before and after the publish.
Ingest-to-playlist latency is the server's own measure (segment events,
`latencyUs`: from the arrival of the frame that closed a segment to its
playlists being in place).

usage: bench/packaging.py [--build build] [--seconds 120] [--runs 3]
"""
import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from common import cpu_seconds, make_source



def server_run(binary, src, extra):
    """One publish into a fresh server; returns (cpu s, latencies us)."""
    data = tempfile.mkdtemp(prefix="lg-bench-")
    try:
        entry = json.loads(subprocess.run(
            [binary, "entry", "create", "--data-dir", data, "--json"],
            check=True, capture_output=True, text=True).stdout)
        srv = subprocess.Popen(
            [binary, "--data-dir", data, "--rtmp-port", "0", "--rtmps-port", "off",
             "--srt-port", "off", "--http-port", "off", "--log-level", "warn"] + extra,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = None
        while port is None:
            line = srv.stdout.readline()
            if not line:
                raise RuntimeError("server exited")
            ev = json.loads(line)
            if ev.get("event") == "listening":
                port = ev["rtmp"]
        url = f"rtmp://127.0.0.1:{port}/kLive/{entry['entryId']}.p/1?t={entry['token']}"
        before = cpu_seconds(srv.pid)
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
                        "-i", src, "-c", "copy", "-f", "flv", url], check=True)
        latencies = []
        deadline = time.time() + 30
        # The stop closes the last segment: wait for the event that follows.
        while time.time() < deadline:
            line = srv.stdout.readline()
            if not line:
                break
            ev = json.loads(line)
            if ev.get("event") == "segment":
                latencies.append(ev["latencyUs"])
            if ev.get("event") == "publish_stop" and "--no-hls" in extra:
                break
            if ev.get("event") == "recordingRotated":  # follows the last segment
                break
        cpu = cpu_seconds(srv.pid) - before
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=30)
        return cpu, latencies
    finally:
        shutil.rmtree(data, ignore_errors=True)


def ffmpeg_hls(src):
    out = tempfile.mkdtemp(prefix="lg-bench-ff-")
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", src,
                        "-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
                        os.path.join(out, "p.m3u8")], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    binary = os.path.join(args.build, "examples/server/livegate-server")
    work = tempfile.mkdtemp(prefix="lg-bench-src-")
    try:
        src = os.path.join(work, "src.flv")
        make_source(src, args.seconds)
        mbit = os.path.getsize(src) * 8 / args.seconds / 1e6
        ingest, full, peer, lat = [], [], [], []
        for _ in range(args.runs):
            ingest.append(server_run(binary, src, ["--no-hls"])[0])
            cpu, l = server_run(binary, src, ["--no-vod-on-stop"])
            full.append(cpu)
            lat += l
            peer.append(ffmpeg_hls(src))
        med = statistics.median
        minutes = args.seconds / 60
        pack = max(med(full) - med(ingest), 0.0)
        rows = [
            ("livegate ingest only", med(ingest)),
            ("livegate ingest + HLS + DVR + recording", med(full)),
            ("livegate packaging alone (difference)", pack),
            ("ffmpeg -c copy -f hls (peer, from a file)", med(peer)),
        ]
        print(f"\n{args.seconds} s of {mbit:.2f} Mbit/s H.264 + AAC, median of {args.runs} runs\n")
        print("| what | CPU s per media minute | % of one core in real time | vs ffmpeg |")
        print("|---|---:|---:|---:|")
        for name, cpu in rows:
            per_min = cpu / minutes
            ratio = cpu / med(peer) if med(peer) > 0 else float("nan")
            print(f"| {name} | {per_min:.3f} | {100 * cpu / args.seconds:.2f} | {ratio:.2f}x |")
        if lat:
            lat.sort()
            print(f"\ningest-to-playlist latency over {len(lat)} segments: "
                  f"median {med(lat) / 1000:.2f} ms, p95 {lat[int(len(lat) * 0.95) - 1] / 1000:.2f} ms, "
                  f"max {lat[-1] / 1000:.2f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
