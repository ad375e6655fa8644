"""Streaming body readers with a byte cap.

Bodies are spooled (memory up to 256 KiB, then a temporary file) while MD5 and SHA-256 are computed
on the fly; with the transport's body deadline, 200 uploads stalled after 1 MB hold about 50 MB for
at most that deadline. The cap is checked on every chunk, so an oversized body is refused as soon as it
crosses the limit (or at once when its declared Content-Length already does), never after being
read whole.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Protocol

from mock_server.core.errors import BodyTooLarge, MalformedBody

SPOOL_IN_MEMORY = 256 * 1024
CHUNK = 64 * 1024


class Hasher(Protocol):
    """Anything fed each chunk as it arrives (``hashlib`` objects, CRC accumulators)."""

    def update(self, data: bytes, /) -> None:
        """Feed the next chunk of the body (bytes, in arrival order)."""


@dataclass
class SpooledBody:
    """A fully received body: where it is, how big, and its digests."""

    file: IO[bytes]
    size: int
    md5: str
    sha256: str
    detached: bool = False

    def chunks(self, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """The body from its start, ``chunk_size`` bytes at a time (rewinds the file first)."""
        self.file.seek(0)
        while chunk := self.file.read(chunk_size):
            yield chunk

    def read(self) -> bytes:
        """The whole body as bytes (rewinds first); for small bodies only, it is held in memory."""
        self.file.seek(0)
        return self.file.read()

    def detach(self) -> IO[bytes]:
        """Hand the spooled file to a new owner (the object store); ``close`` then leaves it open."""
        self.detached = True
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        """Release the spooled file, unless :meth:`detach` handed it to another owner."""
        if not self.detached:
            self.file.close()


class BodyWriter:
    """Accepts chunks, enforces ``limit`` and produces a ``SpooledBody``; ``hashers`` see every chunk."""

    def __init__(
        self, limit: int | None = None, declared: int | None = None, hashers: Sequence[Hasher] = ()
    ) -> None:
        if limit is not None and declared is not None and declared > limit:
            raise BodyTooLarge(limit, 0, declared)
        self.limit = limit
        self.declared = declared
        self.size = 0
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._hashers = tuple(hashers)

    def write(self, chunk: bytes) -> None:
        """Raises: BodyTooLarge as soon as the running size passes the limit."""
        if not chunk:
            return
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            self.abort()
            raise BodyTooLarge(self.limit, self.size, self.declared)
        self._file.write(chunk)
        self._md5.update(chunk)
        self._sha256.update(chunk)
        for hasher in self._hashers:
            hasher.update(chunk)

    def finish(self) -> SpooledBody:
        """The written body, rewound, with its size (bytes) and MD5/SHA-256 hex digests."""
        self._file.seek(0)
        return SpooledBody(self._file, self.size, self._md5.hexdigest(), self._sha256.hexdigest())

    def abort(self) -> None:
        """Discard what was written (a refused or broken upload leaves nothing behind)."""
        self._file.close()


async def read_capped(
    stream: AsyncIterator[bytes],
    limit: int | None,
    declared: int | None = None,
    hashers: Sequence[Hasher] = (),
) -> SpooledBody:
    """Spool ``stream`` into a ``SpooledBody``, feeding each chunk to ``hashers`` as well.

    Raises:
        BodyTooLarge: when ``declared`` or the bytes received exceed ``limit``.
        MalformedBody: when fewer bytes than ``declared`` arrive (client went away mid-upload).
    """
    writer = BodyWriter(limit, declared, hashers)
    try:
        async for chunk in stream:
            writer.write(chunk)
    except BodyTooLarge:
        raise
    except Exception as exc:  # a disconnect mid-body must not leave a half-written object
        writer.abort()
        raise MalformedBody("the request body ended before it was complete") from exc
    if declared is not None and writer.size != declared:
        writer.abort()
        raise MalformedBody(f"received {writer.size} of the {declared} bytes Content-Length declared")
    return writer.finish()


async def read_json_bytes(stream: AsyncIterator[bytes], limit: int) -> bytes:
    """Read a small (JSON or form) body fully, refusing anything above ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit, size)
        parts.append(chunk)
    return b"".join(parts)


def declared_length(value: str | None) -> int | None:
    """Parse a Content-Length header; ``None`` when absent, ``MalformedBody`` when not a number."""
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError as exc:
        raise MalformedBody(f"invalid Content-Length: {value!r}") from exc
    if length < 0:
        raise MalformedBody(f"invalid Content-Length: {value!r}")
    return length
