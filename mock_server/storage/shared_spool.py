"""Body files of the shared object store in the spool directory all processes see.

- ``spool_body``: copy a received body to a new file, whole or not at all (written under a
  temporary name in the same directory, then renamed into place);
- ``FileChunks``: the bytes of an already opened body file, read by offset (``os.pread``), so a
  replacement or delete of the object meanwhile does not cut a read short;
- ``unlink``: remove a body file that may be gone already.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from mock_server.core.bodies import CHUNK, SpooledBody


def spool_body(body: SpooledBody, directory: Path) -> str:
    """Copy ``body`` (taken over and closed) into ``directory``; the file appears whole or not at all."""
    name = f"{uuid.uuid4().hex}.bin"
    temporary = directory / f".{name}.part"
    source = body.detach()
    try:
        with open(temporary, "wb") as target:
            source.seek(0)
            shutil.copyfileobj(source, target, CHUNK)
        os.replace(temporary, directory / name)
    except BaseException:
        unlink(directory, temporary.name)
        raise
    finally:
        source.close()
    return name


class FileChunks:
    """The bytes of an open body file in ``CHUNK`` slices; the descriptor is closed at the end, by
    ``close`` or when the iterator is dropped."""

    def __init__(self, descriptor: int, offset: int, length: int | None) -> None:
        self._descriptor: int | None = descriptor
        self._offset = offset
        self._remaining = length

    def __iter__(self) -> FileChunks:
        return self

    def __next__(self) -> bytes:
        if self._descriptor is None or self._remaining == 0:
            self.close()
            raise StopIteration
        size = CHUNK if self._remaining is None else min(CHUNK, self._remaining)
        chunk = os.pread(self._descriptor, size, self._offset)
        if not chunk:
            self.close()
            raise StopIteration
        self._offset += len(chunk)
        if self._remaining is not None:
            self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None

    def __del__(self) -> None:
        self.close()


def unlink(directory: Path, name: str) -> None:
    """Remove ``directory/name`` if it is there."""
    try:
        os.unlink(directory / name)
    except FileNotFoundError:
        pass
