"""What the sandbox mounts at ``/decoda``: Decoda's route table as data, and the FastAPI app built on
first use.

Importing FastAPI and declaring the 27 path operations (their pydantic models) costs several times
what the rest of start-up does, and the core only needs the routes' names, methods and paths before
the first Decoda request: to name operations in the journal, to check scenarios
(``mock-server validate``, start-up, ``POST /__admin/scenarios``) and to list operations. So:

- ``OPERATIONS`` lists every path operation (operationId, methods, path) in the app's route order;
  ``placeholder_routes()`` turns it into plain Starlette routes that match exactly like FastAPI's own
  (same path patterns, same method sets: FastAPI adds no ``HEAD`` to a ``GET``). They never answer:
  they are what ``Mount.routes`` shows. tests/vendors/decoda/test_decoda_mount.py checks the table
  equals the app's routes, so the app stays the source of truth.
- ``LazyApi`` is the mounted ASGI app: the first request builds the FastAPI app (``routes.api``) in a
  worker thread, so the event loop keeps answering other requests meanwhile; later requests go
  straight to it. ``LazyApi.build()`` builds it ahead of time (the server warms it up once healthy).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import anyio.to_thread
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

# (operationId, methods, path): the route order of routes.api (routes.py, then item_routes.py, then
# tag_routes.py, the order they are first imported in); route names are ``decoda:<operationId>``.
OPERATIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("uploadAttachmentsBulk", ("POST",), "/attachments/bulk"),
    ("uploadAttachment", ("POST",), "/attachments"),
    ("listAttachments", ("GET",), "/attachments"),
    ("linkAttachmentsToNote", ("POST",), "/attachments/link-to-note"),
    ("countAttachments", ("GET",), "/attachments/count"),
    ("bulkRenameAttachments", ("PUT",), "/attachments/bulk-names"),
    ("createComparisonAttachment", ("POST",), "/attachments/create-comparison"),
    ("addNoteAttachmentFromUrl", ("POST",), "/notes/{note_id}/attachment-from-url"),
    ("getPatient", ("GET",), "/user/patient/{patient_id}"),
    ("downloadEmailAttachment", ("GET",), "/email/attachments/{attachment_id}/download"),
    ("getMessageAttachmentUrls", ("GET",), "/email/messages/{message_id}/attachment-urls"),
    ("openapi", ("GET",), "/openapi.json"),
    ("deleteAttachment", ("DELETE",), "/attachments/{attachment_id}"),
    ("renameAttachment", ("PUT",), "/attachments/{attachment_id}/name"),
    ("changeAttachmentPatient", ("PUT",), "/attachments/{attachment_id}/patient"),
    ("updateAttachmentImage", ("PUT",), "/attachments/{attachment_id}/image"),
    ("updateAttachmentAnnotations", ("PUT",), "/attachments/{attachment_id}/annotations"),
    ("getAttachmentAnnotationHistory", ("GET",), "/attachments/{attachment_id}/annotation-history"),
    (
        "restoreAttachmentAnnotations",
        ("POST",),
        "/attachments/{attachment_id}/restore-annotations/{history_id}",
    ),
    ("duplicateAttachment", ("POST",), "/attachments/{attachment_id}/duplicate"),
    ("assignAttachmentTags", ("POST",), "/attachments/{attachment_id}/tags"),
    ("getAttachmentTagsForAttachment", ("GET",), "/attachments/{attachment_id}/tags"),
    ("getAttachmentTags", ("GET",), "/attachments/tags"),
    ("createAttachmentTag", ("POST",), "/attachments/tags"),
    ("getAttachmentTag", ("GET",), "/attachments/tags/{tag_id}"),
    ("updateAttachmentTag", ("PUT",), "/attachments/tags/{tag_id}"),
    ("deleteAttachmentTag", ("DELETE",), "/attachments/tags/{tag_id}"),
)


async def _never_called(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("a Decoda placeholder route answered; LazyApi routes every request to the app")


def placeholder_routes() -> list[BaseRoute]:
    """``OPERATIONS`` as Starlette routes named ``decoda:<operationId>`` (for matching, never called)."""
    routes: list[BaseRoute] = []
    for operation_id, methods, path in OPERATIONS:
        route = Route(path, _never_called, methods=list(methods), name=f"decoda:{operation_id}")
        route.methods = set(methods)  # as FastAPI's APIRoute: no HEAD added to a GET
        routes.append(route)
    return routes


def _build_api() -> ASGIApp:
    # The same import order as the app's route order (see OPERATIONS).
    from mock_server.vendors.decoda import item_routes, routes, tag_routes

    assert item_routes.__name__ and tag_routes.__name__
    return routes.api


class LazyApi:
    """The ASGI app mounted at ``/decoda``: Decoda's FastAPI app, built on first use (once per process).

    ``routes`` are the placeholders (what ``Mount.routes`` and the core's route resolution see).
    """

    def __init__(self, build: Callable[[], ASGIApp] = _build_api) -> None:
        self.routes = placeholder_routes()
        self._build = build
        self._app: ASGIApp | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._app is not None

    def build(self) -> ASGIApp:
        """The FastAPI app, built now if it was not yet (thread-safe; later calls return it)."""
        with self._lock:
            if self._app is None:
                self._app = self._build()
            return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app
        if app is None:  # off the event loop: other requests keep being answered meanwhile
            app = await anyio.to_thread.run_sync(self.build)
        await app(scope, receive, send)
