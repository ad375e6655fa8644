"""Adapter over moto's in-process S3 backend.

moto keeps bucket names in one process-wide namespace, so every ``ObjectStore`` gets its own
account id and a bucket-name prefix: two sandboxes in one process share nothing. Callers use the
public bucket names (``staging-thundermaps-uploads``); the prefix never leaves this module.

Bodies arrive already spooled and hashed (``core.bodies``); ``put`` hands moto the spooled file
instead of a bytes copy, so a 25 MB upload is never held twice in memory. An object becomes
visible only once complete: nothing half-written is ever listed or served.

moto itself is loaded when first needed (``storage/moto_backend.py`` says why): a listing, a
multipart upload or ``backend``/``moto_bucket``. Buckets and objects made before that
wait here (objects are read, replaced and deleted as usual) and are handed to moto as it loads.

Objects hold no file descriptors: a body still in memory (at most ``core.bodies.SPOOL_IN_MEMORY``)
stays there; a larger one is moved to a file in this store's own temporary directory, opened only
while it is read (so thousands of stored objects cannot exhaust the process's descriptors). The
directory is removed by ``close`` (or at interpreter exit). The store holds at most ``max_objects``
objects and ``max_bytes`` bytes; past either, ``put`` raises S3-shaped ``StorageFull`` (507).
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mock_server.core.bodies import CHUNK, SpooledBody
from mock_server.storage.moto_backend import DiskValue, Waiting, iter_value, new_backend
from mock_server.storage.moto_uploads import MotoUploads
from mock_server.storage.s3_errors import EntityTooLarge, NoSuchBucket, NoSuchKey, StorageFull

if TYPE_CHECKING:
    from moto.s3.models import FakeBucket, S3Backend

DEFAULT_MAX_OBJECTS = 10_000
DEFAULT_MAX_BYTES = 2 * 1024 * 1024 * 1024

_instances = itertools.count(1)
# Stored objects between two gc.freeze() calls (see ObjectStore.put).
FREEZE_EVERY = 1000


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    content_type: str
    etag: str
    sha256: str
    uploaded_at: datetime
    metadata: dict[str, str] = field(default_factory=dict)
    # Stored response headers (lower-case names: cache-control, x-amz-meta-*, ...) and checksums.
    headers: dict[str, str] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "size": self.size,
            "contentType": self.content_type,
            "etag": self.etag,
            "sha256": self.sha256,
            # isoformat, not strftime: a (fixture-given) year before 1000 keeps its four digits
            "uploadedAt": self.uploaded_at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z",
            "metadata": self.metadata,
        }


class ObjectStore(MotoUploads):
    def __init__(
        self, region: str, max_objects: int = DEFAULT_MAX_OBJECTS, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        number = next(_instances)
        self.region = region
        self.account_id = f"{900000000000 + number:012d}"
        self._prefix = f"sbx{number}-"
        self._moto: S3Backend | None = None  # moto is loaded when first needed (moto_backend.py)
        # Objects stored before then, by (bucket, key): handed to moto when it is loaded.
        self._waiting: dict[tuple[str, str], Waiting] = {}
        # A store dropped without close() closes its waiting bodies (moto's would be kept for good).
        weakref.finalize(self, _dispose_all, self._waiting)
        self._cors: dict[str, list[dict[str, Any]]] = {}  # bucket -> CORS rules (storage/cors.py)
        self._lock = threading.RLock()
        self._buckets: set[str] = set()
        self._index: dict[tuple[str, str], ObjectInfo] = {}
        self.max_objects = max_objects
        self.max_bytes = max_bytes
        self._bytes = 0
        self._files = itertools.count(1)
        self._directory = tempfile.mkdtemp(prefix="vendor-sandbox-objects-")
        weakref.finalize(self, shutil.rmtree, self._directory, True)
        self._stored_since_freeze = 0
        # Bytes this store may hold in all when it is a session's (``session_max_bytes``); None: no cap.
        self.session_max_bytes: int | None = None

    def _internal(self, bucket: str) -> str:
        return self._prefix + bucket

    @property
    def _backend(self) -> S3Backend:
        """moto's backend of this store, loaded now (with the buckets and objects so far) if not yet."""
        moto = self._moto
        if moto is None:
            with self._lock:
                if self._moto is None:
                    self._moto = self._load_moto()
                moto = self._moto
        return moto

    def _load_moto(self) -> S3Backend:
        backend = new_backend(self.account_id)
        for bucket in sorted(self._buckets):
            backend.create_bucket(self._internal(bucket), self.region)
        for (bucket, key), waiting in self._waiting.items():
            self._into_moto(backend, bucket, key, waiting)
        self._waiting.clear()
        return backend

    def _into_moto(self, backend: S3Backend, bucket: str, key: str, waiting: Waiting) -> None:
        fake = backend.put_object(self._internal(bucket), key, b"", etag=waiting.md5)
        with fake.lock:
            fake._value_buffer.close()
            fake._value_buffer = waiting._value_buffer
            fake.contentsize = waiting.size
        fake.set_metadata({"Content-Type": waiting.content_type})

    def ensure_bucket(self, bucket: str) -> None:
        with self._lock:
            if bucket not in self._buckets:
                if self._moto is not None:
                    self._moto.create_bucket(self._internal(bucket), self.region)
                self._buckets.add(bucket)

    def buckets(self) -> list[str]:
        with self._lock:
            return sorted(self._buckets)

    def has_bucket(self, bucket: str) -> bool:
        with self._lock:
            return bucket in self._buckets

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

        The store takes the body's spooled file over (no copy); closing ``body`` afterwards is harmless.

        Raises: NoSuchBucket when the bucket was never created; StorageFull past ``max_objects`` or
        ``max_bytes``; EntityTooLarge past a session's ``session_max_bytes`` (nothing is stored then).
        """
        etag = f'"{body.md5}"'
        with self._lock:
            if bucket not in self._buckets:
                raise NoSuchBucket(BucketName=bucket)
            try:
                self._check_room(bucket, key, body.size)
            except (StorageFull, EntityTooLarge):
                body.close()  # refused: nobody takes the spooled file over
                raise
            self._dispose(bucket, key)
            waiting = Waiting(self._detach(body), body.size, body.md5, content_type or "binary/octet-stream")
            if self._moto is None:
                self._waiting[(bucket, key)] = waiting
            else:
                self._into_moto(self._moto, bucket, key, waiting)
            self._bytes += body.size
            info = ObjectInfo(
                bucket,
                key,
                body.size,
                content_type or "binary/octet-stream",
                etag,
                body.sha256,
                uploaded_at,
                dict(metadata or {}),
                dict(headers or {}),
                dict(checksums or {}),
            )
            self._index[(bucket, key)] = info
            self._stored_since_freeze += 1
            if self._stored_since_freeze >= FREEZE_EVERY:
                # Stored objects live until deleted or reset (~15 GC-tracked objects each, moto's
                # included): freezing them keeps full collections from walking them all, which
                # otherwise stalls the event loop for 100+ ms once tens of thousands pile up.
                # Reference counting still frees a frozen object when it is deleted.
                self._stored_since_freeze = 0
                gc.freeze()
        return info

    def _check_room(self, bucket: str, key: str, size: int) -> None:
        replaced = self._index.get((bucket, key))
        count = len(self._index) + (0 if replaced else 1)
        stored = self._bytes - (replaced.size if replaced else 0)
        total = stored + size
        if self.session_max_bytes is not None and total > self.session_max_bytes:
            raise EntityTooLarge(
                f"This session's storage is full: it holds {stored} bytes and may hold "
                f"{self.session_max_bytes} (the session_max_bytes setting); delete objects or use another "
                "session.",
                ProposedSize=size,
                MaxSizeAllowed=self.session_max_bytes - stored,
            )
        if count > self.max_objects or total > self.max_bytes:
            raise StorageFull(
                f"The sandbox holds its maximum of {self.max_objects} objects / {self.max_bytes} bytes "
                "(settings max_objects, max_object_bytes); delete objects or reset it (POST /__admin/reset)."
            )

    def _detach(self, body: SpooledBody) -> Any:
        # moto keeps values in a SpooledTemporaryFile (a descriptor each once past 1 MiB). A body still
        # in memory is adopted as is; one already on disk is copied to a named file read on demand.
        source: Any = body.detach()
        if getattr(source, "_rolled", True):
            path = os.path.join(self._directory, f"{next(self._files)}.bin")
            with open(path, "wb") as target:
                source.seek(0)
                shutil.copyfileobj(source, target, CHUNK)
            source.close()
            source = DiskValue(path)
        return source

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        with self._lock:
            return self._index.get((bucket, key))

    def remember_checksums(self, info: ObjectInfo, checksums: dict[str, str]) -> None:
        """Keep ``checksums`` computed after the upload, unless the object was replaced meanwhile."""
        with self._lock:
            if self._index.get((info.bucket, info.key)) is info:
                self._index[(info.bucket, info.key)] = replace(info, checksums=dict(checksums))

    def open(
        self, bucket: str, key: str, first: int = 0, length: int | None = None
    ) -> tuple[ObjectInfo, Iterator[bytes]]:
        """The object's info and an iterator over its bytes (``length`` of them from ``first``, or all).

        Raises: NoSuchKey when absent.
        """
        with self._lock:
            info = self._index.get((bucket, key))
            if info is None:
                raise NoSuchKey(Key=key)
            fake = self._waiting.get((bucket, key)) or self._backend.get_object(self._internal(bucket), key)
        return info, iter_value(fake, first, length)

    def read(self, bucket: str, key: str) -> bytes:
        _, chunks = self.open(bucket, key)
        return b"".join(chunks)

    def list(self, bucket: str | None = None, prefix: str = "") -> list[ObjectInfo]:
        with self._lock:
            return [
                info
                for (b, k), info in self._index.items()
                if (bucket is None or b == bucket) and k.startswith(prefix)
            ]

    def delete(self, bucket: str, key: str) -> bool:
        with self._lock:
            if (bucket, key) not in self._index:
                return False
            self._dispose(bucket, key)
            del self._index[(bucket, key)]
            if self._moto is not None:
                self._moto.delete_object(self._internal(bucket), key)
            return True

    def reset(self) -> None:
        """Drop every object (buckets stay, so issued URLs keep pointing somewhere real)."""
        with self._lock:
            for bucket, key in list(self._index):
                self._dispose(bucket, key)
                if self._moto is not None:
                    self._moto.delete_object(self._internal(bucket), key)
            self._index.clear()
            self._bytes = 0
        # Let the collector see what the reset dropped (cycles among frozen objects included).
        gc.unfreeze()

    def _dispose(self, bucket: str, key: str) -> None:
        # moto drops replaced or deleted keys without closing their spooled files; close them now
        # rather than leaving temporary files to the garbage collector.
        replaced = self._index.get((bucket, key))
        if replaced is not None:
            self._bytes -= replaced.size
            waiting = self._waiting.pop((bucket, key), None)
            if waiting is not None:
                waiting.dispose()
            elif self._moto is not None:
                self._moto.get_object(self._internal(bucket), key).dispose()

    def close(self) -> None:
        """Remove this store's buckets from moto's process-wide namespace (when moto was loaded)."""
        with self._lock:
            self.drop_uploads()
            self.reset()
            for bucket in list(self._buckets) if self._moto is not None else ():
                self._moto.delete_bucket(self._internal(bucket))
            self._buckets.clear()
            self._cors.clear()
        shutil.rmtree(self._directory, ignore_errors=True)

    # -- for the S3 API (header-signed requests, multipart uploads, CORS) ------------------------
    def bucket_names(self) -> list[str]:
        with self._lock:
            return sorted(self._buckets)

    def cors_rules(self, bucket: str) -> list[dict[str, Any]]:
        """The bucket's CORS rules as ``set_cors_rules`` got them (empty: none, or no such bucket)."""
        with self._lock:
            return list(self._cors.get(bucket, ()))

    def set_cors_rules(self, bucket: str, rules: list[dict[str, Any]]) -> None:
        """Raises: NoSuchBucket."""
        with self._lock:
            if bucket not in self._buckets:
                raise NoSuchBucket(BucketName=bucket)
            self._cors[bucket] = list(rules)

    def moto_bucket(self, bucket: str) -> FakeBucket:
        """moto's record of ``bucket`` (multipart uploads, creation date). Raises: NoSuchBucket."""
        with self._lock:
            if bucket not in self._buckets:
                raise NoSuchBucket(BucketName=bucket)
            return self._backend.get_bucket(self._internal(bucket))

    @property
    def backend(self) -> S3Backend:
        return self._backend

    def internal_name(self, bucket: str) -> str:
        return self._internal(bucket)

    def drop_uploads(self) -> None:
        """Forget every multipart upload in progress (and close its parts' spooled files)."""
        with self._lock:
            for bucket in self._buckets if self._moto is not None else ():
                uploads = self._backend.get_bucket(self._internal(bucket)).multiparts
                for upload in uploads.values():
                    upload.dispose()
                uploads.clear()

    def set_etag(self, bucket: str, key: str, etag: str) -> ObjectInfo:
        """Give a stored object another ETag (a completed multipart upload's ``"<md5>-<parts>"``)."""
        with self._lock:
            info = dataclasses.replace(self._index[(bucket, key)], etag=etag)
            self._index[(bucket, key)] = info
            self._backend.get_object(self._internal(bucket), key)._etag = etag.strip('"')
            return info


def _dispose_all(waiting: dict[tuple[str, str], Waiting]) -> None:
    for value in list(waiting.values()):
        value.dispose()
    waiting.clear()
