"""Decoder for ``Content-Encoding: aws-chunked`` bodies, verifying chunk signatures while streaming.

Wire format (AWS "Signature Calculations for the Authorization Header: Transferring Payload in
Multiple Chunks"): ``hex-size[;chunk-signature=<64 hex>]\\r\\n<data>\\r\\n`` repeated, a final
zero-size chunk, then (``*-TRAILER`` modes) ``name:value\\r\\n`` trailing headers and ``\\r\\n``.
A signed chunk's string to sign is ``AWS4-HMAC-SHA256-PAYLOAD``, the date, the scope, the previous
signature (the seed is the Authorization header's), the hash of the empty string and the chunk's
hash. A bad chunk signature is S3's 403 ``SignatureDoesNotMatch``; a broken frame its 400
``IncompleteBody``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from mock_server.storage.header_auth import STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, HeaderAuth
from mock_server.storage.s3_errors import IncompleteBody, SignatureDoesNotMatch
from mock_server.storage.sigv4 import hmac_hex, same_signature

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_LINE = 4096


class AwsChunkedDecoder:
    """``decode(stream)`` yields the payload bytes; ``trailers`` holds the trailing headers after."""

    def __init__(self, auth: HeaderAuth) -> None:
        self.auth = auth
        self.signed = auth.payload in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)
        self.previous = auth.signature
        self.trailers: dict[str, str] = {}
        self._buffer = bytearray()

    async def _fill(self, stream: AsyncIterator[bytes]) -> bool:
        chunk = await anext(stream, None)
        if chunk is None:
            return False
        self._buffer += chunk
        return True

    async def _line(self, stream: AsyncIterator[bytes]) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > MAX_LINE or not await self._fill(stream):
                raise IncompleteBody()
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    async def _exactly(self, stream: AsyncIterator[bytes], size: int) -> bytes:
        while len(self._buffer) < size:
            if not await self._fill(stream):
                raise IncompleteBody()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _check(self, claimed: str | None, data: bytes) -> None:
        if not self.signed:
            return
        to_sign = "\n".join(
            (
                "AWS4-HMAC-SHA256-PAYLOAD",
                self.auth.amz_date,
                self.auth.scope,
                self.previous,
                EMPTY_SHA256,
                hashlib.sha256(data).hexdigest(),
            )
        )
        expected = hmac_hex(self.auth.key, to_sign)
        if claimed is None or not same_signature(expected, claimed):
            raise SignatureDoesNotMatch()
        self.previous = expected

    async def decode(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Raises: IncompleteBody for a broken frame, SignatureDoesNotMatch for a bad chunk signature."""
        while True:
            header = (await self._line(stream)).decode("latin-1")
            size_text, _, extension = header.partition(";")
            try:
                size = int(size_text.strip(), 16)
            except ValueError:
                raise IncompleteBody() from None
            claimed = extension.split("=", 1)[1].strip() if extension.startswith("chunk-signature=") else None
            if size < 0 or size > 64 * 1024 * 1024:
                raise IncompleteBody()
            data = await self._exactly(stream, size)
            self._check(claimed, data)
            if size == 0:
                break
            if await self._exactly(stream, 2) != b"\r\n":
                raise IncompleteBody()
            yield data
        while line := await self._line(stream):
            name, _, value = line.decode("latin-1").partition(":")
            self.trailers[name.strip().lower()] = value.strip()
