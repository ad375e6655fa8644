"""Multipart uploads of ``SharedObjectStore``: any process may create, feed, list, complete or abort
an upload another began.

- an upload: field ``<upload id>`` of the Redis hash ``s3:uploads:<bucket>``, value
  ``b"<sequence> " + pickle(Upload)`` (the sequence keeps creation order among equal instants);
- its parts: hash ``s3:parts:<bucket>:<upload id>``, field = part number, value
  ``b"<file name> " + pickle(Part)``; each part's bytes are a file in ``<spool>/parts/`` written
  whole before the index names it (as object bodies);
- a part is recorded only while its upload exists (one Lua script), and forgetting an upload
  (complete, abort, reset) removes its records in one transaction, then its part files, so a part
  racing an abort leaves nothing behind.

Completion applies S3's checks (``uploads.chosen_parts``), streams the parts into one spooled body
(memory stays flat) and stores it with the multipart ETag through the store's capped ``_store``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mock_server.core.bodies import CHUNK, BodyWriter, SpooledBody
from mock_server.core.shared import SharedState, dumps, loads
from mock_server.storage.s3_errors import NoSuchBucket
from mock_server.storage.shared_spool import spool_body, unlink
from mock_server.storage.uploads import (
    NoSuchUpload,
    Part,
    Upload,
    chosen_parts,
    multipart_etag,
    new_upload_id,
)

if TYPE_CHECKING:
    from mock_server.storage.s3 import ObjectInfo

# KEYS: the bucket's uploads, the upload's parts. ARGV: upload id, part number, entry.
# Answers false when the upload is gone, else the replaced part's file name (or "").
PUT_PART = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return false end
local old = redis.call('HGET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
if not old then return '' end
return string.sub(old, 1, string.find(old, ' ', 1, true) - 1)
"""


class SharedUploads:
    """Mixed into ``SharedObjectStore`` (which provides the attributes and methods annotated here)."""

    shared: SharedState
    _parts_dir: Path
    _objects_dir: Path
    _store: Any
    has_bucket: Any
    buckets: Any

    def _uploads_key(self, bucket: str) -> str:
        return self.shared.key("s3", "uploads", bucket)

    def _parts_key(self, bucket: str, upload_id: str) -> str:
        return self.shared.key("s3", "parts", bucket, upload_id)

    def create_upload(
        self, bucket: str, key: str, content_type: str, metadata: dict[str, str], initiated_at: datetime
    ) -> Upload:
        """Raises: NoSuchBucket."""
        if not self.has_bucket(bucket):
            raise NoSuchBucket(BucketName=bucket)
        upload = Upload(new_upload_id(), key, initiated_at, content_type, dict(metadata))
        sequence = self.shared.redis.incr(self.shared.key("s3", "upload-sequence"))
        self.shared.redis.hset(self._uploads_key(bucket), upload.id, f"{sequence} ".encode() + dumps(upload))
        return upload

    def upload_of(self, bucket: str, key: str, upload_id: str) -> Upload:
        """Raises: NoSuchUpload (unknown id, or one of another key)."""
        found = self.shared.redis.hget(self._uploads_key(bucket), upload_id) if upload_id else None
        upload: Upload | None = loads(found.split(b" ", 1)[1]) if found is not None else None
        if upload is None or upload.key != key:
            raise NoSuchUpload(UploadId=upload_id)
        return upload

    def put_part(
        self, bucket: str, key: str, upload_id: str, number: int, body: SpooledBody, modified: datetime
    ) -> Part:
        """Keep ``body`` (taken over) as part ``number``, replacing an earlier one. Raises: NoSuchUpload."""
        try:
            self.upload_of(bucket, key, upload_id)
        except NoSuchUpload:
            body.close()
            raise
        name = spool_body(body, self._parts_dir)
        part = Part(number, f'"{body.md5}"', body.size, modified)
        replaced = self.shared.script(PUT_PART)(
            keys=[self._uploads_key(bucket), self._parts_key(bucket, upload_id)],
            args=[upload_id, number, f"{name} ".encode() + dumps(part)],
        )
        if replaced is None:  # aborted or completed meanwhile
            unlink(self._parts_dir, name)
            raise NoSuchUpload(UploadId=upload_id)
        if replaced:
            unlink(self._parts_dir, replaced.decode())
        return part

    def _parts(self, bucket: str, upload_id: str) -> dict[int, tuple[Part, str]]:
        found: dict[int, tuple[Part, str]] = {}
        for entry in self.shared.redis.hvals(self._parts_key(bucket, upload_id)):
            name, data = entry.split(b" ", 1)
            part: Part = loads(data)
            found[part.number] = (part, name.decode())
        return dict(sorted(found.items()))

    def parts_of(self, bucket: str, key: str, upload_id: str) -> list[Part]:
        """The upload's parts by number. Raises: NoSuchUpload."""
        self.upload_of(bucket, key, upload_id)
        return [part for part, _ in self._parts(bucket, upload_id).values()]

    def uploads_of(self, bucket: str) -> list[Upload]:
        """The bucket's uploads in progress, by key then initiation (then creation order)."""
        if not self.has_bucket(bucket):
            raise NoSuchBucket(BucketName=bucket)
        found: list[tuple[int, Upload]] = []
        for entry in self.shared.redis.hvals(self._uploads_key(bucket)):
            sequence, data = entry.split(b" ", 1)
            found.append((int(sequence), loads(data)))
        found.sort(key=lambda item: (item[1].key, item[1].initiated_at, item[0]))
        return [upload for _, upload in found]

    def complete_upload(
        self, bucket: str, key: str, upload_id: str, requested: list[tuple[int, str]], uploaded_at: datetime
    ) -> ObjectInfo:
        """Store the named parts as one object and forget the upload.

        Raises: NoSuchUpload; InvalidPart; EntityTooSmall; StorageFull/EntityTooLarge (from ``put``).
        """
        from mock_server.storage.s3 import ObjectInfo

        upload = self.upload_of(bucket, key, upload_id)
        stored = self._parts(bucket, upload_id)
        parts = chosen_parts(requested, {number: part for number, (part, _) in stored.items()})
        writer = BodyWriter()
        try:
            for part in parts:
                with open(self._parts_dir / stored[part.number][1], "rb") as file:
                    while chunk := file.read(CHUNK):
                        writer.write(chunk)
        except FileNotFoundError:  # aborted meanwhile
            writer.abort()
            raise NoSuchUpload(UploadId=upload_id) from None
        body = writer.finish()
        info = ObjectInfo(
            bucket,
            key,
            body.size,
            upload.content_type or "binary/octet-stream",
            multipart_etag(parts),
            body.sha256,
            uploaded_at,
            dict(upload.metadata),
        )
        self._store(info, body)
        self._forget(bucket, upload_id)
        return info

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Forget the upload and its parts. Raises: NoSuchUpload."""
        self.upload_of(bucket, key, upload_id)
        self._forget(bucket, upload_id)

    def _forget(self, bucket: str, upload_id: str) -> None:
        pipe = self.shared.redis.pipeline(transaction=True)
        pipe.hvals(self._parts_key(bucket, upload_id))
        pipe.delete(self._parts_key(bucket, upload_id))
        pipe.hdel(self._uploads_key(bucket), upload_id)
        for entry in pipe.execute()[0]:
            unlink(self._parts_dir, entry.split(b" ", 1)[0].decode())

    def drop_uploads(self) -> None:
        """Forget every multipart upload in progress (and remove their parts' files)."""
        for bucket in self.buckets():
            for upload_id in self.shared.redis.hkeys(self._uploads_key(bucket)):
                self._forget(bucket, upload_id.decode())
