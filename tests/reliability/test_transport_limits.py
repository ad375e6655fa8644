"""The transport's bounds over a real socket: header size and count, request-head and body deadlines,
idle keep-alive connections. Deadlines are set to a fraction of a second through settings, so each
cut-off is observed in well under the socket timeout.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from raw_http import read_to_end

from mock_server.settings import Settings
from mock_server.testing.server import LiveServer

DEADLINE = 0.5  # seconds: header, body and keep-alive deadlines of the server under test
SOCKET_TIMEOUT = 10.0


def _strict_settings() -> Settings:
    return Settings(
        seed=3,
        header_timeout=DEADLINE,
        body_timeout=DEADLINE,
        keep_alive_timeout=DEADLINE,
        default_scenarios=False,
    )


@pytest.fixture(scope="module")
def strict() -> Iterator[LiveServer]:
    with LiveServer(_strict_settings()) as server:
        yield server


@pytest.fixture(scope="module", params=["httptools", "h11"])
def either_parser(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with LiveServer(_strict_settings(), parser=request.param) as server:
        yield server


def _connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT)
    return sock


def _closed_within(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    started = time.monotonic()
    data = read_to_end(sock)
    return data, time.monotonic() - started


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("/__admin/health", b'"error"'),
        ("/s3/staging-thundermaps-uploads/k", b"<Code>RequestHeaderSectionTooLarge</Code>"),
    ],
)
@pytest.mark.parametrize(
    "extra", [b"X-Big: " + b"a" * 64 * 1024 + b"\r\n", b"X-Big: " + b"a" * 9000 + b"\r\n"]
)
def test_header_section_over_8_kib_is_400(strict: LiveServer, path: str, marker: bytes, extra: bytes) -> None:
    with _connect(strict) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + extra + b"\r\n")
        response = read_to_end(sock)
    assert response.startswith(b"HTTP/1.1 400 ")
    assert marker in response  # in the vendor's format, whether the head was parsed or cut off


@pytest.mark.parametrize(
    ("path", "content_type", "marker"),
    [
        (
            "/s3/staging-thundermaps-uploads/k?X-Amz-Signature=0",
            b"application/xml",
            b"<Code>RequestHeaderSectionTooLarge<",
        ),
        ("http://127.0.0.1/s3/b/k", b"application/xml", b"<Code>RequestHeaderSectionTooLarge<"),
        ("http://[/s3/b/k", b"application/xml", b"<Code>RequestHeaderSectionTooLarge<"),  # no URL parser
        ("/~s/qa/s3/b/k", b"application/xml", b"<Code>RequestHeaderSectionTooLarge<"),
        (
            "/qubs/integrations/v1/acme/reporting/pending",
            b"application/problem+json",
            b"urn:qubs:integrations:bad-request",
        ),
        ("/decoda/attachments", b"application/json", b'{"detail":"Your request header section'),
        ("/__admin/health", b"application/json", b'{"error":{"status":400'),
    ],
)
def test_head_cut_off_unparsed_is_refused_in_the_vendors_format(
    strict: LiveServer, path: str, content_type: bytes, marker: bytes
) -> None:
    """A head that never ends is refused from its request line alone, as a complete oversized head is."""
    with _connect(strict) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ".encode())
        try:
            for _ in range(64):
                sock.sendall(b"a" * 16 * 1024)
        except OSError:
            pass  # refused and lingered over; the rest was dropped
        head, _, body = read_to_end(sock).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"content-type: " + content_type in head.lower()
    assert b"connection: close" in head.lower()
    assert b"\r\ndate: " in head.lower()
    assert body.startswith(marker) or marker in body
    assert b"content-length: %d" % len(body) in head.lower()


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /s3/staging-thundermaps-uploads/k HTTP/1.1\r\nX-Big: " + b"a" * 64 * 1024 + b"\r\n", b"400"),
        (b"POST /__admin/clock HTTP/1.1\r\nContent-Length: 4000000\r\nConnection: close\r\n", b"413"),
    ],
    ids=["oversized-head", "body-refused-before-read"],
)
def test_answer_that_closes_survives_the_clients_unread_bytes(
    either_parser: LiveServer, head: bytes, status: bytes
) -> None:
    """The server closes lingering: the client still sending gets the answer, never a connection reset."""
    for _ in range(5):  # closing at once made the kernel reset nearly every such connection
        with _connect(either_parser) as sock:
            sock.sendall(head + b"Host: 127.0.0.1\r\n\r\n")
            if status == b"413":
                sock.sendall(b"{" * 4_000_000)
            assert read_to_end(sock).startswith(b"HTTP/1.1 " + status + b" ")


def test_too_many_header_lines_is_400(strict: LiveServer) -> None:
    lines = b"".join(b"X-N%d: 1\r\n" % n for n in range(150))
    with _connect(strict) as sock:
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + lines + b"\r\n")
        response = read_to_end(sock)
    assert response.startswith(b"HTTP/1.1 400 ")
    assert b"151 lines" in response


def test_64_mib_header_does_not_stall_other_clients(strict: LiveServer) -> None:
    with _connect(strict) as hostile, _connect(strict) as other:
        hostile.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        try:  # the server gives up after a few KiB; the rest of 64 MiB is never buffered
            for _ in range(64 * 16):
                hostile.sendall(b"a" * 64 * 1024)
        except OSError:
            pass
        other.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert read_to_end(other).startswith(b"HTTP/1.1 200 ")


def test_silent_connection_is_closed_after_the_header_deadline(strict: LiveServer) -> None:
    with _connect(strict) as sock:
        data, waited = _closed_within(sock, SOCKET_TIMEOUT)
    assert data == b""
    assert waited < SOCKET_TIMEOUT / 2


def test_slowly_sent_request_head_is_cut_off(strict: LiveServer) -> None:
    closed = False
    started = time.monotonic()
    with _connect(strict) as sock:
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\n")
        for n in range(100):  # one header line per DEADLINE/4: the deadline covers the whole head
            try:
                sock.sendall(b"X-Slow-%d: 1\r\n" % n)
            except OSError:
                closed = True
            if closed or _peek_closed(sock):
                closed = True
                break
            time.sleep(DEADLINE / 4)
    assert closed
    assert time.monotonic() - started < SOCKET_TIMEOUT / 2


def _peek_closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False


@pytest.mark.parametrize(
    ("target", "declared"),
    [
        ("/__admin/clock", 1000),  # under the admin body cap, so the guard waits for the bytes
        ("/qubs/integrations/v1/acme/reporting/appointments/A123456/comments", 1_000_000_000),
    ],
)
def test_declared_body_that_never_arrives_is_cut_off(strict: LiveServer, target: str, declared: int) -> None:
    with _connect(strict) as sock:
        sock.sendall(
            f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer qubs-dev-token\r\n"
            f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n".encode()
            + b'{"advance"'
        )
        data, waited = _closed_within(sock, SOCKET_TIMEOUT)
    assert data == b""
    assert DEADLINE * 0.8 < waited < SOCKET_TIMEOUT / 2


def test_presigned_upload_that_stalls_is_cut_off_and_stores_nothing(strict: LiveServer) -> None:
    storage = strict.sandbox.storage
    issued = storage.presign_put(
        "http://127.0.0.1",
        "staging-thundermaps-uploads",
        "stall/1.bin",
        expires_in=600,
        content_type=None,
        max_bytes=2 * 1024 * 1024,
    )
    target = issued.url.split("127.0.0.1", 1)[1]
    with _connect(strict) as sock:
        sock.sendall(
            f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n".encode()
            + b"x" * 10
        )
        data, waited = _closed_within(sock, SOCKET_TIMEOUT)
    assert data == b"", "cut off, not answered: the handler was still waiting for the body"
    assert DEADLINE * 0.8 < waited < SOCKET_TIMEOUT / 2
    assert strict.sandbox.storage.objects.head("staging-thundermaps-uploads", "stall/1.bin") is None


def test_slow_but_steady_body_is_not_cut(strict: LiveServer) -> None:
    body = b'{"advance": 0}'
    with _connect(strict) as sock:
        sock.sendall(
            b"POST /__admin/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        for byte in range(len(body)):  # the whole body takes longer than the deadline, no gap does
            sock.sendall(body[byte : byte + 1])
            time.sleep(DEADLINE / 8)
        assert read_to_end(sock).startswith(b"HTTP/1.1 200 ")


def test_idle_keep_alive_connection_is_closed(strict: LiveServer) -> None:
    with _connect(strict) as sock:
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data, waited = _closed_within(sock, SOCKET_TIMEOUT)
    assert data.startswith(b"HTTP/1.1 200 ")
    assert waited < SOCKET_TIMEOUT / 2


def test_request_head_split_across_packets_and_body_in_the_same_packet(strict: LiveServer) -> None:
    """The head-size count stops at the blank line, wherever packets split it; the body is not head."""
    body = b'{"advance": 0}' + b" " * 100_000
    head = b"POST /__admin/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
    with _connect(strict) as sock:
        sock.sendall(head[:-1])
        time.sleep(0.05)  # let the server read the head without its last byte
        sock.sendall(head[-1:] + body)
        assert read_to_end(sock).startswith(b"HTTP/1.1 200 ")
    with _connect(strict) as sock:
        sock.sendall(head + body)
        assert read_to_end(sock).startswith(b"HTTP/1.1 200 ")
