"""1,000 idle TCP connections to the RTMP port, plus one real publisher.

The idle connections say nothing after connecting (the server's handshake
and idle timeouts are raised so that they stay). Each comes from its own
loopback address (127.0.x.y), as 1,000 separate clients would, so no limit
per source applies. The server's VmRSS (/proc/PID/status) is read before
they open and once it holds them all (its descriptor count says when), and
the memory per idle connection is printed.

The publisher's stream must be unaffected: every frame of its source in the
DVR playlist, a clean decode, rising timestamps. The idle connections must
all still be open afterwards, and the server must stop cleanly.
"""

import os
import resource
import socket
import time
import unittest

from fault_support import (FaultScenario, log, make_sources, process_rss_kib)

MEDIA = {}
IDLE = 1000


def setUpModule():
    make_sources(MEDIA, "lg-fault-idle-", {"src": (8, 440)})


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def raise_fd_limit(wanted):
    """Raises this process's soft descriptor limit (the server inherits it);
    None, or why it cannot reach `wanted`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return None
    if hard != resource.RLIM_INFINITY and hard < wanted:
        return f"the descriptor limit is {hard}, below {wanted}"
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return None


class IdleConnectionsTest(FaultScenario):

    @classmethod
    def setUpClass(cls):
        why = raise_fd_limit(IDLE * 2 + 256)
        if why:
            raise unittest.SkipTest(why)
        super().setUpClass()
        server = cls.server = cls.start_fault_server(
            "server", "--handshake-timeout-ms", "600000", "--idle-timeout-ms", "600000",
            "--max-connections", str(IDLE + 100))
        pid = server.proc.pid
        port = server.listening["rtmp"]
        time.sleep(1.0)  # settled after start
        cls.fds_before = open_fds(pid)
        cls.rss_before = process_rss_kib(pid)
        cls.sockets = []
        cls.addClassCleanup(cls._close_all)
        for i in range(IDLE):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            cls.sockets.append(s)
            s.bind((f"127.0.{1 + i // 250}.{2 + i % 250}", 0))
            s.settimeout(10)
            s.connect(("127.0.0.1", port))
        deadline = time.monotonic() + 60
        while open_fds(pid) < cls.fds_before + IDLE and time.monotonic() < deadline:
            time.sleep(0.2)
        cls.fds_with_idle = open_fds(pid)
        time.sleep(1.0)
        cls.rss_with_idle = process_rss_kib(pid)

        publisher = cls.push(server.entry["primary"]["rtmp"]["ffmpeg"], MEDIA["src"], "publisher")
        cls.publish_status = cls.finish(publisher)
        cls.stop = server.wait_event("publish_stop")
        cls.wait_ended(cls.dvr_url(server, server.entry["entryId"]))
        cls.rss_after_publish = process_rss_kib(pid)
        cls.still_open = sum(1 for s in cls.sockets if cls._is_open(s))

    @staticmethod
    def _is_open(sock):
        sock.setblocking(False)
        try:
            return sock.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) != b""
        except BlockingIOError:
            return True
        except OSError:
            return False

    @classmethod
    def _close_all(cls):
        for s in cls.sockets:
            s.close()

    def test_memory_per_idle_connection(self):
        self.assertGreaterEqual(self.fds_with_idle, self.fds_before + IDLE,
                                "the server did not accept every connection")
        per = (self.rss_with_idle - self.rss_before) / IDLE
        log(f"{type(self).__name__}: VmRSS {self.rss_before} KiB -> {self.rss_with_idle} KiB "
            f"with {IDLE} idle connections: {per:.1f} KiB per idle connection; "
            f"{self.rss_after_publish} KiB after the publish "
            f"(server: {os.path.basename(self.server.proc.args[0])})")

    def test_publisher_unaffected(self):
        self.assertEqual(self.publish_status[0], 0, self.publish_status[1])
        self.assertEqual(self.stop["status"], "LG_OK", self.stop)
        got = self.assertCleanDvr(self.dvr_url(self.server, self.server.entry["entryId"]))
        self.assertEqual(got, MEDIA["src.md5"])

    def test_idle_connections_kept(self):
        self.assertEqual(self.still_open, IDLE)
        self.assertAlive(self.server)


if __name__ == "__main__":
    unittest.main()
