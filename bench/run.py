#!/usr/bin/env python3
"""Every benchmark scenario, side by side with its peer, in one command.

Smoke sizes by default (a few minutes on 2 cores); --full for the sizes
docs/BENCHMARKS.md quotes. Each scenario is one of the bench scripts beside
this one, run as its own process; their headline figures are gathered into
one markdown table (LiveGate, the peer, the ratio), followed by each
script's own tables and the exact command that made them.

usage: bench/run.py [--build build] [--full] [--only passthrough,knee,idle,srt,failover]
                    [--runs N]
"""
import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

from common import cpu_model

HERE = os.path.dirname(os.path.abspath(__file__))


def scenarios(full, runs):
    """(name, script, arguments) of every scenario at smoke or full size."""
    if full:
        return [
            ("passthrough", "ingest.py",
             ["--publishers", "20,100,500", "--seconds", "30", "--runs", str(runs)]),
            ("knee", "knee.py", []),
            ("idle", "idle.py", ["--runs", str(runs)]),
            ("srt", "srt.py", ["--publishers", "20,100", "--seconds", "20", "--runs", str(runs)]),
            ("failover", "failover.py", []),
        ]
    return [
        ("passthrough", "ingest.py", ["--publishers", "20", "--seconds", "10", "--runs", "1"]),
        ("knee", "knee.py", ["--smoke"]),
        ("idle", "idle.py", ["--smoke"]),
        ("srt", "srt.py", ["--smoke"]),
        ("failover", "failover.py", ["--drills", "1"]),
    ]


def machine():
    return f"{os.cpu_count()} cores ({cpu_model()}), Linux {platform.release()}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--full", action="store_true", help="full sizes (tens of minutes)")
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure at full size (median)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    chosen = scenarios(args.full, args.runs)
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {name for name, _, _ in chosen}
        if unknown:
            ap.error(f"no such scenario: {', '.join(sorted(unknown))}")
        chosen = [s for s in chosen if s[0] in wanted]

    fd, summary_path = tempfile.mkstemp(prefix="lg-bench-summary-")
    os.close(fd)
    outputs = []
    failed = []
    started = time.monotonic()
    try:
        for name, script, extra in chosen:
            cmd = [sys.executable, os.path.join(HERE, script), "--build", build] + extra + \
                  ["--summary", summary_path]
            shown = " ".join(["python3", f"bench/{script}", "--build", args.build] +
                             [shlex.quote(a) for a in extra])
            print(f"running {name}: {shown}", file=sys.stderr, flush=True)
            t0 = time.monotonic()
            proc = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True)
            seconds = time.monotonic() - t0
            if proc.returncode != 0:
                failed.append(name)
                sys.stderr.write(proc.stderr[-4000:])
            outputs.append((name, shown, seconds, proc.returncode, proc.stdout))
        with open(summary_path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    finally:
        os.remove(summary_path)

    size = "full" if args.full else "smoke"
    print(f"# LiveGate benchmarks, {size} sizes\n")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine()}; "
          f"{time.monotonic() - started:.0f} s in all.\n")
    print("| scenario | measure | LiveGate | peer | peer's | LiveGate / peer | target |")
    print("|---|---|---:|---|---:|---:|---|")
    for r in rows:
        print(f"| {r['scenario']} | {r['measure']} | {r['livegate']} | {r['peer']} | "
              f"{r['peerValue']} | {r['ratio']} | {r['target']} |")
    print("| transcode | — | not run: transcoding to an ABR ladder has not landed yet | "
          "ffmpeg CLI | | | |")
    for name, shown, seconds, rc, out in outputs:
        status = "" if rc == 0 else f" — FAILED (exit {rc})"
        print(f"\n## {name}{status}\n\n`{shown}` ({seconds:.0f} s)\n")
        print(out.strip())
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
