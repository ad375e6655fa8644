"""What both object stores say about multipart uploads: the records, S3's errors and the checks of
``CompleteMultipartUpload`` (the rules and messages moto's ``FakeMultipart.complete`` applies).

- an upload: ``Upload`` (id, key, initiation instant, content type, ``x-amz-meta-*`` of the create);
- a part: ``Part`` (number, quoted ETag, size in bytes, when it was uploaded);
- ``chosen_parts`` checks the client's list against the stored parts: unknown part or ETag 400
  ``InvalidPart``; a part other than the last smaller than 5 MiB 400 ``EntityTooSmall``;
- ``multipart_etag``: S3's ``"<md5 of the part md5s>-<count>"``.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime

from mock_server.storage.s3_errors import S3Error

MIN_PART_SIZE = 5 * 1024 * 1024
"""S3's smallest part but the last (bytes)."""
UPLOAD_ID_BYTES = 43


class NoSuchUpload(S3Error):
    status = 404
    code = "NoSuchUpload"
    default_message = (
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed."
    )


class InvalidPart(S3Error):
    code = "InvalidPart"
    default_message = (
        "One or more of the specified parts could not be found. The part might not have been uploaded, "
        "or the specified entity tag might not have matched the part's entity tag."
    )


class EntityTooSmall(S3Error):
    code = "EntityTooSmall"
    default_message = "Your proposed upload is smaller than the minimum allowed object size."


@dataclass(frozen=True)
class Upload:
    id: str
    key: str
    initiated_at: datetime
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Part:
    number: int
    etag: str  # quoted, as S3 answers it
    size: int
    modified: datetime


def new_upload_id() -> str:
    """An upload id shaped like moto's (base64 of random bytes without ``=+/``)."""
    raw = base64.b64encode(os.urandom(UPLOAD_ID_BYTES)).decode()
    return raw.replace("=", "").replace("+", "").replace("/", "")


def chosen_parts(requested: list[tuple[int, str]], stored: dict[int, Part]) -> list[Part]:
    """The stored parts ``requested`` (``(number, etag)`` in order) names.

    Raises: InvalidPart (unknown number, or an ETag other than the part's, quotes ignored);
    EntityTooSmall (a part before the last under ``MIN_PART_SIZE``).
    """
    chosen: list[Part] = []
    for number, etag in requested:
        part = stored.get(number)
        if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
            raise InvalidPart()
        if chosen and chosen[-1].size < MIN_PART_SIZE:
            raise EntityTooSmall()
        chosen.append(part)
    return chosen


def multipart_etag(parts: list[Part]) -> str:
    """S3's ETag of a completed multipart upload, quoted: ``"<md5 of the part md5s>-<count>"``."""
    digests = b"".join(bytes.fromhex(part.etag.strip('"')) for part in parts)
    return f'"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(parts)}"'
