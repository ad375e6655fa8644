"""Upload grants: the limits of each issued presigned PUT URL that S3 itself cannot express.

A grant is keyed by its URL's signature and remembers the object, the Host the URL was issued
for, a size cap and whether the URL is single-use (``UploadGrant``). ``GrantBook`` keeps them in
this process; ``storage/shared_grants.py`` keeps them in Redis for several processes. Both:

- ``issue(signature, grant)`` (``issue_all`` for several): remember a grant (expired ones are forgotten now
  and then: an expired URL is refused by the signature check before its grant is looked at);
- ``get(signature)``: the grant, or None;
- ``claim(signature)``: reserve a single-use URL for one upload at a time (raises AccessDenied
  when it was used or is in use); ``finish(signature, succeeded=...)`` releases it.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

from mock_server.core.clock import Clock
from mock_server.core.gc_policy import HeldDict
from mock_server.storage.s3_errors import AccessDenied

SWEEP_EVERY = 1000
USED = "This upload URL has already been used; request a new URL."
IN_USE = "This upload URL is in use by another upload in progress."


class UploadGrant(NamedTuple):
    """Limits attached to one issued presigned PUT URL, keyed by its signature; immutable (a claim stores
    a new one)."""

    bucket: str
    key: str
    host: str
    max_bytes: int | None
    single_use: bool
    expires_at: float
    used: bool = False
    uploading: bool = False


_EXPIRES_AT = UploadGrant._fields.index("expires_at")
_UPLOADING = UploadGrant._fields.index("uploading")


class GrantBook:
    """Grants held in this process (the default)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        # Held as plain tuples: one is kept per issued URL until it expires, and the garbage collector stops
        # walking a plain tuple of atomic fields at its first pass (never a NamedTuple or an object of a
        # class), so millions of grants add nothing to full collections.
        self._grants: dict[str, tuple[Any, ...]] = HeldDict()
        # The earliest expiry among the grants (inf: none): until then a sweep would find nothing to drop,
        # so it is skipped instead of walking every grant.
        self._first_expiry = float("inf")

    def issue(self, signature: str, grant: UploadGrant) -> None:
        """Remember ``grant``; every ``SWEEP_EVERY`` grants, forget the expired ones no upload holds."""
        self.issue_all([(signature, grant)])

    def issue_all(self, grants: list[tuple[str, UploadGrant]]) -> None:
        """``issue`` for several ``(signature, grant)`` at once."""
        with self._lock:
            for signature, grant in grants:
                self._grants[signature] = tuple(grant)
                if grant.expires_at < self._first_expiry:
                    self._first_expiry = grant.expires_at
                if len(self._grants) % SWEEP_EVERY == 0:
                    self._forget_expired()

    def _forget_expired(self) -> None:
        now = self.clock.time()
        if now < self._first_expiry:
            return
        for old in [s for s, g in self._grants.items() if g[_EXPIRES_AT] <= now and not g[_UPLOADING]]:
            del self._grants[old]
        self._first_expiry = min((g[_EXPIRES_AT] for g in self._grants.values()), default=float("inf"))

    def get(self, signature: str) -> UploadGrant | None:
        with self._lock:
            held = self._grants.get(signature)
        return None if held is None else UploadGrant._make(held)

    def claim(self, signature: str) -> UploadGrant | None:
        with self._lock:
            held = self._grants.get(signature)
            grant = None if held is None else UploadGrant._make(held)
            if grant is None or not grant.single_use:
                return grant
            if grant.used:
                raise AccessDenied(USED)
            if grant.uploading:
                raise AccessDenied(IN_USE)
            grant = grant._replace(uploading=True)
            self._grants[signature] = tuple(grant)
            return grant

    def finish(self, signature: str, *, succeeded: bool) -> None:
        with self._lock:
            held = self._grants.get(signature)
            if held is not None:
                grant = UploadGrant._make(held)
                used = grant.used or (succeeded and grant.single_use)
                self._grants[signature] = tuple(grant._replace(uploading=False, used=used))

    def __len__(self) -> int:
        with self._lock:
            return len(self._grants)

    def reset(self) -> None:
        """Forget every grant."""
        with self._lock:
            self._grants.clear()
            self._first_expiry = float("inf")
