"""ListObjects v1/v2 of the shared object store, computed from its Redis index with moto's rules.

``s3_api`` asks the store's ``backend`` for ``list_objects``/``list_objects_v2`` with moto's
signatures and answers; ``SharedListing`` gives the same answers for the same keys (the in-process
store's are moto's own), so both stores list byte-identically:

- keys under ``prefix``; with ``delimiter``, the part up to the first delimiter after the prefix
  becomes a common prefix (``CommonPrefixes``);
- v1: ``marker`` skips keys up to it (common prefixes are all kept) and ``max_keys`` cuts the keys;
- v2: keys and common prefixes in one order; ``continuation-token`` or ``start-after`` skip up to
  the named key, ``max_keys`` cuts; the next token is the MD5 of the last name shown, remembered in
  Redis (``s3:tokens``) so any process continues a listing another began. An unknown token fails
  as moto's does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.storage.s3 import ObjectInfo
    from mock_server.storage.shared_objects import SharedObjectStore


@dataclass(frozen=True)
class BucketView:
    """What ``s3_api`` reads of a bucket: its name and creation date."""

    name: str
    creation_date: datetime


@dataclass(frozen=True)
class Listed:
    """A listed key and its object as the listing found it (``s3_api`` reads both; None: deleted since)."""

    name: str
    info: ObjectInfo | None = None


class SharedListing:
    """moto's listing operations over the shared index of ``store``."""

    def __init__(self, store: SharedObjectStore) -> None:
        self._store = store

    def _split(
        self, bucket: BucketView, prefix: str | None, delimiter: str | None
    ) -> tuple[list[Any], list[str]]:
        redis = self._store.shared.redis
        names = sorted(name.decode() for name in redis.hkeys(self._store._index_key(bucket.name)))
        keys: list[Any] = []
        folders: set[str] = set()
        for name in names:
            if prefix and not name.startswith(prefix):
                continue
            rest = name[len(prefix) :] if prefix else name
            if delimiter and delimiter in rest:
                folders.add(f"{prefix or ''}{rest.split(delimiter)[0]}{delimiter}")
            else:
                keys.append(Listed(name))
        return keys, sorted(folders)

    def list_objects(
        self,
        bucket: BucketView,
        prefix: str | None,
        delimiter: str | None,
        marker: str | None,
        max_keys: int | None,
    ) -> tuple[list[Any], list[str], bool, str | None]:
        """(keys, common prefixes, truncated, next token), as moto's ``list_objects``."""
        keys, folders = self._split(bucket, prefix, delimiter)
        if marker:
            keys = _after(keys, self._token(marker) or marker)
        if max_keys is None:
            return keys, folders, False, None
        keys, truncated, token = self._truncate(keys, max_keys)
        return self._looked_up(bucket, keys), folders, truncated, token

    def list_objects_v2(
        self,
        bucket: BucketView,
        prefix: str | None,
        delimiter: str | None,
        continuation_token: str | None,
        start_after: str | None,
        max_keys: int,
    ) -> tuple[list[Any], bool, str | None]:
        """(keys and common prefixes in order, truncated, next token), as moto's ``list_objects_v2``."""
        keys, folders = self._split(bucket, prefix, delimiter)
        entries = sorted([*keys, *folders], key=_name)
        if continuation_token or start_after:
            limit = self._token(continuation_token) if continuation_token else start_after
            entries = _after(entries, limit)
        entries, truncated, token = self._truncate(entries, max_keys)
        return self._looked_up(bucket, entries), truncated, token

    def _looked_up(self, bucket: BucketView, entries: list[Any]) -> list[Any]:
        """``entries`` with the objects of their keys, fetched in one round trip."""
        names = [entry.name for entry in entries if isinstance(entry, Listed)]
        if not names:
            return entries
        found = self._store.shared.redis.hmget(self._store._index_key(bucket.name), names)
        infos = {name: self._store.decoded(entry) for name, entry in zip(names, found, strict=True)}
        return [
            entry if isinstance(entry, str) else Listed(entry.name, infos[entry.name]) for entry in entries
        ]

    def continuation_token_known(self, token: str) -> bool:
        """Whether a listing gave out ``token`` (as moto's ``_pagination_tokens`` holds it)."""
        return bool(token) and self._token(token) is not None

    def _token(self, token: str) -> str | None:
        found = self._store.shared.redis.hget(self._store._tokens_key, token)
        return found.decode() if found is not None else None

    def _truncate(self, entries: list[Any], max_keys: int) -> tuple[list[Any], bool, str | None]:
        if max_keys == 0:
            return [], False, None
        if len(entries) <= max_keys:
            return entries, False, None
        entries = entries[:max_keys]
        last = _name(entries[-1])
        token = hashlib.md5(last.encode("utf-8"), usedforsecurity=False).hexdigest()
        self._store.shared.redis.hset(self._store._tokens_key, token, last)
        return entries, True, token


def _name(entry: Any) -> str:
    return entry if isinstance(entry, str) else entry.name


def _after(entries: list[Any], limit: Any) -> list[Any]:
    # moto's ``_get_results_from_token``: skip to the first name after ``limit`` (None fails, as there).
    index = 0
    for entry in entries:
        if _name(entry) > limit:
            break
        index += 1
    return entries[index:]
