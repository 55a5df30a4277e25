#!/usr/bin/env python3
"""Max publishers: where livegate-server and nginx-rtmp stop keeping up.

For each server, N rises in steps (--steps); each step is a fresh server,
set up as bench/ingest.py does (LiveGate: an entry per publisher, HLS only;
nginx + ngx_rtmp_module: `live on; hls on;`, one worker process), and
N publishers of livegate-loadgen (one process, real-time pace, the 3 Mbit/s
test file, started over 2 s) push for --seconds. A step fails when any
publish is refused, fails or is dropped, or when the generator ends more than
--max-behind-ms behind real time: a server that cannot keep up stops reading,
and TCP back-pressure holds the generator back. The first failing step ends
that server's climb (after --retries more runs of it, as other processes may
share the cores); its knee is the largest N that passed.

The generator shares the machine's cores with the server, so its CPU is
reported beside the server's (both in % of one core: CPU seconds over the
step's wall time; for the server also its busiest thread's), with what other
processes on the machine took meanwhile (all cores' busy time over the step,
less server and generator). A failing step is put down to the generator when
it used near a whole core (it is one thread), to the server's CPU when its
busiest thread did, to the machine when all its cores were near busy, and to
the server otherwise.

The LiveGate entries are made once, through the admin API, and the store is
copied for each step.

usage: bench/knee.py [--build build] [--steps 100,200,...] [--seconds 15]
                     [--max-behind-ms 1000] [--retries 1] [--smoke]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

from common import add_summary_option, make_source, summary
from ingest import Livegate, NginxRtmp, create_entries, run_one, server_binary

STEPS = "100,200,300,400,600,800,1000,1200,1500,2000"
BUSY = 90  # % of a core (the generator) or of all cores (the machine) that counts as saturated


def machine_busy():
    """Busy and total jiffies of all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def verdict(r, n, max_behind_ms):
    """(passed, why) for one step."""
    why = [f"{r[k]} {k}" for k in ("refused", "failed", "dropped") if r[k]]
    if r["accepted"] < n and not why:
        why.append(f"{n - r['accepted']} not accepted")
    if r["hls_streams"] < n:
        why.append(f"{n - r['hls_streams']} streams without HLS")
    if r["maxBehindMs"] > max_behind_ms:
        why.append(f"{r['maxBehindMs']} ms behind")
    return not why, ", ".join(why)


def limit(r):
    """What a failing step ran out of, by CPU."""
    if r["loadgen_pct"] >= BUSY:
        return "loadgen CPU"
    if r["thread_pct"] >= BUSY:
        return "server CPU (its busiest thread)"
    if r["machine_pct"] >= BUSY * os.cpu_count():
        return "machine CPU (all cores busy)"
    return "server, with CPU to spare"


def step(make, n, loadgen, src, args, work):
    run_dir = tempfile.mkdtemp(dir=work)
    server = make(run_dir, n)
    busy0, total0 = machine_busy()
    r = run_one(server, loadgen, src, args.seconds)
    busy1, total1 = machine_busy()
    shutil.rmtree(run_dir, ignore_errors=True)
    r["server_pct"] = 100 * r["cpu"] / r["wall"]
    r["loadgen_pct"] = 100 * r["cpuSeconds"] / r["wall"]
    r["machine_pct"] = 100 * os.cpu_count() * (busy1 - busy0) / max(1, total1 - total0)
    r["others_pct"] = max(0, r["machine_pct"] - r["server_pct"] - r["loadgen_pct"])
    # The server is fresh: its threads' CPU is nearly all the step's.
    r["thread_pct"] = 100 * max(r["thread_cpu"]) / r["wall"]
    r["passed"], r["why"] = verdict(r, n, args.max_behind_ms)
    print(f"  {server.name} {n}: {'pass' if r['passed'] else 'FAIL ' + r['why']}",
          file=sys.stderr, flush=True)
    return server.name, r


def climb(make, steps, loadgen, src, args, work):
    rows = []
    for n in steps:
        # Other processes share the cores: a failing step is run again
        # (--retries) before it counts.
        for tries in range(1, args.retries + 2):
            name, r = step(make, n, loadgen, src, args, work)
            if r["passed"]:
                break
        r["tries"] = tries
        rows.append((n, r))
        if not r["passed"]:
            break
    return name, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--steps", default=STEPS)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--max-behind-ms", type=int, default=1000)
    ap.add_argument("--retries", type=int, default=1,
                    help="further runs of a failing step before it counts")
    ap.add_argument("--smoke", action="store_true", help="steps 50,100 of 8 s")
    add_summary_option(ap)
    args = ap.parse_args()
    if args.smoke:
        args.steps, args.seconds = "50,100", 8
    if not shutil.which("nginx") or not os.path.exists("/usr/lib/nginx/modules/ngx_rtmp_module.so"):
        sys.exit("needs nginx and libnginx-mod-rtmp: apt-get install nginx libnginx-mod-rtmp")
    steps = [int(x) for x in args.steps.split(",")]
    loadgen = os.path.join(args.build, "bench/livegate-loadgen")
    work = tempfile.mkdtemp(prefix="lg-bench-knee-")
    try:
        src = os.path.join(work, "src.flv")
        make_source(src, 20)
        store_dir = os.path.join(work, "store")
        store = (store_dir, create_entries(server_binary(args.build), store_dir, max(steps)))
        results = [
            climb(lambda w, n: Livegate(args.build, w, n, store=store), steps, loadgen, src,
                  args, work),
            climb(lambda w, n: NginxRtmp(w, n), steps, loadgen, src, args, work),
        ]
        print_table(results, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_table(results, args):
    print(f"\nMax publishers: 3 Mbit/s each, passthrough + HLS, {args.seconds} s per step, "
          f"a fresh server per step, {os.cpu_count()} cores shared with the generator; "
          f"a step fails on any refused, failed or dropped publish or more than "
          f"{args.max_behind_ms} ms behind real time\n")
    print("| server | publishers | accepted | server CPU % (busiest thread) | loadgen CPU % | "
          "others' CPU % | worst behind (ms) | peak RSS (MiB) | result |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    knees = {}
    for name, rows in results:
        knees[name] = max([n for n, r in rows if r["passed"]], default=0)
        for n, r in rows:
            result = "pass" if r["passed"] else f"FAIL: {r['why']} (limit: {limit(r)})"
            if r["tries"] > 1:
                result += f" (run {r['tries']}; the runs before failed)" if r["passed"] else \
                    f" ({r['tries']} runs, the last shown)"
            print(f"| {name} | {n} | {r['accepted']} | {r['server_pct']:.0f} "
                  f"({r['thread_pct']:.0f}) | {r['loadgen_pct']:.0f} | {r['others_pct']:.0f} | "
                  f"{r['maxBehindMs']} | "
                  f"{r['peak_rss_kib'] / 1024:.0f} | {result} |")
    print()
    for name, rows in results:
        top = "" if not rows[-1][1]["passed"] else " (every step passed: the knee is higher)"
        print(f"- knee of {name}: {knees[name]} publishers{top}")
    if knees.get("nginx-rtmp"):
        ratio = f"{knees['livegate-server'] / knees['nginx-rtmp']:.2f}x"
        print(f"- livegate-server / nginx-rtmp: {ratio}")
        at_least = {name: "≥ " if rows[-1][1]["passed"] else "" for name, rows in results}
        summary(args, "Max publishers (3 Mbit/s, HLS)", "knee: publishers kept in real time",
                f"{at_least['livegate-server']}{knees['livegate-server']}", "nginx-rtmp",
                f"{at_least['nginx-rtmp']}{knees['nginx-rtmp']}", ratio, "above nginx-rtmp's")


if __name__ == "__main__":
    main()
