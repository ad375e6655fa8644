"""Decoda Health attachments API, served under ``/decoda`` by a real FastAPI app (``api.py``), built on
the first Decoda request (``mount.py``: start-up needs only its route table).

Source of truth: Decoda's published OpenAPI (github.com/decoda-health/docs, ``openapi.yaml``). Paths,
parameters, body fields, response fields and the 422 format follow it; ``schemas.py`` mirrors its
components and tests/vendors/decoda/test_decoda_contract.py checks the generated document against an
extract of it. Route names are ``decoda:<operationId>`` (journal and scenario operation names):

- uploads and listing (``routes.py``): ``POST /attachments/bulk`` uploadAttachmentsBulk,
  ``POST /attachments`` uploadAttachment, ``GET /attachments`` listAttachments,
  ``POST /attachments/link-to-note`` linkAttachmentsToNote, ``GET /attachments/count`` countAttachments,
  ``PUT /attachments/bulk-names`` bulkRenameAttachments, ``POST /attachments/create-comparison``
  createComparisonAttachment, ``POST /notes/{note_id}/attachment-from-url`` addNoteAttachmentFromUrl,
  ``GET /user/patient/{patient_id}`` getPatient, ``GET /email/attachments/{attachment_id}/download``
  downloadEmailAttachment, ``GET /email/messages/{message_id}/attachment-urls`` getMessageAttachmentUrls,
  ``GET /openapi.json`` openapi;
- tags (``tag_routes.py``): ``GET|POST /attachments/tags`` getAttachmentTags / createAttachmentTag,
  ``GET|PUT|DELETE /attachments/tags/{tag_id}`` getAttachmentTag / updateAttachmentTag / deleteAttachmentTag;
- one attachment (``item_routes.py``): ``DELETE /attachments/{attachment_id}`` deleteAttachment,
  ``PUT .../name`` renameAttachment, ``PUT .../patient`` changeAttachmentPatient, ``PUT .../image``
  updateAttachmentImage, ``PUT .../annotations`` updateAttachmentAnnotations, ``GET .../annotation-history``
  getAttachmentAnnotationHistory, ``POST .../restore-annotations/{history_id}`` restoreAttachmentAnnotations,
  ``POST .../duplicate`` duplicateAttachment, ``GET|POST .../tags`` getAttachmentTagsForAttachment /
  assignAttachmentTags.

The operationIds are the sandbox's short names (Decoda's are FastAPI's generated ones, e.g.
``add_attachment_attachments_post``). Choices Decoda's specification leaves open (also in
docs/vendors/decoda.md):

Auth and tenants
- ``TENANT`` and ``API-KEY`` are ``Header(alias=...)`` parameters of a dependency declared first: a
  missing one is 422 at ``["header", "TENANT"]`` / ``["header", "API-KEY"]``, before the endpoint's own
  parameters and body. An empty value counts as sent. A wrong key (or unknown tenant) is 401
  ``{"detail": "Invalid API key"}``, also when the body is invalid (dependencies run before the body is
  validated). One active key per tenant; ``auth.rotate_api_key`` replaces it.
- Everything is stored per tenant; another tenant's patient, note, attachment, tag or e-mail attachment
  is 404, never 403.

Errors
- Validation is FastAPI's own 422 ``{"detail": [{"type", "loc", "msg", "input"(, "ctx")}]}``; refusals
  are ``{"detail": "<message>"}``; unknown path 404 ``Not Found``, wrong method 405; an unhandled error
  (or an injected 500) is the plain-text ``Internal Server Error``. An injected 422 is one ``value_error``
  item at ``["body"]`` (Decoda documents no other 422 body).
- The sandbox's own checks that are about a value answer in the 422 list format too: ``names`` /
  ``external_ids`` that do not fit (``["body", field]``), an unknown ``tz`` (pydantic's ``zoneinfo_str``
  at ``["query", "tz"]``; Decoda declares ``tz`` as a plain string) and an unreadable ``gcsPath``.
- Statuses chosen where Decoda documents none: unknown patient / note / attachment / tag 404
  (``Patient not found``, ``Note not found``, ``Attachment not found``, ``Tag not found``); note of
  another patient 400; duplicate tag name 409; body or file over its cap 413; broken multipart 400 with
  Starlette's messages.

Uploads
- ``names`` / ``external_ids`` (bulk): a JSON array (trimmed value starts with ``[``; strings, integers,
  null) or a comma-separated list; item *i* belongs to file *i*; missing or empty items default to the
  file name / null. A browser's unselected file input (``filename=""``, no bytes) is ignored by the bulk
  upload and is 422 ``missing`` for ``POST /attachments`` (FastAPI's own handling).
- ``answer_id`` is stored with the attachment (no response field shows it); ``external_id`` is
  ``externalId``.
- Caps from the fixtures' ``decoda.limits``: ``max_file_bytes`` (25 MiB per file), ``max_request_bytes``
  (100 MiB per form request, refused while streaming; 1 MiB for JSON bodies), ``max_files`` (1000);
  text fields 1 MiB (Starlette). Nothing is stored unless every check passed.
- ``originalFilename``: last path segment of the part's filename, no control characters, at most 255
  bytes. Objects: bucket ``decoda-attachments``, key ``<tenant>/<patient_id>/<id>/<filename>`` (a
  replaced image: ``.../<id>/r<n>/<filename>``); ``gcsPath`` is ``gs://decoda-attachments/<key>``.
- ``thumbnailSignedUrl``: images Pillow can decode get a 256 px thumbnail; null otherwise.
- Signed URLs are GCS V4-style links to ``/gcs/...``, valid ``signed_url_seconds`` (3600) of sandbox
  time; expired 400 ``ExpiredToken``, edited 403 ``SignatureDoesNotMatch``, deleted or replaced bytes 404.

Listing and counting
- ``GET /attachments`` requires ``tz`` (Decoda since 2025-11-28). With ``note_id``: the note's attachments
  in upload order; otherwise day pages ``{date, data, nextDate}`` back in time from ``date``.
  ``tag_ids`` (and its camelCase twin ``tagIds``, both in Decoda's spec) keep attachments having any of
  the tags. ``GET /attachments/count`` counts with the same ``patient_id`` / ``note_id`` filters.

Changing attachments (``edits.py``), tags (``tags.py``), sources (``sources.py``), e-mail (``mail.py``):
see those modules' docstrings for the rules of each operation.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount

from mock_server.core.fixtures import Ref, Unique
from mock_server.core.vendor import Vendor
from mock_server.vendors.decoda.errors import error_for_status, render
from mock_server.vendors.decoda.fixtures import FIXTURES_SCHEMA, load_fixtures
from mock_server.vendors.decoda.limits import LIMITS
from mock_server.vendors.decoda.models import BUCKET
from mock_server.vendors.decoda.mount import LazyApi

# The FastAPI app (routes.api) is built on the first Decoda request (mount.py says why and how).
lazy_api = LazyApi()

vendor = Vendor(
    name="decoda",
    title="Decoda Health attachments (FastAPI; API-KEY + TENANT headers; GCS-style signed URLs)",
    routes=[Mount("", app=lazy_api)],
    render_error=render,
    error_for_status=error_for_status,
    openapi_path=Path(__file__).with_name("openapi.yaml"),
    fixtures_schema=FIXTURES_SCHEMA,
    load_fixtures=load_fixtures,
    limits=LIMITS,
    magic_scenarios=Path(__file__).with_name("magic-defaults.yaml"),
    fixture_rules=(
        Unique("decoda/tenants/*", ("name",), "tenant"),
        Unique("decoda/tenants/*", ("api_key",), "API key"),
        Unique("decoda/tenants/*/patients/*", ("id",), "patient", scope=1),
        Unique("decoda/tenants/*/providers/*", ("id",), "provider", scope=1),
        Unique("decoda/tenants/*/notes/*", ("id",), "note", scope=1),
        Ref(
            "decoda/tenants/*/notes/*",
            ("patientId",),
            "decoda/tenants/*/patients/*",
            ("id",),
            "patient",
            scope=1,
        ),
        Ref(
            "decoda/tenants/*/notes/*",
            ("providerId",),
            "decoda/tenants/*/providers/*",
            ("id",),
            "provider",
            scope=1,
        ),
    ),
    buckets=(BUCKET,),
    warm_up=lazy_api.build,
    credentials=(
        "API-KEY decoda-dev-key with TENANT demo (patient P1001, note N2001)",
        "API-KEY decoda-other-key with TENANT other (patient P5001, note N6001)",
    ),
)
