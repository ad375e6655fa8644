"""Full garbage collections that stay short while stored state grows (installed by ``mock-server serve``).

CPython's cyclic collector walks every tracked object in a full (generation 2) collection, and all of it
happens on the one thread serving requests. A freshly started server already holds about 120,000 tracked
objects (FastAPI, pydantic, moto, botocore, the OpenAPI documents), which costs 90-170 ms per full
collection on a 2-core machine; records, idempotency entries, journal entries and stored objects add
more with every request until a reset. Measured with ``bench/soak.py --gc-log``: a full collection every
few thousand requests, each a p99 spike of about 100 ms.

``gc.freeze()`` moves everything alive into a permanent generation the collector skips. Two rules:
- at start-up, after the app is built: what is loaded then lives as long as the process;
- after any full collection that took ``SLOW_FULL_COLLECTION`` or longer: what survived it is, by the
  collector's own measure, long-lived (stored records and objects, mostly).
Reference counting still frees frozen objects when their last reference goes; only cycles among frozen
objects wait, until ``Sandbox.reset()`` (``ObjectStore.reset`` unfreezes) lets the collector see them
again. The few request-scoped objects alive at a freeze are bounded by the rule itself: a freeze needs
a slow collection, which needs tens of thousands of new survivors first.

Process-wide by nature (``gc.callbacks``), so installed once per process; later calls return the policy
already installed.
"""

from __future__ import annotations

import gc
from typing import Any

from mock_server.core.clock import Clock

SLOW_FULL_COLLECTION = 0.005  # seconds: a full collection this long freezes its survivors


class FreezeSurvivors:
    """A ``gc.callbacks`` entry: times full collections and freezes after a slow one."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.started = 0.0
        self.freezes = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self.started = self.clock.monotonic()
        elif self.clock.monotonic() - self.started >= SLOW_FULL_COLLECTION:
            gc.freeze()
            self.freezes += 1


class HeldDict(dict):  # type: ignore[type-arg]
    """A dict for state that grows with every request (records, the claims of used upload URLs): never
    untracked by the collector, so a freeze takes it out of every later collection's walk for good.

    A full collection untracks each exact ``dict`` whose entries are all atomic (strings, plain tuples of
    them). The next entry written re-tracks it into the youngest generation, where the next young,
    middle and full collections each walk all its entries again (measured with up to 400,000 upload
    grants: each full collection 12 ms, growing to 26). A subclass is never untracked (CPython untracks
    exact dicts only). bench/PROFILE.md has the figures.
    """

    __slots__ = ()


def install(clock: Clock) -> FreezeSurvivors:
    """Freeze what is alive now and add the slow-collection rule (once per process); returns the rule."""
    for callback in gc.callbacks:
        if isinstance(callback, FreezeSurvivors):
            return callback
    policy = FreezeSurvivors(clock)
    gc.callbacks.append(policy)
    gc.freeze()
    return policy
