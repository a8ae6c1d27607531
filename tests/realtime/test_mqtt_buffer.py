"""The buffered socket under paho: whole PUBLISH packets are taken from the buffer in one step,
everything else (other packets, QoS 2, a packet not all received yet) is left for paho to read
piece by piece, byte for byte as it arrived."""

from __future__ import annotations

from realtime.mqtt import _BufferedSocket


class _Arrivals:
    """A non-blocking socket that receives the given chunks, one per `recv`."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)

    def recv(self, size: int) -> bytes:
        if not self.chunks:
            raise BlockingIOError
        return self.chunks.pop(0)


def _publish(topic: bytes, payload: bytes, qos: int = 0, mid: int = 7) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + (mid.to_bytes(2, "big") if qos else b"")
    body += payload
    length, remaining = bytearray(), len(body)
    while True:
        byte, remaining = remaining & 0x7F, remaining >> 7
        length.append(byte | (0x80 if remaining else 0))
        if not remaining:
            break
    return bytes([0x30 | qos << 1]) + bytes(length) + body


def test_whole_publish_packets_are_taken_and_the_rest_is_left_as_it_came() -> None:
    small, large = _publish(b"a/b", b"x"), _publish(b"a/c", b"y" * 300, qos=1)
    qos2, ping = _publish(b"a/d", b"z", qos=2), b"\xd0\x00"
    cut = _publish(b"a/e", b"w" * 50)
    sock = _Arrivals(small + large + qos2 + ping + cut[:20], cut[20:])
    buffered = _BufferedSocket(sock)
    assert buffered.publish_packet() is None  # nothing received yet
    assert buffered.recv(1) == small[:1]  # paho's first read fills the buffer
    assert buffered.recv(len(small) - 1) == small[1:]
    assert buffered.publish_packet() == (large[0], large[3:])  # a two-byte remaining length
    assert buffered.publish_packet() is None  # QoS 2: paho's own handshake
    assert buffered.recv(len(qos2)) == qos2
    assert buffered.publish_packet() is None  # not a PUBLISH
    assert buffered.recv(2) == ping
    assert buffered.publish_packet() is None  # not all received: paho reads it in pieces
    assert buffered.pending() == 20
    assert buffered.recv(100) + buffered.recv(100) == cut
    assert buffered.pending() == 0
