"""The machine's load average while a bench phase runs: sampled every few seconds in a thread.

The 1-minute figure lags by about a minute, so a phase reports it at its start, its end and the highest
sample in between; the 5-minute figure at the end says what the whole phase sat in. Printed with every
table, since the load generator and other work share the machine's cores with the server.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from typing import Any


class LoadWatch:
    """``with LoadWatch() as watch: ...`` then ``watch.summary()``: the 1-minute load average at the
    start, at the end, lowest, highest and mean sample (every ``interval`` seconds); the 5-minute one at
    the end; seconds elapsed."""

    def __init__(self, interval: float = 2.0) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self.start: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.end: tuple[float, float, float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._started = 0.0
        self._elapsed = 0.0

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadWatch:
        self.start = os.getloadavg()
        self.samples.append(self.start[0])
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.end = os.getloadavg()
        self.samples.append(self.end[0])
        self._elapsed = time.perf_counter() - self._started

    def summary(self) -> dict[str, Any]:
        end = self.end or os.getloadavg()
        return {
            "start": self.start[0],
            "end": end[0],
            "min": min(self.samples),
            "max": max(self.samples),
            "mean": statistics.fmean(self.samples),
            "end_5min": end[1],
            "seconds": self._elapsed,
        }


def span(summary: dict[str, Any] | None) -> str:
    """``1.20–3.40``: the lowest and highest 1-minute load average sampled in the phase, or ``–``."""
    if not summary:
        return "–"
    return f"{summary['min']:.2f}–{summary['max']:.2f}"
