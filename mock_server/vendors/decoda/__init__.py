"""Decoda Health attachments API (a FastAPI service), served under ``/decoda``.

Endpoints (operationIds, also the route names ``decoda:<operationId>``):
``POST /attachments/bulk`` uploadAttachmentsBulk, ``POST /attachments`` uploadAttachment,
``GET /attachments`` listAttachments, ``POST /attachments/link-to-note`` linkAttachmentsToNote,
``GET /user/patient/{patient_id}`` getPatient, ``GET /openapi.json`` openapi.

Choices the Decoda docs leave open, and what the sandbox does:

Auth and tenants
- ``TENANT`` and ``API-KEY`` are declared like ``Header(alias="TENANT")``, ``Header(alias="API-KEY")``,
  in that order: a missing one is reported at ``["header", "TENANT"]`` / ``["header", "API-KEY"]``
  (the alias as written, upper case), as FastAPI does for aliased headers. An empty value counts as sent.
- The key check behaves like a FastAPI dependency: with both headers present it runs before the body is
  read, so a wrong key is 401 ``{"detail": "Invalid API key"}`` even when the body is also invalid. An
  unknown tenant gets the same 401. One active key per tenant (``auth.rotate_api_key`` replaces it).
- Everything is stored per tenant (the ``TENANT`` value); other tenants' patients, notes and attachments
  are simply not found (404), never a 403.

Errors (FastAPI's own shapes)
- Validation: 422 ``{"detail": [{"type", "loc", "msg", "input"(, "ctx")}]}``, pydantic v2 items, all
  problems at once, parameters (path, query, header) before body fields, each in declaration order.
  Text sent where a file is declared: ``value_error`` "Expected UploadFile, received: <class 'str'>";
  a file where text is declared: ``string_type`` (its ``input`` is a short summary of the upload, not
  FastAPI's full ``UploadFile`` dump). Empty form values count as absent.
- Other refusals: ``{"detail": "<message>"}``; unknown path 404 ``Not Found``, wrong method 405
  ``Method Not Allowed``; an unhandled error (or an injected 500) is Starlette's 500 ``text/plain``
  ``Internal Server Error``.
- Undocumented statuses chosen: unknown patient 404 ``Patient not found``; unknown note 404
  ``Note not found``; note of another patient 400; unknown attachment in link-to-note 404
  ``Attachment not found: <id>``; attachment of another patient than the note 400; body or file over its
  cap 413; broken multipart 400 with Starlette's messages (``Missing boundary in multipart.``,
  ``Invalid multipart data.``, ...).
- Non-multipart bodies on the upload endpoints behave like FastAPI's ``request.form()``: a urlencoded body
  is read as form fields, anything else as an empty form (so 422 ``patient_id`` missing).

Uploads
- ``names`` / ``external_ids`` (bulk): a JSON array (when the trimmed value starts with ``[``; strings,
  integers or null) or a comma-separated list (items trimmed). Item *i* belongs to file *i*; missing or
  empty items default to the original file name (``name``) or null (``externalId``); more items than
  files is 422 ``{"detail": "..."}``. That check runs before the patient and note lookups.
- Repeated form fields keep the last value (Starlette's ``FormData.get``); ``POST /attachments`` with
  two ``attachment`` parts stores the last one.
- Caps from the fixtures' ``decoda.limits``: ``max_file_bytes`` (default 25 MiB per file),
  ``max_request_bytes`` (default 100 MiB per request, multipart framing included; a larger declared
  Content-Length is refused before reading), ``max_files`` (default 1000, Starlette's). Text fields are
  capped at 1 MiB each (Starlette's limit). Nothing is stored unless every check passed.
- ``originalFilename`` is the sanitised last path segment of the part's filename (no NUL/control
  characters, at most 255 bytes); ``name`` defaults to it. The object's content type is the part's
  ``Content-Type`` as sent, guessed from the file name when missing or ``application/octet-stream``.
- Objects go to bucket ``decoda-attachments`` at ``<tenant>/<patient_id>/<id>/<filename>``;
  ``gcsPath`` is ``gs://decoda-attachments/<that key>``; ids are UUID4.
- ``thumbnailSignedUrl``: images only (``image/*`` Pillow can decode): a copy fitting 256x256 px
  (JPEG for JPEG sources, PNG otherwise) stored at ``<...>/<id>/thumbnail.<jpg|png>``; null otherwise.
- ``signedUrl`` / ``thumbnailSignedUrl`` are GCS V4-style links (``X-Goog-*``) to the sandbox's
  ``/gcs/...`` route, signed anew in every response, valid ``signed_url_seconds`` (default 3600,
  at most 604800) on the sandbox clock. Expired: 400 ``ExpiredToken``; edited: 403
  ``SignatureDoesNotMatch`` (GCS XML, from the storage layer).
- ``createdDate`` is the sandbox clock at upload, ISO-8601 UTC with ``Z``, second precision.
  ``annotations`` and ``tags`` are always ``[]`` (no endpoint sets them). ``note`` is
  ``{"id", "createdDate"}`` of the linked note; ``provider`` is that note's provider; both null without
  a note. ``patient`` is the fixture patient with every documented key (missing ones null/empty).

Listing
- ``GET /attachments?note_id=`` returns the note's attachments in upload order (``patient_id`` narrows
  it further); an unknown note gives ``[]``, not 404.
- Otherwise a day page ``{date, data, nextDate}``: query ``tz`` (IANA name, default ``UTC``; invalid:
  pydantic's ``zoneinfo_str`` 422) and ``date`` (``YYYY-MM-DD`` cursor; pydantic's date parsing and
  messages). The page is the latest local day on or before ``date`` (default: the latest) with
  attachments, newest first (one upload keeps its order); ``nextDate`` is the previous such day, null at
  the end. With nothing to show: ``date`` is the cursor (or today in ``tz``), ``data`` ``[]``.
- ``POST /attachments/link-to-note``: JSON ``{"noteId", "attachmentIds"}`` (camelCase only), all or
  nothing, duplicates ignored, answers the updated attachments in request order.

Not emulated: ``POST /attachments/create-comparison``, ``/notes/...``, ``/tenant/...`` (no upload
behaviour), and no delete/update endpoints (none is documented).
"""

from __future__ import annotations

from starlette.routing import Mount

from mock_server.core.vendor import Vendor
from mock_server.vendors.decoda import item_routes, routes, tag_routes
from mock_server.vendors.decoda.errors import error_for_status, render
from mock_server.vendors.decoda.fixtures import FIXTURES_SCHEMA, load_fixtures
from mock_server.vendors.decoda.models import BUCKET

# Route order is import order: static paths (routes), then tags, then /attachments/{attachment_id}/...
# (item_routes), so /attachments/tags/x is a tag path.
api = routes.api
assert tag_routes.__name__ and item_routes.__name__

vendor = Vendor(
    name="decoda",
    title="Decoda Health attachments (FastAPI; API-KEY + TENANT headers; GCS-style signed URLs)",
    routes=[Mount("", app=api)],
    render_error=render,
    error_for_status=error_for_status,
    openapi_path=routes.OPENAPI_PATH,
    fixtures_schema=FIXTURES_SCHEMA,
    load_fixtures=load_fixtures,
    buckets=(BUCKET,),
    credentials=(
        "API-KEY decoda-dev-key with TENANT demo (patient P1001, note N2001)",
        "API-KEY decoda-other-key with TENANT other (patient P5001, note N6001)",
    ),
)
