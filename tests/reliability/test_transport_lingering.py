"""Connections the server answers while the client is still sending, over a real socket: a lingering close
ends on its own time cap, an early answer leaves a kept-alive connection usable for the next (pipelined)
request, a pipelined oversized head waits for the answers before it, and an ``Expect: 100-continue``
request answered before its body was asked for closes the connection.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from raw_http import read_to_end

from mock_server import transport
from mock_server.settings import Settings
from mock_server.testing.server import LiveServer

SOCKET_TIMEOUT = 10.0
COMMENTS = "/qubs/integrations/v1/acme/reporting/appointments/A123456/comments"
SLOW = "/qubs/integrations/v1/acme/reporting/appointments/pending"
SLOW_SCENARIO = """scenarios:
  - name: slow-listing
    description: The listing takes a while, so requests pipelined behind it wait.
    rules:
      - match: {operation: qubs.listPendingAppointments}
        delay_ms: 400
        pass: true
"""


@pytest.fixture(scope="module", params=["httptools", "h11"])
def server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    settings = Settings(seed=5, header_timeout=5.0, body_timeout=5.0, default_scenarios=False)
    with LiveServer(settings, parser=request.param) as live:
        yield live


def _connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT)


def _statuses(data: bytes) -> list[bytes]:
    return [data[at + 9 : at + 12] for at in range(len(data)) if data.startswith(b"HTTP/1.1 ", at)]


def _open_connections(server: LiveServer) -> int:
    return len(server._server.server_state.connections)


def _wait_for(condition: object, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_lingering_connection_of_an_idle_client_is_closed_at_the_time_cap(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer came before the body; the client neither sends nor closes: the server still lets go."""
    monkeypatch.setattr(transport, "LINGER_SECONDS", 0.3)
    assert _wait_for(lambda: _open_connections(server) == 0, SOCKET_TIMEOUT)
    with _connect(server) as sock:
        sock.sendall(
            b"POST /__admin/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000\r\n"
            b"Connection: close\r\n\r\n" + b"{" * 200_000
        )
        assert read_to_end(sock).startswith(b"HTTP/1.1 413 ")  # answer, then FIN; the socket stays open here
        assert _wait_for(lambda: _open_connections(server) == 0, SOCKET_TIMEOUT)


def test_request_pipelined_after_an_early_answer_is_served(server: LiveServer) -> None:
    """The refused request's body is read and dropped; the next request, in the same packets, is answered."""
    refused = b"{" * 100_000
    body = b'{"advance": 0}' + b" " * 400_000  # no blank line in it: never mistaken for a request head
    with _connect(server) as sock:
        sock.sendall(
            f"POST {COMMENTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(refused)}\r\n\r\n".encode()
            + refused[:1000]
        )
        time.sleep(0.1)  # the 401 goes out while the body is still arriving
        sock.sendall(
            refused[1000:]
            + b"POST /__admin/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body[:1000]
        )
        time.sleep(0.1)  # the server reads the end of one body and the next head as one chunk
        sock.sendall(body[1000:])
        response = read_to_end(sock)
    assert _statuses(response) == [b"401", b"200"]
    assert response.rstrip().endswith(b"}")


def test_pipelined_oversized_head_is_refused_after_the_answer_before_it(server: LiveServer) -> None:
    """Its bytes are not gathered while the earlier request is served, and its 400 comes second."""
    with _connect(server) as admin:
        admin.sendall(
            b"POST /__admin/scenarios HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
            % (len(SLOW_SCENARIO), SLOW_SCENARIO.encode())
        )
        assert read_to_end(admin).startswith(b"HTTP/1.1 201 ")
    try:
        with _connect(server) as sock:
            sock.sendall(
                f"GET {SLOW} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
                + b"Authorization: Bearer qubs-dev-token\r\n\r\n"
                + b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
            )
            try:
                for _ in range(16):  # 4 MiB, far over the bound, while the listing is delayed
                    sock.sendall(b"a" * 256 * 1024)
            except OSError:
                pass  # the server stopped reading, then refused and stopped lingering
            response = read_to_end(sock)
    finally:
        server.sandbox.reset()
    assert _statuses(response) == [b"200", b"400"]
    refusal = response.rsplit(b"HTTP/1.1 400 ", 1)[1]
    # httptools: the admin API's JSON refusal; h11 refuses with its own plain text
    assert b"request header section exceeds" in refusal or b"Invalid HTTP request received." in refusal


def test_oversized_pipelined_head_is_not_read_while_the_earlier_request_is_served() -> None:
    settings = Settings(seed=5, default_scenarios=False)
    with LiveServer(settings) as live, _connect(live) as sock:
        with _connect(live) as admin:
            admin.sendall(
                b"POST /__admin/scenarios HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\n"
                b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
                % (len(SLOW_SCENARIO), SLOW_SCENARIO.encode())
            )
            assert read_to_end(admin).startswith(b"HTTP/1.1 201 ")
        sock.sendall(
            f"GET {SLOW} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer qubs-dev-token\r\n\r\n".encode()
            + b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
            + b"a" * 512 * 1024
        )

        def refusal_waits() -> bool:
            return any(
                p._refusal_pending and p.flow.read_paused for p in live._server.server_state.connections
            )

        assert _wait_for(refusal_waits, 0.35), "the server stops reading the refused head at once"
        assert _statuses(read_to_end(sock)) == [b"200", b"400"]


def test_expect_continue_answered_before_the_body_closes_the_connection(server: LiveServer) -> None:
    """The client sends no body after a final answer; kept alive, its next request would be read as one."""
    with _connect(server) as sock:
        sock.sendall(
            f"POST {COMMENTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\n"
            "Content-Type: application/json\r\nExpect: 100-continue\r\n"
            "Content-Length: 30000000\r\n\r\n".encode()
        )
        response = read_to_end(sock)  # ends: the server closed after its answer
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 ")
    assert b"connection: close" in head.lower()
    assert b"urn:qubs:integrations:unauthorized" in body


def test_expect_continue_with_the_body_read_keeps_the_connection(server: LiveServer) -> None:
    body = b'{"advance": 0}'
    with _connect(server) as sock:
        sock.sendall(
            b"POST /__admin/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 ")
        sock.sendall(body)
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        response = read_to_end(sock)
    assert _statuses(response) == [b"200", b"200"]
    assert b"connection: close" not in response.split(b"\r\n\r\n", 1)[0].lower()


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_body_of_an_early_answer_is_drained_under_the_body_deadline(parser: str) -> None:
    """Slow but steady, it outlasts the head deadline; the connection then serves the next request."""
    deadline = 0.4
    settings = Settings(
        seed=5, header_timeout=deadline, body_timeout=deadline, keep_alive_timeout=1, default_scenarios=False
    )
    body = b"{" * 12_000
    with LiveServer(settings, parser=parser) as live, _connect(live) as sock:
        sock.sendall(
            f"POST {COMMENTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        for at in range(0, len(body), 1000):  # 1.2 s in all, never a gap near the deadline
            sock.sendall(body[at : at + 1000])
            time.sleep(deadline / 4)
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert _statuses(read_to_end(sock)) == [b"401", b"200"]


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_connection_idle_after_a_drained_body_closes_at_the_keep_alive_deadline(parser: str) -> None:
    settings = Settings(seed=5, header_timeout=10.0, keep_alive_timeout=1, default_scenarios=False)
    body = b"{" * 200_000
    with LiveServer(settings, parser=parser) as live, _connect(live) as sock:
        sock.sendall(
            f"POST {COMMENTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        started = time.monotonic()
        response = read_to_end(sock)  # the server closes the idle connection, not the client
        waited = time.monotonic() - started
    assert _statuses(response) == [b"401"]
    assert waited < 5.0, "closed at the keep-alive deadline (1 s), not the head deadline (10 s)"
