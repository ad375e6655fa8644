"""The start-up GC policy: a slow full collection freezes its survivors, a fast or young one does not,
and installing twice keeps one callback. A stub clock stands in for the durations (no timing)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from mock_server.core import gc_policy
from mock_server.core.clock import Clock


class StubClock(Clock):
    """``monotonic()`` answers the queued readings in turn."""

    def __init__(self, *readings: float) -> None:
        super().__init__()
        self.readings = list(readings)

    def monotonic(self) -> float:
        return self.readings.pop(0)


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    callbacks = list(gc.callbacks)
    gc.unfreeze()
    yield
    gc.callbacks[:] = callbacks
    gc.unfreeze()


@pytest.mark.parametrize(
    ("generation", "readings", "frozen"),
    [(2, (10.0, 10.0 + gc_policy.SLOW_FULL_COLLECTION), True), (2, (10.0, 10.001), False), (1, (), False)],
    ids=["slow-full", "fast-full", "young"],
)
def test_freezes_after_a_slow_full_collection(generation: int, readings: tuple, frozen: bool) -> None:
    policy = gc_policy.FreezeSurvivors(StubClock(*readings))
    policy("start", {"generation": generation})
    policy("stop", {"generation": generation, "collected": 0, "uncollectable": 0})
    assert (gc.get_freeze_count() > 0, policy.freezes) == (frozen, int(frozen))


def test_install_freezes_once_and_keeps_one_callback() -> None:
    gc.callbacks[:] = [cb for cb in gc.callbacks if not isinstance(cb, gc_policy.FreezeSurvivors)]
    first = gc_policy.install(Clock())
    assert gc.get_freeze_count() > 0
    assert gc_policy.install(Clock()) is first
    assert sum(isinstance(cb, gc_policy.FreezeSurvivors) for cb in gc.callbacks) == 1


def test_a_real_full_collection_runs_the_callback() -> None:
    policy = gc_policy.FreezeSurvivors(StubClock(0.0, 1.0))
    gc.callbacks.append(policy)
    gc.collect()
    assert policy.freezes == 1 and gc.get_freeze_count() > 0
