"""Group commit: the per-request round trips of one process's concurrent requests, sent together.

A request over shared state costs two round trips to Redis: the sync as it starts (core/sandbox.py)
and its writes with its journal entry as its answer goes out (core/shared_journal.py). Made with the
blocking client on the event loop, each one would stop every other request of the process for the
time Redis takes to answer. Two ways to avoid it, one per kind of event loop:

- A server's event loop (``serve_on``, called from the app's lifespan, which uvicorn and a
  ``with TestClient(app)`` run) gets a connection of its own (core/shared_wire.py): every round trip
  handed over during one pass of the loop is written in one send, each as its own MULTI/EXEC, and the
  answers are parsed by hiredis as they arrive, on the loop itself. No thread, no redis-py pipeline.
- Any other loop (a short-lived one, e.g. a TestClient used without ``with``, which runs each request
  on a loop of its own) hands its round trips to one thread of the process, which sends everything
  handed to it since its last round trip as one MULTI/EXEC through redis-py.

Ordering: a round trip is sent after it was handed over, so a read sees every write whose answer went
out before the request arrived; round trips handed over in one order run in that order.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from redis.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import NoScriptError

from mock_server.core.shared import Command, add_to, args_of
from mock_server.core.shared_wire import Recorder, Stack, Wire, pack

if TYPE_CHECKING:
    from redis import Redis

Reload = Callable[[], None] | None
Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class Committer:
    """The shared round trips of one process and Redis client (every namespace and session served
    through the client): a connection per serving event loop, one thread for the other loops; get it
    with ``committer_for``."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self._items: list[tuple[list[Command], Waiter, Reload]] = []
        self._ready = threading.Condition()
        self._running = False
        self._wires: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Wire | None] = (
            weakref.WeakKeyDictionary()
        )
        self._callbacks: dict[str, Callable[..., Any] | None] = {}
        self.round_trips = 0  # counted, for the tests and bench/ (items per round trip)
        self.items_sent = 0

    def _forget(self) -> None:
        # A forked worker has no copy of the thread, and must not share the parent's connections: it
        # starts its own on its first round trip.
        self._ready = threading.Condition()
        self._items, self._running = [], False
        self._wires = weakref.WeakKeyDictionary()

    # -- serving event loops: a connection of their own -------------------------------------------
    def serve_on(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Send the round trips made on ``loop`` (a server's, living as long as the server) over a
        connection of its own, opened on first use; ``close_on`` closes it. Returns whether it will:
        not for a TLS (``rediss://``) or credential-provider client, whose round trips keep going
        through the thread."""
        kwargs = self.client.connection_pool.connection_kwargs
        if self.client.connection_pool.connection_class not in (Connection, UnixDomainSocketConnection):
            return False
        if kwargs.get("credential_provider") is not None:
            return False
        if loop not in self._wires:
            self._wires[loop] = None
        return True

    async def close_on(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close ``loop``'s connection (the server is stopping); later round trips go through the thread."""
        wire = self._wires.pop(loop, None)
        if wire is not None:
            wire.close()

    async def _wire(self, loop: asyncio.AbstractEventLoop) -> Wire:
        wire = self._wires.get(loop)
        if wire is not None and wire.lost is None and wire.connected:
            return wire
        if wire is None or wire.lost is not None:
            wire = self._wires[loop] = Wire(self, loop, self.client.connection_pool.connection_kwargs)
        await wire.ready()
        return wire

    def _record(self, commands: list[Command]) -> Stack:
        recorder = Recorder()
        stack = recorder.stack
        for command in commands:
            args = args_of(command)
            if args is None:
                command(recorder)  # type: ignore[operator]
            else:
                stack.append((args, _NO_OPTIONS))
        return stack

    def _shape(self, stack: Stack, replies: list[Any]) -> list[Any]:
        """The answers redis-py's pipeline would give for ``stack`` from one MULTI/EXEC's raw replies
        (+OK, QUEUED per command, the EXEC array): its response callbacks applied, errors in place."""
        queued = replies[1:-1]
        answers = replies[-1]
        if isinstance(replies[0], Exception):
            raise replies[0]
        if isinstance(answers, Exception):  # EXECABORT: a command was refused as it was queued
            raise next((reply for reply in queued if isinstance(reply, Exception)), answers)
        out = []
        for answer, (args, options) in zip(answers, stack, strict=True):
            if not isinstance(answer, Exception):
                name = args[0]
                callback = self._callbacks.get(name, _UNKNOWN)
                if callback is _UNKNOWN:
                    callback = self._callbacks[name] = self.client.response_callbacks.get(name)
                if callback is not None:
                    if options:
                        answer = callback(answer, **{k: v for k, v in options.items() if k != "keys"})
                    else:
                        answer = callback(answer)
            out.append(answer)
        return out

    async def _run_on_wire(
        self, loop: asyncio.AbstractEventLoop, commands: list[Command], reload: Reload, read_only: bool
    ) -> list[Any]:
        stack = self._record(commands)
        packed = pack(stack)
        wire = await self._wire(loop)
        answers = self._shape(stack, await wire.round_trip(packed, len(stack) + 2, read_only))
        self.items_sent += 1
        if reload is not None and any(isinstance(answer, NoScriptError) for answer in answers):
            # The server restarted (or its scripts were flushed): load them and send this item again.
            reload()
            answers = self._shape(stack, await wire.round_trip(packed, len(stack) + 2))
        failed = next((answer for answer in answers if isinstance(answer, Exception)), None)
        if failed is not None:
            raise failed
        return answers

    # -- every loop ----------------------------------------------------------------------------------
    async def run(self, commands: list[Command], reload: Reload = None, read_only: bool = False) -> list[Any]:
        """Send ``commands`` (each adds to the pipeline it is called with) in the next round trip;
        returns their answers in order, shaped as redis-py's pipeline gives them. ``reload`` loads the
        scripts they use again (after NOSCRIPT). ``read_only``: the commands write nothing, so requests
        of one pass of a serving loop asking the very same share one reading (each request's sync).
        Raises: the first error among them (redis-py's exception; ConnectionError for a lost server)."""
        loop = asyncio.get_running_loop()
        if loop in self._wires:
            return await self._run_on_wire(loop, commands, reload, read_only)
        waiter: Waiter = (loop, loop.create_future())
        with self._ready:
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="shared-state-commit", daemon=True).start()
            self._items.append((commands, waiter, reload))
            self._ready.notify()
        return await waiter[1]

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._items:
                    self._ready.wait()
                items, self._items = self._items, []
            self._answer(self._send(items))

    def _send(self, items: list[tuple[list[Command], Waiter, Reload]]) -> list[tuple[Waiter, Any]]:
        """Answers (a list, or an exception) for each item."""
        from redis.exceptions import NoScriptError

        spans: list[tuple[int, int]] = []
        try:
            pipe = self.client.pipeline(transaction=True)
            for commands, _, _ in items:
                start = len(pipe)
                for command in commands:
                    add_to(pipe, command)
                spans.append((start, len(pipe)))
            answers = pipe.execute(raise_on_error=False)
        except Exception as exc:  # noqa: BLE001 - the connection failed: every waiting request learns it
            return [(waiter, exc) for _, waiter, _ in items]
        self.round_trips += 1
        self.items_sent += len(items)
        out: list[tuple[Waiter, Any]] = []
        for (commands, waiter, reload), (start, end) in zip(items, spans, strict=True):
            answer: Any = answers[start:end]
            if reload is not None and any(isinstance(part, NoScriptError) for part in answer):
                # The server restarted (or its scripts were flushed): load them and send this item again.
                try:
                    reload()
                    again = self.client.pipeline(transaction=True)
                    for command in commands:
                        add_to(again, command)
                    answer = again.execute(raise_on_error=False)
                except Exception as exc:  # noqa: BLE001
                    answer = exc
            if isinstance(answer, list):
                answer = next((part for part in answer if isinstance(part, Exception)), answer)
            out.append((waiter, answer))
        return out

    @staticmethod
    def _answer(answers: list[tuple[Waiter, Any]]) -> None:
        # One wake-up per event loop for the whole round trip, not one per request.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
        for (loop, future), answer in answers:
            by_loop.setdefault(loop, []).append((future, answer))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # that loop is closed: nobody waits any more
                pass


_UNKNOWN: Any = object()
_NO_OPTIONS: dict[str, Any] = {}


_COMMITTERS: weakref.WeakKeyDictionary[Redis, Committer] = weakref.WeakKeyDictionary()
_REGISTRY = threading.Lock()


def committer_for(client: Redis) -> Committer:
    """This process's committer for ``client``, made on first use."""
    found = _COMMITTERS.get(client)
    if found is None:
        with _REGISTRY:
            found = _COMMITTERS.get(client)
            if found is None:
                found = _COMMITTERS[client] = Committer(client)
    return found


def _forget_all() -> None:
    for committer in list(_COMMITTERS.values()):
        committer._forget()


os.register_at_fork(after_in_child=_forget_all)


def _settle(settled: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, answer in settled:
        if future.done():  # the request was cancelled (its client went away)
            continue
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)
