#!/usr/bin/env python3
"""Output gap and lost or repeated frames when the primary encoder fails.

Runs, in one invocation and against one livegate-server, repeated drills of:
  - kill: one source pushed in real time by two ffmpeg processes to an
    entry's primary and backup (`ffmpeg -re -i src.flv -c copy -f flv URL`
    twice, as one encoder with two outputs does); the primary is killed
    (SIGKILL) and the output goes on from the backup.
  - stall: the same, but the primary is stopped (SIGSTOP): its connection
    stays open and carries nothing, so the server notices only after
    --stall-ms. It is killed once the backup has taken over.
and of their peers, what a viewer gets without a backup. No open-source
ingest server fails over between inputs (nginx-rtmp and the like rely on the
encoder coming back), so the peer is the encoder coming back on the same
URL, into the same server, whose output waits for it (--reconnect-window-ms):
  - peer for kill: one ffmpeg on the primary only, killed at the same point,
    a new ffmpeg process started on the same URL at once (a supervisor's
    restart); the output waits for its connection and first keyframe.
  - peer for stall: one ffmpeg stopped, then killed and restarted after
    --stall-ms (a watchdog with the server's own detection time).

The source is made once: testsrc2 1280x720 at 30 fps, libx264 with a
keyframe every second, AAC. Each drill uses a fresh entry and faults the
primary at a random time 3 to 6 s into the publish, so the fault falls
anywhere in the GOP; the backup (or the restarted encoder) then runs to the
end of the file. The drill kinds are interleaved. The server runs with
--failover-policy sticky: one switch per drill.

Measures, per drill:
  - gapMs, lostMs, aligned: the server's failover event (kind "failover";
    "resume" for a peer). gapMs runs from the last frame sent before the
    switch to the first frame of the new input (the event comes with it).
  - observed gap: the longest time the output got no new frame (audio or
    video) across the switch, seen from outside: failover.framesOut of
    GET /api/v1/entries/ID/streams/1, polled every --poll-ms: a check of
    gapMs from outside, which includes the wait for a backup that runs
    behind the primary (two ffmpeg processes start a few ms apart, and -re
    keeps that lag). The ratio to the peer is on this gap.
  - detection: from the bench sending the signal to the failover event
    reaching it on the server's stdout.
  - frames lost and duplicated: once the output has ended, its DVR playlist
    is decoded (ffmpeg -f framemd5) and every picture matched to the
    source's by the MD5 of the decoded picture (every testsrc2 picture
    differs). Lost: source pictures between the first and the last the
    output shows that it does not show; duplicated: pictures shown twice or
    after a later one. The output's pts are compared with the source's too:
    an aligned switch keeps the source's timeline (the output's timeline is
    that of the input that opened it), which the bench checks rather than
    assumes. A peer's new encoder starts the file again, so its pictures are
    not the live ones: for the peers "lost" is the live time the gap
    covers, in frames (an estimate), and "duplicated" counts video packets
    whose pts repeats one already sent.

Targets (from the issue): aligned inputs lose 0 frames that the backup
delivered, and gap <= detection time + one frame, checked per drill on the
observed gap with the detection the bench measured: a few ms for a kill (a
closed connection is noticed at once), --stall-ms to --stall-ms + 50 ms for
a stall (judged on the server's 50 ms timer).

Per-drill lines go to stderr, the table and its notes to stdout. Needs
ffmpeg and ffprobe; every process started is killed (its process group) and
every temporary directory removed, unless --keep.

usage: bench/failover.py [--build build] [--drills 5] [--stall-ms 1500]
                         [--seconds 12] [--poll-ms 5] [--seed N] [--keep] [--quick]
"""
import argparse
import http.client
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from common import add_summary_option, cpu_model, summary

FPS = 30
FRAME_MS = 1000 / FPS
RECONNECT_WINDOW_MS = 3000  # long enough for the restart to come back
PLAYLIST_END_MS = 200


def source_cmd(path, seconds):
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate={FPS}",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
            "-b:v", "3M", "-maxrate", "3M", "-bufsize", "6M",
            "-g", str(FPS), "-keyint_min", str(FPS), "-sc_threshold", "0",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-shortest", path]


def probe_video(path):
    """[(pts ms, dts ms, key)] of the first video stream, in read order."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0",
         "-show_entries", "packet=pts_time,dts_time,flags", "-of", "csv=p=0", path],
        check=True, capture_output=True, text=True).stdout
    packets = []
    for line in out.splitlines():
        fields = line.split(",")
        if len(fields) < 3 or "N/A" in fields[:2]:
            continue
        packets.append((round(float(fields[0]) * 1000), round(float(fields[1]) * 1000),
                        "K" in fields[2]))
    return packets


def ffmpeg_publish(src, url, seconds=None):
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", src]
    if seconds is not None:
        cmd += ["-t", f"{seconds:.3f}"]
    return cmd + ["-c", "copy", "-f", "flv", url]


class Server:
    """livegate-server with its stdout events read on a thread."""

    def __init__(self, binary, data, stall_ms, log):
        self.data = data
        self.events = []  # (monotonic s, event)
        self.cond = threading.Condition()
        self.cmd = [binary, "--data-dir", data, "--rtmp-port", "0", "--rtmp-address", "127.0.0.1",
                    "--rtmps-port", "off", "--srt-port", "off",
                    "--http-port", "0", "--http-address", "127.0.0.1", "--log-level", "warn",
                    "--failover-policy", "sticky", "--stall-ms", str(stall_ms),
                    "--reconnect-window-ms", str(RECONNECT_WINDOW_MS),
                    "--playlist-end-ms", str(PLAYLIST_END_MS), "--no-vod-on-stop"]
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=log, text=True,
                                     start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        ev = self.wait(lambda e: e.get("event") == "listening", 30)
        self.rtmp, self.http, self.media = ev["rtmp"], ev["http"], ev["mediaDir"]
        with open(ev["adminKeyFile"]) as f:
            self.admin_key = f.read().strip()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.events.append((time.monotonic(), ev))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait(self, match, timeout, since=0):
        """The first event at index >= since that matches; raises on timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, ev in self.events[since:]:
                    if match(ev):
                        ev = dict(ev)
                        ev["_at"] = t
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError("no matching server event in time" +
                                       (" (server exited)" if self.proc.poll() is not None else ""))
                self.cond.wait(left)

    def mark(self):
        with self.cond:
            return len(self.events)

    def since(self, mark):
        with self.cond:
            return [e for _, e in self.events[mark:]]

    def create_entry(self):
        return json.loads(subprocess.run(
            [self.cmd[0], "entry", "create", "--data-dir", self.data, "--json"],
            check=True, capture_output=True, text=True).stdout)

    def url(self, entry, role):
        suffix = "p" if role == "primary" else "b"
        return (f"rtmp://127.0.0.1:{self.rtmp}/kLive/{entry['entryId']}.{suffix}/1"
                f"?t={entry['token']}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Poller:
    """framesOut of one output over the admin API, on a thread."""

    def __init__(self, server, entry_id, period_ms):
        self.samples = []  # (monotonic s, framesOut, activeInput)
        self.period = period_ms / 1000
        self.path = f"/api/v1/entries/{entry_id}/streams/1"
        self.headers = {"Authorization": f"Bearer {server.admin_key}"}
        self.port = server.http
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            while not self.stopped.is_set():
                before = time.monotonic()
                try:
                    conn.request("GET", self.path, headers=self.headers)
                    resp = conn.getresponse()
                    body = resp.read()
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                    continue
                after = time.monotonic()
                if resp.status == 200:
                    state = json.loads(body).get("failover")
                    if state is not None:
                        self.samples.append(((before + after) / 2, state["framesOut"],
                                             state["activeInput"]))
                self.stopped.wait(max(0.0, self.period - (after - before)))
        finally:
            conn.close()

    def stop(self):
        self.stopped.set()
        self.thread.join()

    def gap_ms(self, start, end):
        """The longest stretch without a new frame that overlaps [start, end]
        (the fault and the switch), from one change of framesOut to the next."""
        changes = [b[0] for a, b in zip(self.samples, self.samples[1:]) if b[1] > a[1]]
        best = None
        for a, b in zip(changes, changes[1:]):
            if b >= start and a <= end:
                best = max(best or 0, b - a)
        return None if best is None else best * 1000

    def resolution_ms(self):
        times = [s[0] for s in self.samples]
        steps = [b - a for a, b in zip(times, times[1:])]
        return statistics.median(steps) * 1000 if steps else float("nan")


class Procs:
    """Every publisher started, each in its own process group."""

    def __init__(self, log):
        self.log = log
        self.all = []

    def start(self, cmd):
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=self.log, start_new_session=True)
        self.all.append(p)
        return p

    def kill_all(self):
        for p in self.all:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            p.wait()


def wait_exit(proc, timeout):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"publisher {proc.pid} still running after {timeout} s")


def ended_playlist(path, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                text = f.read()
            if "#EXT-X-ENDLIST" in text:
                return text
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{path} not ended after {timeout} s")


def frame_hashes(path):
    """([(pts ms, md5 of the decoded picture)] in presentation order, decoder
    error lines) of the first video stream."""
    run = subprocess.run(
        ["ffmpeg", "-hide_banner", "-v", "error", "-nostdin", "-copyts", "-i", path,
         "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "framemd5", "-"],
        capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"cannot decode {path}: {run.stderr.strip()}")
    tb = 1.0
    frames = []
    for line in run.stdout.splitlines():
        if line.startswith("#tb 0:"):
            num, den = line.split(":", 1)[1].strip().split("/")
            tb = int(num) / int(den)
        elif line and not line.startswith("#"):
            fields = [f.strip() for f in line.split(",")]
            frames.append((round(int(fields[2]) * tb * 1000), fields[5]))
    return frames, [line for line in run.stderr.splitlines() if line.strip()]


def compare_content(source, output):
    """The output's pictures against the source's (every testsrc2 picture
    differs): lost = source pictures between the first and the last one the
    output shows that it does not show; duplicated = pictures shown more
    than once; backwards = a picture older than the one before it. Also the
    set of (output pts - source pts) over the pictures."""
    index = {h: i for i, (_, h) in enumerate(source)}
    mapped = [index.get(h) for _, h in output]
    known = [i for i in mapped if i is not None]
    shown = set(known)
    lost = (max(known) - min(known) + 1 - len(shown)) if known else len(source)
    dup = len(known) - len(shown)
    backwards = sum(1 for a, b in zip(known, known[1:]) if b < a)
    offsets = {pts - source[i][0] for (pts, _), i in zip(output, mapped) if i is not None}
    missing = []  # (first, last) source picture numbers not shown
    if known:
        for i in range(min(known), max(known) + 1):
            if i in shown:
                continue
            if missing and missing[-1][1] == i - 1:
                missing[-1] = (missing[-1][0], i)
            else:
                missing.append((i, i))
    return {"lost": lost, "dup": dup, "backwards": backwards, "missing": missing,
            "unknown": len(mapped) - len(known), "offsets": offsets,
            "covered": (min(known), max(known)) if known else None}


def repeated_pts(packets):
    """Video packets whose pts was already used, or whose dts does not rise."""
    seen, count, last = set(), 0, None
    for pts, dts, _ in packets:
        count += (pts in seen) + (last is not None and dts <= last)
        seen.add(pts)
        last = dts
    return count


KINDS = ("kill", "stall", "restart", "stall-restart")
PEER = {"kill": "restart", "stall": "stall-restart"}


def drill(kind, server, procs, src, source_frames, args, rng):
    entry = server.create_entry()
    eid = entry["entryId"]
    peer = kind in PEER.values()
    fault_after = rng.uniform(3.0, 6.0)
    mark = server.mark()
    primary = procs.start(ffmpeg_publish(src, server.url(entry, "primary")))
    backup = None
    if not peer:
        backup = procs.start(ffmpeg_publish(src, server.url(entry, "backup")))
    start = server.wait(lambda e: e.get("event") == "publish_start" and e.get("entryId") == eid
                        and e.get("role") == "primary", 20, mark)
    lag = None
    if backup is not None:
        b = server.wait(lambda e: e.get("event") == "publish_start" and e.get("entryId") == eid
                        and e.get("role") == "backup", 20, mark)
        lag = (b["_at"] - start["_at"]) * 1000
    time.sleep(max(0.0, start["_at"] + fault_after - 0.5 - time.monotonic()))
    poller = Poller(server, eid, args.poll_ms)
    restart = None
    try:
        time.sleep(max(0.0, start["_at"] + fault_after - time.monotonic()))
        if poller.samples and poller.samples[-1][2] != "primary":
            raise RuntimeError(f"{kind}: the output is not on the primary before the fault")
        before = server.mark()
        fault_at = time.monotonic()
        stop = kind in ("stall", "stall-restart")
        os.killpg(primary.pid, signal.SIGSTOP if stop else signal.SIGKILL)
        if peer:
            left = args.seconds - fault_after
            if stop:
                # A watchdog with the server's own stall time restarts it.
                time.sleep(args.stall_ms / 1000)
                os.killpg(primary.pid, signal.SIGKILL)
                left -= args.stall_ms / 1000
            restart = procs.start(ffmpeg_publish(src, server.url(entry, "primary"), left))
        want = "resume" if peer else "failover"
        ev = server.wait(lambda e: e.get("event") == "failover" and e.get("entryId") == eid
                         and e.get("kind") == want, args.stall_ms / 1000 + 15, before)
        time.sleep(1.0)
    finally:
        poller.stop()
    if kind == "stall":
        os.killpg(primary.pid, signal.SIGKILL)
    primary.wait()
    wait_exit(backup or restart, args.seconds + 30)
    dvr = os.path.join(server.media, eid, "hls", "1", "dvr.m3u8")
    playlist = ended_playlist(dvr, RECONNECT_WINDOW_MS / 1000 + 30)
    packets = probe_video(dvr)
    switches = [e for e in server.since(before)
                if e.get("event") == "failover" and e.get("entryId") == eid]
    observed = poller.gap_ms(fault_at, ev["_at"])
    if peer:
        # The new encoder starts the file again: its pictures are not the
        # live ones, so only timestamps are checked.
        content = {"lost": None, "dup": None, "backwards": 0, "unknown": 0, "offsets": set(),
                   "covered": None, "missing": []}
        errors = []
        lost = max(0, round(observed / FRAME_MS) - 1) if observed is not None else None
        dup = repeated_pts(packets)
    else:
        frames, errors = frame_hashes(dvr)
        content = compare_content(source_frames, frames)
        lost, dup = content["lost"], content["dup"] + content["backwards"]
    return {
        "kind": kind, "entry": eid, "fault_after": fault_after, "lag": lag,
        "event": {k: v for k, v in ev.items() if not k.startswith("_")},
        "switches": len(switches),
        "gap": ev["gapMs"], "lost_ms": ev["lostMs"], "aligned": ev["aligned"],
        "detect": (ev["_at"] - fault_at) * 1000,
        "observed": observed, "resolution": poller.resolution_ms(),
        "lost": lost, "dup": dup, "content": content, "decode_errors": len(errors),
        "repeated_pts": repeated_pts(packets),
        "frames": len(packets), "discontinuities": playlist.count("#EXT-X-DISCONTINUITY\n"),
    }


def describe(content):
    parts = []
    if content["covered"] is not None:
        parts.append(f"source frames {content['covered'][0]}..{content['covered'][1]}")
    if content["offsets"]:
        parts.append("pts - source pts " + "/".join(f"{o}" for o in sorted(content["offsets"])) +
                     " ms")
    if content["missing"]:
        parts.append("missing source frames " +
                     " ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in content["missing"]))
    if content["backwards"] or content["unknown"]:
        parts.append(f"backwards {content['backwards']} unknown {content['unknown']}")
    return "".join(p + ", " for p in parts)


def fmt(x, digits=0):
    return "-" if x is None else f"{x:.{digits}f}"


def machine():
    cpu = cpu_model()
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
    here = os.path.dirname(os.path.abspath(__file__))
    commit = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "?"
    # Local changes to what the server is built from.
    dirty = subprocess.run(["git", "-C", os.path.dirname(here), "status", "--porcelain",
                            "--untracked-files=no", "--", "lib", "include", "examples"],
                           capture_output=True, text=True).stdout.strip()
    return [f"{platform.system()} {platform.release()}, {platform.machine()}, "
            f"{os.cpu_count()} CPUs ({cpu})",
            ffmpeg.splitlines()[0] if ffmpeg else "ffmpeg ?",
            f"livegate commit {commit}{' with local changes' if dirty else ''}, "
            f"Python {platform.python_version()}"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--drills", type=int, default=5, help="drills per scenario")
    ap.add_argument("--stall-ms", type=int, default=1500, help="the server's --stall-ms")
    ap.add_argument("--seconds", type=int, default=12, help="length of the source")
    ap.add_argument("--poll-ms", type=float, default=5, help="admin API polling period")
    ap.add_argument("--seed", type=int, default=None, help="for the fault times (printed)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    ap.add_argument("--quick", action="store_true", help="2 drills per scenario")
    add_summary_option(ap)
    args = ap.parse_args()
    if args.quick:
        args.drills = 2
    need = 6 + args.stall_ms / 1000 + 3
    if args.seconds < need:
        ap.error(f"--seconds must be at least {need:.0f} with --stall-ms {args.stall_ms}")
    # SIGTERM unwinds like Ctrl-C, through the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    binary = os.path.join(args.build, "examples/server/livegate-server")
    work = tempfile.mkdtemp(prefix="lg-bench-failover-")
    log = open(os.path.join(work, "stderr.log"), "w")
    procs = Procs(log)
    server = None
    try:
        src = os.path.join(work, "src.flv")
        subprocess.run(source_cmd(src, args.seconds), check=True)
        source_frames, _ = frame_hashes(src)
        server = Server(binary, os.path.join(work, "data"), args.stall_ms, log)
        results = {k: [] for k in KINDS}
        for i in range(args.drills):
            for kind in KINDS:
                r = drill(kind, server, procs, src, source_frames, args, rng)
                results[kind].append(r)
                print(f"{kind} {i + 1}/{args.drills}: fault at {r['fault_after']:.2f} s, "
                      + (f"backup started {r['lag']:.0f} ms after the primary, "
                         if r["lag"] is not None else "") +
                      f"gapMs {r['gap']}, observed gap {fmt(r['observed'])} ms "
                      f"(poll {r['resolution']:.1f} ms), detection {r['detect']:.0f} ms, "
                      f"aligned {r['aligned']}, lostMs {r['lost_ms']}, "
                      f"video frames {r['frames']} lost {r['lost']} duplicated {r['dup']} "
                      f"{describe(r['content'])}repeated pts {r['repeated_pts']}, "
                      f"decode errors {r['decode_errors']}, "
                      f"discontinuities {r['discontinuities']}, failover events {r['switches']}: "
                      f"{json.dumps(r['event'], separators=(',', ':'))}",
                      file=sys.stderr, flush=True)
        procs.kill_all()
        server.stop()

        med = statistics.median
        names = {"kill": "kill: primary SIGKILL, backup takes over",
                 "stall": f"stall: primary SIGSTOP, noticed after {args.stall_ms} ms",
                 "restart": "peer for kill: encoder killed, a new one started at once",
                 "stall-restart": f"peer for stall: encoder stopped, restarted after "
                                  f"{args.stall_ms} ms"}
        print(f"\n{args.seconds} s source, H.264 1280x720 {FPS} fps (1 s GOP) + AAC, "
              f"{args.drills} drills per row, seed {seed}\n")
        print("| scenario | drills | aligned | gapMs median / max | observed gap median / max "
              "| target: detection + 1 frame, median | within target | detection median "
              "| frames lost | frames duplicated "
              "| gap vs peer |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for kind in KINDS:
            rs = results[kind]
            gaps = [r["gap"] for r in rs]
            obs = [r["observed"] for r in rs if r["observed"] is not None]
            lost = sum(r["lost"] or 0 for r in rs)
            target = None
            if kind in PEER:
                # Per drill: the detection the bench saw, plus one frame.
                target = med([r["detect"] + FRAME_MS for r in rs])
                aligned = str(sum(1 for r in rs if r["aligned"]))
                met = sum(1 for r in rs if r["observed"] is not None and
                          r["observed"] <= r["detect"] + FRAME_MS)
                within = f"{met}/{len(rs)}"
                peer_obs = [r["observed"] for r in results[PEER[kind]]
                            if r["observed"] is not None]
                ratio = f"{med(obs) / med(peer_obs):.2f}x" if obs and peer_obs else "-"
                summary(args, f"Failover, {kind} ({len(rs)} drills)",
                        "output gap seen by a viewer, median ms", fmt(med(obs) if obs else None),
                        "the encoder restarted, no backup",
                        fmt(med(peer_obs) if peer_obs else None), ratio)
                lost = str(lost)
            else:
                aligned, within, ratio, lost = "-", "-", "(peer)", f"~{lost}"
            print(f"| {names[kind]} | {len(rs)} | {aligned} "
                  f"| {med(gaps):.0f} / {max(gaps)} ms "
                  f"| {fmt(med(obs) if obs else None)} / {fmt(max(obs) if obs else None)} ms "
                  f"| {'-' if target is None else f'{target:.0f} ms'} | {within} "
                  f"| {med([r['detect'] for r in rs]):.0f} ms "
                  f"| {lost} | {sum(r['dup'] for r in rs)} | {ratio} |")
        checked = [r for k in PEER for r in results[k]]
        whole = sum(1 for r in checked if r["content"]["covered"] == (0, len(source_frames) - 1))
        same_pts = sum(1 for r in checked if r["content"]["offsets"] == {0})
        print(f"\nframes: the DVR playlist decoded and each picture matched to the source's "
              f"{len(source_frames)} (MD5 of the decoded picture); the output starts at the "
              f"source's first picture and ends at its last in {whole}/{len(checked)} drills, and "
              f"shows every picture at the source's own pts in {same_pts}/{len(checked)} (an "
              f"unaligned switch rebases the backup)")
        print("observed gap: longest time without a new output frame (audio or video) across "
              "the switch, polled from the admin API every "
              f"{med([r['resolution'] for k in results for r in results[k]]):.1f} ms (median); "
              "gapMs: the server's own, last frame before the switch to the first after")
        lags = [r["lag"] for k in PEER for r in results[k]]
        print(f"the backup's publish_start came {med(lags):.0f} ms after the primary's (median; "
              f"{min(lags):.0f} to {max(lags):.0f}): two processes start apart and -re keeps "
              "that lag, which an aligned switch waits out (both gaps include that wait)")
        print("detection: from the signal to the failover event, as the bench sees it (for a "
              "peer: to the resume); within target: drills whose observed gap is at most their "
              "own detection + one frame (a kill is noticed at once; a stall after --stall-ms, "
              "on the server's 50 ms timer)")
        print("peers: lost is the live time in the gap, in frames (an estimate); duplicated, "
              "video packets of the restarted encoder whose pts repeats one already sent")
        print("\nmachine: " + "\n         ".join(machine()))
        print("commands:")
        print("  " + " ".join(source_cmd("$TMP/src.flv", args.seconds)))
        print("  " + " ".join(server.cmd).replace(work, "$TMP"))
        print("  " + " ".join(ffmpeg_publish("$TMP/src.flv", "rtmp://127.0.0.1:$PORT/kLive/"
                                              "$ENTRY.p/1?t=$TOKEN")) +
              "   # and .b for the backup; a peer's restart adds -t (the time left)")
        print("  ffmpeg -v error -nostdin -copyts -i $TMP/data/media/$ENTRY/hls/1/dvr.m3u8 "
              "-map 0:v:0 -fps_mode passthrough -f framemd5 -   # and the same of src.flv")
        print("  ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,dts_time,flags "
              "-of csv=p=0 $TMP/data/media/$ENTRY/hls/1/dvr.m3u8")
        print("  GET http://127.0.0.1:$HTTP/api/v1/entries/$ENTRY/streams/1 (failover.framesOut)")
    finally:
        procs.kill_all()
        if server is not None:
            server.stop()
        log.close()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
