"""A bare RTMP publisher over a Python socket, for faults no encoder makes on
purpose: a message cut in the middle of a chunk, a connection reset (RST)
instead of a close, a truncated handshake.

It speaks the plain handshake (C0, C1 of zeros and random bytes, C2 echoing
S1), then connect / createStream / publish in AMF0 with the default 128-byte
chunk size, and sends FLV tags read from a real file as RTMP messages.
Python standard library only.
"""

import os
import socket
import struct
import time
import urllib.parse

CHUNK_SIZE = 128
HANDSHAKE_SIZE = 1536


def amf_string(text):
    raw = text.encode()
    return b"\x02" + struct.pack(">H", len(raw)) + raw


def amf_number(value):
    return b"\x00" + struct.pack(">d", value)


def amf_object(fields):
    out = b"\x03"
    for key, value in fields.items():
        raw = key.encode()
        out += struct.pack(">H", len(raw)) + raw + value
    return out + b"\x00\x00\x09"


AMF_NULL = b"\x05"


def read_flv_tags(path):
    """[(type, timestamp ms, payload)] of an FLV file, in file order."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:3] != b"FLV":
        raise ValueError(f"{path} is not FLV")
    pos = struct.unpack(">I", data[5:9])[0] + 4  # header, then PreviousTagSize0
    tags = []
    while pos + 11 <= len(data):
        kind = data[pos]
        size = int.from_bytes(data[pos + 1:pos + 4], "big")
        ts = int.from_bytes(data[pos + 4:pos + 7], "big") | (data[pos + 7] << 24)
        payload = data[pos + 11:pos + 11 + size]
        if len(payload) < size:
            break
        tags.append((kind, ts, payload))
        pos += 11 + size + 4
    return tags


def is_video_keyframe(tag):
    kind, _, payload = tag
    return kind == 9 and payload and (payload[0] >> 4) == 1


def chunk_message(csid, kind, stream_id, timestamp, payload):
    """One message as chunks: a type-0 header, then type-3 continuations."""
    header = bytes([csid]) + min(timestamp, 0xFFFFFF).to_bytes(3, "big")
    header += len(payload).to_bytes(3, "big") + bytes([kind]) + struct.pack("<I", stream_id)
    if timestamp >= 0xFFFFFF:
        header += struct.pack(">I", timestamp)
    out = bytearray(header + payload[:CHUNK_SIZE])
    for i in range(CHUNK_SIZE, len(payload), CHUNK_SIZE):
        out += bytes([0xC0 | csid])
        if timestamp >= 0xFFFFFF:
            out += struct.pack(">I", timestamp)
        out += payload[i:i + CHUNK_SIZE]
    return bytes(out)


class RawPublisher:
    """One publishing connection. `url` is an entry's ffmpeg RTMP URL
    (rtmp://host:port/app.../stream?t=TOKEN)."""

    def __init__(self, url, timeout=10):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port
        path = parsed.path.lstrip("/")
        self.app, stream = path.rsplit("/", 1)
        self.stream = stream + (f"?{parsed.query}" if parsed.query else "")
        self.tc_url = f"rtmp://{self.host}:{self.port}/{self.app}"
        self.timeout = timeout
        self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
        self.received = bytearray()

    def _recv_until(self, marker):
        deadline = time.monotonic() + self.timeout
        while marker not in self.received:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {marker!r} from the server; got {bytes(self.received)!r}")
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(f"closed while waiting for {marker!r}: "
                                      f"{bytes(self.received)!r}")
            self.received += data
        at = self.received.index(marker) + len(marker)
        del self.received[:at]

    def _recv_exactly(self, size):
        while len(self.received) < size:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed during the handshake")
            self.received += data
        out = bytes(self.received[:size])
        del self.received[:size]
        return out

    def handshake(self):
        c1 = b"\x00" * 8 + os.urandom(HANDSHAKE_SIZE - 8)
        self.sock.sendall(b"\x03" + c1)
        s0s1 = self._recv_exactly(1 + HANDSHAKE_SIZE)
        self._recv_exactly(HANDSHAKE_SIZE)  # S2
        self.sock.sendall(s0s1[1:])  # C2 echoes S1

    def command(self, name, transaction, *args, stream_id=0):
        payload = amf_string(name) + amf_number(transaction) + b"".join(args)
        self.sock.sendall(chunk_message(3, 20, stream_id, 0, payload))

    def publish(self):
        """Handshake, connect, createStream and publish; returns once the
        server answered NetStream.Publish.Start."""
        self.handshake()
        self.command("connect", 1, amf_object({
            "app": amf_string(self.app), "type": amf_string("nonprivate"),
            "flashVer": amf_string("FMLE/3.0 (compatible; livegate-fault)"),
            "tcUrl": amf_string(self.tc_url)}))
        self._recv_until(b"NetConnection.Connect.Success")
        self.command("createStream", 2, AMF_NULL)
        self._recv_until(b"_result")
        self.command("publish", 3, AMF_NULL, amf_string(self.stream), amf_string("live"),
                     stream_id=1)
        self._recv_until(b"NetStream.Publish.Start")

    def send_tag(self, tag):
        kind, ts, payload = tag
        csid = {8: 4, 9: 6}.get(kind, 5)
        self.sock.sendall(chunk_message(csid, kind, 1, ts, payload))

    def send_half_chunk(self, tag):
        """The message's header and half of its first chunk, nothing more."""
        kind, ts, payload = tag
        whole = chunk_message({8: 4, 9: 6}.get(kind, 5), kind, 1, ts, payload)
        first_chunk = 12 + min(CHUNK_SIZE, len(payload))
        self.sock.sendall(whole[:12 + (first_chunk - 12) // 2])

    def reset(self):
        """Closes with a TCP RST (SO_LINGER on, timeout 0)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        self.sock.close()
