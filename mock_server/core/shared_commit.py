"""Group commit: the per-request round trips of one process's concurrent requests, sent as one.

A request over shared state costs two round trips to Redis: the sync as it starts (core/sandbox.py)
and its writes with its journal entry as its answer goes out (core/shared_journal.py). Made with the
blocking client on the event loop, each one stops every other request of the process for the time
Redis takes to answer, and pays redis-py's cost per pipeline alone. Here they are handed to one
thread of the process instead: it takes everything handed to it since its last round trip and sends
it as one MULTI/EXEC, while the event loop goes on serving the other requests. With 16 requests in
flight per process, a round trip carries several requests' commands.

Ordering: an item is sent after it was handed over, so a read sees every write whose answer went out
before the request arrived; the items of one round trip run in the order they were handed over, in
one transaction.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis import Redis
    from redis.client import Pipeline

Command = Callable[["Pipeline"], object]
Reload = Callable[[], None] | None
Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class Committer:
    """One thread per process and Redis client (every namespace and session served through the client)
    that sends handed-over commands in shared round trips; get it with ``committer_for``."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self._items: list[tuple[list[Command], Waiter, Reload]] = []
        self._ready = threading.Condition()
        self._running = False
        self.round_trips = 0  # counted, for the tests and bench/ (items per round trip)
        self.items_sent = 0

    def _forget(self) -> None:
        # A forked worker has no copy of the thread: it starts its own on its first round trip.
        self._ready = threading.Condition()
        self._items, self._running = [], False

    async def run(self, commands: list[Command], reload: Reload = None) -> list[Any]:
        """Send ``commands`` (each adds to the pipeline it is called with) in the next round trip;
        returns their answers in order. ``reload`` loads the scripts they use again (after NOSCRIPT).
        Raises: the first error among them (redis-py's exception)."""
        loop = asyncio.get_running_loop()
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
                    command(pipe)
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
                        command(again)
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
