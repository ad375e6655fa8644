from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable

import pytest

from mock_server.core.bodies import read_capped
from mock_server.core.errors import BodyTooLarge, MalformedBody
from mock_server.core.multipart import Limits, MultipartForm, parse_multipart

BOUNDARY = "----sandboxboundary"


async def _stream(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: application/pdf\r\n"
        out += b"\r\n" + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def _chunks(data: bytes, size: int = 7) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def parse(data: bytes, limits: Limits | None = None, hook=None) -> MultipartForm:  # type: ignore[no-untyped-def]
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    return asyncio.run(parse_multipart(_stream(_chunks(data)), content_type, limits or Limits(), hook))


def test_read_capped_hashes_and_counts() -> None:
    body = asyncio.run(read_capped(_stream([b"hello ", b"world"]), 100, 11))
    assert (body.size, body.read()) == (11, b"hello world")
    assert body.sha256 == hashlib.sha256(b"hello world").hexdigest()
    body.close()


def test_read_capped_refuses_declared_size_before_reading() -> None:
    async def never() -> AsyncIterator[bytes]:
        raise AssertionError("the body must not be read")
        yield b""

    with pytest.raises(BodyTooLarge) as caught:
        asyncio.run(read_capped(never(), 10, 11))
    assert caught.value.declared == 11


def test_read_capped_stops_as_soon_as_the_cap_is_crossed() -> None:
    consumed: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for number in range(1000):
            consumed.append(number)
            yield b"x" * 1024

    with pytest.raises(BodyTooLarge):
        asyncio.run(read_capped(endless(), 10 * 1024))
    assert len(consumed) == 11


def test_short_body_is_malformed() -> None:
    with pytest.raises(MalformedBody):
        asyncio.run(read_capped(_stream([b"abc"]), 100, 10))


def test_fields_and_files_in_order() -> None:
    data = _multipart(
        [("patient_id", None, b"p1"), ("attachments", "a.pdf", b"%PDF-1"), ("names", None, b"x")]
    )
    form = parse(data)
    assert form.fields == [("patient_id", "p1"), ("names", "x")]
    assert [(f.name, f.filename, f.content_type, f.body.read()) for f in form.files] == [
        ("attachments", "a.pdf", "application/pdf", b"%PDF-1")
    ]
    assert form.bytes_before_first_file > 0
    form.close()


def test_file_cap_is_enforced_while_streaming() -> None:
    data = _multipart([("file", "big.bin", b"x" * 5000)])
    with pytest.raises(BodyTooLarge):
        parse(data, Limits(max_file_bytes=1000))


def test_hook_sees_fields_before_the_file_and_may_cap_it() -> None:
    seen: list[list[tuple[str, str]]] = []

    def hook(form: MultipartForm, name: str, filename: str, content_type: str | None) -> int:
        seen.append(list(form.fields))
        return 3

    with pytest.raises(BodyTooLarge):
        parse(_multipart([("key", None, b"k"), ("file", "f.txt", b"four")]), hook=hook)
    assert seen == [[("key", "k")]]


def test_stop_after_first_file_ignores_later_fields() -> None:
    data = _multipart([("key", None, b"k"), ("file", "f", b"1"), ("late", None, b"ignored")])
    form = parse(data, Limits(stop_after_first_file=True))
    assert form.fields == [("key", "k")] and len(form.files) == 1
    form.close()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{}"),
        ("multipart/form-data", b"--x--"),
    ],
    ids=["not-multipart", "no-boundary"],
)
def test_bad_envelopes_are_malformed(content_type: str, body: bytes) -> None:
    with pytest.raises(MalformedBody):
        asyncio.run(parse_multipart(_stream([body]), content_type))


def test_too_many_parts_are_refused() -> None:
    data = _multipart([(f"f{i}", None, b"v") for i in range(50)])
    with pytest.raises(MalformedBody):
        parse(data, Limits(max_parts=10))


def test_truncated_multipart_is_malformed_and_leaves_nothing() -> None:
    data = _multipart([("file", "f.bin", b"y" * 100)])[:-40]
    with pytest.raises(MalformedBody):
        parse(data)
