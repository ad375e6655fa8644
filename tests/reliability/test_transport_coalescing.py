"""An answer's head goes out in one send with its body, and never later than it would have alone: held
only until the next write, the end of the loop's pass, an EOF from the client or any other use of the
connection; a ``100 Continue`` is never held."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from raw_http import read_to_end

from mock_server.connection_transport import ConnectionTransport
from mock_server.settings import Settings
from mock_server.testing.server import LiveServer

SOCKET_TIMEOUT = 10.0
COMMENTS = "/qubs/integrations/v1/acme/reporting/appointments/A123456/comments"


class Recorder:
    """A transport that records what is done to it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.calls.append(("write", bytes(data)))

    def writelines(self, chunks: Any) -> None:
        self.calls.append(("writelines", [bytes(chunk) for chunk in chunks]))

    def write_eof(self) -> None:
        self.calls.append(("write_eof", None))

    def close(self) -> None:
        self.calls.append(("close", None))

    def abort(self) -> None:
        self.calls.append(("abort", None))

    def is_closing(self) -> bool:
        return False


class Protocol:
    def __init__(self) -> None:
        self.soon: list[Any] = []
        self.loop = self

    def call_soon(self, callback: Any) -> None:
        self.soon.append(callback)

    def _input_pending(self) -> bool:
        return False


@pytest.fixture
def held() -> Iterator[tuple[ConnectionTransport, Recorder, Protocol]]:
    recorder, protocol = Recorder(), Protocol()
    proxy = ConnectionTransport(recorder, protocol)  # type: ignore[arg-type]
    proxy.hold_next = True
    yield proxy, recorder, protocol


def test_the_head_goes_out_with_the_body_in_one_call(held: Any) -> None:
    proxy, recorder, protocol = held
    proxy.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert recorder.calls == []
    proxy.write(b"body")
    proxy.write(b"more")
    assert recorder.calls == [("writelines", [b"HTTP/1.1 200 OK\r\n\r\n", b"body"]), ("write", b"more")]
    protocol.soon[0]()  # the end of the loop's pass finds nothing left
    assert len(recorder.calls) == 2


@pytest.mark.parametrize("then", ["loop pass", "close", "write_eof", "writelines"])
def test_a_held_head_goes_out_before_anything_else_happens(held: Any, then: str) -> None:
    proxy, recorder, protocol = held
    proxy.write(b"HEAD-ONLY")
    if then == "loop pass":
        protocol.soon[0]()
    elif then == "writelines":
        proxy.writelines([b"x"])
    else:
        getattr(proxy, then)()
    assert recorder.calls[0] == ("write", b"HEAD-ONLY")


def test_a_continue_is_sent_at_once_and_the_head_after_it_is_still_held(held: Any) -> None:
    proxy, recorder, _ = held
    proxy.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert recorder.calls == [("write", b"HTTP/1.1 100 Continue\r\n\r\n")]
    proxy.write(b"HTTP/1.1 201 Created\r\n\r\n")
    proxy.write(b"{}")
    assert recorder.calls[1] == ("writelines", [b"HTTP/1.1 201 Created\r\n\r\n", b"{}"])


def test_a_held_head_is_dropped_only_with_a_lost_connection(held: Any) -> None:
    proxy, recorder, protocol = held
    proxy.write(b"HEAD-ONLY")
    proxy.lost = True
    protocol.soon[0]()
    proxy.abort()
    assert recorder.calls == [("abort", None)]


@pytest.fixture(scope="module", params=["httptools", "h11"])
def server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with LiveServer(Settings(seed=5, default_scenarios=False), parser=request.param) as live:
        yield live


def test_a_head_answer_reaches_a_client_that_closed_its_side(server: LiveServer) -> None:
    """HEAD has no body write to carry the head: it goes out when the client's EOF arrives at the latest."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(b"HEAD /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        assert read_to_end(sock).startswith(b"HTTP/1.1 200 ")


def test_a_client_waiting_for_100_continue_gets_it_before_sending_its_body(server: LiveServer) -> None:
    body = b'{"comment": "seen"}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(
            f"POST {COMMENTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer qubs-dev-token\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 ")
        sock.sendall(body)
        answer = read_to_end(sock)
    assert answer.startswith(b"HTTP/1.1 ") and not answer.startswith(b"HTTP/1.1 100 ")
    assert answer.count(b"HTTP/1.1 ") == 1
