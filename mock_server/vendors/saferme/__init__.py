"""SaferMe (formerly ThunderMaps) "Report API v4" file attachments, as a SaferMe integration sees them.

Mounted at ``/saferme``: ``POST /api/v3/sessions``, ``GET /api/v4/file_attachments/upload_authorization``,
``POST /api/v4/file_attachments``, ``GET /api/v4/file_attachments/{id}``, ``GET /openapi.json``.
The upload itself is the embedded S3's browser POST (``POST /s3/staging-thundermaps-uploads``).

Choices SaferMe's docs and Android SDK leave open (what the sandbox does, and why):

Auth
- ``Authorization: Token token=<key>`` and ``Token token="<key>"`` (Rails' token parser; the scheme
  word is matched case-insensitively, other ``name=value`` pairs after ``,``/``;`` are ignored). Any
  other form, an unknown key or an expired access token is 401 ``invalid_token`` with
  ``WWW-Authenticate: Token realm="Application"`` (Rails' answer; the docs give no status).
- ``X-AppId`` must be one of the fixture ``app_ids`` (``com.thundermaps.saferme`` and the older
  ``com.thundermaps.main``), else 401 ``invalid_app_id``; ``X-InstallationId`` must be non-empty on v4
  calls, else 401 ``missing_installation_id`` (the docs list both on every call). Header names are
  case-insensitive (the SDK sends ``X-AppID``/``X-TeamID``/``X-InstallationID``).
- Fixture API keys act for one team; access tokens from the Sessions API act for each of the user's
  teams. ``X-TeamId`` picks the team; without it the credential's first team is used; a team the
  credential cannot act for (or a non-numeric id) is 403 ``forbidden``.
- Sessions: needs ``X-AppId`` only. Blank email/password is 401 ``bad_credentials`` "Please enter your
  email and password" (the SDK fixture's body); a wrong one 401 ``bad_credentials`` "Invalid email or
  password."; a locked fixture user 401 ``account_locked``. Emails match case-insensitively. The answer
  is 200 with the docs' fields (``team_id`` null). Tokens are 20 random characters valid for
  ``session_ttl_seconds`` (default 30 days) of sandbox time, through ``sandbox.lifetime``.

Upload authorization
- ``content_type`` is required and must be one of the 12 types the Reports API lists for image and
  file fields (png, jpeg, gif, plain text, PDF, Word, Excel, Numbers, Keynote, Pages), compared
  case-insensitively and echoed lower-cased; parameters (``; charset=``) are not accepted. Missing:
  422 ``content_type`` ``blank``; not allowed: 422 ``inclusion`` (the docs give no status).
- Key ``async_uploads/<uuid4>``; ``key_prefix`` = key + "/". The policy is SaferMe's 2022 one (AWS Ruby
  SDK order): bucket, ``starts-with $key <key>`` (a plain prefix, so ``<key>-other`` passes too, as on
  S3), ``starts-with $Content-Type ""``, ``success_action_status`` 201, exact ``Content-Type``, then
  ``content-length-range [0, max_upload_bytes]`` when that setting is set (default none, like
  SaferMe), then credential, algorithm, date. Expiration is ``x-amz-date`` + 3600 s
  (``sandbox.lifetime``).
- ``fields`` carries ``x-amz-security-token`` (the current SDK's model requires it and uploads every
  field). The sandbox signs with long-term keys, so its value is "" (as in the SDK's fixture) and the
  policy has no condition for it: the embedded S3 treats an empty token as no token. So the SDK
  (which posts it back) and the docs' curl example (which predates it and omits it) both upload.
  Field order in the answer follows the docs, the token last.
- ``url`` is the embedded S3 bucket URL ``<base>/s3/staging-thundermaps-uploads`` (SaferMe's staging
  bucket, named in the seed's policy); the credential scope uses the sandbox's region
  (``--s3-region``), not eu-central-1.

File attachments
- The key must start with a key issued to the caller's team (what the policy let S3 store) and an
  object must exist under it: otherwise 422 ``key`` ``invalid`` ("Key is invalid": unknown key, another
  team's key, anything outside ``async_uploads/``) or ``not_uploaded`` ("Key has not been uploaded").
  Missing ``file_attachment``/``key`` is 422 ``blank``; a body that is not JSON is 400 ``bad_request``;
  over 64 KiB 413. Only JSON bodies are read.
- ``filename`` is null for the bare issued key ("the filename will be lost"), else the last key
  segment without control characters. Ids are integers counting up from
  ``first_file_attachment_id`` (21, the docs' example), global across teams like SaferMe's.
- Posting the same key again returns the same attachment (same id) with its current status.
- Processing: 202 (``style_url`` ``{}``) until ``processing_seconds`` (default 3) of sandbox time have
  passed since creation, then 200; move the sandbox clock instead of waiting. The first request after
  that makes the styles. Images (png/jpeg/gif) get JPEG ``thumb`` (100x100, centre-cropped) and
  ``medium`` (fits 640x640, never enlarged) renditions stored at
  ``file_attachments/<id>/<style>-<sha1>.jpg``; other types, and images that cannot be decoded, are
  processed with ``style_url`` ``{}``. ``photo_time``/``photo_location`` are always null, ``tags`` {}.
- ``original_url`` and ``style_url`` links are SigV4 presigned GETs of the embedded S3 (SaferMe's are
  S3/CloudFront-signed), issued fresh on every answer and valid 3600 s (``sandbox.lifetime``).
- ``GET /api/v4/file_attachments/{id}`` is named but undocumented by SaferMe: it answers like the
  create call; an id that is not numeric or not in the selected team is 404 ``not_found``
  ("Couldn't find FileAttachment with 'id'=..."). It does not check the upload still exists.

Errors
- Every error is ``{"errors": [full messages], "failures": {attr: [messages]}, "error_codes": {attr:
  [{"error": code, ...}]}}`` (Rails' ``errors.full_messages`` / ``messages`` / ``details``, which the
  SDK's fixture matches). Attribute errors (validation) use the attribute's name; everything else
  ``base``. ``errors`` is always an array. SaferMe documents no request-id header; error answers carry
  ``X-Request-Id`` with the sandbox correlation id (as Rails does).
- ``error_for_status``: 400/401/403/404/413/420/422/429/500/502/503/504 have their own codes (429 adds
  ``Retry-After: 1``); any other status keeps its status with a code named after it
  (405 ``method_not_allowed``). Slow processing in a scenario: raise ``processing_seconds`` in a
  fixture, or answer ``saferme.getFileAttachment`` with a 202 body; ``delay_ms`` adds latency.
"""

from __future__ import annotations

from pathlib import Path

from mock_server.core.fixtures import Ref, Unique
from mock_server.core.vendor import Vendor
from mock_server.vendors.saferme.errors import error_for_status, render
from mock_server.vendors.saferme.fixtures import FIXTURES_SCHEMA, load_fixtures
from mock_server.vendors.saferme.models import BUCKET
from mock_server.vendors.saferme.routes import routes

vendor = Vendor(
    name="saferme",
    title="SaferMe Report API v4 file attachments (S3 POST policy upload, 202-then-200 processing)",
    routes=routes,
    render_error=render,
    error_for_status=error_for_status,
    openapi_path=Path(__file__).with_name("openapi.yaml"),
    fixtures_schema=FIXTURES_SCHEMA,
    load_fixtures=load_fixtures,
    fixture_rules=(
        Unique("saferme/teams/*", ("id",), "team"),
        Unique("saferme/teams/*", ("api_keys",), "API key"),
        Unique("saferme/users/*", ("email",), "user email"),
        Ref("saferme/users/*", ("teams",), "saferme/teams/*", ("id",), "team"),
    ),
    buckets=(BUCKET,),
    credentials=(
        "Authorization: Token token=saferme-dev-token, X-AppId: com.thundermaps.saferme, X-TeamId: 1234, "
        "X-InstallationId: any",
        "Token token=saferme-other-team-token (team 5678)",
        "POST /api/v3/sessions as integrations@example.com / saferme-dev-password (teams 1234 and 5678)",
    ),
)
