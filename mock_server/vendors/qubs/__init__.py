"""QUBS Integrations API v1 (radiology tele reporting), mounted at ``/qubs``.

Emulated: OAuth client credentials, the PENDING REPORTING worklist, report attachment upload URLs
(presigned S3 PUT into the embedded store), report and comment submission, and the read side of
appointment attachments (presigned S3 GET). Errors are RFC 9457 problem details.

Choices the QUBS documentation leaves open, and what this emulation does:

Authentication
- Token endpoint: ``POST /qubs/oauth2/token`` (QUBS uses a separate auth host; here it shares the base URL).
  Client credentials in the form body or as HTTP Basic (Cognito-style accepts both); ``scope`` is ignored.
- The access token is an HS256 JWT signed with a secret generated per sandbox (a new one on every reset,
  identical across resets when ``--seed`` is set). Claims: ``iss``, ``sub``/``client_id``, ``token_use``,
  ``domains`` (list), ``iat``, ``exp`` (sandbox clock), ``jti``. ``expires_in`` is 3600 unless a scenario
  shortens it.
- Token endpoint errors are OAuth bodies ``{"error","error_description"}``: ``invalid_request`` (400: not
  form-encoded, no grant_type), ``unsupported_grant_type`` (400), ``invalid_client`` (401: missing, unknown
  or wrong credentials). Faults injected on that route use the same shape (``too_many_requests``,
  ``server_error``, ...).
- Static fixture tokens (``qubs-dev-token``, ``qubs-globex-token``) are accepted as-is and never expire.
- 401 for a missing, malformed (not ``Bearer <token>``), unknown, badly signed or expired token, with a
  ``WWW-Authenticate: Bearer`` challenge; 403 when the token's ``domains`` do not include ``{domain}``.
  Authentication runs before every other check, so an unknown domain outside the token is 403, not 404.
  (Only the scenario engine answers earlier: the built-in magic appointment ids A400 ... A504 and the
  domain ``rate-limited`` get their status without credentials.)

Errors
- Problem ``type`` is ``urn:qubs:integrations:<slug>`` for the documented statuses; other statuses (405,
  422, 502-504 from scenarios) keep their status with ``bad-request`` (4xx) or ``server-error`` (5xx).
  ``title`` is the HTTP reason phrase; ``instance`` is the path relative to the QUBS base URL
  (``/integrations/v1/...``, without ``/qubs``); ``requestId`` equals ``X-Correlation-Id``.
- ``detail`` of a validation failure names each failing field and rule:
  ``items[0].fileName must be at most 255 characters (rule: maxLength)``.
- 429 carries ``Retry-After: 1`` unless the scenario sets another value.
- Size and type problems of request bodies are 400 (QUBS documents no 413/415): JSON bodies are capped
  at 256 KiB (16 MiB for report submission), and a Content-Type other than ``application/json``
  (or ``*/*+json``) is 400.

Report attachment upload URLs (``createReportAttachments``)
- Order of checks: bearer -> domain -> Idempotency-Key format -> JSON -> schema -> appointment
  (404 unless it exists in the domain and is PENDING REPORTING) -> create.
- ``fileName``: the 255-character limit applies to the raw value; then everything up to the last ``/`` or
  ``\\`` is dropped, NUL and control characters are removed, surrounding blanks trimmed, and ``.``/``..``
  count as empty. An empty result becomes ``attachment-<first 8 of guid>.pdf|.dcm|.bin`` by content type.
- ``contentType`` is matched exactly (``application/pdf``, ``application/dicom`` or null). ``category``
  defaults to ``report`` when omitted, null or empty. Unknown request fields are ignored.
- Objects go to bucket ``qubs-report-attachments`` under ``<domain>/<appointmentId>/<guid>/<fileName>``.
- Upload URL: SigV4 presigned PUT, 15 minutes, Content-Type signed only when ``contentType`` was given,
  Content-Length required (411), at most 2,097,152 bytes (400 EntityTooLarge, checked while streaming),
  single use (a second PUT after a success is 403 and the first object stays).
- Attachment status is derived on read, never pushed: ``available`` once the object exists,
  ``expired`` if the upload URL lapsed first, else ``pending``.

Idempotency
- Scope: (client id, domain, operation). The fingerprint covers the appointment id and the canonical JSON
  body, so reusing a key for another appointment is a 409 like any other payload change.
- Keys live 15 minutes on the sandbox clock for upload URLs and 24 hours for reports and comments.
  A stored response is replayed byte for byte (same GUIDs, URLs and expiry) with ``Idempotent-Replayed:
  true``. Requests that fail (400/404/...) store nothing, so the key stays usable. Concurrent requests with
  one key are serialised: the first creates, the others replay it.
- A key that is empty, longer than 128 characters or not printable ASCII is 400.

Worklist, reports, comments
- The pending list is ordered by appointment id; ``nextToken`` is base64url JSON ``{"after": <last id>}``
  (stable while appointments leave the list), omitted on the last page. ``pageSize`` must be 1..500
  (400 otherwise). An unreadable ``nextToken`` is 400.
- The appointment view carries the documented tele reporting fields present in the fixtures
  (``assignedRadiologist`` and attachment ``addedBy`` are ``{"userId","displayName"}`` user summaries).
- ``listReportingAttachments`` (only its existence is documented) answers ``{"items": [...]}`` with
  ``status``, ``size``, ``contentType`` and the upload deadline; it needs a PENDING REPORTING appointment.
  It is a cursor list like the worklist (QUBS's ``{items, nextToken}`` convention): ``pageSize`` 1..500,
  default 100; ``nextToken`` is ``{"after": <last guid served>}``; a token naming no attachment of the
  appointment is 400.
- Report submission answers 200 with the appointment's resulting status; interpreting clinician details are
  ``interpretingClinicianName`` and ``interpretingClinicianProviderNumber`` (both optional). A ``final``
  report moves the appointment to ``FINALISED``, after which every reporting endpoint answers 404 for it;
  ``preliminary`` keeps it pending. ``reportStatus`` is case-insensitive and answered in lower case.
- Comments answer 201 with the stored comment; ``commentDateTime`` defaults to now and must carry ``Z`` or
  an offset (stored as UTC).

Fixtures
- Fixture attachments may carry ``content``; it is stored as their object at start and on every reset,
  so the read side has something to download before anything was uploaded.

Read side (``/appointments/{appointmentId}/attachments``)
- Works for appointments in any status. The list is an offset list in QUBS's conventions (a plain array;
  the last page holds fewer than ``take``): ``skip`` >= 0 (default 0), ``take`` 1..500 (default 100, the
  worklist's default page size; the guide gives none here), else 400. Items are the documented attachment
  view; ``url``/``urlExpiresAtUtc`` are null until the content exists.
- ``urlTtlSeconds`` is clamped to 60..3600 (default 900; not an integer: 400); ``disposition`` is
  ``inline`` (default) or ``attachment`` (else 400) and is signed into the URL as
  ``response-content-disposition`` with the file name.
"""

from __future__ import annotations

from pathlib import Path

from mock_server.core.fixtures import Ref, Unique
from mock_server.core.vendor import Vendor
from mock_server.vendors.qubs import attachments, errors
from mock_server.vendors.qubs.fixtures import FIXTURES_SCHEMA, load_fixtures
from mock_server.vendors.qubs.limits import LIMITS
from mock_server.vendors.qubs.routes import routes
from mock_server.vendors.qubs.spec import OPENAPI_PATH

vendor = Vendor(
    name="qubs",
    fixed_kinds=frozenset({"static-token", "client", "signing-key"}),
    title="QUBS Integrations API v1 (tele reporting, report attachment upload URLs)",
    routes=routes,
    render_error=errors.render,
    error_for_status=errors.error_for_status,
    openapi_path=OPENAPI_PATH,
    fixtures_schema=FIXTURES_SCHEMA,
    load_fixtures=load_fixtures,
    limits=LIMITS,
    magic_scenarios=Path(__file__).with_name("magic-defaults.yaml"),
    fixture_rules=(
        Unique("qubs/clients/*", ("clientId",), "client"),
        Unique("qubs/tokens/*", ("token",), "token"),
        Ref("qubs/tokens/*", ("clientId",), "qubs/clients/*", ("clientId",), "client"),
        Unique("qubs/appointments/*", ("domain", "appointmentId"), "appointment"),
        Unique("qubs/attachments/*", ("guid",), "attachment"),
        Ref(
            "qubs/attachments/*",
            ("domain", "appointmentId"),
            "qubs/appointments/*",
            ("domain", "appointmentId"),
            "appointment",
        ),
    ),
    buckets=(attachments.BUCKET,),
    correlation_header="X-Correlation-Id",
    credentials=(
        "OAuth client qubs-dev-client / qubs-dev-secret (domain acme) at POST /qubs/oauth2/token",
        "OAuth client qubs-globex-client / qubs-globex-secret (domain globex)",
        "bearer token qubs-dev-token (domain acme), qubs-globex-token (domain globex)",
    ),
)
