"""Upload integrity as S3 checks it: Content-MD5 and the ``x-amz-checksum-*`` values.

``expect`` reads what a request promises (headers of a PUT, fields of a POST form) and refuses a
malformed promise before any body byte is read; ``Integrity.hashers`` are fed the body while it
streams (MD5 and SHA-256 come from ``core.bodies`` already), ``Integrity.verify`` compares once
the body is complete, and ``Integrity.stored`` gives the checksum S3 keeps with the object. Like
S3 since 2025, an object uploaded without a checksum has a full-object CRC64NVME; it is computed
from the stored bytes the first time a read asks for it (``default_checksum``), so plain uploads
pay nothing for it.

CRC32 (CRC-32/ISO-HDLC, zlib's), CRC32C (CRC-32/ISCSI) and CRC64NVME come from anycrc (Mark
Adler's crcany in C; about three times zlib.crc32's speed here). awscrt is avoided on purpose:
once installed, botocore signs presigned URLs with it and orders their query differently from its
own signer, which this sandbox reproduces.

Messages are S3's (AWS error table; real answers quoted in versitygw and the SDKs' issues).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import anycrc

from mock_server.core.bodies import Hasher, SpooledBody
from mock_server.storage.s3_errors import BadDigest, InvalidDigest, InvalidRequest

DEFAULT_ALGORITHM = "crc64nvme"
CHECKSUM_TYPE = "FULL_OBJECT"
MULTIPLE_CHECKSUMS = "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
SDK_ALGORITHM_ALONE = (
    "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer "
    "headers were found."
)


class _Crc:
    """A running CRC with ``hashlib``'s ``update``/``digest`` shape (big-endian, as S3 encodes it)."""

    def __init__(self, model: str, size: int) -> None:
        self._calc = anycrc.Model(model).calc
        self._size = size
        self._value: int | None = None

    def update(self, data: bytes, /) -> None:
        self._value = self._calc(data) if self._value is None else self._calc(data, self._value)

    def digest(self) -> bytes:
        return (self._value or 0).to_bytes(self._size, "big")


# name -> (S3's spelling in messages, digest size in bytes, new running hasher)
ALGORITHMS: dict[str, tuple[str, int, Callable[[], _Crc | hashlib._Hash]]] = {
    "crc32": ("CRC32", 4, lambda: _Crc("CRC32-ISO-HDLC", 4)),
    "crc32c": ("CRC32C", 4, lambda: _Crc("CRC32-ISCSI", 4)),
    "crc64nvme": ("CRC64NVME", 8, lambda: _Crc("CRC64-NVME", 8)),
    "sha1": ("SHA1", 20, lambda: hashlib.sha1(usedforsecurity=False)),
    "sha256": ("SHA256", 32, hashlib.sha256),
}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _decode(value: str, size: int) -> bytes | None:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


@dataclass
class Integrity:
    """What one upload promised, and the running hasher that checks it."""

    md5_sent: str | None
    md5: bytes | None
    algorithm: str
    expected: bytes | None
    hasher: _Crc | hashlib._Hash | None
    trailer: str | None = None  # the x-amz-trailer header naming a checksum sent after the body

    @property
    def supplied(self) -> bool:
        return self.expected is not None

    @property
    def hashers(self) -> tuple[Hasher, ...]:
        return (self.hasher,) if self.hasher is not None else ()

    def _digest(self, body: SpooledBody) -> bytes:
        # SHA-256 is already computed for every body; the others run alongside it.
        return bytes.fromhex(body.sha256) if self.hasher is None else self.hasher.digest()

    def verify(self, body: SpooledBody) -> None:
        """Raises: BadDigest when the body differs from its Content-MD5 or its checksum."""
        if self.md5 is not None and self.md5 != bytes.fromhex(body.md5):
            raise BadDigest(ExpectedDigest=self.md5.hex(), CalculatedDigest=_b64(bytes.fromhex(body.md5)))
        if self.expected is not None and self.expected != self._digest(body):
            spelled = ALGORITHMS[self.algorithm][0]
            raise BadDigest(f"The {spelled} you specified did not match the calculated checksum.")

    def stored(self, body: SpooledBody) -> dict[str, str]:
        """``{"x-amz-checksum-<algorithm>": base64}`` of the complete body when one was sent, else {}."""
        if self.expected is None:
            return {}
        return {f"x-amz-checksum-{self.algorithm}": _b64(self._digest(body))}


def expect_trailer(values: Mapping[str, str], integrity: Integrity) -> Integrity:
    """``integrity`` set up for a checksum announced in ``x-amz-trailer`` (aws-chunked bodies): the hasher
    runs while the body streams; :func:`trailer_arrived` fills in the value sent after the last chunk.

    Raises: InvalidRequest when a checksum is also sent as a header, or the trailer names an unknown one.
    """
    announced = values.get("x-amz-trailer", "").strip().lower()
    if not announced.startswith("x-amz-checksum-"):
        return integrity
    algorithm = announced.removeprefix("x-amz-checksum-")
    if algorithm not in ALGORITHMS:
        raise InvalidRequest(f"Value for x-amz-trailer header is invalid: {announced}.")
    if integrity.supplied:
        raise InvalidRequest(MULTIPLE_CHECKSUMS)
    hasher = None if algorithm == "sha256" else ALGORITHMS[algorithm][2]()
    return Integrity(integrity.md5_sent, integrity.md5, algorithm, None, hasher, trailer=announced)


def trailer_arrived(integrity: Integrity, trailers: Mapping[str, str]) -> Integrity:
    """``integrity`` with the checksum value the body's trailer carried (a no-op without a trailer).

    Raises: InvalidRequest when the announced trailer is missing or its value is malformed.
    """
    if integrity.trailer is None:
        return integrity
    value = trailers.get(integrity.trailer)
    expected = _decode(value, ALGORITHMS[integrity.algorithm][1]) if value is not None else None
    if expected is None:
        raise InvalidRequest(f"Value for {integrity.trailer} trailing header is invalid.")
    integrity.expected = expected
    return integrity


def expect(values: Mapping[str, str], *, content_md5: bool = True) -> Integrity:
    """Read the integrity promises in ``values`` (headers, or a POST form's fields by lower-case name).

    Raises, first failure wins: InvalidDigest for a Content-MD5 that is not base64 of 16 bytes;
    InvalidRequest for an unknown ``x-amz-sdk-checksum-algorithm``, several ``x-amz-checksum-*``,
    an SDK algorithm with no checksum nor trailer or naming another algorithm, a malformed value.
    """
    md5_sent = values.get("content-md5") if content_md5 else None
    md5 = None
    if md5_sent is not None:
        md5 = _decode(md5_sent, 16)
        if md5 is None:
            raise InvalidDigest(extra={"Content-MD5": md5_sent})
    sdk = values.get("x-amz-sdk-checksum-algorithm")
    if sdk is not None and sdk.lower() not in ALGORITHMS:
        raise InvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")
    supplied = [name for name in ALGORITHMS if f"x-amz-checksum-{name}" in values]
    if len(supplied) > 1:
        raise InvalidRequest(MULTIPLE_CHECKSUMS)
    if sdk is not None and not supplied and "x-amz-trailer" not in values:
        raise InvalidRequest(SDK_ALGORITHM_ALONE)
    if sdk is not None and supplied and sdk.lower() != supplied[0]:
        raise InvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")
    algorithm = supplied[0] if supplied else DEFAULT_ALGORITHM
    expected = None
    if supplied:
        expected = _decode(values[f"x-amz-checksum-{algorithm}"], ALGORITHMS[algorithm][1])
        if expected is None:
            raise InvalidRequest(f"Value for x-amz-checksum-{algorithm} header is invalid.")
    hasher = None if expected is None or algorithm == "sha256" else ALGORITHMS[algorithm][2]()
    return Integrity(md5_sent, md5, algorithm, expected, hasher)


def default_checksum(chunks: Iterable[bytes]) -> dict[str, str]:
    """S3's default full-object checksum (CRC64NVME) of an object's bytes, read chunk by chunk."""
    hasher = ALGORITHMS[DEFAULT_ALGORITHM][2]()
    for chunk in chunks:
        hasher.update(chunk)
    return {f"x-amz-checksum-{DEFAULT_ALGORITHM}": _b64(hasher.digest())}


def response_headers(stored: Mapping[str, str]) -> dict[str, str]:
    """The headers GET/HEAD add for ``x-amz-checksum-mode: ENABLED`` on a whole object."""
    return {**stored, "x-amz-checksum-type": CHECKSUM_TYPE} if stored else {}
