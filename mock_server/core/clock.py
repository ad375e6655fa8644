"""The one source of "now" for the whole sandbox.

Real time plus an offset, or a frozen instant. Tests and users move it through the admin API
(``POST /__admin/clock``), so expiries are reached in milliseconds instead of by sleeping.
Nothing else in the package may call ``time.time``, ``datetime.now`` or ``time.monotonic``.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


def _parse_instant(value: str | datetime | float | int) -> float:
    if isinstance(value, datetime):
        instant = value if value.tzinfo else value.replace(tzinfo=UTC)
        return instant.timestamp()
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.timestamp()


class Clock:
    """Wall-clock time shifted by an offset; optionally frozen at one instant."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None

    # -- reading -------------------------------------------------------------------------
    def time(self) -> float:
        """Seconds since the epoch, as the sandbox sees them."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def now(self) -> datetime:
        """Timezone-aware UTC datetime for the sandbox's current instant."""
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def real_now(self) -> datetime:
        """The machine's wall-clock time (never shifted or frozen), to show next to the sandbox's."""
        return datetime.fromtimestamp(time.time(), tz=UTC)

    def monotonic(self) -> float:
        """Real monotonic seconds, for measuring durations (never shifted)."""
        return time.monotonic()

    def expired(self, at: datetime | float) -> bool:
        """True when ``at`` (a datetime or epoch seconds) is not in the sandbox's future."""
        deadline = at.timestamp() if isinstance(at, datetime) else float(at)
        return self.time() >= deadline

    def after(self, seconds: float) -> datetime:
        """The sandbox instant ``seconds`` from now (UTC, timezone-aware)."""
        return self.now() + timedelta(seconds=seconds)

    @property
    def frozen(self) -> bool:
        """Whether the clock is frozen (``POST /__admin/clock {"freeze": ...}``)."""
        return self._frozen_at is not None

    def state(self) -> dict[str, object]:
        """``{now (ISO 8601 Z), epoch (seconds), offsetSeconds, frozen}``, as ``GET /__admin/clock``."""
        now = self.now()
        return {
            "now": now.isoformat().replace("+00:00", "Z"),
            "epoch": now.timestamp(),
            "offsetSeconds": round(self._offset, 6),
            "frozen": self.frozen,
        }

    # -- moving --------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move the sandbox's time forward (or back, with a negative number)."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def set(self, instant: str | datetime | float) -> None:
        """Jump to ``instant``; a frozen clock stays frozen there."""
        target = _parse_instant(instant)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = target
            else:
                self._offset = target - time.time()

    def freeze(self, instant: str | datetime | float | None = None) -> None:
        """Stop time at ``instant`` (default: the current sandbox time)."""
        target = _parse_instant(instant) if instant is not None else self.time()
        with self._lock:
            self._frozen_at = target

    def unfreeze(self) -> None:
        """Let time run again from the frozen instant."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None

    def reset(self) -> None:
        """Back to real time: no offset, not frozen."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None


def iso_z(instant: datetime) -> str:
    """``2026-11-24T10:15:00Z``: UTC, second precision, ``Z`` suffix."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
