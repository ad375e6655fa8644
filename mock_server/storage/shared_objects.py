"""The embedded S3's objects shared by every worker process over one Redis namespace.

``SharedObjectStore`` has ``ObjectStore``'s public interface (what storage/, vendors/ and admin/
call on ``sandbox.storage.objects``) with the state kept where all processes see it:

- bodies: files in ``<spool_dir>/<namespace>/objects/``, written under a temporary name in the
  same directory and renamed into place (``os.replace``), so no process ever sees half a body;
  no body is held in memory;
- the index: one Redis hash per bucket (``s3:objects:<bucket>``), field = key, value =
  ``b"<size> <file name> " + pickle(ObjectInfo)`` (size and file name readable by Lua);
- buckets (``s3:buckets``: name -> creation date) and CORS rules (``s3:cors``: name -> rules);
- the caps: ``s3:totals`` (``count``, ``bytes``), checked and updated by the same Lua script that
  writes the index entry, so two processes cannot both take the last slot; the old body file of a
  replaced or deleted object is removed once the index no longer points at it;
- listings: computed from the index with moto's rules (``shared_listing``); multipart uploads:
  ``shared_uploads``.

Nothing is queued in the request's writes (``SharedState.writes``): each operation is atomic on its
own and goes straight to Redis, so an object is visible to every process as soon as ``put`` returns.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from mock_server.core.bodies import SpooledBody
from mock_server.core.clock import Clock
from mock_server.core.shared import SharedState, dumps, loads
from mock_server.storage.s3 import DEFAULT_MAX_BYTES, DEFAULT_MAX_OBJECTS, ObjectInfo
from mock_server.storage.s3_errors import EntityTooLarge, NoSuchBucket, NoSuchKey, StorageFull
from mock_server.storage.shared_listing import BucketView, SharedListing
from mock_server.storage.shared_spool import FileChunks, spool_body, unlink
from mock_server.storage.shared_uploads import SharedUploads

# KEYS: buckets, the bucket's index, totals. ARGV: bucket, key, record, size, max objects, max bytes,
# session max bytes (-1: none). Answers {0, old file name or ""} | {1} no bucket | {2, bytes held}
# past the session's cap | {3} past the sandbox's caps.
PUT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {1} end
local old = redis.call('HGET', KEYS[2], ARGV[2])
local old_size, old_file, added = 0, '', 1
if old then
  local first = string.find(old, ' ', 1, true)
  local second = string.find(old, ' ', first + 1, true)
  old_size = tonumber(string.sub(old, 1, first - 1))
  old_file = string.sub(old, first + 1, second - 1)
  added = 0
end
local count = tonumber(redis.call('HGET', KEYS[3], 'count') or '0')
local stored = tonumber(redis.call('HGET', KEYS[3], 'bytes') or '0') - old_size
local total = stored + tonumber(ARGV[4])
local session = tonumber(ARGV[7])
if session >= 0 and total > session then return {2, string.format('%d', stored)} end
if count + added > tonumber(ARGV[5]) or total > tonumber(ARGV[6]) then return {3} end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], 'count', string.format('%d', count + added), 'bytes', string.format('%d', total))
return {0, old_file}
"""
# KEYS: the bucket's index, totals. ARGV: key. Answers the removed body's file name, or false.
DELETE = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return false end
local first = string.find(old, ' ', 1, true)
local second = string.find(old, ' ', first + 1, true)
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], 'count', -1)
redis.call('HINCRBY', KEYS[2], 'bytes', -tonumber(string.sub(old, 1, first - 1)))
return string.sub(old, first + 1, second - 1)
"""
# KEYS: the bucket's index. ARGV: key, the file name the entry must still have, the new entry.
SWAP = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
local first = string.find(old, ' ', 1, true)
local second = string.find(old, ' ', first + 1, true)
if string.sub(old, first + 1, second - 1) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""
# KEYS: every bucket's index, then totals and the listing tokens. Answers the body file names.
EMPTY = """
local files = {}
for i = 1, #KEYS - 2 do
  for _, entry in ipairs(redis.call('HVALS', KEYS[i])) do
    local first = string.find(entry, ' ', 1, true)
    local second = string.find(entry, ' ', first + 1, true)
    table.insert(files, string.sub(entry, first + 1, second - 1))
  end
end
redis.call('DEL', unpack(KEYS))
return files
"""


def _encode(info: ObjectInfo, name: str) -> bytes:
    return f"{info.size} {name} ".encode() + dumps(info)


def _decode(entry: bytes) -> tuple[ObjectInfo, str]:
    _, name, data = entry.split(b" ", 2)
    return loads(data), name.decode()


class SharedObjectStore(SharedUploads):
    """The object store of one sandbox over ``shared`` (bodies under ``spool_dir``); two stores over
    one namespace behave as one. Same caps and errors as ``ObjectStore``."""

    def __init__(
        self,
        shared: SharedState,
        spool_dir: Path | str,
        region: str,
        max_objects: int = DEFAULT_MAX_OBJECTS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Clock | None = None,
    ) -> None:
        self.shared = shared
        self.region = region
        self.max_objects = max_objects
        self.max_bytes = max_bytes
        # Bytes this store may hold in all when it is a session's (``session_max_bytes``); None: no cap.
        # Each process sets it from the same settings.
        self.session_max_bytes: int | None = None
        # An account id of this namespace's own (the in-process store's is unique per store, too).
        digest = hashlib.sha256(shared.namespace.encode()).hexdigest()
        self.account_id = f"{int(digest, 16) % 10**12:012d}"
        self._clock = clock or Clock()
        self._root = Path(spool_dir) / re.sub(r"[^A-Za-z0-9._-]", "_", shared.namespace)
        self._objects_dir = self._root / "objects"
        self._parts_dir = self._root / "parts"
        for directory in (self._objects_dir, self._parts_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self._buckets_key = shared.key("s3", "buckets")
        self._cors_key = shared.key("s3", "cors")
        self._totals_key = shared.key("s3", "totals")
        self._tokens_key = shared.key("s3", "tokens")
        self._listing = SharedListing(self)

    def _index_key(self, bucket: str) -> str:
        return self.shared.key("s3", "objects", bucket)

    # -- buckets and CORS --------------------------------------------------------------------------
    def ensure_bucket(self, bucket: str) -> None:
        """Create ``bucket`` unless it exists (its creation date is the first creator's wall clock)."""
        self.shared.redis.hsetnx(self._buckets_key, bucket, dumps(self._clock.real_now()))

    def buckets(self) -> list[str]:
        return sorted(name.decode() for name in self.shared.redis.hkeys(self._buckets_key))

    bucket_names = buckets

    def has_bucket(self, bucket: str) -> bool:
        return bool(self.shared.redis.hexists(self._buckets_key, bucket))

    def moto_bucket(self, bucket: str) -> BucketView:
        """The bucket's name and creation date (what ``s3_api`` reads of moto's). Raises: NoSuchBucket."""
        created = self.shared.redis.hget(self._buckets_key, bucket)
        if created is None:
            raise NoSuchBucket(BucketName=bucket)
        return BucketView(bucket, loads(created))

    @property
    def backend(self) -> SharedListing:
        """Answers ``list_objects``/``list_objects_v2`` as moto's backend does (``s3_api``)."""
        return self._listing

    def internal_name(self, bucket: str) -> str:
        return bucket

    def cors_rules(self, bucket: str) -> list[dict[str, Any]]:
        """The bucket's CORS rules as ``set_cors_rules`` got them (empty: none, or no such bucket)."""
        found = self.shared.redis.hget(self._cors_key, bucket)
        return list(loads(found)) if found is not None else []

    def set_cors_rules(self, bucket: str, rules: list[dict[str, Any]]) -> None:
        """Raises: NoSuchBucket."""
        if not self.has_bucket(bucket):
            raise NoSuchBucket(BucketName=bucket)
        if rules:
            self.shared.redis.hset(self._cors_key, bucket, dumps(list(rules)))
        else:
            self.shared.redis.hdel(self._cors_key, bucket)

    # -- objects -----------------------------------------------------------------------------------
    def put(
        self,
        bucket: str,
        key: str,
        body: SpooledBody,
        *,
        content_type: str | None,
        uploaded_at: datetime,
        metadata: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        checksums: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Store a complete body under ``bucket``/``key`` (replacing any previous object).

        The store takes the body's spooled file over (copied to the spool directory, then closed).

        Raises: NoSuchBucket when the bucket was never created; StorageFull past ``max_objects`` or
        ``max_bytes``; EntityTooLarge past a session's ``session_max_bytes`` (nothing is stored then).
        """
        info = ObjectInfo(
            bucket,
            key,
            body.size,
            content_type or "binary/octet-stream",
            f'"{body.md5}"',
            body.sha256,
            uploaded_at,
            dict(metadata or {}),
            dict(headers or {}),
            dict(checksums or {}),
        )
        return self._store(info, body)

    def _store(self, info: ObjectInfo, body: SpooledBody) -> ObjectInfo:
        name = spool_body(body, self._objects_dir)
        session = -1 if self.session_max_bytes is None else self.session_max_bytes
        answer = self.shared.script(PUT)(
            keys=[self._buckets_key, self._index_key(info.bucket), self._totals_key],
            args=[
                info.bucket,
                info.key,
                _encode(info, name),
                info.size,
                self.max_objects,
                self.max_bytes,
                session,
            ],
        )
        status = int(answer[0])
        if status:
            unlink(self._objects_dir, name)
        if status == 1:
            raise NoSuchBucket(BucketName=info.bucket)
        if status == 2:
            stored = int(answer[1])
            raise EntityTooLarge(
                f"This session's storage is full: it holds {stored} bytes and may hold "
                f"{self.session_max_bytes} (the session_max_bytes setting); delete objects or use another "
                "session.",
                ProposedSize=info.size,
                MaxSizeAllowed=session - stored,
            )
        if status == 3:
            raise StorageFull(
                f"The sandbox holds its maximum of {self.max_objects} objects / {self.max_bytes} bytes "
                "(settings max_objects, max_object_bytes); delete objects or reset it (POST /__admin/reset)."
            )
        if answer[1]:
            unlink(self._objects_dir, answer[1].decode())
        return info

    @staticmethod
    def decoded(entry: bytes | None) -> ObjectInfo | None:
        """The object of an index entry (None for none)."""
        return _decode(entry)[0] if entry is not None else None

    def _entry(self, bucket: str, key: str) -> tuple[ObjectInfo, str] | None:
        found = self.shared.redis.hget(self._index_key(bucket), key)
        return _decode(found) if found is not None else None

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        entry = self._entry(bucket, key)
        return entry[0] if entry else None

    def remember_checksums(self, info: ObjectInfo, checksums: dict[str, str]) -> None:
        """Keep ``checksums`` computed after the upload, unless the object was replaced meanwhile."""
        entry = self._entry(info.bucket, info.key)
        if entry is not None and entry[0] == info:
            self._swap(entry[1], replace(info, checksums=dict(checksums)))

    def set_etag(self, bucket: str, key: str, etag: str) -> ObjectInfo:
        """Give a stored object another ETag. Raises: KeyError when it is absent."""
        entry = self._entry(bucket, key)
        if entry is None:
            raise KeyError((bucket, key))
        info = replace(entry[0], etag=etag)
        self._swap(entry[1], info)
        return info

    def _swap(self, name: str, info: ObjectInfo) -> None:
        self.shared.script(SWAP)(
            keys=[self._index_key(info.bucket)], args=[info.key, name, _encode(info, name)]
        )

    def open(
        self, bucket: str, key: str, first: int = 0, length: int | None = None
    ) -> tuple[ObjectInfo, Iterator[bytes]]:
        """The object's info and an iterator over its bytes (``length`` of them from ``first``, or all).

        The body file is opened now, so a replacement or delete meanwhile does not cut the read short.
        Raises: NoSuchKey when absent.
        """
        for _ in range(5):  # the object may be replaced between reading the index and opening its file
            entry = self._entry(bucket, key)
            if entry is None:
                break
            try:
                descriptor = os.open(self._objects_dir / entry[1], os.O_RDONLY)
            except FileNotFoundError:
                continue
            return entry[0], FileChunks(descriptor, first, length)
        raise NoSuchKey(Key=key)

    def read(self, bucket: str, key: str) -> bytes:
        _, chunks = self.open(bucket, key)
        return b"".join(chunks)

    def list(self, bucket: str | None = None, prefix: str = "") -> list[ObjectInfo]:
        """Objects of ``bucket`` (or all) whose key starts with ``prefix``, by bucket then key."""
        names = [bucket] if bucket is not None else self.buckets()
        pipe = self.shared.redis.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(self._index_key(name))
        found: list[ObjectInfo] = []
        for entries in pipe.execute():
            infos = (_decode(entry)[0] for key, entry in entries.items() if key.decode().startswith(prefix))
            found.extend(sorted(infos, key=lambda info: info.key))
        return found

    def delete(self, bucket: str, key: str) -> bool:
        name = self.shared.script(DELETE)(keys=[self._index_key(bucket), self._totals_key], args=[key])
        if not name:
            return False
        unlink(self._objects_dir, name.decode())
        return True

    def reset(self) -> None:
        """Drop every object of this namespace, in every process (buckets and CORS rules stay, so issued
        URLs keep pointing somewhere real)."""
        keys = [self._index_key(bucket) for bucket in self.buckets()]
        for name in self.shared.script(EMPTY)(keys=[*keys, self._totals_key, self._tokens_key]):
            unlink(self._objects_dir, name.decode())

    def purge(self) -> None:
        """Delete all this namespace's storage: objects, uploads, buckets, CORS and the spool files."""
        self.drop_uploads()
        self.reset()
        self.shared.redis.delete(self._buckets_key, self._cors_key)
        shutil.rmtree(self._root, ignore_errors=True)

    def close(self) -> None:
        """Nothing of this process to release: the shared objects stay for the other processes."""
