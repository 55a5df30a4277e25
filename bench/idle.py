#!/usr/bin/env python3
"""Idle connections beside one publisher: livegate-server against nginx-rtmp.

Each server is started (livegate-server and nginx + ngx_rtmp_module, set up
as bench/ingest.py does), one real publisher (livegate-loadgen -n 1, real-time
pace) pushes the 3 Mbit/s test file for the whole measurement, and then
--connections TCP connections that never send a byte are opened from
127.0.0.1, in batches so that the listen backlog (511) never overflows. Once
the server has accepted them all (its open descriptors say so) its resident
memory is read again; the growth, divided by the number of connections, is
the cost of one idle connection. The connections are held until the publisher's run ends,
so the publisher's result (accepted, dropped, how far behind real time it was
at the end) is what it got beside all of them.

LiveGate runs with its connection limits raised (room for every connection,
no limit per address) and its handshake and idle timeouts longer than the
run, nginx with worker_connections and worker_rlimit_nofile large enough and
its RTMP timeout as long: otherwise both would close the silent connections,
as they should in production.

usage: bench/idle.py [--build build] [--connections 10000] [--seconds 40] [--runs 1] [--smoke]
"""
import argparse
import json
import os
import resource
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from common import add_summary_option, make_source, summary
from ingest import Livegate, NginxRtmp, rss_kib

# At most two batches wait in the accept queue: well under the backlog of 511.
BATCH = 200
SETTLE_S = 4  # the publisher live and its first segments written before the first reading
TIMEOUT_S = 600  # the servers' timeouts for silent connections, longer than any run
TARGET_KIB = 16  # LiveGate's target per idle connection


def open_fds(pids):
    return sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in pids)


def wait_accepted(pids, want, deadline):
    """Waits until the servers' processes hold `want` descriptors or the
    deadline passes; returns how many they hold."""
    while True:
        have = open_fds(pids)
        if have >= want or time.monotonic() > deadline:
            return have
        time.sleep(0.01)


def open_idle(port, count, pids):
    """Opens `count` connections that send nothing. Returns the sockets, how
    many the server accepted, and how long until it had accepted them all."""
    base = open_fds(pids)
    socks = []
    started = time.monotonic()
    deadline = started + 120
    while len(socks) < count and time.monotonic() < deadline:
        for _ in range(min(BATCH, count - len(socks))):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        wait_accepted(pids, base + len(socks) - BATCH, deadline)
    accepted = wait_accepted(pids, base + count, deadline) - base
    return socks, accepted, time.monotonic() - started


def closed_by_peer(socks):
    """How many of the connections the server has closed (or written to):
    they poll readable."""
    poll = select.poll()
    for s in socks:
        poll.register(s, select.POLLIN)
    return len(poll.poll(0))


def close_all(socks):
    for s in socks:
        s.close()


def run_one(server, loadgen, src, connections, seconds):
    pids = server.start()
    socks = []
    try:
        lg = subprocess.Popen([loadgen, "--flv", src, "--seconds", str(seconds), "--ramp-ms", "0"]
                              + server.loadgen_args(), stdout=subprocess.PIPE, text=True)
        time.sleep(SETTLE_S)
        before = rss_kib(pids)
        socks, accepted, accept_s = open_idle(server.port, connections, pids)
        time.sleep(1)
        after = rss_kib(pids)
        # The reading counts only if the publisher was still on.
        publishing = lg.poll() is None
        result = json.loads(lg.communicate()[0])
        closed = closed_by_peer(socks)
        # Before the server stops: nginx's graceful stop waits for them.
        close_all(socks)
        server.collect()
        result.update(rss_before=before, rss_after=after, accepted_idle=accepted,
                      accept_s=accept_s, closed=closed, publishing=publishing)
        return result
    finally:
        close_all(socks)
        server.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=40,
                    help="the publisher's run; the measurement must end within it")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="2,000 connections, 8 s runs")
    add_summary_option(ap)
    args = ap.parse_args()
    if args.smoke:
        args.connections, args.seconds = 2000, 8
    if not shutil.which("nginx") or not os.path.exists("/usr/lib/nginx/modules/ngx_rtmp_module.so"):
        sys.exit("needs nginx and libnginx-mod-rtmp: apt-get install nginx libnginx-mod-rtmp")
    # This process holds one end of every connection, the server the other.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.connections + 1024
    if hard != resource.RLIM_INFINITY and hard < need:
        sys.exit(f"needs {need} open files (ulimit -n); the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    loadgen = os.path.join(args.build, "bench/livegate-loadgen")
    work = tempfile.mkdtemp(prefix="lg-bench-idle-")
    try:
        src = os.path.join(work, "src.flv")
        make_source(src, 10)
        results = {}
        makers = (lambda w: Livegate(args.build, w, 1, idle=args.connections,
                                     timeout_ms=TIMEOUT_S * 1000),
                  lambda w: NginxRtmp(w, 1, idle=args.connections, timeout_s=TIMEOUT_S))
        for _ in range(args.runs):
            for make in makers:
                run_dir = tempfile.mkdtemp(dir=work)
                server = make(run_dir)
                results.setdefault(server.name, []).append(
                    run_one(server, loadgen, src, args.connections, args.seconds))
                shutil.rmtree(run_dir, ignore_errors=True)
        print_table(results, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_table(results, args):
    med = statistics.median
    n = args.connections
    print(f"\n{n:,} idle TCP connections beside one real-time publisher, "
          f"median of {args.runs} run(s)\n")
    print("| server | idle accepted | time to accept all (s) | closed by server | "
          "RSS before (MiB) | RSS after (MiB) | KiB per idle connection | "
          "publisher accepted / kept | publisher behind at end (ms) | per connection vs nginx |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    per_conn = {name: med([(r["rss_after"] - r["rss_before"]) / n for r in rs])
                for name, rs in results.items()}
    for name, rs in results.items():
        accepted = min(r["accepted_idle"] for r in rs)
        closed = max(r["closed"] for r in rs)
        kept = min(r["accepted"] - r["dropped"] for r in rs)
        pub = min(r["accepted"] for r in rs)
        behind = max(r["maxBehindMs"] for r in rs)
        on = "" if all(r["publishing"] for r in rs) else " (run ended before the reading)"
        ratio = per_conn[name] / per_conn["nginx-rtmp"] if per_conn.get("nginx-rtmp") else 0
        print(f"| {name} | {accepted:,} | {med([r['accept_s'] for r in rs]):.1f} | {closed} | "
              f"{med([r['rss_before'] for r in rs]) / 1024:.1f} | "
              f"{med([r['rss_after'] for r in rs]) / 1024:.1f} | {per_conn[name]:.1f} | "
              f"{pub} / {kept}{on} | {behind} | {ratio:.2f}x |")
    lg = per_conn.get("livegate-server")
    if lg is not None:
        verdict = "met" if lg <= TARGET_KIB else "NOT met"
        print(f"\nLiveGate target <= {TARGET_KIB} KiB per idle connection: {verdict} "
              f"({lg:.1f} KiB)")
        ng = per_conn.get("nginx-rtmp")
        summary(args, f"Idle connections ({n:,} + 1 publisher)", "RSS per idle connection, KiB",
                f"{lg:.1f}", "nginx-rtmp", f"{ng:.1f}" if ng else "-",
                f"{lg / ng:.2f}x" if ng else "-", f"≤ {TARGET_KIB}")


if __name__ == "__main__":
    main()
