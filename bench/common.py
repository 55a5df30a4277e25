"""What the benchmark scripts share: the test source and process CPU time."""
import json
import os
import subprocess

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_seconds(path):
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_seconds(*pids):
    """User + system CPU seconds of the processes, from /proc."""
    return sum(_stat_seconds(f"/proc/{pid}/stat") for pid in pids)


def thread_cpu_seconds(*pids):
    """User + system CPU seconds of each thread of the processes, from /proc."""
    return [_stat_seconds(f"/proc/{pid}/task/{tid}/stat")
            for pid in pids for tid in os.listdir(f"/proc/{pid}/task")]


def make_source(path, seconds):
    """A 3 Mbit/s 720p30 H.264 (2 s GOP) + 128 kbit/s AAC file; the container
    follows the extension of `path`."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
         "-b:v", "3M", "-maxrate", "3M", "-bufsize", "6M", "-g", "60",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-shortest", path],
        check=True)


def add_summary_option(ap):
    ap.add_argument("--summary", metavar="FILE",
                    help="append the headline figures to FILE, one JSON object per line "
                         "(bench/run.py gathers them into one table)")


def summary(args, scenario, measure, livegate, peer, peer_value, ratio, target=""):
    """One headline figure: LiveGate's, the peer's, and their ratio, as text."""
    if not getattr(args, "summary", None):
        return
    with open(args.summary, "a") as f:
        f.write(json.dumps({"scenario": scenario, "measure": measure, "livegate": livegate,
                            "peer": peer, "peerValue": peer_value, "ratio": ratio,
                            "target": target}) + "\n")


def cpu_model():
    """The processor's model name, from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"
