#!/usr/bin/env python3
"""Passthrough + HLS under load: livegate-server against nginx-rtmp, same run.

N publishers (livegate-loadgen, one process, real-time pace) each push the
same 3 Mbit/s H.264 + AAC file for a fixed time into:
  - livegate-server, one entry per publisher, HLS only (DVR window, recording
    and VOD off), 2 s segments and 6-segment live playlists;
  - nginx with ngx_rtmp_module (Debian's libnginx-mod-rtmp), `live on;
    hls on;` with the same fragment and playlist length, one worker process,
    from a configuration this script writes;
  - the copy floor: livegate-floor, fed the same bytes at the same pace by
    `livegate-loadgen --raw` (plain TCP, no RTMP session), which only reads
    each connection into a 64 KiB buffer and writes it to 750 kB segment
    files, keeping the last 6: one copy in from the socket and one copy out
    to a file per byte, what any ingest server that writes segments pays.

Reported per server: CPU seconds per GB ingested (user + system of the server
process, nginx's master and worker together), peak RSS and RSS per stream
(the growth over the idle server), whether every publish was accepted and
kept, how far behind real time the worst publisher fell, and for LiveGate the
ingest-to-playlist latency (segment events: the frame that closes a segment
to its playlist in place). The load generator's own CPU is printed so that it
can be seen to be small. After the table: each server's CPU per GB above the
copy floor (server - floor), the part its own work costs.

Servers write into --work-dir: /dev/shm by default when it has 4 GiB free, so
that disk writeback does not add its run-to-run noise. Before each server run
a file as large as the run will write is written and deleted there (the page
warm-up; --no-warmup skips it), see warm_up().

usage: bench/ingest.py [--build build] [--publishers 20,100] [--seconds 30] [--runs 1]
                       [--work-dir DIR] [--no-warmup]
"""
import argparse
import glob
import http.client
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

from common import add_summary_option, cpu_seconds, make_source, summary, thread_cpu_seconds

SEGMENT_S = 2
PLAYLIST_SEGMENTS = 6
# What a publisher sends, a little above the source's 3 Mbit/s + 128 kbit/s.
PUBLISH_BITS_PER_S = 3.2e6
# /dev/shm is the default work dir when it has this much free.
MIN_SHM_FREE = 4 << 30


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


def has_segment(playlist):
    try:
        with open(playlist) as f:
            return "#EXTINF" in f.read()
    except OSError:
        return False


def server_binary(build):
    return os.path.join(build, "examples/server/livegate-server")


def listening_event(proc):
    """Reads livegate-server's events up to "listening" and returns it."""
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("livegate-server exited")
        ev = json.loads(line)
        if ev.get("event") == "listening":
            return ev


def create_entries(binary, data, n):
    """n entries in the store in `data`, DVR and recording off; returns their
    JSON objects (entryId, token, ...). They are made through the admin API
    of a server started on the store for the purpose: one `entry create`
    process each takes tens of milliseconds, minutes for a thousand. (That
    server makes a first entry of its own in an empty store, unused here.
    Its SRT listener is on so that the entries' JSON has their stream ids.)"""
    os.makedirs(data, exist_ok=True)
    proc = subprocess.Popen(
        [binary, "--data-dir", data, "--rtmp-port", "0", "--rtmps-port", "off",
         "--srt-port", "0", "--srt-address", "127.0.0.1", "--http-port", "0", "--http-address", "127.0.0.1",
         "--log-level", "warn"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ev = listening_event(proc)
        with open(ev["adminKeyFile"]) as f:
            key = f.read().strip()
        conn = http.client.HTTPConnection("127.0.0.1", ev["http"], timeout=30)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        def call(method, path, body):
            conn.request(method, path, json.dumps(body), headers)
            reply = conn.getresponse()
            text = reply.read()
            if reply.status >= 300:
                raise RuntimeError(f"{method} {path}: {reply.status} {text!r}")
            return json.loads(text)

        entries = []
        for _ in range(n):
            e = call("POST", "/api/v1/entries", {})
            call("PUT", f"/api/v1/entries/{e['entryId']}/outputs",
                 {"dvr": False, "recording": False})
            entries.append(e)
        conn.close()
        return entries
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


class Livegate:
    name = "livegate-server"
    # Which listeners this run opens ("0": an ephemeral port).
    protocol_flags = ["--rtmp-port", "0", "--rtmps-port", "off", "--srt-port", "off"]

    def __init__(self, build, work, n, idle=0, timeout_ms=None, store=None):
        """n publishers, each to an entry of its own. idle: further connections
        to make room for; timeout_ms: the handshake and idle timeouts, when the
        defaults are too short for a test; store: a (data dir, entries) pair
        from create_entries, copied so that each start is a fresh server
        without making the entries again."""
        self.binary = server_binary(build)
        self.data = os.path.join(work, "lg")
        self.n = n
        self.idle = idle
        self.timeout_ms = timeout_ms
        self.store = store

    def create_entries(self):
        """One HLS-only entry per publisher; their JSON (entryId, token, ...)."""
        if self.store:
            shutil.copytree(self.store[0], self.data)
            return self.store[1][:self.n]
        return create_entries(self.binary, self.data, self.n)

    def launch(self):
        """Starts the server; returns its "listening" event."""
        limits = ["--max-connections", str(self.n + self.idle + 64),
                  "--max-connections-per-address", "0", "--max-auth-failures-per-minute", "0"]
        if self.timeout_ms:
            limits += ["--handshake-timeout-ms", str(self.timeout_ms),
                       "--idle-timeout-ms", str(self.timeout_ms)]
        self.proc = subprocess.Popen(
            [self.binary, "--data-dir", self.data] + self.protocol_flags +
            ["--http-port", "off", "--log-level", "warn",
             "--no-vod-on-stop", "--segment-target-ms", str(SEGMENT_S * 1000),
             "--live-segments", str(PLAYLIST_SEGMENTS)] + limits,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        listening = listening_event(self.proc)
        # Its events must be read as they come: a full pipe would block the
        # server's event output, and with it the server.
        self.events = []
        self.reader = threading.Thread(target=self._read_events, daemon=True)
        self.reader.start()
        self.latencies = []
        return listening

    def start(self):
        entries = self.create_entries()
        self.port = port = self.launch()["rtmp"]
        self.targets_file = os.path.join(self.data, "targets.txt")
        with open(self.targets_file, "w") as f:
            for e in entries:
                f.write(f"rtmp://127.0.0.1:{port}/kLive/{e['entryId']}.p/?t={e['token']} 1\n")
        return [self.proc.pid]

    def loadgen_args(self):
        return ["--targets", self.targets_file]

    def hls_streams(self):
        """How many streams have a live playlist that lists a segment."""
        return sum(1 for path in glob.glob(os.path.join(self.data, "media", "*", "hls", "*",
                                                        "live.m3u8"))
                   if has_segment(path))

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

    def __init__(self, work, n, idle=0, timeout_s=None):
        """n publishers; idle: further connections to make room for (worker
        connections and open files); timeout_s: the RTMP server's timeout for
        a silent connection (nginx-rtmp's default is 60 s)."""
        self.dir = os.path.join(work, "nginx")
        self.n = n
        self.idle = idle
        self.timeout_s = timeout_s

    def start(self):
        os.makedirs(os.path.join(self.dir, "hls"))
        # Started as root, nginx runs its worker as nobody, which cannot
        # reach a private temporary folder: it would write no HLS at all and
        # only say so in its error log.
        user = "user root;" if os.geteuid() == 0 else ""
        self.port = free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        connections = self.n + self.idle + 256
        # Each connection is a descriptor, and HLS files want a few more.
        nofile = f"worker_rlimit_nofile {connections + 256};" if self.idle else ""
        timeout = f"timeout {self.timeout_s}s;" if self.timeout_s else ""
        with open(conf, "w") as f:
            f.write(f"""
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
{user}
worker_processes 1;
{nofile}
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections {connections}; }}
rtmp {{
  server {{
    listen 127.0.0.1:{self.port};
    {timeout}
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

    def hls_streams(self):
        return sum(1 for path in glob.glob(os.path.join(self.dir, "hls", "*.m3u8"))
                   if has_segment(path))

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


class Floor:
    """livegate-floor fed by `livegate-loadgen --raw`: the copy floor."""
    name = "copy floor"

    def __init__(self, build, work, n):
        self.binary = os.path.join(build, "bench/livegate-floor")
        self.dir = os.path.join(work, "floor")
        self.n = n

    def start(self):
        os.makedirs(self.dir)
        self.proc = subprocess.Popen([self.binary, "--dir", self.dir], stdout=subprocess.PIPE,
                                     text=True)
        self.port = json.loads(self.proc.stdout.readline())["port"]
        return [self.proc.pid]

    def loadgen_args(self):
        return ["--raw", "--url", f"tcp://127.0.0.1:{self.port}", "-n", str(self.n)]

    def hls_streams(self):
        """How many connections have written a file (c<connection>-<segment>.bin)."""
        return len({name.split("-")[0] for name in os.listdir(self.dir)})

    def collect(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.communicate(timeout=30)
        self.latencies = []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def default_work_dir():
    """/dev/shm when it has MIN_SHM_FREE free, else the temp dir."""
    if os.path.isdir("/dev/shm"):
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize >= MIN_SHM_FREE:
            return "/dev/shm"
    return tempfile.gettempdir()


def room_bytes(work):
    """Free space in `work`, and no more than the memory available (tmpfs
    takes its pages from memory)."""
    st = os.statvfs(work)
    room = st.f_bavail * st.f_frsize
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                room = min(room, int(line.split()[1]) * 1024)
    return room


def warm_up(work, n, seconds):
    """Writes and deletes a file in `work` as large as what n publishers send
    in `seconds`, within 80% of the room there (and of free memory). On a VM
    the host backs a guest page only when it is first touched, which makes
    writing into memory never used before several times slower (here dd into /dev/shm: 318 MB/s the first
    time, 2.8 GB/s right after an rm). The servers' segment files land in
    such pages in a short run, whereas a long-running server writes into the
    pages of the segments it has deleted: after the warm-up every server
    writes into memory the VM already backs."""
    want = int(n * PUBLISH_BITS_PER_S * seconds / 8)
    size = min(want, int(room_bytes(work) * 0.8))
    if size < want:
        print(f"page warm-up cut to {size >> 20} MiB of {want >> 20} MiB (no room in {work}): "
              "the rest of the run writes into pages the VM has not backed yet", file=sys.stderr)
    chunk = bytes(1 << 20)
    fd, path = tempfile.mkstemp(prefix="warmup-", dir=work)
    try:
        for _ in range(0, size, len(chunk)):
            os.write(fd, chunk)
    finally:
        os.close(fd)
        os.unlink(path)


def run_one(server, loadgen, src, seconds, source_flag="--flv"):
    pids = server.start()
    try:
        time.sleep(0.5)
        idle_rss = rss_kib(pids)
        cpu_before = cpu_seconds(*pids)
        peak = idle_rss
        started = time.monotonic()
        lg = subprocess.Popen([loadgen, source_flag, src, "--seconds", str(seconds),
                               "--ramp-ms", "2000"] + server.loadgen_args(),
                              stdout=subprocess.PIPE, text=True)
        while lg.poll() is None:
            peak = max(peak, rss_kib(pids))
            time.sleep(0.25)
        result = json.loads(lg.stdout.read())
        cpu = cpu_seconds(*pids) - cpu_before
        result["wall"] = time.monotonic() - started
        hwm = rss_kib(pids, "VmHWM")
        result["thread_cpu"] = thread_cpu_seconds(*pids)
        # Before the stop, which may take live playlists away: equal work
        # means every stream packaged on both sides.
        result["hls_streams"] = server.hls_streams()
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
                if not args.no_warmup:
                    warm_up(run_dir, n, args.seconds)
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
    ap.add_argument("--work-dir", default=default_work_dir(),
                    help="where the servers write (default: /dev/shm with 4 GiB free, "
                         "else the temp dir)")
    ap.add_argument("--no-warmup", action="store_true",
                    help="no page warm-up before each server run")
    add_summary_option(ap)
    return ap


def main():
    args = arg_parser().parse_args()
    if not shutil.which("nginx") or not os.path.exists("/usr/lib/nginx/modules/ngx_rtmp_module.so"):
        sys.exit("needs nginx and libnginx-mod-rtmp: apt-get install nginx libnginx-mod-rtmp")
    loadgen = os.path.join(args.build, "bench/livegate-loadgen")
    work = tempfile.mkdtemp(prefix="lg-bench-ingest-", dir=args.work_dir)
    try:
        src = os.path.join(work, "src.flv")
        make_source(src, 20)
        rows = run_all(args, (lambda w, n: Livegate(args.build, w, n), NginxRtmp,
                              lambda w, n: Floor(args.build, w, n)), loadgen, src, work)
        print_table(rows, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_table(rows, args):
    warmup = "no page warm-up" if args.no_warmup else "page warm-up before each server run"
    print(f"\nPassthrough + HLS, {args.seconds} s per run, median of {args.runs} run(s), "
          f"{SEGMENT_S} s segments, {PLAYLIST_SEGMENTS}-segment playlists; files written to "
          f"{args.work_dir}, {warmup}. copy floor: livegate-floor (raw TCP in, "
          f"750 kB files out; its streams in HLS are connections that wrote a file)\n")
    print("| publishers | server | accepted / kept | streams in HLS | worst behind (ms) | "
          "CPU s per GB | "
          "peak RSS (MiB) | RSS per stream (KiB) | playlist latency p50 / max (ms) | "
          "loadgen CPU s | CPU/GB vs nginx |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, results in rows:
        for name, f in summarize(n, results, "nginx-rtmp", "accepted").items():
            print(f"| {n} | {name} | {f['started']} / {f['kept']} | {f['hls']} | {f['behind']} | "
                  f"{f['per_gb']} | {f['peak']} | {f['per_stream']} | {f['latency']} | "
                  f"{f['loadgen_cpu']} | {f['ratio']} |")
    print_above_floor(rows)
    for n, results in rows:
        f = summarize(n, results, "nginx-rtmp", "accepted")
        lg, ngx = f[Livegate.name], f[NginxRtmp.name]
        scenario = f"Passthrough + HLS, {n} publishers"
        summary(args, scenario, "CPU s per GB ingested", lg["per_gb"], "nginx-rtmp",
                ngx["per_gb"], lg["ratio"], "≤ 0.4x")
        if Floor.name in results:
            _, above_lg, above_ngx = above_floor(results)
            summary(args, scenario, "CPU s per GB above the copy floor", f"{above_lg:.2f}",
                    "nginx-rtmp", f"{above_ngx:.2f}",
                    f"{above_lg / above_ngx:.2f}x" if above_ngx > 0 else "-")
        summary(args, scenario, "RSS per stream, KiB", lg["per_stream"], "nginx-rtmp",
                ngx["per_stream"], f"{float(lg['per_stream']) / max(float(ngx['per_stream']), 1):.2f}x",
                "≤ 1024")


def print_above_floor(rows):
    """Each server's CPU per GB above the copy floor's, and LiveGate's share."""
    print(f"\nCPU s per GB above the {Floor.name} (server - floor):\n")
    print("| publishers | copy floor | livegate-server | nginx-rtmp | livegate / nginx above floor | "
          "livegate / floor |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, results in rows:
        floor, lg, ngx = above_floor(results)
        print(f"| {n} | {floor:.2f} | {lg:.2f} | {ngx:.2f} | "
              f"{lg / ngx if ngx > 0 else float('nan'):.2f}x | "
              f"{(lg + floor) / floor:.2f}x |")


def above_floor(results):
    """The copy floor's CPU per GB, and LiveGate's and nginx-rtmp's above it."""
    floor = cpu_per_gb(results[Floor.name])
    return (floor, cpu_per_gb(results[Livegate.name]) - floor,
            cpu_per_gb(results[NginxRtmp.name]) - floor)


def cpu_per_gb(rs):
    """The runs' median CPU seconds per GB ingested."""
    return statistics.median([r["cpu"] / (r["bytesSent"] / 1e9) for r in rs])


def summarize(n, results, peer, started_key):
    """The columns the bench tables share, as text, per server: the runs'
    medians (worst cases for counts and delays) at `n` publishers. A
    publisher counts as started by the loadgen's `started_key`."""
    med = statistics.median
    per_gb = {name: cpu_per_gb(rs) for name, rs in results.items()}
    out = {}
    for name, rs in results.items():
        lat = [x / 1000 for r in rs for x in r["latencies"]]
        out[name] = {
            "started": min(r[started_key] for r in rs),
            "hls": min(r["hls_streams"] for r in rs),
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
