"""Candid Health: OAuth token and the encounter-attachments v1 API, as the ``candidhealth`` SDK uses them.

Mounted at ``/candid``; point the SDK at it with
``CandidApiClientEnvironment(candid_api="http://127.0.0.1:8080/candid", pre_encounter=...)``.

Choices the Candid docs and SDK leave open (what the sandbox does, and why):

Auth
- Tokens are HS256 JWTs signed with a per-sandbox secret (Candid's are auth0 RS256 JWTs; nobody
  outside can verify either) and recorded by ``jti``, so ``/__admin/reset`` revokes them all.
- ``expires_in`` is 18000: the docs' example says 86400 but the same page says tokens expire 5 hours
  after creation; expiry is enforced on the sandbox clock (lifetime through ``sandbox.lifetime``).
- Wrong client credentials and missing, malformed, unknown or expired bearer tokens answer 401 with
  ``errorName`` ``UnauthorizedError`` (``content.message``) and ``WWW-Authenticate: Bearer``: Candid's
  reference documents "HTTP 401 Unauthorized" for an expired token without a body, and
  ``UnauthorizedError`` is the only authorization error name in Candid's SDK (which types it as the
  403 of another organization's data; the attachment endpoints declare no typed errors, so the SDK
  raises ``ApiError`` with ``status_code`` 401 and this body). Static fixture tokens never expire.
- The token endpoint takes JSON or form bodies; any other Content-Type is 415
  ``InvalidContentTypeError`` (the SDK raises its typed error); missing fields 422.

Rate limit
- 1000 requests per client IP in a rolling 10 s window (the documented numbers), a sliding-window
  log on the sandbox clock keyed by the socket peer address (``X-Forwarded-For`` is ignored).
  The token endpoint and the seven attachment endpoints count; openapi.json and ``/__sandbox``
  do not; refused requests are not counted. 429 ``TooManyRequestsError`` carries ``Retry-After``
  in whole seconds (the SDK's retry honours it). Fixture ``candid.rate_limit`` changes or disables it.

Uploads
- Checked in this order: rate limit and token (401), encounter id is a UUID (422
  ``HttpRequestValidationError``), encounter exists (404) and is the caller's (403), Content-Type is
  multipart/form-data (415), then, from the file part's headers before any of its bytes: the part is
  named ``attachment_file`` (422) and its Content-Type is one of the seven allowed (422
  ``UnprocessableEntityError``); then the size while streaming; then the text fields against
  openapi.yaml (422 ``HttpRequestValidationError``, or ``HttpRequestValidationsError`` listing several).
- The MIME check reads the part's Content-Type (parameters dropped, case-insensitive); no content
  sniffing. A part without Content-Type is refused, so raw bytes passed to the SDK (sent as
  application/octet-stream) are refused too. The stored ``content_type`` is that media type.
- "25MB" is 25 * 1024 * 1024 bytes of file content, enforced chunk by chunk; the whole body may be
  1 MiB larger for fields and headers, and a Content-Length above that is refused before reading.
  Too large is 422 ``UnprocessableEntityError``; nothing is stored.
- Exactly one file part; a second one is 400 ``BadRequestError`` (as is broken multipart framing).
  Repeated text fields: the first counts; unknown fields are ignored; ``description`` sent to the
  deprecated v1 create is ignored; a missing description is stored (and returned) as ``""``.
- File names lose path segments and control characters (empty -> ``upload``); the S3 key is
  ``<organization_id>/<attachment_id>/<name reduced to [A-Za-z0-9._-]>`` in bucket
  ``candid-encounter-attachments``. No idempotency keys (Candid documents none).

Reads and deletes
- ``authed_url`` is a SigV4 presigned GET URL of the embedded S3 (Candid stores files in S3), issued
  fresh on every listing and valid 3600 s of sandbox time; expired, it answers S3's 403 AccessDenied
  XML; after a delete, S3's 404 NoSuchKey.
- Lists are not paged: Candid's API reference and SDKs give both list operations no paging parameter
  and answer a bare array, so every attachment is answered (the cost is one presigned URL each).
- Lists are in creation order; ``created_at`` is UTC with second precision and ``Z``; ``created_by`` is
  the ``UserV2`` of the credential used (from the fixtures, or a machine user named after the client).
- Deletes answer 200 with an empty body, as Candid's API reference documents ("Successful
  response"; the SDK accepts any 2xx without reading it) and remove the stored file. An attachment
  id that is not listed under that encounter / charge capture in the caller's organization is 404
  ``EntityNotFoundError`` with ``content.id`` = the attachment id.
- An encounter of another organization is 403 ``UnauthorizedError``; one that no organization has is
  404 ``EntityNotFoundError``. A non-UUID encounter or attachment id is 422 ``HttpRequestValidationError``.

Charge captures
- External ids are per organization. An id the sandbox has not seen starts a pending charge capture
  on the first upload; listing an id with no uploads answers ``[]``. The SDK does not percent-encode
  ``/`` in path ids, so the rest of the path is the id.
- Candid turns a charge capture into an encounter on its own; the sandbox does it through fixtures
  (``converted: true``) or the sandbox-only ``POST /candid/__sandbox/charge-captures/{id}/convert``
  (``candid:convertChargeCapture``, bearer-authenticated, not rate-limited). After it, the
  attachments are listed under the encounter and still under the charge capture; later uploads for
  the id join the encounter at once. Converting twice is 409 ``EntityConflictError``.

Errors
- Every error is ``{"errorName", "content"}`` with the content shape the SDK's models parse.
  ``error_for_status``: 404 -> ``EntityNotFoundError`` naming the path's id, 502/504 ->
  ``HttpServiceUnavailableError`` body, other unlisted 4xx/5xx -> ``BadRequestError`` /
  ``InternalError`` bodies with the status kept. Candid documents no correlation header.
"""

from __future__ import annotations

from pathlib import Path

from mock_server.core.fixtures import Ref, Unique
from mock_server.core.vendor import Vendor
from mock_server.vendors.candid.errors import error_for_status, render
from mock_server.vendors.candid.fixtures import FIXTURES_SCHEMA, load_fixtures
from mock_server.vendors.candid.limits import LIMITS
from mock_server.vendors.candid.models import BUCKET
from mock_server.vendors.candid.routes import routes
from mock_server.vendors.candid.spec import OPENAPI_PATH

vendor = Vendor(
    name="candid",
    fixed_kinds=frozenset({"oauth_client", "static_token"}),
    title="Candid Health encounter attachments (OAuth, multipart uploads up to 25 MB)",
    routes=routes,
    render_error=render,
    error_for_status=error_for_status,
    openapi_path=OPENAPI_PATH,
    fixtures_schema=FIXTURES_SCHEMA,
    load_fixtures=load_fixtures,
    limits=LIMITS,
    magic_scenarios=Path(__file__).with_name("magic-defaults.yaml"),
    fixture_rules=(
        Unique("candid/organizations/*", ("organization_id",), "organization"),
        Unique("candid/organizations/*/oauth_clients/*", ("client_id",), "OAuth client"),
        Unique("candid/organizations/*/bearer_tokens/*", ("token",), "bearer token"),
        Unique("candid/organizations/*/encounters/*", ("encounter_id",), "encounter"),
        Unique("candid/organizations/*/charge_captures/*", ("charge_capture_external_id",), "charge capture"),
        Unique("candid/organizations/*/attachments/*", ("attachment_id",), "attachment"),
        Ref(
            "candid/organizations/*/attachments/*",
            ("charge_capture_external_id",),
            "candid/organizations/*/charge_captures/*",
            ("charge_capture_external_id",),
            "charge capture",
            scope=1,
        ),
    ),
    buckets=(BUCKET,),
    credentials=(
        "OAuth client candid-dev-client / candid-dev-secret "
        "(organization 83a2a782-35f6-45a7-b5c3-53ca2ebe8887)",
        "bearer token candid-dev-token (same organization)",
        "OAuth client candid-other-client / candid-other-secret, bearer token candid-other-token "
        "(second organization 5b2e9f8d-4c1a-4e7b-9d3f-2a6c8e1b0f47)",
    ),
)
