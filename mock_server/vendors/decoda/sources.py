"""Where ``POST /notes/{note_id}/attachment-from-url`` may take its file from (its ``gcsPath``).

Decoda downloads the file from GCS. The sandbox never reaches the network for it, except for hosts the
fixtures allow (``decoda.fetch_allowed_hosts``). Accepted, in this order:

- ``gs://decoda-attachments/<key>``: an object of the caller's tenant (the ``gcsPath`` of one of its
  attachments);
- a signed download URL this sandbox issued (``.../gcs/<bucket>/<key>?X-Goog-...``), checked like the
  ``/gcs`` route checks it (signature, expiry) without a request;
- ``http(s)`` URLs on an allowed host, fetched with a 10 s timeout and the per-file cap.

Anything else (another host, an expired or edited link, a missing object) is what Decoda's spec gives
for a source it cannot read: a 422 ``value_error`` at ``["body", "gcsPath"]``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import requests

from mock_server.core.bodies import BodyWriter, SpooledBody
from mock_server.core.errors import BodyTooLarge, SandboxError
from mock_server.core.sandbox import Sandbox
from mock_server.storage import signed_urls
from mock_server.storage.service import DOWNLOAD_PREFIX
from mock_server.vendors.decoda.errors import RequestValidationError
from mock_server.vendors.decoda.fixtures import config
from mock_server.vendors.decoda.models import BUCKET

FETCH_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Source:
    filename: str
    content_type: str | None
    body: SpooledBody


def unreachable(gcs_path: str) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "value_error",
                "loc": ["body", "gcsPath"],
                "msg": "Value error, could not download the file at gcsPath",
                "input": gcs_path,
                "ctx": {"error": {}},
            }
        ]
    )


def read_source(sandbox: Sandbox, tenant: str, gcs_path: str, base_url: str) -> Source:
    """The file behind ``gcs_path``. Raises: RequestValidationError (422) when it cannot be read."""
    try:
        if gcs_path.startswith(f"gs://{BUCKET}/"):
            key = gcs_path.removeprefix(f"gs://{BUCKET}/")
            if not key.startswith(f"{tenant}/"):
                raise unreachable(gcs_path)
            return _stored(sandbox, BUCKET, key)
        parts = urlsplit(gcs_path)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise unreachable(gcs_path)
        prefix = urlsplit(base_url).path.rstrip("/")
        path = parts.path.removeprefix(prefix) if prefix else parts.path
        if path.startswith(f"{DOWNLOAD_PREFIX}/") and "X-Goog-Signature" in parts.query:
            signed_urls.verify_download_url(
                method="GET",
                path=path,
                query_string=parts.query,
                host=parts.netloc,
                now=sandbox.clock.now(),
                credentials=sandbox.storage.known_credentials,
            )
            bucket, _, key = unquote(path.removeprefix(f"{DOWNLOAD_PREFIX}/")).partition("/")
            return _stored(sandbox, bucket, key)
        if parts.hostname.lower() in config(sandbox).fetch_allowed_hosts:
            return _fetched(sandbox, gcs_path)
    except (SandboxError, ValueError, OSError, requests.RequestException) as exc:
        if isinstance(exc, RequestValidationError):
            raise
        raise unreachable(gcs_path) from exc
    raise unreachable(gcs_path)


def _stored(sandbox: Sandbox, bucket: str, key: str) -> Source:
    info, chunks = sandbox.storage.objects.open(bucket, key)
    writer = BodyWriter(limit=config(sandbox).max_file_bytes)
    for chunk in chunks:
        writer.write(chunk)
    return Source(posixpath.basename(key), info.content_type, writer.finish())


def _fetched(sandbox: Sandbox, url: str) -> Source:
    with requests.get(url, timeout=FETCH_TIMEOUT_SECONDS, stream=True, allow_redirects=False) as response:
        if response.status_code != 200:
            raise ValueError(f"status {response.status_code}")
        writer = BodyWriter(limit=config(sandbox).max_file_bytes)
        try:
            for chunk in response.iter_content(64 * 1024):
                writer.write(chunk)
        except BodyTooLarge as exc:  # the writer closed itself
            raise ValueError("too large") from exc
        except BaseException:
            writer.abort()
            raise
    name = posixpath.basename(urlsplit(url).path) or "file"
    return Source(unquote(name), response.headers.get("content-type"), writer.finish())
