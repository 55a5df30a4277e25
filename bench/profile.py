#!/usr/bin/env python3
"""Instructions per byte ingested, per thread, with the functions that cost most.

Runs livegate-server under `valgrind --tool=callgrind --separate-threads=yes`
while livegate-loadgen pushes one 3 Mbit/s publish in real time (HLS only,
DVR and recording off, as bench/ingest.py), and reads the profiles with
callgrind_annotate. Instruction counts do not depend on what else the machine
is doing, so two builds can be compared on a shared machine: this is how the
packaging path was profiled for docs/BENCHMARKS.md.

usage: bench/profile.py [--build build] [--seconds 10] [--top 25] [--keep DIR]
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

from common import make_source


def thread_totals(files):
    """{file: total instructions} from callgrind's `summary:`/`totals:` lines."""
    totals = {}
    for path in files:
        with open(path) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    totals[path] = int(line.split()[1])
                    break
    return totals


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--keep", help="keep the callgrind files in this folder")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("needs valgrind: apt-get install valgrind")
    binary = os.path.abspath(os.path.join(args.build, "examples/server/livegate-server"))
    loadgen = os.path.join(args.build, "bench/livegate-loadgen")
    work = args.keep or tempfile.mkdtemp(prefix="lg-bench-profile-")
    os.makedirs(work, exist_ok=True)
    try:
        src = os.path.join(work, "src.flv")
        make_source(src, 20)
        data = os.path.join(work, "data")
        entry = json.loads(subprocess.run(
            [binary, "entry", "create", "--data-dir", data, "--json"],
            check=True, capture_output=True, text=True).stdout)
        subprocess.run([binary, "entry", "set-outputs", entry["entryId"], "--data-dir", data,
                        "--dvr", "off", "--recording", "off"], check=True, capture_output=True)
        for old in glob.glob(os.path.join(work, "callgrind.out.*")):
            os.remove(old)
        srv = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--separate-threads=yes", "--instr-atstart=no",
             f"--callgrind-out-file={work}/callgrind.out.%p",
             binary, "--data-dir", data, "--rtmp-port", "0", "--rtmps-port", "off",
             "--srt-port", "off", "--http-port", "off", "--log-level", "warn",
             "--no-vod-on-stop", "--segment-target-ms", "2000"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = None
        while port is None:
            line = srv.stdout.readline()
            if not line:
                sys.exit("livegate-server exited")
            ev = json.loads(line)
            if ev.get("event") == "listening":
                port = ev["rtmp"]
        # A full stdout pipe would stall the server: drain it.
        threading.Thread(target=lambda: srv.stdout.read(), daemon=True).start()
        # Counts start with the publish: start-up (dynamic linking, the
        # store, the listeners) is not ingest work.
        subprocess.run(["callgrind_control", "--instr=on", str(srv.pid)], check=True,
                       capture_output=True)
        url = f"rtmp://127.0.0.1:{port}/kLive/{entry['entryId']}.p/"
        lg = json.loads(subprocess.run(
            [loadgen, "--flv", src, "--seconds", str(args.seconds), "--url",
             f"{url}?t={entry['token']}", "--keys", "1", "-n", "1"],
            check=True, capture_output=True, text=True).stdout)
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=120)
        nbytes = lg["bytesSent"]
        files = sorted(glob.glob(os.path.join(work, "callgrind.out.*")))
        totals = thread_totals(files)
        print(f"\n{args.seconds} s publish, {nbytes / 1e6:.2f} MB ingested, "
              f"accepted {lg['accepted']}, dropped {lg['dropped']}\n")
        print("| thread (callgrind file) | instructions | per byte ingested |")
        print("|---|---:|---:|")
        for path, total in sorted(totals.items(), key=lambda kv: -kv[1]):
            print(f"| {os.path.basename(path)} | {total:,} | {total / nbytes:.2f} |")
        whole = sum(totals.values())
        print(f"| all threads | {whole:,} | {whole / nbytes:.2f} |")
        for path, total in sorted(totals.items(), key=lambda kv: -kv[1])[:2]:
            out = subprocess.run(["callgrind_annotate", "--inclusive=no", path],
                                 capture_output=True, text=True).stdout
            rows = [l for l in out.splitlines() if re.match(r"^\s*[\d,]+ \(", l)]
            print(f"\nself cost, {os.path.basename(path)}:\n")
            for l in rows[1:args.top + 1]:
                print("   " + l.strip()[:150])
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
