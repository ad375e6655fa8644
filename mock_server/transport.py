"""How connections are served: uvicorn's httptools protocol with read deadlines and a head-size bound
(the guards in front of the app are in ``mock_server.header_guard``).

uvicorn bounds only the idle time between requests on a kept-alive connection. A client that opens a
connection and trickles its request head, or declares a large body and stops sending, would hold a
connection, a task and its spooled bytes forever. ``guarded_protocol`` adds two deadlines:

- the whole request head (request line and headers) must arrive within ``header_timeout`` seconds of
  the connection opening (or of the previous response ending, on a kept-alive connection);
- a request body may stall at most ``body_timeout`` seconds between two chunks (an idle timeout, as
  S3's ``RequestTimeout``: a slow but steady upload is not cut, a stopped one is).

Past a deadline the connection is closed; the handler sees a disconnect, so nothing half-received is
stored. While the server itself stops reading (back-pressure on a slow handler) the body deadline
waits. A request head larger than ``max_header_bytes`` plus room for the request line is refused with
400 as its bytes arrive, before the parser buffers it (a 64 MiB header is cut after a few KiB; with the
h11 parser, ``h11_max_incomplete_event_size`` does the same, with h11's plain-text 400). The refusal is
rendered from the request line alone in the format of the vendor its path belongs to, as ``oversized_headers``
renders a complete head with more than ``max_header_bytes`` of headers or ``max_header_count`` lines
(S3's XML ``RequestHeaderSectionTooLarge`` for storage, as real S3 answers any oversized head).
``uvicorn_config`` is the one place both the CLI and the in-process test server take their uvicorn
settings from.

A connection the server closes while the client may still be sending (a refused oversized head, a
``Connection: close`` answer given before the request body was read) is closed the lingering way, as
nginx's ``lingering_close`` and Go's ``net/http`` do: the answer is followed by a FIN, the rest of the
client's bytes are read and dropped for at most ``LINGER_SECONDS`` or ``LINGER_BYTES``, then the socket
is closed. Closing at once with unread input makes the kernel send a reset, which destroys the answer
in the client's receive buffer: the client sees "connection reset" instead of the 400 or 413.

The head-size count follows the parser: a chunk that starts inside a body (a pipelined request's, or
one answered early and read to its end before the next request) is never counted as a head, and the
head of a request pipelined behind one still being answered is counted too; past the bound the server
stops reading and sends the 400 after the answers before it. ``CloseUnreadContinue`` closes the
connection after an answer to an ``Expect: 100-continue`` request whose body was never asked for.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mock_server.connection_transport import ConnectionTransport
from mock_server.header_guard import CloseUnreadContinue, oversized_head_answer
from mock_server.settings import Settings

logger = logging.getLogger(__name__)

REQUEST_LINE_ALLOWANCE = 16 * 1024
"""Bytes of request line h11 buffers beyond the header limit (presigned URLs carry long queries)."""

LINGER_SECONDS = 2.0
"""Longest wait, after an answer that closes the connection, for the client to stop sending."""

LINGER_BYTES = 8 * 1024 * 1024
"""Most bytes read and dropped while lingering; a client sending more is reset."""


class _Deadlines:
    """Request-head and body-idle deadlines (and, where the parser has no bound, a head-size bound)
    for one of uvicorn's HTTP/1.1 protocols; mixed in before the protocol class."""

    header_timeout: float = 20.0
    body_timeout: float = 30.0
    head_limit: int | None = None  # bytes of request line and headers; None: the parser bounds them
    # (request target, bytes counted) -> the vendor's whole 400 answer; None: uvicorn's plain-text 400
    head_refusal: Callable[[bytes, int], bytes] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._read_deadline: asyncio.TimerHandle | None = None
        self._armed_for = "head"
        self._head_bytes = 0
        self._head_tail = b""
        self._head_start = b""  # the first bytes of the head being counted: its request line
        self._head_refused = False
        self._lingering = False
        self._lingered = 0
        self._linger_deadline: asyncio.TimerHandle | None = None
        self._parse_state = "idle"  # httptools: "idle" between messages, "head", "body"
        self._begun = 0  # messages begun during the current feed of the parser
        self._refusal_pending = False
        self._socket = transport
        super().connection_made(ConnectionTransport(transport, self))  # type: ignore[misc]
        self._arm(self.header_timeout)

    def eof_received(self) -> bool | None:
        # The loop closes the transport when this returns a false value: a held head goes out first.
        self.transport.flush()  # type: ignore[attr-defined]
        return super().eof_received()  # type: ignore[misc, no-any-return]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport.lost = True  # type: ignore[attr-defined]
        self._disarm()
        if self._linger_deadline is not None:
            self._linger_deadline.cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            self._lingered += len(data)
            if self._lingered > LINGER_BYTES:
                self.transport.flush()  # type: ignore[attr-defined]
                self._socket.close()
            return
        if self._refusal_pending:
            # A refused pipelined head, dropped until the answers before its 400 are out; reading stops
            # again if a handler's receive resumed it.
            self.flow.pause_reading()  # type: ignore[attr-defined]
            return
        if self.head_limit is not None and self._head_too_large(data):
            self._refuse_head()
            return
        state, self._begun = self._parse_state, 0
        super().data_received(data)  # type: ignore[misc]
        if self.head_limit is not None:
            self._count_head_after(data, state)
        cycle = self.cycle  # type: ignore[attr-defined]
        if self.transport.is_closing():  # type: ignore[attr-defined]
            self._disarm()
        elif cycle is not None and not cycle.response_complete and cycle.more_body:
            # a body is arriving: idle deadline, restarted by every chunk
            self._arm(self.body_timeout, "body")
        elif cycle is not None and not cycle.response_complete:
            self._disarm()  # head and body are in; the handler is working
        elif self._body_arriving():
            self._arm(self.body_timeout, "body")  # the body of a request answered early is read and dropped
        elif self._armed_for == "body" and self._idle():
            # that body has ended and nothing follows: idle, as after any answer (uvicorn's own keep-alive
            # timer was cancelled by the body's bytes)
            self._arm(self.timeout_keep_alive, "idle")  # type: ignore[attr-defined]
        elif self._read_deadline is None or self._armed_for != "head":
            # the next request's head started on a kept-alive connection
            self._arm(self.header_timeout, "head")

    def _head_too_large(self, data: bytes) -> bool:
        # Counted before the parser sees the bytes: httptools would otherwise gather a huge header value
        # by repeated concatenation (64 MiB took 17 s of one core) before any callback could refuse it.
        # Only a chunk that starts in a head (or between requests) is counted, up to the blank line; one
        # that starts in a body (a pipelined or early-answered request's) is never taken for a head.
        if self._parse_state == "body":
            return False
        window = self._head_tail + data
        end = window.find(b"\r\n\r\n")
        if self._head_bytes == 0 and self._parse_state == "idle":  # the chunk starts with a request line
            self._head_start = data[:REQUEST_LINE_ALLOWANCE]
        self._head_bytes += end + 4 - len(self._head_tail) if end >= 0 else len(data)
        self._head_tail = window[-3:]
        assert self.head_limit is not None
        return self._head_bytes > self.head_limit

    def _count_head_after(self, data: bytes, state: str) -> None:
        """Restart the count once the parser has seen ``data`` (a chunk that started in ``state``)."""
        if self._parse_state != "head":
            self._head_bytes, self._head_tail, self._head_start = 0, b"", b""
        elif self._begun > 1 or (self._begun == 1 and state != "idle"):
            # This head began inside the chunk, after another request's bytes: its first bytes (at most
            # one read) go uncounted, the following chunks count.
            self._head_bytes, self._head_tail, self._head_start = 0, data[-3:], b""

    def _body_arriving(self) -> bool:
        """Whether the bytes on the wire belong to a request body (one answered early is still read)."""
        conn = getattr(self, "conn", None)
        if isinstance(conn, h11.Connection):
            return conn.their_state is h11.SEND_BODY
        return self._parse_state == "body"

    def _idle(self) -> bool:
        """Whether no byte of a next request has arrived."""
        conn = getattr(self, "conn", None)
        if isinstance(conn, h11.Connection):
            return conn.their_state is h11.IDLE and not conn.trailing_data[0]
        return self._parse_state == "idle"

    def _refuse_head(self) -> None:
        self._disarm()
        cycle = self.cycle  # type: ignore[attr-defined]
        if cycle is not None and not cycle.response_complete:
            # A pipelined head: its 400 follows the answers to the requests before it.
            self._refusal_pending = True
            self.flow.pause_reading()  # type: ignore[attr-defined]
            return
        self._send_head_refusal()

    def _send_head_refusal(self) -> None:
        """The 400 for an oversized head: the vendor's, when a renderer and the request target are known."""
        line = self._head_start.lstrip(b"\r\n").split(b"\r\n", 1)[0].split(b" ")
        target = line[1] if len(line) > 1 and line[1] else getattr(self, "url", b"")
        if self.head_refusal is None or not target:
            self.send_400_response("Request header section too large.")
            return
        try:
            answer = self.head_refusal(target, self._head_bytes)
        except Exception:  # a transport callback that raises aborts the connection: answer plainly instead
            logger.exception("rendering the refusal of an oversized head failed")
            self.send_400_response("Request header section too large.")
            return
        self._head_refused = True
        status, rest = answer.split(b"\r\n", 1)
        defaults = [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]  # type: ignore[attr-defined]
        self.transport.write(b"".join([status, b"\r\n", *defaults, rest]))  # type: ignore[attr-defined]
        self.transport.close()  # type: ignore[attr-defined]

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse; the unread rest of it is lingered over."""
        self._head_refused = True
        super().send_400_response(msg)  # type: ignore[misc]

    def _input_pending(self) -> bool:
        """Whether the client may still be sending a request's bytes."""
        # Not ``cycle.more_body``: that stays set once a body answered early has been read to its end.
        return (
            self._head_refused
            or self._refusal_pending
            or self._parse_state == "head"
            or self._body_arriving()
        )

    def _linger(self) -> None:
        """Send FIN after what was written, then drop input until EOF, a bound or ``LINGER_SECONDS``.

        The linger has its own timer: the read deadlines (which ``on_response_complete`` disarms right
        after a closing answer) must not cancel it, or an idle client would hold the socket forever."""
        if self._lingering:
            return
        self._disarm()
        self._lingering = True
        if self._socket.can_write_eof():
            self._socket.write_eof()
        self._socket.resume_reading()  # reading may have been paused for back-pressure
        self._linger_deadline = self.loop.call_later(LINGER_SECONDS, self._socket.close)  # type: ignore[attr-defined]

    def on_response_complete(self) -> None:
        self._disarm()
        super().on_response_complete()  # type: ignore[misc]  # arms uvicorn's keep-alive timer
        cycle = self.cycle  # type: ignore[attr-defined]
        if self._refusal_pending and cycle.response_complete and not self.transport.is_closing():  # type: ignore[attr-defined]
            self._unset_keepalive_if_required()  # type: ignore[attr-defined]
            self._send_head_refusal()

    def _arm(self, seconds: float, kind: str = "head") -> None:
        self._disarm()
        self._armed_for = kind
        self._read_deadline = self.loop.call_later(seconds, self._deadline_passed, seconds)  # type: ignore[attr-defined]

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _deadline_passed(self, seconds: float) -> None:
        self._read_deadline = None
        transport = self.transport  # type: ignore[attr-defined]
        if transport.is_closing():
            return
        if self.flow.read_paused:  # type: ignore[attr-defined]  # we stopped reading (slow handler)
            self._arm(seconds, self._armed_for)
            return
        cycle = self.cycle  # type: ignore[attr-defined]
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            return
        conn = getattr(self, "conn", None)  # h11 keeps a state machine to close as well
        if isinstance(conn, h11.Connection) and conn.our_state not in {h11.ERROR, h11.CLOSED}:
            try:
                conn.send(h11.ConnectionClosed())
            except h11.LocalProtocolError:
                pass
        self.transport.flush()  # type: ignore[attr-defined]
        self._socket.close()  # a stalled client is cut off, not lingered for


class GuardedHttpToolsProtocol(_Deadlines, HttpToolsProtocol):
    """uvicorn's httptools protocol (its fastest) with the deadlines and a request-head byte bound."""

    head_limit: int | None = 8192 + 16 * 1024

    # Where the parser is, for the head-size count: a chunk starting in a body is not a head.
    def on_message_begin(self) -> None:
        self._parse_state = "head"
        self._begun += 1
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._parse_state = "body"
        super().on_headers_complete()

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        # A cycle starts (at once, or after the answers before it when pipelined): the next write is its
        # answer's head, held for its body (``ConnectionTransport``). A uvicorn without this hook holds none.
        self.transport.hold_next = True  # type: ignore[attr-defined]
        super()._start_asgi_task(cycle, app)  # type: ignore[misc]

    def on_message_complete(self) -> None:
        self._parse_state = "idle"
        super().on_message_complete()


class GuardedH11Protocol(_Deadlines, H11Protocol):
    """uvicorn's h11 protocol with the deadlines (h11 bounds the head: h11_max_incomplete_event_size)."""


def guarded_protocol(
    settings: Settings, parser: str = "httptools", head_refusal: Callable[[bytes, int], bytes] | None = None
) -> type[H11Protocol | HttpToolsProtocol]:
    """A protocol class carrying ``settings``' bounds (uvicorn instantiates it per connection).

    ``parser``: ``httptools`` (the default: about twice h11's requests per second here, see
    bench/RESULTS.md) or ``h11``. ``head_refusal``: renders the answer to a head over the bound from its
    request target (httptools only: h11 refuses such a head itself, with its plain-text 400).
    """
    base: type = GuardedHttpToolsProtocol if parser == "httptools" else GuardedH11Protocol
    return type(
        "Sandbox" + base.__name__,
        (base,),
        {
            "header_timeout": settings.header_timeout,
            "body_timeout": settings.body_timeout,
            "head_limit": settings.max_header_bytes + REQUEST_LINE_ALLOWANCE
            if base is not GuardedH11Protocol
            else None,
            "head_refusal": staticmethod(head_refusal) if head_refusal is not None else None,
        },
    )


def uvicorn_config(
    app: ASGIApp, settings: Settings, parser: str = "httptools", **extra: Any
) -> uvicorn.Config:
    """The uvicorn settings of every server this package starts (CLI and the in-process test server).

    ``app``: the sandbox's Starlette app; its ``state.sandbox`` renders refusals of oversized heads."""
    sandbox = getattr(getattr(app, "state", None), "sandbox", None)
    refusal = functools.partial(oversized_head_answer, app) if sandbox is not None else None
    return uvicorn.Config(
        CloseUnreadContinue(app),
        http=guarded_protocol(settings, parser, refusal),
        h11_max_incomplete_event_size=settings.max_header_bytes + REQUEST_LINE_ALLOWANCE,
        timeout_keep_alive=max(1, round(settings.keep_alive_timeout)),
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or [],
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=settings.shutdown_grace,
        **extra,
    )
