"""Bodies are streamed, not slurped: caps refuse early and memory stays flat (real socket)."""

from __future__ import annotations

import http.client
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from mock_server.testing.server import LiveServer

BUCKET = "sandbox-uploads"
MB = 1024 * 1024


def _put_streamed(url: str, total: int, chunk: bytes, stop_after: int | None = None) -> tuple[int, bytes]:
    """PUT ``total`` declared bytes; stop sending after ``stop_after`` bytes and read the answer."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
        connection.putheader("Content-Length", str(total))
        connection.endheaders()
        sent = 0
        limit = total if stop_after is None else stop_after
        while sent < limit:
            piece = chunk[: min(len(chunk), limit - sent)]
            connection.send(piece)
            sent += len(piece)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    yield
    tracemalloc.stop()


def test_declared_size_over_the_cap_is_refused_before_the_body(live: LiveServer) -> None:
    url = live.sandbox.storage.presign_put(live.url, BUCKET, "big.bin", expires_in=60, max_bytes=2 * MB).url
    status, body = _put_streamed(url, 20 * MB, b"x" * 65536, stop_after=65536)
    root = ET.fromstring(body)
    assert (status, root.findtext("Code")) == (400, "EntityTooLarge")
    assert (root.findtext("ProposedSize"), root.findtext("MaxSizeAllowed")) == (str(20 * MB), str(2 * MB))
    assert live.sandbox.storage.objects.list(BUCKET) == []


def test_large_upload_does_not_hold_the_body_in_memory(live: LiveServer, traced: None) -> None:
    url = live.sandbox.storage.presign_put(live.url, BUCKET, "large.bin", expires_in=60).url
    tracemalloc.reset_peak()
    baseline, _ = tracemalloc.get_traced_memory()
    status, _ = _put_streamed(url, 20 * MB, b"y" * 65536)
    _, peak = tracemalloc.get_traced_memory()
    assert status == 200
    assert live.sandbox.storage.objects.head(BUCKET, "large.bin").size == 20 * MB  # type: ignore[union-attr]
    # 10x a 2 MB cap went through; the process held at most a few MB of it at any time.
    assert peak - baseline < 6 * MB, f"peak grew by {(peak - baseline) / MB:.1f} MB"


def test_post_policy_range_is_enforced_while_streaming(live: LiveServer, traced: None) -> None:
    url, fields, _ = live.sandbox.storage.presign_post(
        live.url, BUCKET, "ranged.bin", expires_in=60, conditions=[["content-length-range", 0, MB]]
    )

    def body() -> Iterator[bytes]:
        boundary = "sandboxbound"
        for name, value in fields.items():
            yield f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        for _ in range(160):  # 10 MB in 64 KB pieces
            yield b"z" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    tracemalloc.reset_peak()
    baseline, _ = tracemalloc.get_traced_memory()
    try:
        response = requests.post(
            url,
            data=body(),
            timeout=30,
            headers={"Content-Type": "multipart/form-data; boundary=sandboxbound"},
        )
        status, code = response.status_code, ET.fromstring(response.content).findtext("Code")
    except requests.ConnectionError:
        status, code = 400, "EntityTooLarge"  # the server answered and closed while we were still sending
    _, peak = tracemalloc.get_traced_memory()
    assert (status, code) == (400, "EntityTooLarge")
    assert peak - baseline < 6 * MB
    assert live.sandbox.storage.objects.list(BUCKET) == []
