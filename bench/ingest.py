#!/usr/bin/env python3
"""Passthrough + HLS under load: livegate-server against nginx-rtmp, same run.

N publishers (livegate-loadgen, one process, real-time pace) each push the
same 3 Mbit/s H.264 + AAC file for a fixed time into:
  - livegate-server, one entry per publisher, HLS only (DVR window, recording
    and VOD off), 2 s segments and 6-segment live playlists;
  - nginx with ngx_rtmp_module (Debian's libnginx-mod-rtmp), `live on;
    hls on;` with the same fragment and playlist length, one worker process,
    from a configuration this script writes.

Reported per server: CPU seconds per GB ingested (user + system of the server
process, nginx's master and worker together), peak RSS and RSS per stream
(the growth over the idle server), whether every publish was accepted and
kept, how far behind real time the worst publisher fell, and for LiveGate the
ingest-to-playlist latency (segment events: the frame that closes a segment
to its playlist in place). The load generator's own CPU is printed so that it
can be seen to be small.

usage: bench/ingest.py [--build build] [--publishers 20,100] [--seconds 30] [--runs 1]
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from common import cpu_seconds, make_source

SEGMENT_S = 2
PLAYLIST_SEGMENTS = 6


def rss_kib(pids, field="VmRSS"):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
    return total


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Livegate:
    name = "livegate-server"
    # Which listeners this run opens ("0": an ephemeral port).
    protocol_flags = ["--rtmp-port", "0", "--rtmps-port", "off", "--srt-port", "off"]

    def __init__(self, build, work, n):
        self.binary = os.path.join(build, "examples/server/livegate-server")
        self.data = os.path.join(work, "lg")
        self.n = n

    def create_entries(self):
        """One HLS-only entry per publisher; their `entry create` JSON."""
        os.makedirs(self.data)
        entries = []
        for _ in range(self.n):
            e = json.loads(subprocess.run(
                [self.binary, "entry", "create", "--data-dir", self.data, "--json"],
                check=True, capture_output=True, text=True).stdout)
            subprocess.run([self.binary, "entry", "set-outputs", e["entryId"], "--data-dir",
                            self.data, "--dvr", "off", "--recording", "off"],
                           check=True, capture_output=True)
            entries.append(e)
        return entries

    def launch(self):
        """Starts the server; returns its "listening" event."""
        self.proc = subprocess.Popen(
            [self.binary, "--data-dir", self.data] + self.protocol_flags +
            ["--http-port", "off", "--log-level", "warn",
             "--no-vod-on-stop", "--segment-target-ms", str(SEGMENT_S * 1000),
             "--live-segments", str(PLAYLIST_SEGMENTS),
             "--max-connections", str(self.n + 64), "--max-connections-per-address", "0",
             "--max-auth-failures-per-minute", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        listening = None
        while listening is None:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("livegate-server exited")
            ev = json.loads(line)
            if ev.get("event") == "listening":
                listening = ev
        # Its events must be read as they come: a full pipe would block the
        # server's event output, and with it the server.
        self.events = []
        self.reader = threading.Thread(target=self._read_events, daemon=True)
        self.reader.start()
        self.latencies = []
        return listening

    def start(self):
        entries = self.create_entries()
        port = self.launch()["rtmp"]
        self.targets_file = os.path.join(self.data, "targets.txt")
        with open(self.targets_file, "w") as f:
            for e in entries:
                f.write(f"rtmp://127.0.0.1:{port}/kLive/{e['entryId']}.p/?t={e['token']} 1\n")
        return [self.proc.pid]

    def loadgen_args(self):
        return ["--targets", self.targets_file]

    def _read_events(self):
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass

    def collect(self):
        # Segment events carry the ingest-to-playlist latency.
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.reader.join(timeout=10)
        self.latencies = [ev["latencyUs"] for ev in self.events
                          if ev.get("event") == "segment" and "latencyUs" in ev]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class NginxRtmp:
    name = "nginx-rtmp"

    def __init__(self, work, n):
        self.dir = os.path.join(work, "nginx")
        self.n = n

    def start(self):
        os.makedirs(os.path.join(self.dir, "hls"))
        self.port = free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections {self.n + 256}; }}
rtmp {{
  server {{
    listen 127.0.0.1:{self.port};
    chunk_size 4096;
    application live {{
      live on;
      hls on;
      hls_path {self.dir}/hls;
      hls_fragment {SEGMENT_S}s;
      hls_playlist_length {SEGMENT_S * PLAYLIST_SEGMENTS}s;
    }}
  }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        children = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                  text=True).stdout.split()
        return [self.proc.pid] + [int(c) for c in children]

    def loadgen_args(self):
        return ["--url", f"rtmp://127.0.0.1:{self.port}/live", "--keys", "s{i}",
                "-n", str(self.n)]

    def collect(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.latencies = []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_one(server, loadgen, src, seconds, source_flag="--flv"):
    pids = server.start()
    try:
        time.sleep(0.5)
        idle_rss = rss_kib(pids)
        cpu_before = cpu_seconds(*pids)
        peak = idle_rss
        lg = subprocess.Popen([loadgen, source_flag, src, "--seconds", str(seconds),
                               "--ramp-ms", "2000"] + server.loadgen_args(),
                              stdout=subprocess.PIPE, text=True)
        while lg.poll() is None:
            peak = max(peak, rss_kib(pids))
            time.sleep(0.25)
        result = json.loads(lg.stdout.read())
        cpu = cpu_seconds(*pids) - cpu_before
        hwm = rss_kib(pids, "VmHWM")
        server.collect()
        result.update(cpu=cpu, idle_rss_kib=idle_rss, peak_rss_kib=max(peak, hwm))
        return result
    finally:
        server.stop()


def run_all(args, makers, loadgen, src, work, source_flag="--flv", finish=None):
    """Each publisher count, each run, each server in turn (made by
    `maker(run_dir, n)`); `finish(server, result)` may add to a run's result.
    Returns [(n, {server name: [result of each run]})]."""
    rows = []
    for n in [int(x) for x in args.publishers.split(",")]:
        results = {}
        for _ in range(args.runs):
            for make in makers:
                run_dir = tempfile.mkdtemp(dir=work)
                server = make(run_dir, n)
                r = run_one(server, loadgen, src, args.seconds, source_flag)
                r["latencies"] = server.latencies
                if finish:
                    finish(server, r)
                results.setdefault(server.name, []).append(r)
                shutil.rmtree(run_dir, ignore_errors=True)
        rows.append((n, results))
    return rows


def arg_parser():
    """The options every load bench takes."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--publishers", default="20")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--runs", type=int, default=1)
    return ap


def main():
    args = arg_parser().parse_args()
    if not shutil.which("nginx") or not os.path.exists("/usr/lib/nginx/modules/ngx_rtmp_module.so"):
        sys.exit("needs nginx and libnginx-mod-rtmp: apt-get install nginx libnginx-mod-rtmp")
    loadgen = os.path.join(args.build, "bench/livegate-loadgen")
    work = tempfile.mkdtemp(prefix="lg-bench-ingest-")
    try:
        src = os.path.join(work, "src.flv")
        make_source(src, 20)
        rows = run_all(args, (lambda w, n: Livegate(args.build, w, n), NginxRtmp), loadgen, src,
                       work)
        print_table(rows, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_table(rows, args):
    print(f"\nPassthrough + HLS, {args.seconds} s per run, median of {args.runs} run(s), "
          f"{SEGMENT_S} s segments, {PLAYLIST_SEGMENTS}-segment playlists\n")
    print("| publishers | server | accepted / kept | worst behind (ms) | CPU s per GB | "
          "peak RSS (MiB) | RSS per stream (KiB) | playlist latency p50 / max (ms) | "
          "loadgen CPU s | CPU/GB vs nginx |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, results in rows:
        for name, f in summarize(n, results, "nginx-rtmp", "accepted").items():
            print(f"| {n} | {name} | {f['started']} / {f['kept']} | {f['behind']} | "
                  f"{f['per_gb']} | {f['peak']} | {f['per_stream']} | {f['latency']} | "
                  f"{f['loadgen_cpu']} | {f['ratio']} |")


def summarize(n, results, peer, started_key):
    """The columns the bench tables share, as text, per server: the runs'
    medians (worst cases for counts and delays) at `n` publishers. A
    publisher counts as started by the loadgen's `started_key`."""
    med = statistics.median
    per_gb = {name: med([r["cpu"] / (r["bytesSent"] / 1e9) for r in rs])
              for name, rs in results.items()}
    out = {}
    for name, rs in results.items():
        lat = [x / 1000 for r in rs for x in r["latencies"]]
        out[name] = {
            "started": min(r[started_key] for r in rs),
            "kept": min(r[started_key] - r["dropped"] for r in rs),
            "behind": max(r["maxBehindMs"] for r in rs),
            "per_gb": f"{per_gb[name]:.2f}",
            "peak": f"{med([r['peak_rss_kib'] for r in rs]) / 1024:.1f}",
            "per_stream": f"{med([(r['peak_rss_kib'] - r['idle_rss_kib']) / n for r in rs]):.0f}",
            "latency": f"{med(lat):.1f} / {max(lat):.1f}" if lat else "-",
            "loadgen_cpu": f"{med([r['cpuSeconds'] for r in rs]):.2f}",
            "ratio": f"{per_gb[name] / per_gb[peer] if per_gb.get(peer) else 0:.2f}x",
        }
    return out


if __name__ == "__main__":
    main()
