"""SRT over a lossy, slow link: the stream survives within SRT's latency budget.

* NetemLinkTest: the encoder runs in a network namespace the test makes,
  joined to the host's namespace by a veth pair whose two ends both carry
  `tc qdisc netem` loss and delay. Skips with a clear message where that
  cannot be built (not root, no `ip`, a kernel without the netem qdisc).
* RelayLinkTest: the same impairment made by a UDP relay in this process on
  127.0.0.1 (every datagram, either way, dropped at random or delayed), so
  that the property is checked on kernels without netem too.

Loss is LOSS_PERCENT each way, delay DELAY_MS each way, and the SRT latency
(server and caller) LATENCY_MS: at least four round trips, so every lost
packet can be retransmitted in time. The user's check is then exact: the DVR
playlist holds every video frame of the source, in order, decodes without an
error and its timestamps rise.

The loss stops CLEAN_TAIL_S before the source ends. In live mode a receiver
learns of a loss only from the gap before the next packet, and with periodic
NAK reports on the sender never retransmits on a timeout, so a lost final
datagram is lost for good (Haivision/srt#1722) whatever the server does;
that is SRT's behaviour, not a property of ours to check.
"""

import heapq
import os
import random
import shutil
import socket
import subprocess
import threading
import time
import unittest
import urllib.parse

from fault_support import hls_probe  # tests/integration, on the path
from fault_support import (FaultScenario, log, make_sources)

MEDIA = {}
LOSS_PERCENT = 5
DELAY_MS = 20
LATENCY_MS = 500  # >= 4 x RTT (2 x DELAY_MS), with room for a loaded machine
SOURCE_S = 8
CLEAN_TAIL_S = 2.5
LOSSY_S = SOURCE_S - CLEAN_TAIL_S  # from the encoder's first datagram
IP = shutil.which("ip")
TC = shutil.which("tc")


def setUpModule():
    make_sources(MEDIA, "lg-fault-srt-", {"src": (SOURCE_S, 440)})
    MEDIA["src.probe"] = hls_probe.probe_hls(MEDIA["src"])


class LossyRelay:
    """Forwards UDP between one caller and `target`, dropping each datagram
    with probability `loss` for `lossy_s` after the caller's first one, and
    delaying every datagram by `delay_s`."""

    def __init__(self, target, loss, delay_s, lossy_s, seed=7):
        self.target = target
        self.loss = loss
        self.delay = delay_s
        self.lossy_s = lossy_s
        self.started = None
        self.random = random.Random(seed)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.caller = None
        self.queue = []  # (due, seq, socket, data, address)
        self.seq = 0
        self.lock = threading.Condition()
        self.stopping = False
        self.dropped = {"to server": 0, "to caller": 0}
        self.passed = {"to server": 0, "to caller": 0}
        self.threads = [
            threading.Thread(target=self._receive, args=(self.front, True), daemon=True),
            threading.Thread(target=self._receive, args=(self.back, False), daemon=True),
            threading.Thread(target=self._send, daemon=True)]
        for t in self.threads:
            t.start()

    def _receive(self, sock, from_caller):
        sock.settimeout(0.2)
        direction = "to server" if from_caller else "to caller"
        while not self.stopping:
            try:
                data, address = sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if from_caller:
                self.caller = address
                if self.started is None:
                    self.started = time.monotonic()
                out, to = self.back, self.target
            else:
                if self.caller is None:
                    continue
                out, to = self.front, self.caller
            with self.lock:
                lossy = time.monotonic() - self.started < self.lossy_s
                if lossy and self.random.random() * 100 < self.loss:
                    self.dropped[direction] += 1
                    continue
                self.passed[direction] += 1
                self.seq += 1
                heapq.heappush(self.queue, (time.monotonic() + self.delay, self.seq, out, data, to))
                self.lock.notify()

    def _send(self):
        with self.lock:
            while not self.stopping:
                if not self.queue:
                    self.lock.wait(0.2)
                    continue
                due = self.queue[0][0]
                now = time.monotonic()
                if due > now:
                    self.lock.wait(due - now)
                    continue
                _, _, out, data, to = heapq.heappop(self.queue)
                try:
                    out.sendto(data, to)
                except OSError:
                    pass

    def close(self):
        self.stopping = True
        with self.lock:
            self.lock.notify_all()
        for t in self.threads:
            t.join(timeout=5)
        self.front.close()
        self.back.close()


class LossyScenario(FaultScenario):
    """Publishes the source over SRT through the impaired link; subclasses
    make the link in `link()` and return the caller's URL and a command
    prefix to run the caller with."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.link_setup()
        server = cls.server = cls.start_fault_server(
            "server", "--srt-latency", str(LATENCY_MS), *cls.server_args(), srt=True)
        url, prefix = cls.link()
        # ffmpeg's libsrt latency is in microseconds; linger keeps the last
        # frames (see docs/TESTING.md).
        url += f"&latency={LATENCY_MS * 1000}&linger=5"
        publisher = cls.push(url, MEDIA["src"], "srt", fmt="mpegts", prefix=prefix)
        cls.publish_status = cls.finish(publisher)
        cls.stop = server.wait_event("publish_stop", timeout=60)
        cls.dvr = cls.dvr_url(server, server.entry["entryId"])
        cls.wait_ended(cls.dvr)

    @classmethod
    def link_setup(cls):
        pass

    @classmethod
    def server_args(cls):
        return ()

    @classmethod
    def link(cls):
        raise NotImplementedError

    def test_every_frame_arrives(self):
        self.assertEqual(self.publish_status[0], 0, self.publish_status[1])
        got = self.assertCleanDvr(self.dvr, "over the lossy link")
        self.assertEqual(got, MEDIA["src.md5"])
        probe = hls_probe.probe_hls(self.dvr)
        lost_audio = (hls_probe.audio_frame_count(MEDIA["src.probe"]) -
                      hls_probe.audio_frame_count(probe))
        self.assertIn(lost_audio, (0, 1), hls_probe.summary(probe))
        self.assertAlive(self.server)


class RelayLinkTest(LossyScenario):

    @classmethod
    def link(cls):
        srt = cls.server.entry["primary"]["srt"]["ffmpeg"]
        parts = urllib.parse.urlsplit(srt)
        relay = cls.relay = LossyRelay(("127.0.0.1", parts.port), LOSS_PERCENT, DELAY_MS / 1000,
                                       LOSSY_S)
        cls.addClassCleanup(relay.close)
        return srt.replace(f":{parts.port}", f":{relay.port}", 1), ()

    def test_the_link_was_lossy(self):
        log(f"{type(self).__name__}: {LOSS_PERCENT}% loss for {LOSSY_S} s and {DELAY_MS} ms "
            f"each way, latency {LATENCY_MS} ms: dropped {self.relay.dropped}, passed {self.relay.passed}")
        self.assertGreater(self.relay.dropped["to server"], 0)


def _run(args, timeout=10):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


class NetemLinkTest(LossyScenario):
    """The encoder in namespace lgf-enc-PID; the host side of the veth pair
    is 10.213.0.1, the namespace side 10.213.0.2."""

    HOST_IP = "10.213.0.1"
    NS_IP = "10.213.0.2"

    @classmethod
    def link_setup(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("network namespaces need root")
        if not IP or not TC:
            raise unittest.SkipTest("needs the ip and tc programs (iproute2)")
        pid = os.getpid()
        ns = cls.ns = f"lgf-enc-{pid}"
        host_if, ns_if = f"lgfh{pid % 100000}", f"lgfn{pid % 100000}"
        steps = [[IP, "netns", "add", ns]]
        for step in steps:
            done = _run(step)
            if done.returncode != 0:
                raise unittest.SkipTest(f"cannot make a network namespace: {done.stderr.strip()}")
        cls.addClassCleanup(_run, [IP, "netns", "del", ns])
        for step in ([IP, "link", "add", host_if, "type", "veth", "peer", "name", ns_if],
                     [IP, "link", "set", ns_if, "netns", ns],
                     [IP, "addr", "add", f"{cls.HOST_IP}/30", "dev", host_if],
                     [IP, "link", "set", host_if, "up"],
                     [IP, "-n", ns, "addr", "add", f"{cls.NS_IP}/30", "dev", ns_if],
                     [IP, "-n", ns, "link", "set", ns_if, "up"],
                     [IP, "-n", ns, "link", "set", "lo", "up"]):
            done = _run(step)
            if done.returncode != 0:
                _run([IP, "link", "del", host_if])
                raise unittest.SkipTest(f"cannot make the veth pair ({' '.join(step)}): "
                                        f"{done.stderr.strip()}")
        cls.addClassCleanup(_run, [IP, "link", "del", host_if])
        netem = ["netem", "loss", f"{LOSS_PERCENT}%", "delay", f"{DELAY_MS}ms"]
        for step in ([TC, "qdisc", "add", "dev", host_if, "root", *netem],
                     [IP, "netns", "exec", ns, TC, "qdisc", "add", "dev", ns_if, "root", *netem]):
            done = _run(step)
            if done.returncode != 0:
                raise unittest.SkipTest(
                    "the kernel has no netem qdisc (sch_netem) to impair a link with "
                    f"({' '.join(step[-9:])}: {done.stderr.strip()}); RelayLinkTest covers "
                    "the same property with a UDP relay")
        cls.host_if, cls.ns_if = host_if, ns_if

    @classmethod
    def link(cls):
        # Started just before the encoder, so the loss ends a little before
        # LOSSY_S into the stream: the clean tail is at least CLEAN_TAIL_S.
        timer = threading.Timer(LOSSY_S, cls._end_loss)
        timer.start()
        cls.addClassCleanup(timer.cancel)
        srt = cls.server.entry["primary"]["srt"]["ffmpeg"]
        return srt.replace("srt://127.0.0.1:", f"srt://{cls.HOST_IP}:", 1), \
            [IP, "netns", "exec", cls.ns]

    @classmethod
    def _end_loss(cls):
        delay_only = ["netem", "delay", f"{DELAY_MS}ms"]
        _run([TC, "qdisc", "change", "dev", cls.host_if, "root", *delay_only])
        _run([IP, "netns", "exec", cls.ns, TC, "qdisc", "change", "dev", cls.ns_if, "root",
              *delay_only])

    def test_the_link_was_lossy(self):
        out = _run([TC, "-s", "qdisc", "show", "dev", self.host_if]).stdout
        log(f"{type(self).__name__}: {LOSS_PERCENT}% loss and {DELAY_MS} ms each way (netem), "
            f"latency {LATENCY_MS} ms:\n{out}")
        self.assertIn("netem", out)


del LossyScenario  # only its subclasses are tests

if __name__ == "__main__":
    unittest.main()
