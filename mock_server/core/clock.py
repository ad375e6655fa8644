"""The one source of "now" for the whole sandbox.

Real time plus an offset, or a frozen instant. Tests and users move it through the admin API
(``POST /__admin/clock``), so expiries are reached in milliseconds instead of by sleeping.
Nothing else in the package may call ``time.time``, ``datetime.now`` or ``time.monotonic``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

EARLIEST = 0.0
"""The earliest instant the sandbox clock may show (1970-01-01T00:00:00Z), in epoch seconds."""
LATEST = 253370764799.0
"""The latest instant (9998-12-31T23:59:59Z): a year before the last one a datetime holds, so that every
expiry the sandbox computes from it (tokens, signed URLs: days at most) can still be formatted."""


def _in_range(epoch: float) -> float:
    if not math.isfinite(epoch) or not EARLIEST <= epoch <= LATEST:
        raise ValueError("the sandbox clock must stay between 1970-01-01T00:00:00Z and 9998-12-31T23:59:59Z")
    return epoch


def finite_seconds(value: object) -> float:
    """A finite number of seconds (``"nan"``, infinities, booleans and text are refused).

    Raises: ValueError.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"seconds must be a number, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"seconds must be finite, not {value!r}")
    return float(value)


def _parse_instant(value: str | datetime | float | int) -> float:
    """Epoch seconds of an ISO 8601 text, a datetime or an epoch number within [EARLIEST, LATEST].

    Raises: ValueError (TypeError for other types).
    """
    if isinstance(value, datetime):
        instant = value if value.tzinfo else value.replace(tzinfo=UTC)
        return _in_range(instant.timestamp())
    if isinstance(value, bool):
        raise TypeError("an instant is ISO 8601 text or epoch seconds, not a boolean")
    if isinstance(value, int | float):
        return _in_range(float(value))
    if not isinstance(value, str):
        raise TypeError(f"an instant is ISO 8601 text or epoch seconds, not {type(value).__name__}")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return _in_range(instant.timestamp())


class Clock:
    """Wall-clock time shifted by an offset; optionally frozen at one instant."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None
        # Told ``(offset, frozen_at)`` after every change, so other processes can follow (core/shared.py).
        self.on_change: Callable[[float, float | None], None] | None = None

    def restore(self, offset: float, frozen_at: float | None) -> None:
        """Take a state another process published (no ``on_change`` call)."""
        with self._lock:
            self._offset, self._frozen_at = offset, frozen_at

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self._offset, self._frozen_at)

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

    def real_time(self) -> float:
        """``real_now`` in seconds since the epoch."""
        return time.time()

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
        """Move the sandbox's time forward (or back, with a negative number).

        Raises: ValueError when ``seconds`` is not finite or would leave [EARLIEST, LATEST].
        """
        self.update(advance=seconds)

    def update(
        self,
        *,
        set_to: str | datetime | float | None = None,
        freeze: bool | str | datetime | float = False,
        advance: float | None = None,
        unfreeze: bool = False,
    ) -> None:
        """Set, freeze, advance, unfreeze, in that order, as one change: all of it or nothing.

        Raises: ValueError/TypeError (and nothing changes) when a value is invalid or the result
        would leave [EARLIEST, LATEST].
        """
        target = None if set_to is None else _parse_instant(set_to)
        freeze_at = None if freeze is False or freeze is True else _parse_instant(freeze)
        step = None if advance is None else finite_seconds(advance)
        with self._lock:
            real = time.time()
            frozen_at, offset = self._frozen_at, self._offset
            if target is not None:
                frozen_at, offset = (target, offset) if frozen_at is not None else (None, target - real)
            if freeze is not False:
                frozen_at = (
                    freeze_at
                    if freeze_at is not None
                    else (frozen_at if frozen_at is not None else real + offset)
                )
            if step is not None:
                if frozen_at is not None:
                    frozen_at += step
                else:
                    offset += step
            _in_range(frozen_at if frozen_at is not None else real + offset)
            if unfreeze and frozen_at is not None:
                offset, frozen_at = frozen_at - real, None
            self._frozen_at, self._offset = frozen_at, offset
        self._changed()

    def set(self, instant: str | datetime | float) -> None:
        """Jump to ``instant``; a frozen clock stays frozen there."""
        self.update(set_to=instant)

    def freeze(self, instant: str | datetime | float | None = None) -> None:
        """Stop time at ``instant`` (default: the current sandbox time)."""
        self.update(freeze=True if instant is None else instant)

    def unfreeze(self) -> None:
        """Let time run again from the frozen instant."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None
        self._changed()

    def reset(self) -> None:
        """Back to real time: no offset, not frozen."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None
        self._changed()


def wall_time() -> float:
    """Real epoch seconds, whatever the sandbox clock shows (``Clock.real_time`` without a clock): the
    time log lines are stamped with, as the logging module stamps its records."""
    return time.time()


def iso_ms(epoch: float) -> str:
    """``2026-11-24T10:15:00.123Z``: epoch seconds as UTC text to the millisecond (journal, log, admin)."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_z(instant: datetime) -> str:
    """``2026-11-24T10:15:00Z``: UTC, second precision, ``Z`` suffix, the year in four digits as RFC 3339
    has it (``0999-06-01T12:00:00Z`` for a client-given date: ``strftime``'s ``%Y`` leaves it unpadded,
    which RFC 3339 parsers such as the vendors' SDKs refuse). A naive instant is taken as local time.

    Raises: OverflowError when the instant in UTC falls outside years 1 to 9999.
    """
    utc = instant if instant.tzinfo is UTC else instant.astimezone(UTC)
    # %-formatting: twice as fast as the f-string here
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (  # noqa: UP031
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second
    )  # fmt: skip
