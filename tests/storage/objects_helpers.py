"""Small helpers shared by the object tests: signed URLs with extra signed parts, hand-built forms."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

from mock_server.core.sandbox import Sandbox
from mock_server.storage import presign
from mock_server.storage.service import STORAGE_PREFIX, object_path

BASE = "http://127.0.0.1:8080"
BUCKET = "sandbox-uploads"


def s3_error(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The ``<Error>`` body parsed with a real XML parser, as ``{tag: text}``."""
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


def signed_path(
    sandbox: Sandbox,
    method: str,
    key: str,
    *,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    expires_in: int = 900,
) -> str:
    """Path and query of a presigned ``method`` URL signing ``headers`` and ``query`` too."""
    url = presign.presign_url(
        method=method,
        base_url=BASE,
        path=object_path(STORAGE_PREFIX, BUCKET, key),
        credentials=sandbox.storage.credentials,
        now=sandbox.clock.now(),
        expires_in=expires_in,
        signed_headers=headers,
        query=query,
    )
    return url[len(BASE) :]


def multipart(
    parts: Sequence[tuple[str, str | None, bytes]], boundary: str = "sandboxboundary"
) -> tuple[bytes, str]:
    """A multipart/form-data body from ``(name, filename or None, value)`` parts, and its Content-Type."""
    chunks: list[bytes] = []
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"
