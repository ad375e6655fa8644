"""moto's S3 backend, imported on first use, and the two ways the object store hands it bodies.

Importing moto (and botocore, boto3, requests behind it) costs about as much CPU as a whole
moto_server start, and a sandbox needs none of it until an object is read, a multipart upload or a
CORS rule is made, or a bucket is listed: buckets and objects made before that (the fixtures') wait
in ``ObjectStore`` and are handed over by :func:`new_backend`'s caller when moto is first needed.

- :class:`DiskValue`: a body on disk that moto's ``FakeKey`` reads through (no descriptor kept open);
- :func:`iter_value`: the bytes of a ``FakeKey`` (or of a waiting body) in ``CHUNK`` slices.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mock_server.core.bodies import CHUNK
from mock_server.storage.s3_errors import InvalidArgument

if TYPE_CHECKING:
    from moto.s3.models import S3Backend


class _Untracked(list):  # type: ignore[type-arg]
    """moto's per-class list of every instance ever made, minus the keeping.

    It only feeds moto_server's dashboard; left alone it keeps every replaced or deleted upload's
    records alive (about 3.7 KB per upload) for the life of the process.
    """

    def append(self, item: object) -> None:
        pass


def import_moto() -> None:
    """Import the moto modules the store uses (the storage vendor's ``warm_up``)."""
    import moto.core.exceptions
    import moto.s3.models
    import moto.s3.utils

    assert moto.core.exceptions and moto.s3.models and moto.s3.utils


def new_backend(account_id: str) -> S3Backend:
    """moto's S3 backend of ``account_id`` (moto imported now if it was not yet)."""
    from moto.core.model_instances import model_data
    from moto.s3.models import s3_backends

    for model in model_data["s3"].values():
        if not isinstance(model.instances_tracked, _Untracked):
            model.instances_tracked = _Untracked()
    return s3_backends[account_id]["aws"]


class DiskValue:
    """A file-like view of one object's bytes on disk that opens the file only while reading.

    Implements what moto's ``FakeKey`` and ``iter_value`` use: ``seek``, ``read``, ``close``
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


class Waiting:
    """An object stored before moto was loaded: its bytes (in memory or a ``DiskValue``) and what
    moto's ``FakeKey`` gets when it is made. Has the ``lock`` and ``_value_buffer`` ``iter_value``
    reads, so a waiting object is served like a stored one."""

    def __init__(self, value: Any, size: int, md5: str, content_type: str) -> None:
        self.lock = threading.Lock()
        self._value_buffer = value
        self.size = size
        self.md5 = md5
        self.content_type = content_type

    def dispose(self) -> None:
        self._value_buffer.close()


def iter_value(fake: Any, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
    """``length`` bytes (or all) from ``offset`` of a ``FakeKey`` or ``Waiting`` object, in slices."""
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


def _known_continuation_token(backend: Any, token: str) -> bool:
    """Whether ``token`` is a backend token a listing gave out. moto keeps its tokens in
    ``_pagination_tokens`` (tests/storage/test_moto_contract.py); the shared listing in Redis
    (``continuation_token_known``)."""
    known = getattr(backend, "continuation_token_known", None)
    if known is not None:
        return bool(known(token))
    return token in backend._pagination_tokens


def continuation_token(bucket: str, backend_token: str) -> str:
    """The ``NextContinuationToken`` a client sees: the backend's token bound to its bucket (S3's tokens are
    opaque, and one bucket's do not continue another's listing)."""
    return base64.urlsafe_b64encode(f"{bucket}\n{backend_token}".encode()).decode("ascii")


def backend_continuation_token(backend: Any, bucket: str, token: str) -> str:
    """The backend's token behind a client's ``token`` for ``bucket``.

    Raises: InvalidArgument, as S3, when no listing of that bucket gave it out (an empty token included)."""
    try:
        issued_for, _, inner = base64.urlsafe_b64decode(token.encode("ascii")).decode().partition("\n")
    except ValueError:  # not base64, not ASCII, not UTF-8 (binascii.Error and UnicodeError are ValueErrors)
        issued_for, inner = "", ""
    if issued_for != bucket or not inner or not _known_continuation_token(backend, inner):
        raise InvalidArgument("The continuation token provided is incorrect")
    return inner
