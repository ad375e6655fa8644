"""Sessions over shared state (``--state-url``): a session made through one worker serves through all.

The registry of sessions lives in Redis (``<state_namespace>:sessions``: name -> pickled
``(spec, created_at, expires_at)``); each session's state lives in its own namespace
(``<state_namespace>:<name>``). A process that meets a session it has not built yet builds its
``Sandbox`` from the stored spec, joining the namespace the creating process filled (its scenario
documents are not added again: the creator's are in the shared scenario state). A session
deleted or expired through any process is gone for all: each lookup checks the registry (one round
trip), and a process drops its local copy when the registry no longer has it.
"""

from __future__ import annotations

from mock_server.core.sandbox import Sandbox
from mock_server.core.sessions import (
    DEFAULT_SESSION,
    NAME_PATTERN,
    Factory,
    Session,
    SessionError,
    SessionRegistry,
    SessionSpec,
)
from mock_server.core.shared import SharedState, dumps, loads


class SharedSessionRegistry(SessionRegistry):
    """``SessionRegistry`` whose sessions every process serving the sandbox sees.

    ``factory(name, spec)`` builds a session the first time (filling its namespace); ``joiner(name,
    spec)`` builds this process's copy of a session another process made.
    """

    def __init__(self, default: Sandbox, factory: Factory, joiner: Factory, root: SharedState) -> None:
        """``root``: the ``--state-namespace`` itself (each session's namespace is ``<root>:<name>``)."""
        super().__init__(default, factory)
        self.joiner = joiner
        self.shared = root
        self._key = root.key("sessions")

    def create(self, spec: SessionSpec) -> Session:
        """As ``SessionRegistry.create``, with the name and the ``max_sessions`` bound checked in Redis.

        Raises: SessionError 400/409/429; FixtureError, ScenarioError from the factory.
        """
        self.sweep()
        name = spec.name or self._next_name()
        if not NAME_PATTERN.fullmatch(name) or name == DEFAULT_SESSION:
            return super().create(spec)  # the same 400 as one process
        now = self._now()
        expires = None if spec.ttl_seconds is None else now + spec.ttl_seconds
        with self.shared.lock():
            if self.shared.redis.hexists(self._key, name):
                raise SessionError(409, f"a session named {name!r} already exists")
            if self.shared.redis.hlen(self._key) >= self.limit:
                raise SessionError(
                    429,
                    f"too many live sessions ({self.limit}, the max_sessions setting); "
                    "delete one (DELETE /__admin/sessions/<name>) or wait for one to expire",
                )
            self.shared.redis.hset(self._key, name, dumps((spec, now, expires)))
        try:
            sandbox = self.factory(name, spec)
        except BaseException:
            self.shared.redis.hdel(self._key, name)
            raise
        session = Session(name, sandbox, now, expires)
        with self._lock:
            self._sessions[name] = session
        return session

    def get(self, name: str) -> Session | None:
        """The live session ``name`` from any process (``default`` included), or None."""
        if name == DEFAULT_SESSION:
            return Session(DEFAULT_SESSION, self.default, 0.0, None)
        self.sweep()
        return self._found(name, self.shared.redis.hget(self._key, name))

    async def sandbox_async(self, name: str) -> Sandbox | None:
        """``sandbox`` with the registry read through the event loop's own round trips (as
        ``sweep_async``): a Redis that stops answering holds no other request of the process."""
        if name == DEFAULT_SESSION:
            return self.default
        await self.sweep_async()
        (raw,) = await self.shared.commit([("HGET", self._key, name)], read_only=True)
        session = self._found(name, raw)
        return None if session is None else session.sandbox

    def _found(self, name: str, raw: bytes | None) -> Session | None:
        """The session for registry entry ``raw`` of ``name`` (None: none, or expired and now forgotten)."""
        with self._lock:
            local = self._sessions.get(name)
        if raw is None or self._expired(raw):
            if local is not None:
                self._drop(name)
            if raw is not None:
                self._forget(name)
            return None
        if local is not None:
            return local
        spec, created_at, expires_at = loads(raw)
        sandbox = self.joiner(name, spec)
        session = Session(name, sandbox, created_at, expires_at)
        with self._lock:
            existing = self._sessions.setdefault(name, session)
        if existing is not session:
            sandbox.close()
        return existing

    def _expired(self, raw: bytes) -> bool:
        _, _, expires_at = loads(raw)
        return expires_at is not None and expires_at <= self._now()

    def list(self) -> list[Session]:
        """Every live session, made through whichever process, oldest first."""
        self.sweep()
        names = [name.decode() for name in self.shared.redis.hkeys(self._key)]
        found = [session for session in (self.get(name) for name in names) if session is not None]
        return sorted(found, key=lambda session: session.created_at)

    def delete(self, name: str) -> bool:
        """Remove a session for every process (its namespace emptied). False when there was none."""
        if not self.shared.redis.hdel(self._key, name):
            self._drop(name)
            return False
        self._forget(name)
        return True

    def _forget(self, name: str) -> None:
        """Empty the session's namespace and drop this process's copy."""
        self.shared.redis.hdel(self._key, name)
        session = self._drop(name)
        SharedState(self.shared.redis, self.shared.key(name)).clear()
        if session is None:
            return

    def _drop(self, name: str) -> Session | None:
        with self._lock:
            session = self._sessions.pop(name, None)
        if session is not None and session.sandbox is not self.default:
            session.sandbox.close()
        return session

    def sweep(self, force: bool = False) -> int:
        """Remove sessions whose time-to-live passed (at most once a second unless ``force``)."""
        if not self._sweep_due(force):
            return 0
        return self._forget_expired(self.shared.redis.hgetall(self._key))

    async def sweep_async(self, force: bool = False) -> int:
        """``sweep`` from the event loop: the registry is read through the loop's own round trips
        (core/shared_commit.py), so a Redis that stops answering holds no other request of the process."""
        if not self._sweep_due(force):
            return 0
        (registry,) = await self.shared.commit([("HGETALL", self._key)], read_only=True)
        return self._forget_expired(registry)

    def _forget_expired(self, registry: dict[bytes, bytes]) -> int:
        gone = 0
        for name, raw in registry.items():
            if self._expired(raw):
                self._forget(name.decode())
                gone += 1
        return gone

    def close(self) -> None:
        """Drop this process's copies; the sessions stay for the other processes."""
        with self._lock:
            names = list(self._sessions)
        for name in names:
            self._drop(name)
