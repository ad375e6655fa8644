"""Candid's documented rate limit: 1000 requests per client IP within a rolling 10-second window.

A sliding-window log per client address, measured on the sandbox clock (so tests move past a
window with ``clock.advance``). The limiter is plain data in a store record (see ``auth.runtime``),
so an admin reset gives every client a fresh window; the fixtures (``candid.rate_limit``) set the
numbers. It has no lock of its own: callers change it inside ``store.transaction()`` and put the
record back (``auth.check_rate_limit``, ``auth.configure_rate_limit``).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

DEFAULT_REQUESTS = 1000
DEFAULT_WINDOW_SECONDS = 10.0


@dataclass
class RateLimiter:
    requests: int = DEFAULT_REQUESTS
    window_seconds: float = DEFAULT_WINDOW_SECONDS
    enabled: bool = True
    _hits: dict[str, deque[float]] = field(default_factory=dict, repr=False)

    def configure(
        self, *, requests: int | None = None, window_seconds: float | None = None, enabled: bool | None = None
    ) -> None:
        """Change the limit (forgets the requests counted so far)."""
        if requests is not None:
            self.requests = requests
        if window_seconds is not None:
            self.window_seconds = window_seconds
        if enabled is not None:
            self.enabled = enabled
        self._hits.clear()

    def hit(self, client: str, now: float) -> int | None:
        """Count one request from ``client`` at ``now``.

        Returns None when allowed, else the whole seconds (>= 1) until the window has room again;
        refused requests are not counted.
        """
        if not self.enabled:
            return None
        hits = self._hits.setdefault(client, deque())
        while hits and hits[0] <= now - self.window_seconds:
            hits.popleft()
        if len(hits) >= self.requests:
            oldest = hits[0] if hits else now
            return max(1, math.ceil(oldest + self.window_seconds - now))
        hits.append(now)
        return None
