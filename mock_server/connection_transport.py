"""The transport uvicorn's protocols write to: ``mock_server.transport``'s protocols put it in front of
the socket's, for the lingering close and for answers sent in one piece (see ``ConnectionTransport``).
``protocol`` is that protocol: its ``loop``, ``_input_pending()`` and ``_linger()`` are used."""

from __future__ import annotations

import asyncio
from typing import Any


class ConnectionTransport:
    """The connection's transport as uvicorn sees it: a response's head goes out in one send with what
    follows it, and ``close()`` lingers while input may be pending.

    uvicorn writes an answer's head and its body separately, and each write is a send of its own: two
    TCP segments, two wake-ups of the client, ~5 us more per answer here (bench/PROFILE.md). With
    ``hold_next`` set (a request's cycle has just started: its first write, a ``100 Continue`` aside, is
    the answer's head), that write is held until the next write, the end of the event loop's pass or
    any other use of the connection (close, EOF, abort), whichever comes first: later bytes never
    overtake it, and it is dropped only with a connection already lost. Everything else is the asyncio
    transport's own.
    """

    def __init__(self, transport: asyncio.Transport, protocol: Any) -> None:
        self._transport = transport
        self._protocol = protocol
        self._held: bytes | None = None
        self.hold_next = False
        self.lost = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` (with a held head before it), or hold it if it is the head to hold."""
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.writelines((held, data))  # one send (uvloop: one writev, nothing copied)
        elif self.hold_next and not bytes(data[:13]) == b"HTTP/1.1 100 ":
            self.hold_next = False
            self._held = bytes(data)
            self._protocol.loop.call_soon(self.flush)  # type: ignore[attr-defined]
        else:
            self._transport.write(data)

    def writelines(self, chunks: Any) -> None:
        """Send a held head, then ``chunks``."""
        self.flush()
        self._transport.writelines(chunks)

    def flush(self) -> None:
        """Send a held head now (a closing transport still sends what was written before it closes)."""
        if self._held is not None:
            held, self._held = self._held, None
            if not self.lost:
                self._transport.write(held)

    def write_eof(self) -> None:
        """Send a held head, then a FIN."""
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        """Drop the connection at once (and a held head with it)."""
        self._held = None
        self._transport.abort()

    def close(self) -> None:
        """Send a held head, then close: lingering while the client may still be sending."""
        self.flush()
        if self._protocol._input_pending() and not self._transport.is_closing():
            self._protocol._linger()
        else:
            self._transport.close()

    def is_closing(self) -> bool:
        """True once closing or lingering."""
        return self._protocol._lingering or self._transport.is_closing()
