"""``/__admin/objects`` and ``/__admin/preview``: what the embedded S3 holds, paged, for people and tests.

Stored bytes are never rendered from the admin origin as a page: downloads are attachments, previews
only answer images (not SVG), PDFs and text (as ``text/plain``), always with ``nosniff`` and a
``Content-Security-Policy`` that forbids everything (``default-src 'none'; sandbox``).
"""

from __future__ import annotations

import heapq
from collections import Counter
from operator import attrgetter
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from mock_server.core.jsontext import JSONResponse
from mock_server.core.requests import sandbox_of as _request_sandbox
from mock_server.storage.s3 import ObjectStore
from mock_server.storage.s3_errors import NoSuchKey

SAFE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif"})
TEXT_LIKE = ("text/", "application/json", "application/xml", "application/yaml", "application/x-yaml")
LOCKED = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "no-store",
}
DEFAULT_PAGE = 100  # objects per listing without ``limit``
MAX_PAGE = 1000  # a larger ``limit`` reads as this


def _store(request: Request) -> ObjectStore:
    return _request_sandbox(request).storage.objects


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


def preview_type(content_type: str) -> str | None:
    """The content type a preview is served with, or None when the object is not previewable."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in SAFE_IMAGES or media == "application/pdf":
        return media
    if media.startswith(TEXT_LIKE) or media.endswith(("+json", "+xml")):
        return "text/plain; charset=utf-8"
    return None


async def list_objects(request: Request) -> Response:
    """``?bucket&prefix&limit&offset``: ``{"objects", "count", "total", "buckets": [{name, objects}]}``,
    sorted by bucket then key."""
    params = request.query_params
    limit, offset = params.get("limit", str(DEFAULT_PAGE)), params.get("offset", "0")
    if not limit.isdigit() or not offset.isdigit():
        return _error(400, "limit and offset must be whole numbers")
    store = _store(request)
    bucket, prefix = params.get("bucket"), params.get("prefix", "")
    everything = store.list(bucket, prefix)
    end = int(offset) + min(int(limit), MAX_PAGE)
    # Only the first ``end`` in order are needed: near the start a partial sort beats sorting them all.
    first = (
        heapq.nsmallest(end, everything, key=_order)
        if end * 4 < len(everything)
        else sorted(everything, key=_order)
    )
    page = first[int(offset) : end]
    per_bucket = Counter(map(_bucket, everything if bucket is None and not prefix else store.list()))
    buckets = [{"name": name, "objects": per_bucket.get(name, 0)} for name in store.buckets()]
    body = {"objects": [info.as_dict() for info in page], "count": len(page), "total": len(everything)}
    return JSONResponse({**body, "buckets": buckets})


_order = attrgetter("bucket", "key")
_bucket = attrgetter("bucket")


async def get_object(request: Request) -> Response:
    try:
        info, chunks = _store(request).open(request.path_params["bucket"], request.path_params["key"])
    except NoSuchKey:
        return _error(404, "no such object")
    name = quote(info.key.rsplit("/", 1)[-1])
    headers = {
        "ETag": info.etag,
        "Content-Length": str(info.size),
        "X-Sha256": info.sha256,
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
        **LOCKED,
    }
    return StreamingResponse(chunks, media_type=info.content_type, headers=headers)


async def preview_object(request: Request) -> Response:
    store = _store(request)
    info = store.head(request.path_params["bucket"], request.path_params["key"])
    if info is None:
        return _error(404, "no such object")
    media = preview_type(info.content_type)
    if media is None:
        return _error(415, f"{info.content_type} is not previewable; download it instead")
    _, chunks = store.open(info.bucket, info.key)
    headers = {"Content-Length": str(info.size), "Content-Disposition": "inline", **LOCKED}
    return StreamingResponse(chunks, media_type=media, headers=headers)


async def delete_object(request: Request) -> Response:
    bucket, key = request.path_params["bucket"], request.path_params["key"]
    if not _store(request).delete(bucket, key):
        return _error(404, "no such object")
    return JSONResponse({"status": "deleted", "bucket": bucket, "key": key})


routes: list[BaseRoute] = [
    Route("/objects", list_objects, methods=["GET"], name="admin:listObjects"),
    Route("/objects/{bucket}/{key:path}", get_object, methods=["GET"], name="admin:getObject"),
    Route("/objects/{bucket}/{key:path}", delete_object, methods=["DELETE"], name="admin:deleteObject"),
    Route("/preview/{bucket}/{key:path}", preview_object, methods=["GET"], name="admin:previewObject"),
]
