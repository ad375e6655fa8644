"""A serving event loop's own connection to Redis (core/shared_commit.py uses it): RESP written and
read on the loop itself, hiredis packing and parsing, no thread and no redis-py pipeline.

redis-py's command methods still build every command's arguments (``Recorder``), and its response
callbacks shape the answers (core/shared_commit.py), so callers see what a redis-py pipeline returns.
"""

from __future__ import annotations

import asyncio
import collections
import os
from typing import TYPE_CHECKING, Any

import hiredis
from redis.commands import CoreCommands
from redis.connection import DefaultParser
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    from mock_server.core.shared_commit import Committer

Stack = list[tuple[tuple[Any, ...], dict[str, Any]]]


class Recorder(CoreCommands):  # type: ignore[misc]
    """Takes the place of a pipeline: redis-py's own command methods build the arguments, kept here."""

    def __init__(self) -> None:
        self.stack: Stack = []

    def execute_command(self, *args: Any, **options: Any) -> Recorder:
        """Keep the command (what a pipeline's ``execute_command`` queues)."""
        self.stack.append((args, options))
        return self


def pack(stack: Stack) -> bytes:
    """One MULTI/EXEC of ``stack`` in RESP, packed as redis-py packs it with hiredis (a command name
    with a space, e.g. "SCRIPT LOAD", is split into words)."""
    parts = [_MULTI]
    for args, _ in stack:
        name = args[0]
        if isinstance(name, str) and " " in name:
            args = (*name.split(), *args[1:])
        parts.append(hiredis.pack_command(args))
    parts.append(_EXEC)
    return b"".join(parts)


def connection_name() -> str:
    """The name (CLIENT SETNAME) of this process's serving connections: ``vendor-sandbox.<pid>``."""
    return f"vendor-sandbox.{os.getpid()}"


_MULTI = hiredis.pack_command(("MULTI",))
_EXEC = hiredis.pack_command(("EXEC",))


class Wire(asyncio.Protocol):
    """One connection to Redis owned by one event loop. Round trips are queued as they are handed over
    and written together once per pass of the loop (one send for all of a pass's requests); Redis
    answers them in order, so each reply goes to the oldest round trip still missing replies."""

    def __init__(self, committer: Committer, loop: asyncio.AbstractEventLoop, kwargs: dict[str, Any]) -> None:
        self.committer = committer
        self.loop = loop
        self.kwargs = kwargs
        self.transport: asyncio.Transport | None = None
        self.lost: BaseException | None = None
        self._reader = hiredis.Reader(replyError=DefaultParser.parse_error)
        self._waiting: collections.deque[tuple[int, asyncio.Future[list[Any]]]] = collections.deque()
        self._replies: list[Any] = []
        self._out: list[bytes] = []
        self._reads: dict[bytes, asyncio.Future[list[Any]]] = {}  # read-only round trips not yet sent
        self._connected: asyncio.Future[None] | None = None
        self.connected = False  # connected and greeted: round trips need not wait for ``ready``
        # A server that stops answering fails the round trips after the client's socket_timeout, as
        # redis-py's socket would (checked by one timer, not one per round trip).
        self._timeout: float | None = kwargs.get("socket_timeout") or None
        self._progress = 0.0  # when the oldest waiting round trip was sent, or the last one answered
        self._watch: asyncio.TimerHandle | None = None

    async def ready(self) -> None:
        """Connected and greeted (protocol, credentials, database), once. Raises: ConnectionError."""
        if self._connected is None:
            self._connected = self.loop.create_future()
            self.loop.create_task(self._connect())
        await asyncio.shield(self._connected)

    async def _connect(self) -> None:
        assert self._connected is not None
        kwargs = self.kwargs
        try:
            timeout = kwargs.get("socket_connect_timeout") or None
            if kwargs.get("path"):
                opening = self.loop.create_unix_connection(lambda: self, kwargs["path"])
            else:
                opening = self.loop.create_connection(lambda: self, kwargs["host"], kwargs["port"])
            await asyncio.wait_for(opening, timeout)
            await self._greet()
        except (TimeoutError, OSError, RedisError) as exc:
            where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
            if not isinstance(exc, RedisTimeoutError):
                exc = RedisConnectionError(f"Error connecting to {where}: {exc}")
            self._fail(exc)
            assert self.lost is not None
            self._connected.set_exception(self.lost)
            self._connected.exception()  # retrieved here; every waiter gets its own raise
            return
        self._connected.set_result(None)
        self.connected = True

    async def _greet(self) -> None:
        # What redis-py's Connection.on_connect says first, in the client's protocol (RESP3 unless the
        # URL asked for 2), so answers take the shapes the client's response callbacks expect.
        # Named, so CLIENT LIST tells which process a connection belongs to.
        username, password = self.kwargs.get("username"), self.kwargs.get("password")
        greeting: list[tuple[Any, ...]] = []
        if str(self.kwargs.get("protocol") or 3) != "2":
            hello: tuple[Any, ...] = ("HELLO", 3)
            if password:
                hello += ("AUTH", username or "default", password)
            greeting.append((*hello, "SETNAME", connection_name()))
        else:
            if password:
                greeting.append(("AUTH", username, password) if username else ("AUTH", password))
            greeting.append(("CLIENT", "SETNAME", connection_name()))
        if self.kwargs.get("db"):
            greeting.append(("SELECT", self.kwargs["db"]))
        replies = await self.round_trip(
            b"".join(hiredis.pack_command(args) for args in greeting), len(greeting)
        )
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply

    def round_trip(self, packed: bytes, replies: int, read_only: bool = False) -> asyncio.Future[list[Any]]:
        """Queue ``packed`` (whole commands) for this pass's send; the future gets its next ``replies``
        raw replies (errors as exception objects), or ConnectionError if the connection is lost.
        ``read_only``: the same bytes queued read-only in this pass and not sent yet are one reading,
        made after both were asked for, so it answers both (treat the replies as read-only)."""
        if read_only:
            found = self._reads.get(packed)
            if found is not None:
                return asyncio.shield(found)  # one request going away must not cancel the others' reading
        future: asyncio.Future[list[Any]] = self.loop.create_future()
        if self.lost is not None:
            future.set_exception(self.lost)
            return future
        if not self._out:
            self.loop.call_soon(self._send)
        if not self._waiting:
            self._progress = self.loop.time()
        self._out.append(packed)
        self._waiting.append((replies, future))
        if read_only:
            self._reads[packed] = future
            return asyncio.shield(future)
        return future

    def _send(self) -> None:
        out, self._out = self._out, []
        self._reads = {}
        if self.transport is not None and self.lost is None:
            self.transport.write(b"".join(out))
            self.committer.round_trips += 1
            if self._watch is None and self._timeout is not None:
                self._watch = self.loop.call_later(self._timeout, self._check)

    def _check(self) -> None:
        self._watch = None
        if not self._waiting or self.lost is not None:
            return
        assert self._timeout is not None
        idle = self.loop.time() - self._progress
        if idle >= self._timeout:
            self._fail(RedisTimeoutError(f"Timeout reading from Redis: no answer in {self._timeout:g}s"))
        else:
            self._watch = self.loop.call_later(self._timeout - idle, self._check)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """asyncio's: the socket is open."""
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        """asyncio's: replies arrived; each complete round trip's future gets its replies."""
        reader, replies = self._reader, self._replies
        reader.feed(data)
        try:
            while (reply := reader.gets()) is not False:
                if not self._waiting:
                    continue  # nothing asked for it (a RESP3 push): not ours
                replies.append(reply)
                count, future = self._waiting[0]
                if len(replies) == count:
                    self._progress = self.loop.time()
                    self._waiting.popleft()
                    if not future.done():  # done: its request was cancelled (the client went away)
                        future.set_result(replies)
                    self._replies = replies = []
        except hiredis.ProtocolError as exc:
            self._fail(RedisConnectionError(f"Protocol error from Redis: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        """asyncio's: the server closed the connection or it broke; pending round trips fail."""
        self._fail(RedisConnectionError(f"Connection to Redis lost: {exc or 'closed by the server'}"))

    def _fail(self, error: BaseException) -> None:
        if self.lost is None:
            self.lost = error
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if self.transport is not None:
            self.transport.close()
        waiting, self._waiting = self._waiting, collections.deque()
        for _, future in waiting:
            if not future.done():
                future.set_exception(error)
                future.exception()  # a cancelled request's error is not "never retrieved"

    def close(self) -> None:
        """Close the connection; pending round trips fail with ConnectionError."""
        self._fail(RedisConnectionError("Connection to Redis closed: the server is stopping"))
