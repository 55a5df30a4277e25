"""Garbage on every listener: RTMP, RTMPS, SRT and HTTP.

Each attempt must be rejected, which a client sees as the server closing the
connection (or, for SRT, as a refused caller); the server must stay up, its
admin API must answer, and fresh publishes over RTMP, RTMPS and SRT right
afterwards must arrive frame for frame. The handshake timeout is short
(HANDSHAKE_MS) so that a peer that stops in the middle of a handshake is
dropped quickly.
"""

import os
import socket
import ssl
import subprocess
import time
import unittest

from fault_support import (FaultScenario, FFMPEG, OPENSSL, closed_by_peer, log, make_sources)

MEDIA = {}
HANDSHAKE_MS = 3000
CLOSE_TIMEOUT = 15  # the handshake timeout, and the sweep after it, on a loaded machine

HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: fault\r\n\r\n"
# A TLS 1.2 ClientHello record cut after its first bytes: the record header
# announces 512 bytes, the handshake header 508, and 40 follow.
TRUNCATED_CLIENT_HELLO = (b"\x16\x03\x01\x02\x00" + b"\x01\x00\x01\xfc" + b"\x03\x03" +
                          os.urandom(32) + b"\x00\x00")


def setUpModule():
    make_sources(MEDIA, "lg-fault-garbage-", {"src": (4, 440)})


def rtmp_c0c1():
    return b"\x03" + b"\x00" * 8 + os.urandom(1528)


class GarbageTest(FaultScenario):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not OPENSSL:
            raise unittest.SkipTest("needs the openssl program")
        server = cls.server = cls.start_fault_server(
            "server", "--handshake-timeout-ms", str(HANDSHAKE_MS), rtmps=True, srt=True)
        listening = server.listening
        cls.ports = {"rtmp": listening["rtmp"], "rtmps": listening["rtmps"],
                     "http": listening["http"]}
        cls.srt_port = listening["srt"]
        cls.results = {}
        cls.run_garbage()
        cls.alive = server.proc.poll() is None
        # Fresh publishes over each protocol, at once, each to its own stream.
        entry = server.entry
        urls = {
            "rtmp": entry["primary"]["rtmp"]["ffmpeg"].replace("/1?t=", "/rtmp?t="),
            "rtmps": entry["primary"]["rtmps"]["ffmpeg"].replace("/1?t=", "/rtmps?t="),
        }
        procs = {p: cls.push(u, MEDIA["src"], p) for p, u in urls.items()}
        srt_url = entry["primary"]["srt"]["ffmpeg"].replace("%2F1%2C", "%2Fsrt%2C") + "&linger=5"
        assert "%2Fsrt%2C" in srt_url, srt_url
        procs["srt"] = cls.push(srt_url, MEDIA["src"], "srt", fmt="mpegts")
        cls.fresh = {p: cls.finish(proc) for p, proc in procs.items()}
        cls.fresh_dvr = {}
        for stream in ("rtmp", "rtmps", "srt"):
            url = cls.dvr_url(server, entry["entryId"], stream)
            cls.wait_ended(url)
            cls.fresh_dvr[stream] = url
        cls.rejects = [e for e in server.events if e["event"] == "publish_reject"]

    @classmethod
    def attempt(cls, name, port, payload, wait_close=True, before=None):
        """Connects, sends `before` (if any) and `payload`, and records
        whether the server closed the connection within CLOSE_TIMEOUT."""
        began = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            if before:
                before(s)
            try:
                s.sendall(payload)
            except OSError:
                pass  # already closed by the server: rejected
            closed = closed_by_peer(s, CLOSE_TIMEOUT) if wait_close else None
        cls.results[name] = (closed, time.monotonic() - began)

    @classmethod
    def tls_then(cls, name, port, payload):
        """A TLS session (no certificate check: it is self-signed) that
        carries `payload` instead of RTMP."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        began = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw) as s:
                s.sendall(payload)
                closed = closed_by_peer(s, CLOSE_TIMEOUT)
        cls.results[name] = (closed, time.monotonic() - began)

    @classmethod
    def openssl_client(cls, name, port):
        """openssl s_client's TLS handshake against a port that is not TLS:
        it must fail (not hang) because the server hangs up."""
        began = time.monotonic()
        try:
            done = subprocess.run(
                [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "x"],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=CLOSE_TIMEOUT)
            closed = done.returncode != 0 and "BEGIN CERTIFICATE" not in done.stdout
        except subprocess.TimeoutExpired:
            closed = False
        cls.results[name] = (closed, time.monotonic() - began)

    @classmethod
    def run_garbage(cls):
        rtmp, rtmps, http = cls.ports["rtmp"], cls.ports["rtmps"], cls.ports["http"]
        random_bytes = os.urandom(8192)
        # RTMP
        cls.attempt("rtmp: random bytes", rtmp, random_bytes)
        cls.attempt("rtmp: HTTP request", rtmp, HTTP_REQUEST)
        cls.openssl_client("rtmp: TLS handshake (openssl s_client)", rtmp)
        cls.attempt("rtmp: truncated handshake (C0 + half C1)", rtmp, rtmp_c0c1()[:700])
        cls.attempt("rtmp: version byte 6 (RTMPE)", rtmp, b"\x06" + os.urandom(1536))

        def handshake(s):
            s.sendall(rtmp_c0c1())
            got = b""
            while len(got) < 3073:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            s.sendall(got[1:1537])

        cls.attempt("rtmp: random chunks after the handshake", rtmp, os.urandom(8192),
                    before=handshake)
        # A chunk header announcing a 16 MiB message, then nothing.
        cls.attempt("rtmp: huge message announced, then silence", rtmp,
                    b"\x03\x00\x00\x00\xff\xff\xff\x14\x00\x00\x00\x00" + b"\x02" * 64,
                    before=handshake)
        # RTMPS
        cls.attempt("rtmps: random bytes", rtmps, random_bytes)
        cls.attempt("rtmps: plain RTMP handshake", rtmps, rtmp_c0c1())
        cls.attempt("rtmps: HTTP request", rtmps, HTTP_REQUEST)
        cls.attempt("rtmps: truncated TLS ClientHello", rtmps, TRUNCATED_CLIENT_HELLO)
        cls.tls_then("rtmps: random bytes inside TLS", rtmps, random_bytes)
        cls.tls_then("rtmps: HTTP inside TLS", rtmps, HTTP_REQUEST)
        # HTTP
        cls.attempt("http: random bytes", http, random_bytes + b"\r\n\r\n")
        # The HTTP server waits for the end of a request's head (its idle
        # timeout is 30 s): these are complete, and nonsense.
        cls.attempt("http: RTMP handshake", http, rtmp_c0c1() + b"\r\n\r\n")
        cls.openssl_client("http: TLS handshake (openssl s_client)", http)
        # SRT: datagrams that are not SRT, then callers with a bad stream id.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            for size in (1, 16, 64, 188, 1316, 1500):
                for _ in range(10):
                    u.sendto(os.urandom(size), ("127.0.0.1", cls.srt_port))
        for name, stream_id in (("srt: malformed stream id", "%00%ff garbage"),
                                ("srt: unknown entry", "%23%21%3A%3Ar%3D1_zzzzzzzz.p%2F1")):
            began = time.monotonic()
            done = subprocess.run(
                [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                 "-i", "testsrc2=size=64x64:rate=5", "-t", "1", "-c:v", "libx264",
                 "-f", "mpegts",
                 f"srt://127.0.0.1:{cls.srt_port}?streamid={stream_id}&connect_timeout=5000"],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
            cls.results[name] = (done.returncode != 0, time.monotonic() - began)

    def test_every_attempt_is_rejected(self):
        lines = [f"  {name}: {'rejected' if ok else 'NOT rejected'} in {secs:.1f} s"
                 for name, (ok, secs) in self.results.items()]
        log(f"{type(self).__name__}:\n" + "\n".join(lines))
        self.assertEqual([n for n, (ok, _) in self.results.items() if not ok], [])

    def test_rejects_reach_the_host(self):
        reasons = {(e["protocol"], e["status"]) for e in self.rejects}
        # A TLS failure and a refused SRT caller are each reported with a reason.
        self.assertTrue(any(p == "rtmps" for p, _ in reasons), self.rejects)
        self.assertTrue(any(p == "srt" for p, _ in reasons), self.rejects)
        for e in self.rejects:
            self.assertTrue(e["reason"], e)

    def test_server_healthy(self):
        self.assertTrue(self.alive, self.server.stderr_text())
        self.assertAlive(self.server)

    def test_fresh_publishes_arrive(self):
        for protocol, (code, stderr) in self.fresh.items():
            with self.subTest(protocol=protocol):
                self.assertEqual(code, 0, stderr)
                got = self.assertCleanDvr(self.fresh_dvr[protocol], protocol)
                self.assertEqual(got, MEDIA["src.md5"])


if __name__ == "__main__":
    unittest.main()
