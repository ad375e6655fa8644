"""State several worker processes share through one Redis server (``--state-url redis://...``).

With ``--workers N`` (or several replicas behind a load balancer) any request may reach any process,
so everything a request can observe lives in Redis under one namespace per sandbox
(``<state_namespace>:<session>:...``): records, upload grants, idempotency keys, the journal,
scenario counters, the clock, object metadata (bodies go to a spool directory all processes see).

Three mechanisms, used by the shared backends of each store:

- ``key(*parts)``: the Redis key of a part of this sandbox's state.
- ``writes()`` / ``pending``: a request's writes are queued and sent in one round trip when its
  answer starts (``flush``), or when a transaction ends; reads see the request's own queued writes
  first (``overlay``), so a request reads what it wrote.
- ``lock()``: a cross-process lock (redis-py's ``Lock``, re-entrant per thread here) around
  read-modify-write sequences; queued writes are flushed before it is released, so the next holder
  reads them.

Operations that must be atomic on their own (claiming a single-use URL, an idempotency key,
a sequence number) go straight to Redis, never through the queue.
"""

from __future__ import annotations

import contextvars
import pickle
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # redis-py is imported on first use, keeping it out of the in-process start-up
    from redis import Redis
    from redis.client import Pipeline

    from mock_server.core.shared_commit import Committer

LOCK_TIMEOUT_SECONDS = 30.0
"""A lock whose holder died is taken over after this long (a transaction takes milliseconds)."""
LOCK_SPIN_SECONDS = 0.0005
SOCKET_TIMEOUT_SECONDS = 10.0
"""Longest wait for one Redis answer (any command the sandbox sends takes milliseconds)."""
MISSING = object()


def dumps(value: Any) -> bytes:
    """A record or grant as stored in Redis (pickle, highest protocol)."""
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Any:
    """The value ``dumps`` stored."""
    return pickle.loads(data)  # noqa: S301 - only this sandbox's own processes write these keys


Command = Callable[["Pipeline"], object] | tuple[Any, ...]
"""One Redis command: its arguments (``("HSET", key, field, value)``, sent as they are), or a callable
that adds commands to the pipeline it is given (redis-py's command methods, for their argument rules)."""


def args_of(command: Command) -> tuple[Any, ...] | None:
    """A command's arguments when it is given as arguments (a tuple, or a batch), else None."""
    if type(command) is tuple:
        return command
    if type(command) is _Batch:
        return command.args()
    return None


def add_to(pipe: Pipeline, command: Command) -> None:
    """Add ``command`` to redis-py's ``pipe``."""
    args = args_of(command)
    if args is None:
        command(pipe)  # type: ignore[operator]
    else:
        pipe.execute_command(*args)


class Writes:
    """One request's queued writes: commands for a pipeline, and what they leave in each hash field
    (``overlay``: value bytes, or None for a deleted field) so the request reads its own writes."""

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.overlay: dict[tuple[str, str], bytes | None] = {}
        # What the request read once and may reuse (e.g. the record count for the cap check).
        self.cache: dict[str, Any] = {}
        self.open = True

    def queue(self, command: Command) -> None:
        """Add ``command`` (called with the pipeline at flush) to this request's writes."""
        self.commands.append(command)


class _Batch:
    """Items queued under one name in one request, sent by one command (``SharedState.batched``)."""

    def __init__(self, send: Callable[[list[Any]], tuple[Any, ...]]) -> None:
        self.send = send
        self.items: list[Any] = []
        self.sent = False

    def args(self) -> tuple[Any, ...]:
        """The command's arguments for the items queued so far; later items start a new batch."""
        self.sent = True
        return self.send(self.items)


class Lua:
    """A Lua script run by its SHA1 (EVALSHA), loaded once; see ``SharedState.script``."""

    def __init__(self, shared: SharedState, source: str) -> None:
        self.shared = shared
        self.source = source
        self.sha = ""
        self.load()

    def load(self) -> None:
        """(Re)load the script into the server (SCRIPT LOAD) and keep its SHA1."""
        self.sha = self.shared.redis.script_load(self.source)

    def args(self, keys: list[str], args: list[Any] | tuple[Any, ...] = ()) -> tuple[Any, ...]:
        """The script's call as a command's arguments (EVALSHA), for a queue or a round trip; after
        NOSCRIPT the round trip loads the scripts and sends it again (the SHA1 stays the same)."""
        return ("EVALSHA", self.sha, len(keys), *keys, *args)

    def __call__(self, keys: list[str], args: list[Any] = (), client: Any = None) -> Any:  # type: ignore[assignment]
        from redis.exceptions import NoScriptError

        if client is not None:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        try:
            return self.shared.redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            self.shared.load_scripts()
            return self.shared.redis.evalsha(self.sha, len(keys), *keys, *args)


_writes: contextvars.ContextVar[Writes | None] = contextvars.ContextVar("sandbox_writes", default=None)


def connect(url: str) -> Redis:
    """A client for ``url`` (``redis://host:port/db``, ``rediss://``, ``unix://``), answers as bytes.

    Raises: ValueError for a URL redis-py cannot parse or a server that does not answer PING.
    """
    import redis

    # A server that stops answering (stopped, overloaded, a network partition) fails a request after
    # SOCKET_TIMEOUT_SECONDS (503 through state_guard.py) instead of holding it forever.
    client = redis.Redis.from_url(
        url, health_check_interval=30, socket_connect_timeout=5, socket_timeout=SOCKET_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ValueError(f"--state-url {url}: cannot reach the Redis server ({exc})") from None
    return client


def state_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` is redis-py's "cannot reach the server" (connection refused, reset, timed out).

    redis-py is only looked at when something imported it, keeping it out of the in-process start-up.
    """
    errors = sys.modules.get("redis.exceptions")
    return errors is not None and isinstance(exc, (errors.ConnectionError, errors.TimeoutError))


_clients: dict[str, Redis] = {}
_clients_lock = threading.Lock()


def client_for(url: str) -> Redis:
    """One client per URL in this process (``connect`` on first use): the default sandbox and every
    session share its connection pool and its round trips (core/shared_commit.py).

    Raises: ValueError as ``connect``.
    """
    with _clients_lock:
        found = _clients.get(url)
        if found is None:
            found = _clients[url] = connect(url)
        return found


def disconnect_clients() -> None:
    """Close every connection this process's clients hold (they reconnect when used again). A server's
    supervisor calls it before forking its workers, which must not inherit its sockets to Redis."""
    with _clients_lock:
        clients = list(_clients.values())
    for client in clients:
        client.connection_pool.disconnect()


class SharedState:
    """One sandbox's namespace in Redis, with the queue and the lock described above."""

    def __init__(self, client: Redis, namespace: str) -> None:
        self.redis = client
        self.namespace = namespace
        self._local = threading.local()
        self._scripts: dict[str, Any] = {}
        self._committer: Committer | None = None

    @property
    def committer(self) -> Committer:
        """This process's group commit of the per-request round trips (core/shared_commit.py), one per
        Redis client: every namespace and session served through the client shares its connections."""
        found = self._committer
        if found is None:
            from mock_server.core.shared_commit import committer_for

            found = self._committer = committer_for(self.redis)
        return found

    async def commit(self, commands: list[Command], read_only: bool = False) -> list[Any]:
        """Send ``commands`` in this process's next shared round trip (``Committer.run``)."""
        return await self.committer.run(commands, self.load_scripts, read_only)

    def key(self, *parts: str) -> str:
        """This namespace's Redis key for ``parts`` (``<namespace>:<part>:<part>...``)."""
        return ":".join((self.namespace, *parts))

    def script(self, source: str) -> Lua:
        """A Lua script, loaded into the server now (called as ``script(keys=[...], args=[...],
        client=pipe)``; in a pipeline it costs no ``SCRIPT EXISTS`` round trip, unlike redis-py's)."""
        found = self._scripts.get(source)
        if found is None:
            found = self._scripts[source] = Lua(self, source)
        return found  # type: ignore[no-any-return]

    def load_scripts(self) -> None:
        """Load every script again (a restarted Redis server answered NOSCRIPT)."""
        for script in self._scripts.values():
            script.load()

    def send(self, commands: list[Command]) -> list[Any]:
        """Run ``commands`` (each adds to the pipeline it is called with) in one MULTI/EXEC now; returns
        their answers. After NOSCRIPT (a restarted server) the scripts are loaded and the whole is sent
        again. Raises: redis-py's error for the first command that failed."""
        from redis.exceptions import NoScriptError

        pipe = self.redis.pipeline(transaction=True)
        for command in commands:
            add_to(pipe, command)
        try:
            return pipe.execute()  # type: ignore[no-any-return]
        except NoScriptError:
            self.load_scripts()
            pipe = self.redis.pipeline(transaction=True)
            for command in commands:
                add_to(pipe, command)
            return pipe.execute()  # type: ignore[no-any-return]

    # -- queued writes ---------------------------------------------------------------------------
    @staticmethod
    def pending() -> Writes | None:
        """The calling request's open queue, if any."""
        writes = _writes.get()
        return writes if writes is not None and writes.open else None

    @contextmanager
    def writes(self) -> Iterator[Writes]:
        """Queue the writes made inside (this context and the tasks/threads it starts) and flush them
        on exit, or earlier through ``flush``."""
        writes = Writes()
        token = _writes.set(writes)
        try:
            yield writes
        finally:
            _writes.reset(token)
            self.flush(writes)

    def flush(self, writes: Writes | None = None) -> None:
        """Send the queued writes in one round trip (MULTI/EXEC); later writes go straight through
        until the next ``writes()``."""
        writes = writes or self.pending()
        if writes is None:
            return
        commands, writes.commands, writes.overlay, writes.cache = writes.commands, [], {}, {}
        if not commands:
            return
        self.send(commands)

    def write(self, command: Command, overlay: dict[tuple[str, str], bytes | None]) -> None:
        """Queue ``command`` in the request's writes, or run it at once outside a request."""
        writes = self.pending()
        if writes is None:
            self.send([command])
            return
        writes.queue(command)
        writes.overlay.update(overlay)

    def batched(
        self,
        name: str,
        item: Any,
        send: Callable[[list[Any]], tuple[Any, ...]],
        overlay: dict[tuple[str, str], bytes | None],
    ) -> None:
        """Queue ``item`` in the request's batch ``name``: all its items go in one command at the flush
        (``send(items)`` gives its arguments), e.g. one Lua call for every record a request writes
        instead of one each, which is what a 20-item request costs to pack and parse. Outside a request:
        at once."""
        self.batched_all(name, [item], send, overlay)

    def batched_all(
        self,
        name: str,
        items: list[Any],
        send: Callable[[list[Any]], tuple[Any, ...]],
        overlay: dict[tuple[str, str], bytes | None],
    ) -> None:
        """``batched`` for several items at once."""
        writes = self.pending()
        if writes is None:
            self.send([send(items)])
            return
        batch = writes.cache.get(("batch", name))
        if batch is None or batch.sent:
            batch = writes.cache[("batch", name)] = _Batch(send)
            writes.queue(batch)
        batch.items.extend(items)
        if overlay:
            writes.overlay.update(overlay)

    @staticmethod
    def overlaid(key: str, field: str) -> Any:
        """The request's own queued value of a hash field: bytes, None (deleted) or ``MISSING``."""
        writes = _writes.get()
        if writes is None or not writes.open:
            return MISSING
        return writes.overlay.get((key, field), MISSING)

    def version(self, field: str) -> int | None:
        """``field`` of the meta hash as this request's sync read it (0 if absent), or None when there
        is nothing to trust: outside a request, after its flush, or under the lock (whose holder must
        read what the previous holder wrote)."""
        found = self.synced(field)
        return None if found is MISSING else int(found or 0)

    def synced(self, field: str) -> Any:
        """``field`` of the meta hash as this request's sync read it (bytes, None when absent), or
        ``MISSING`` when there is nothing to trust (see ``version``)."""
        writes = _writes.get()
        if writes is None or not writes.open or getattr(self._local, "depth", 0):
            return MISSING
        meta = writes.cache.get("versions")
        if meta is None:
            return MISSING
        return meta.get(field.encode())

    # -- the cross-process lock --------------------------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold this sandbox's lock across processes (re-entrant within a thread); queued writes are
        flushed before it is released."""
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        lock = self.redis.lock(
            self.key("lock"), timeout=LOCK_TIMEOUT_SECONDS, sleep=LOCK_SPIN_SECONDS, thread_local=False
        )
        lock.acquire(blocking=True)
        self._local.depth = 1
        try:
            yield
            self.flush()
        finally:
            self._local.depth = 0
            lock.release()

    def clear(self) -> None:
        """Delete every key of this namespace (a reset); the lock key is kept."""
        lock_key = self.key("lock").encode()
        batch: list[bytes] = []
        for found in self.redis.scan_iter(match=self.key("*"), count=1000):
            if found != lock_key:
                batch.append(found)
            if len(batch) >= 500:
                self.redis.unlink(*batch)
                batch = []
        if batch:
            self.redis.unlink(*batch)
