"""Upload grants: the limits of an issued presigned PUT URL that S3 itself cannot express.

As in an S3 POST policy, the limits travel with the URL: the sandbox signs them in as the value of
``x-sandbox-grant`` (``encode``: single use, size cap, the book's epoch, how many sweeps it had made and
the host the URL was issued for), so they cannot be changed without breaking the signature, and nothing
is stored per issued URL.
What is stored is what using a single-use URL changes: its claim (an upload in progress, then done),
kept until the URL expires. ``GrantBook`` keeps claims in this process; ``storage/shared_grants.py``
keeps them in Redis for several processes. Both:

- ``epoch()``: a token a reset changes (and a restart: a new book draws a new one); a URL signed with
  another epoch was issued before a reset or restart and is refused;
- ``sweeps()`` and ``swept_since(count)``: how many sweeps forgot the claims of expired URLs, and the
  latest sandbox time among the sweeps made since a URL's issue (``count``: ``sweeps()`` then): a
  single-use URL expired by that time may have been used and forgotten, so it is refused even when the
  clock is moved back (one issued after those sweeps is not);
- ``claim(signature, expires_at, epoch, sweeps)``: reserve a single-use URL for one upload at a time
  (raises AccessDenied when it was used, is in use, or its limits are no longer known, checked again
  with the claim, atomically over Redis, so no reset or sweep slips in after the request's check);
  ``finish(signature, succeeded=...)`` releases it.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from typing import NamedTuple

from mock_server.core.clock import Clock
from mock_server.core.gc_policy import HeldDict
from mock_server.storage.s3_errors import AccessDenied

SWEEP_EVERY = 1000
SWEEPS_KEPT = 1000  # sweep times kept; a URL issued before the oldest kept one meets every sweep since
USED = "This upload URL has already been used; request a new URL."
IN_USE = "This upload URL is in use by another upload in progress."
UNKNOWN_GRANT = (
    "This upload URL was issued by the sandbox but its limits are no longer known (it was issued before "
    "a reset or restart, or it expired and was forgotten); request a new URL."
)
UPLOADING, DONE = "u", "d"
_LONGEST_NUMBER = (
    16  # digits of a cap or a sweep count: more is not the sandbox's (and int() of 4,300+ raises)
)


class UploadGrant(NamedTuple):
    """The limits signed into one issued presigned PUT URL (``encode`` / ``decode``)."""

    single_use: bool
    max_bytes: int | None
    epoch: str
    sweeps: int
    host: str


def encode(grant: UploadGrant) -> str:
    """The ``x-sandbox-grant`` value: ``<1|0>.<max bytes or empty>.<epoch>.<sweeps>.<host>``, the host in
    unpadded base64url, so a client rewriting the URL's host with a string replace does not rewrite it too
    (it names the host the URL was signed for when the signature does not match)."""
    cap = "" if grant.max_bytes is None else str(grant.max_bytes)
    host = base64.urlsafe_b64encode(grant.host.encode()).rstrip(b"=").decode()
    return f"{int(grant.single_use)}.{cap}.{grant.epoch}.{grant.sweeps}.{host}"


def decode(value: str) -> UploadGrant | None:
    """The grant ``encode`` wrote, or None for any other text."""
    parts = value.split(".")
    if len(parts) != 5:
        return None
    single, cap, epoch, sweeps, host = parts
    if single not in ("0", "1") or not epoch or not (cap == "" or _number(cap)) or not _number(sweeps):
        return None
    try:
        name = base64.urlsafe_b64decode(host + "=" * (-len(host) % 4)).decode()
    except (binascii.Error, ValueError):
        return None
    return UploadGrant(single == "1", int(cap) if cap else None, epoch, int(sweeps), name)


def _number(text: str) -> bool:
    return 0 < len(text) <= _LONGEST_NUMBER and text.isascii() and text.isdigit()


def latest_since(count: int, sweeps: int, times: list[float]) -> float:
    """The latest of the sweep times made since ``count`` sweeps (``times``: the last ones of ``sweeps``
    in all, oldest first): -inf when none ran since; +inf when some of them are no longer kept."""
    if count >= sweeps:
        return float("-inf")
    first_kept = sweeps - len(times)
    if count < first_kept:
        return float("inf")
    return max(times[count - first_kept :])


def new_epoch() -> str:
    """A fresh epoch: random, not seeded, so a restarted server never honours its predecessor's URLs
    (their claims went with it)."""
    return os.urandom(6).hex()


class GrantBook:
    """Claims of single-use URLs held in this process (the default)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._epoch = new_epoch()
        # signature -> (UPLOADING or DONE, the URL's expiry in epoch seconds): plain tuples of atomic
        # fields, which the collector stops walking (gc_policy.HeldDict)
        self._claims: dict[str, tuple[str, float]] = HeldDict()
        self._claimed = 0
        self._sweeps = 0
        self._sweep_times: list[float] = []  # the last SWEEPS_KEPT sweeps' sandbox times, oldest first

    def epoch(self) -> str:
        return self._epoch

    def sweeps(self) -> int:
        return self._sweeps

    def swept_since(self, count: int) -> float:
        with self._lock:
            return latest_since(count, self._sweeps, self._sweep_times)

    def claim(self, signature: str, expires_at: float, epoch: str, sweeps: int) -> None:
        """Reserve the single-use URL ``signature`` (valid until ``expires_at``, epoch seconds; signed
        with ``epoch`` when the book had made ``sweeps`` sweeps).

        Raises: AccessDenied when it was used, an upload through it is in progress, or its limits are no
        longer known: ``epoch`` is not the book's (a reset ran since the URL was checked), or a sweep made
        since its issue ran at or after ``expires_at``.
        """
        with self._lock:
            if epoch != self._epoch or expires_at <= latest_since(sweeps, self._sweeps, self._sweep_times):
                raise AccessDenied(UNKNOWN_GRANT)
            held = self._claims.get(signature)
            if held is not None:
                raise AccessDenied(USED if held[0] == DONE else IN_USE)
            self._claims[signature] = (UPLOADING, expires_at)
            self._claimed += 1
            if self._claimed % SWEEP_EVERY == 0:
                self._forget_expired()

    def finish(self, signature: str, *, succeeded: bool) -> None:
        """End the upload through ``signature``: the URL is used if it succeeded, free again if not."""
        with self._lock:
            held = self._claims.get(signature)
            if held is None:
                return
            if succeeded:
                self._claims[signature] = (DONE, held[1])
            else:
                del self._claims[signature]

    def _forget_expired(self) -> None:
        now = self.clock.time()
        for old in [s for s, (state, at) in self._claims.items() if at <= now and state == DONE]:
            del self._claims[old]
        self._sweeps += 1
        self._sweep_times = [*self._sweep_times[-(SWEEPS_KEPT - 1) :], now]

    def __len__(self) -> int:
        """Claims held."""
        with self._lock:
            return len(self._claims)

    def reset(self) -> None:
        """Forget every claim; URLs issued before now are refused (a new epoch)."""
        with self._lock:
            self._claims.clear()
            self._claimed = 0
            self._sweeps = 0
            self._sweep_times = []
            self._epoch = new_epoch()
