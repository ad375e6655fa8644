"""Multipart uploads of the in-process ``ObjectStore``, kept by moto (``FakeMultipart`` per upload).

The operations every object store offers to ``multipart_upload`` (the shared store has its own,
``shared_uploads``): create, look up, upload a part, list parts and uploads, complete, abort.
Parts take the request's spooled body over (no copy); completion streams the parts into one
spooled body (memory stays flat) that ``put`` stores with S3's multipart ETag.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from mock_server.core.bodies import BodyWriter, SpooledBody
from mock_server.storage.moto_backend import iter_value
from mock_server.storage.uploads import NoSuchUpload, Part, Upload, chosen_parts, multipart_etag

if TYPE_CHECKING:
    from moto.s3.models import FakeMultipart

    from mock_server.storage.s3 import ObjectInfo


class MotoUploads:
    """Mixed into ``ObjectStore`` (which provides ``backend``, ``moto_bucket``, ``internal_name``,
    ``put`` and ``set_etag``)."""

    backend: Any
    moto_bucket: Any
    internal_name: Any
    put: Any
    set_etag: Any

    def create_upload(
        self, bucket: str, key: str, content_type: str, metadata: dict[str, str], initiated_at: datetime
    ) -> Upload:
        """Raises: NoSuchBucket."""
        from moto.s3.utils import CaseInsensitiveDict

        self.moto_bucket(bucket)
        fake = self.backend.create_multipart_upload(
            self.internal_name(bucket), key, CaseInsensitiveDict({"Content-Type": content_type}),
            "STANDARD", {}, None, None, None,
        )  # fmt: skip
        fake.initiated_at = initiated_at  # moto stamps the wall clock; the sandbox has its own
        fake.user_metadata = dict(metadata)
        return _upload_of(fake)

    def _fake_upload(self, bucket: str, key: str, upload_id: str) -> FakeMultipart:
        fake = self.moto_bucket(bucket).multiparts.get(upload_id)
        if fake is None or fake.key_name != key:
            raise NoSuchUpload(UploadId=upload_id)
        return fake

    def upload_of(self, bucket: str, key: str, upload_id: str) -> Upload:
        """Raises: NoSuchUpload (unknown id, or one of another key); NoSuchBucket."""
        return _upload_of(self._fake_upload(bucket, key, upload_id))

    def put_part(
        self, bucket: str, key: str, upload_id: str, number: int, body: SpooledBody, modified: datetime
    ) -> Part:
        """Keep ``body`` (taken over) as part ``number``, replacing an earlier one. Raises: NoSuchUpload."""
        try:
            part = self._fake_upload(bucket, key, upload_id).set_part(number, b"")
        except NoSuchUpload:
            body.close()
            raise
        with part.lock:
            part._value_buffer.close()
            part._value_buffer = body.detach()
            part.contentsize = body.size
            part._etag = body.md5
        part.sandbox_modified = modified
        return Part(number, f'"{body.md5}"', body.size, modified)

    def parts_of(self, bucket: str, key: str, upload_id: str) -> list[Part]:
        """The upload's parts by number. Raises: NoSuchUpload."""
        fake = self._fake_upload(bucket, key, upload_id)
        return [_part_of(fake, number) for number in fake.partlist]

    def uploads_of(self, bucket: str) -> list[Upload]:
        """The bucket's uploads in progress, by key then initiation (then creation order)."""
        fakes = sorted(
            self.moto_bucket(bucket).multiparts.values(), key=lambda u: (u.key_name, u.initiated_at)
        )
        return [_upload_of(fake) for fake in fakes]

    def complete_upload(
        self, bucket: str, key: str, upload_id: str, requested: list[tuple[int, str]], uploaded_at: datetime
    ) -> ObjectInfo:
        """Store the named parts as one object and forget the upload.

        Raises: NoSuchUpload; InvalidPart; EntityTooSmall; StorageFull/EntityTooLarge (from ``put``).
        """
        fake = self._fake_upload(bucket, key, upload_id)
        parts = chosen_parts(requested, {n: _part_of(fake, n) for n in fake.partlist})
        writer = BodyWriter()
        for part in parts:
            for chunk in iter_value(fake.parts[part.number]):
                writer.write(chunk)
        self.put(
            bucket,
            key,
            writer.finish(),
            content_type=fake.metadata.get("Content-Type"),
            uploaded_at=uploaded_at,
            metadata=getattr(fake, "user_metadata", {}),
        )
        info = self.set_etag(bucket, key, multipart_etag(parts))
        self.abort_upload(bucket, key, upload_id)
        return info

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Forget the upload and its parts. Raises: NoSuchUpload."""
        fake = self._fake_upload(bucket, key, upload_id)
        self.moto_bucket(bucket).multiparts.pop(upload_id, None)
        fake.dispose()


def _upload_of(fake: FakeMultipart) -> Upload:
    content_type = fake.metadata.get("Content-Type") or "binary/octet-stream"
    return Upload(fake.id, fake.key_name, fake.initiated_at, content_type, getattr(fake, "user_metadata", {}))


def _part_of(fake: FakeMultipart, number: int) -> Part:
    part = fake.parts[number]
    return Part(number, part.etag, part.contentsize, getattr(part, "sandbox_modified", fake.initiated_at))
