"""Adapter over moto's in-process S3 backend.

moto keeps bucket names in one process-wide namespace, so every ``ObjectStore`` gets its own
account id and a bucket-name prefix: two sandboxes in one process share nothing. Callers use the
public bucket names (``staging-thundermaps-uploads``); the prefix never leaves this module.

Bodies arrive already spooled and hashed (``core.bodies``); ``put`` hands moto the spooled file
instead of a bytes copy, so a 25 MB upload is never held twice in memory. An object becomes
visible only once complete: nothing half-written is ever listed or served.

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

from moto.core.model_instances import model_data
from moto.s3.models import FakeBucket, FakeKey, S3Backend, s3_backends

from mock_server.core.bodies import CHUNK, SpooledBody
from mock_server.storage.s3_errors import EntityTooLarge, NoSuchBucket, NoSuchKey, StorageFull

DEFAULT_MAX_OBJECTS = 10_000
DEFAULT_MAX_BYTES = 2 * 1024 * 1024 * 1024

_instances = itertools.count(1)
# Stored objects between two gc.freeze() calls (see ObjectStore.put).
FREEZE_EVERY = 1000


class _Untracked(list):  # type: ignore[type-arg]
    """moto's per-class list of every instance ever made, minus the keeping.

    It only feeds moto_server's dashboard; left alone it keeps every replaced or deleted upload's
    records alive (about 3.7 KB per upload) for the life of the process.
    """

    def append(self, item: object) -> None:
        pass


def _stop_moto_instance_tracking() -> None:
    for model in model_data["s3"].values():
        if not isinstance(model.instances_tracked, _Untracked):
            model.instances_tracked = _Untracked()


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
            "uploadedAt": self.uploaded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "metadata": self.metadata,
        }


class _DiskValue:
    """A file-like view of one object's bytes on disk that opens the file only while reading.

    Implements what moto's ``FakeKey`` and ``_iter_value`` use: ``seek``, ``read``, ``close``
    (which deletes the file).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._offset = 0

    def seek(self, offset: int, whence: int = 0) -> int:
        self._offset = offset if whence == 0 else self._offset + offset
        return self._offset

    def read(self, size: int = -1) -> bytes:
        with open(self.path, "rb") as file:
            file.seek(self._offset)
            data = file.read(size)
        self._offset += len(data)
        return data

    def close(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class ObjectStore:
    def __init__(
        self, region: str, max_objects: int = DEFAULT_MAX_OBJECTS, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        _stop_moto_instance_tracking()
        number = next(_instances)
        self.region = region
        self.account_id = f"{900000000000 + number:012d}"
        self._prefix = f"sbx{number}-"
        self._backend: S3Backend = s3_backends[self.account_id]["aws"]
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

    def ensure_bucket(self, bucket: str) -> None:
        with self._lock:
            if bucket not in self._buckets:
                self._backend.create_bucket(self._internal(bucket), self.region)
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
            fake = self._backend.put_object(self._internal(bucket), key, b"", etag=body.md5)
            self._adopt_body(fake, body)
            self._bytes += body.size
            fake.set_metadata({"Content-Type": content_type or "binary/octet-stream"})
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

    def _adopt_body(self, fake: FakeKey, body: SpooledBody) -> None:
        # moto keeps values in a SpooledTemporaryFile (a descriptor each once past 1 MiB). A body still
        # in memory is adopted as is; one already on disk is copied to a named file read on demand.
        source = body.detach()
        if getattr(source, "_rolled", True):
            path = os.path.join(self._directory, f"{next(self._files)}.bin")
            with open(path, "wb") as target:
                source.seek(0)
                shutil.copyfileobj(source, target, CHUNK)
            source.close()
            source = _DiskValue(path)  # type: ignore[assignment]
        with fake.lock:
            fake._value_buffer.close()
            fake._value_buffer = source
            fake.contentsize = body.size

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
            fake = self._backend.get_object(self._internal(bucket), key)
        return info, _iter_value(fake, first, length)

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
            self._backend.delete_object(self._internal(bucket), key)
            return True

    def reset(self) -> None:
        """Drop every object (buckets stay, so issued URLs keep pointing somewhere real)."""
        with self._lock:
            for bucket, key in list(self._index):
                self._dispose(bucket, key)
                self._backend.delete_object(self._internal(bucket), key)
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
            self._backend.get_object(self._internal(bucket), key).dispose()

    def close(self) -> None:
        """Remove this store's buckets from moto's process-wide namespace."""
        with self._lock:
            self.drop_uploads()
            self.reset()
            for bucket in list(self._buckets):
                self._backend.delete_bucket(self._internal(bucket))
            self._buckets.clear()
        shutil.rmtree(self._directory, ignore_errors=True)

    # -- for the S3 API (header-signed requests, multipart uploads, CORS) ------------------------
    def bucket_names(self) -> list[str]:
        with self._lock:
            return sorted(self._buckets)

    def moto_bucket(self, bucket: str) -> FakeBucket:
        """moto's record of ``bucket`` (CORS rules, multipart uploads). Raises: NoSuchBucket."""
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
            for bucket in self._buckets:
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


def _iter_value(fake: FakeKey, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
    remaining = length
    while remaining is None or remaining > 0:
        with fake.lock:
            buffer = fake._value_buffer
            buffer.seek(offset)
            chunk = buffer.read(CHUNK if remaining is None else min(CHUNK, remaining))
        if not chunk:
            return
        offset += len(chunk)
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk
