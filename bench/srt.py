#!/usr/bin/env python3
"""SRT ingest under load: livegate-server against srt-live-transmit, same run.

N SRT callers (livegate-srt-loadgen, one process, live mode, 120 ms latency,
real-time pace, all from one local UDP port) each send the same 3 Mbit/s
H.264 + AAC MPEG-TS file for a fixed time into:
  - livegate-server, one entry per caller (its SRT stream id), HLS only (DVR
    window, recording and VOD off), 2 s segments and 6-segment live
    playlists: SRT in, TS demuxed, HLS segments and playlists out;
  - srt-live-transmit (Debian's srt-tools), one process per stream, each an
    SRT listener on its own port writing what it receives to a file. Both
    sides receive SRT and write bytes to disk, but the peer does no
    demuxing or packaging: it is a floor, not equal work.

Reported per server: CPU seconds per GB ingested (user + system, the
srt-live-transmit processes summed), peak RSS and RSS per stream (for
livegate-server the growth over the idle server; for srt-live-transmit a
whole process per stream, so peak / N), whether every caller connected and
kept its connection, how far behind real time the worst caller fell, how many
streams reached disk (an entry's live playlist; a file that grew), and for
LiveGate the ingest-to-playlist latency. The load generator's own CPU is
printed so that it can be seen to be small.

usage: bench/srt.py [--build build] [--publishers 20,100] [--seconds 30] [--runs 1] [--smoke]

--smoke: 10 publishers for 10 s, one run (under a minute in all).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from common import make_source, summary
from ingest import (PLAYLIST_SEGMENTS, SEGMENT_S, Livegate, arg_parser, free_port, run_all,
                    summarize)

LATENCY_MS = 120
PEER = "srt-live-transmit"


class LivegateSrt(Livegate):
    protocol_flags = ["--rtmp-port", "0", "--rtmps-port", "off", "--srt-port", "0",
                      "--srt-latency", str(LATENCY_MS)]

    def start(self):
        entries = self.create_entries()
        port = self.launch()["srt"]
        self.targets_file = os.path.join(self.data, "targets.txt")
        with open(self.targets_file, "w") as f:
            for e in entries:
                f.write(f"srt://127.0.0.1:{port} {e['primary']['srt']['streamId']}\n")
        return [self.proc.pid]


def udp_port_taken(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class SrtLiveTransmit:
    name = PEER

    def __init__(self, work, n):
        self.dir = os.path.join(work, "slt")
        self.n = n

    def start(self):
        os.makedirs(self.dir)
        self.procs, self.files, self.ports = [], [], []
        for i in range(self.n):
            # The system may hand out a port it just gave: each must be
            # one listener's alone.
            port = free_port()
            while port in self.ports:
                port = free_port()
            path = os.path.join(self.dir, f"s{i}.ts")
            # Its file target is the console only: stdout goes to the file.
            with open(path, "wb") as out:
                self.procs.append(subprocess.Popen(
                    [PEER, "-q", f"srt://:{port}?mode=listener&latency={LATENCY_MS}",
                     "file://con"], stdout=out, stderr=subprocess.DEVNULL))
            self.files.append(path)
            self.ports.append(port)
        deadline = time.time() + 10
        for proc, port in zip(self.procs, self.ports):
            while not udp_port_taken(port) and proc.poll() is None and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(0.05)  # a failed bind takes the process down
            if proc.poll() is not None or not udp_port_taken(port):
                raise RuntimeError(f"{PEER} did not listen on UDP port {port}")
        self.targets_file = os.path.join(self.dir, "targets.txt")
        with open(self.targets_file, "w") as f:
            for port in self.ports:
                f.write(f"srt://127.0.0.1:{port}\n")
        return [p.pid for p in self.procs]

    def loadgen_args(self):
        return ["--targets", self.targets_file]

    def hls_streams(self):
        """It packages nothing: the streams it wrote to disk."""
        return sum(1 for f in self.files if os.path.getsize(f) > 0)

    def collect(self):
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.latencies = []

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def finish(server, result):
    result["written"] = result["hls_streams"]
    if isinstance(server, SrtLiveTransmit):
        # Every process is there for one stream only: none of it is an idle
        # server's.
        result["idle_rss_kib"] = 0


def main():
    ap = arg_parser()
    ap.add_argument("--smoke", action="store_true", help="10 publishers for 10 s, one run")
    args = ap.parse_args()
    if args.smoke:
        args.publishers, args.seconds, args.runs = "10", 10, 1
    if not shutil.which(PEER):
        sys.exit(f"needs {PEER}: apt-get install srt-tools")
    loadgen = os.path.join(args.build, "bench/livegate-srt-loadgen")
    work = tempfile.mkdtemp(prefix="lg-bench-srt-", dir=args.work_dir)
    try:
        src = os.path.join(work, "src.ts")
        make_source(src, 20)
        rows = run_all(args, (lambda w, n: LivegateSrt(args.build, w, n), SrtLiveTransmit),
                       loadgen, src, work, source_flag="--ts", finish=finish)
        print_table(rows, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_table(rows, args):
    print(f"\nSRT in: livegate-server demuxes and packages HLS ({SEGMENT_S} s segments, "
          f"{PLAYLIST_SEGMENTS}-segment playlists); {PEER} (one process per stream) only "
          f"writes the received bytes to a file, so it is a floor, not equal work. "
          f"{args.seconds} s per run, median of {args.runs} run(s), {LATENCY_MS} ms latency\n")
    print("| publishers | server | connected / kept | worst behind (ms) | streams on disk | "
          "CPU s per GB | peak RSS (MiB) | RSS per stream (KiB) | "
          "playlist latency p50 / max (ms) | loadgen CPU s | CPU/GB vs " + PEER + " |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, results in rows:
        figures = summarize(n, results, PEER, "connected")
        if PEER in figures:
            summary(args, f"SRT, {n} publishers", "CPU s per GB",
                    figures["livegate-server"]["per_gb"], f"{PEER} (receives only)",
                    figures[PEER]["per_gb"], figures["livegate-server"]["ratio"])
        for name, f in figures.items():
            written = min(r["written"] for r in results[name])
            print(f"| {n} | {name} | {f['started']} / {f['kept']} | {f['behind']} | {written} | "
                  f"{f['per_gb']} | {f['peak']} | {f['per_stream']} | {f['latency']} | "
                  f"{f['loadgen_cpu']} | {f['ratio']} |")
        for name, rs in results.items():
            for r in rs:
                if r["failReasons"]:
                    print(f"\n{name}, {n} publishers: callers refused: {r['failReasons']}")


if __name__ == "__main__":
    main()
