"""Sessions: isolated sandboxes inside one process, for parallel test runs against one server.

A session is one more :class:`Sandbox` (its own clock, ids, records, idempotency keys, journal,
embedded-S3 account and objects, scenarios and fixtures), built by the factory the app hands the
registry. What never changes (settings, vendors and their compiled documents, the default fixtures
already parsed) is shared. The sandbox the app starts with is the session named ``default``.

Sessions are addressed by a path prefix, ``/~s/<name>/...`` (see ``mock_server.session_middleware``),
and live until deleted or until their time-to-live passes on the *real* clock (each session's own
clock may be moved, so it cannot decide when the session ends). Expired sessions are removed when
next looked up and by a sweep at most once a second, with their objects.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_server.core.sandbox import Sandbox

DEFAULT_SESSION = "default"
PATH_MARK = "/~s/"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SWEEP_EVERY = 1.0  # real seconds between sweeps of expired sessions


class SessionError(ValueError):
    """A session request that cannot be served: ``status`` is the admin API's answer (400/404/409/429)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class SessionSpec:
    """What a new session starts from: fixtures per vendor (None: the server's), scenario documents,
    an id seed and a time-to-live in real seconds (None: until deleted)."""

    name: str | None = None
    fixtures: dict[str, Any] | None = None
    scenarios: tuple[Any, ...] = ()
    seed: int | None = None
    ttl_seconds: float | None = None


@dataclass
class Session:
    """One live session: its name, sandbox and real-time birth and end (epoch seconds)."""

    name: str
    sandbox: Sandbox
    created_at: float  # real epoch seconds
    expires_at: float | None  # real epoch seconds, or None


Factory = Callable[[str, SessionSpec], Sandbox]


class SessionRegistry:
    """The live sessions of one app, bounded by ``settings.max_sessions`` (the default one not counted)."""

    def __init__(self, default: Sandbox, factory: Factory) -> None:
        self.default = default
        self.factory = factory
        self.clock = default.clock  # only its real time is read here
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._counter = 0
        self._swept_at = float("-inf")

    @property
    def limit(self) -> int:
        """The ``max_sessions`` setting."""
        return self.default.settings.max_sessions

    def _now(self) -> float:
        return self.clock.real_now().timestamp()

    def create(self, spec: SessionSpec) -> Session:
        """Build and register a session.

        Raises: SessionError 400 (bad name), 409 (name taken), 429 (``max_sessions`` live sessions);
        whatever the factory raises for bad fixtures or scenarios (FixtureError, ScenarioError).
        """
        self.sweep()
        with self._lock:
            name = spec.name or self._next_name()
            if not NAME_PATTERN.fullmatch(name) or name == DEFAULT_SESSION:
                raise SessionError(
                    400,
                    f"invalid session name {name!r}: use 1-64 letters, digits, '_', '.', '-' "
                    f"(starting with a letter or digit), and not {DEFAULT_SESSION!r}",
                )
            if name in self._sessions:
                raise SessionError(409, f"a session named {name!r} already exists")
            if len(self._sessions) >= self.limit:
                raise SessionError(
                    429,
                    f"too many live sessions ({self.limit}, the max_sessions setting); "
                    "delete one (DELETE /__admin/sessions/<name>) or wait for one to expire",
                )
            self._sessions[name] = placeholder = Session(name, self.default, self._now(), None)
        try:
            sandbox = self.factory(name, spec)
        except BaseException:
            with self._lock:
                self._sessions.pop(name, None)
            raise
        now = self._now()
        expires = None if spec.ttl_seconds is None else now + spec.ttl_seconds
        session = Session(name, sandbox, now, expires)
        with self._lock:
            if self._sessions.get(name) is placeholder:
                self._sessions[name] = session
                return session
        sandbox.close()  # deleted while being built
        raise SessionError(409, f"session {name!r} was deleted while it was being created")

    def _next_name(self) -> str:
        while True:
            self._counter += 1
            # Not from the default session's seeded ids: naming a session must not shift its id stream.
            name = f"s{self._counter}-{secrets.token_hex(3)}"
            if name not in self._sessions:
                return name

    def get(self, name: str) -> Session | None:
        """The live session ``name`` (``default`` included), or None when unknown or expired."""
        self.sweep()
        if name == DEFAULT_SESSION:
            return Session(DEFAULT_SESSION, self.default, 0.0, None)
        with self._lock:
            session = self._sessions.get(name)
            if session is None or session.sandbox is self.default:  # unknown, or still being built
                return None
            if session.expires_at is not None and session.expires_at <= self._now():
                del self._sessions[name]
            else:
                return session
        session.sandbox.close()
        return None

    def sandbox(self, name: str) -> Sandbox | None:
        """The live session's sandbox (``default`` included), or None."""
        session = self.get(name)
        return None if session is None else session.sandbox

    async def sandbox_async(self, name: str) -> Sandbox | None:
        """``sandbox`` from the event loop (nothing here waits)."""
        return self.sandbox(name)

    def list(self) -> list[Session]:
        """The live sessions the admin API created, oldest first."""
        self.sweep()
        with self._lock:
            return [s for s in self._sessions.values() if s.sandbox is not self.default]

    def delete(self, name: str) -> bool:
        """Remove a session and its objects. Returns False when there was none of that name."""
        with self._lock:
            session = self._sessions.pop(name, None)
        if session is None:
            return False
        if session.sandbox is not self.default:
            session.sandbox.close()
        return True

    def sweep(self, force: bool = False) -> int:
        """Remove expired sessions (at most once a second unless ``force``). Returns how many."""
        if not self._sweep_due(force):
            return 0
        now = self._now()
        with self._lock:
            expired = [s for s in self._sessions.values() if s.expires_at is not None and s.expires_at <= now]
            for session in expired:
                del self._sessions[session.name]
        for session in expired:
            session.sandbox.close()
        return len(expired)

    async def sweep_async(self, force: bool = False) -> int:
        """``sweep`` from the event loop (nothing here waits)."""
        return self.sweep(force)

    def _sweep_due(self, force: bool) -> bool:
        """Whether a sweep is due (``SWEEP_EVERY`` since the last, or ``force``); if so it starts now."""
        monotonic = self.clock.monotonic()
        if not force and monotonic - self._swept_at < SWEEP_EVERY:
            return False
        self._swept_at = monotonic
        return True

    def close(self) -> None:
        """Remove every session (the default one is the app's to close)."""
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            if session.sandbox is not self.default:
                session.sandbox.close()
