"""SaferMe (formerly ThunderMaps) "Report API v4" file attachments, as a SaferMe integration sees them.

Mounted at ``/saferme``: ``POST /api/v3/sessions``, ``POST|GET|PATCH|DELETE /api/v4/session``,
``GET /api/v4/file_attachments/upload_authorization``, ``POST /api/v4/reports``,
``GET|PATCH /api/v4/reports/{id}``, ``GET /api/v4/forms/{id}``,
``POST /api/v4/file_attachments``, ``GET /api/v4/file_attachments/{id}``, ``GET /openapi.json``.
The upload itself is the embedded S3's browser POST (``POST /s3/staging-thundermaps-uploads``).

Choices SaferMe's docs and Android SDK leave open (what the sandbox does, and why):

Auth
- ``Authorization: Token token=<key>`` and ``Token token="<key>"`` (Rails' token parser; the scheme
  word is matched case-insensitively, other ``name=value`` pairs after ``,``/``;`` are ignored). Any
  other form, an unknown key or an expired access token is 401 ``invalid_token`` with
  ``WWW-Authenticate: Token realm="Application"`` (Rails' answer; the docs give no status).
- ``X-AppId`` must be one of the fixture ``app_ids`` (``com.thundermaps.saferme`` and the older
  ``com.thundermaps.main``), else 401 ``invalid_app_id``. ``X-InstallationId`` is optional: SaferMe's
  docs since 2022-02-24 (index.md, sessions.md) list only Authorization, X-AppId and X-TeamId; older
  clients (the Android SDK) still send it and any value is accepted. Header names are
  case-insensitive (the SDK sends ``X-AppID``/``X-TeamID``/``X-InstallationID``).
- Fixture API keys act for one team; access tokens from the Sessions API act for each of the user's
  teams. ``X-TeamId`` "enables the team in the context of the request" (index.md); without it the
  credential's first team is used (for users the session's ``preferred_team_id``), so single-team
  keys work without it; a team the credential cannot act for (or a non-numeric id) is 403
  ``forbidden``.
- Sessions: needs ``X-AppId`` only. Blank email/password is 401 ``bad_credentials`` "Please enter your
  email and password" (the SDK fixture's body); a wrong one 401 ``bad_credentials`` "Invalid email or
  password."; a locked fixture user 401 ``account_locked``. Emails match case-insensitively. The answer
  is 200 with the docs' fields (``team_id`` null). Tokens are 20 random characters valid for
  ``session_ttl_seconds`` (default 30 days) of sandbox time, through ``sandbox.lifetime``.

Sessions v4 (``/api/v4/session``, sessions.md; v3 ``POST /api/v3/sessions`` keeps working)
- Create needs only ``Content-Type`` (no X-AppId); ``session.app_bundle_id`` must be one of the
  fixture ``app_ids``: missing 422 ``app_bundle_id`` ``blank``, other 422 ``inclusion``. Email and
  password are checked as in v3 (401 ``bad_credentials`` / ``account_locked``). The docs show no
  status: create answers 201 (as the Reports API's create does), refresh 200, fetch 200, delete 200
  ``{}`` (the docs' body).
- Access tokens look like the docs' (``smt_1h_`` + 43 characters) and live
  ``access_token_ttl_seconds`` (default 3600: the docs' refresh example moves ``token_expire_at`` by
  about an hour); refresh tokens (43 characters) live ``refresh_token_ttl_seconds`` (default 30
  days) from the moment they were issued, so each refresh restarts both. ``token_expire_at`` is
  Rails' UTC JSON time with milliseconds (``2026-11-30T19:05:16.949Z``).
- Refresh (PATCH) needs no Authorization header: the body's pair authenticates, and the access token
  may be expired; both tokens must belong to the same live session, else 401
  ``invalid_refresh_token``. The old pair stops working at once. ``client_uuid`` stays the same
  across refreshes (the docs' two examples come from different sessions).
- Fetch and delete authenticate with ``Authorization`` alone; only v4 access tokens name a session
  (API keys and v3 tokens are 401 ``invalid_token`` there). ``branded_app_id`` is 1,
  ``preferred_team_id`` the user's first fixture team, ``user_uuid`` a UUID5 of the user id; the
  profile flags are false.

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
  over 64 KiB 413. Form-encoded and multipart bodies are read too (see "Request bodies").
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

Reports (reports.md) and forms (forms.md)
- Forms come from fixtures (``saferme.forms``), one per account (channel): a report's ``account_id``
  (id, digits or uuid) names the form, which must belong to the selected team, else 422 ``account``
  "must exist" (Rails' ``belongs_to``). The default fixture's form 2222 has the docs' example fields
  (keys ``f_2_*``), form 1 (team 5678) the Forms API example's (a mandatory ShortTextBox).
- ``geom`` must be a WKT ``Point(<longitude> <latitude>)`` in range; ``uuid`` is generated when
  absent, must be a UUID and unused in the team (422 ``taken``); ``report_state_id`` and
  ``shape_id`` are echoed (no report-state fixtures); ``risk_assessment`` is accepted and ignored.
- Field values by type: text fields a string; lists (attendees, bulleted/numbered) lists of strings;
  ``InternalAttendees`` integers among the options; ``IntegerRange`` an integer within
  ``minimum``..``maximum`` (``out_of_range``); option fields (CheckBox, DropDown, RadioButton) option
  values, a list when ``multi_select``; ``DateAndTime`` ISO 8601, answered in UTC
  (``2023-03-21T03:08:00Z``); ``Category`` a positive integer (also the report's ``category_id``);
  null clears. Reporter, ReportState, SectionBreak, FreeText, ReportViewers, RelativePosition and
  Signature are filled by SaferMe or other APIs: values sent for them are ignored (Signature shows
  ``[]``, the others null). An unknown key is 422 ``form_fields`` ``invalid``; a mandatory field
  left blank 422 ``blank`` on create and on update.
- Attachment fields take lists of attachment ids (integers or digit strings; repeats within one
  field count once). Each id must be a file attachment of the selected team (else ``not_found``)
  whose upload still exists (``not_uploaded``); ``Image`` takes image/png, image/jpeg and image/gif
  only, ``FileUpload`` every type upload authorization allows (``content_type``). An id may sit in one
  field of one report: a second field (checked in form order) or another report is ``taken``;
  removing it from a report frees it. Errors use the field key as the attribute and its label in the
  message ("Photos does not accept application/pdf files"); every problem of a request is listed in
  one 422 and nothing is changed.
- Attachments not yet processed may be attached; a report shows each with ``style_url`` as it is
  when the report is read (processing is finished then if its time has come), ``ready_to_attach``
  = processed, ``attached`` true.
- Answers: create 201 and fetch 200 with the docs' default fields; ``fields=`` adds optional ones
  and ``-name`` removes any; unknown names are ignored (the Android SDK asks for ``risk_level`` and
  others). ``title`` and ``account_name`` are the form's name, ``appearance`` the form's
  (``generic_teal``), ``description`` the Description field's value, ``user_id`` the session user
  (null for API keys and anonymous reports), counts 0 and assignment fields null.
  ``iso_created_at`` has second precision, ``updated_at`` milliseconds, both UTC ``Z``. Report ids
  count up from ``first_report_id`` (49, the docs' example). The path takes the id or the uuid (the
  SDK reads by uuid); another team's report is 404 "Couldn't find Report with 'id'=...".
- Update (PATCH) applies geom, address, shape_id and form_fields if sent and ignores other members;
  204 with no body.
- ``GET /api/v4/forms/{id}`` (id or uuid) answers forms.md's shape: each field's ``data`` is a JSON
  string ("" when empty), ``value`` null; ``updated_at`` is when the fixtures were loaded.

Request bodies
- Like any Rails app, v4 endpoints that take a body read it as JSON, or as
  ``application/x-www-form-urlencoded`` / ``multipart/form-data`` text parts with Rack's bracket
  names (``file_attachment[key]=...``; ``a[]`` lists; the last repeated name wins). A name used as
  both a value and a hash, invalid UTF-8 or a multipart body without a boundary is 400
  ``bad_request``; a file part where a string is expected is 422 ``invalid``. The 64 KiB cap holds.

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
from mock_server.vendors.saferme.limits import LIMITS
from mock_server.vendors.saferme.models import BUCKET
from mock_server.vendors.saferme.report_routes import routes as report_routes
from mock_server.vendors.saferme.routes import routes
from mock_server.vendors.saferme.session_routes import routes as session_routes
from mock_server.vendors.saferme.spec import OPENAPI_PATH

vendor = Vendor(
    name="saferme",
    fixed_kinds=frozenset({"api_key", "user", "team", "settings"}),
    title="SaferMe Report API v4: sessions, file attachments (S3 POST policy, 202-then-200) and reports",
    routes=[*routes, *session_routes, *report_routes],
    render_error=render,
    error_for_status=error_for_status,
    openapi_path=OPENAPI_PATH,
    fixtures_schema=FIXTURES_SCHEMA,
    load_fixtures=load_fixtures,
    limits=LIMITS,
    magic_scenarios=Path(__file__).with_name("magic-defaults.yaml"),
    fixture_rules=(
        Unique("saferme/teams/*", ("id",), "team"),
        Unique("saferme/teams/*", ("api_keys",), "API key"),
        Unique("saferme/users/*", ("email",), "user email"),
        Ref("saferme/users/*", ("teams",), "saferme/teams/*", ("id",), "team"),
    ),
    buckets=(BUCKET,),
    credentials=(
        "Authorization: Token token=saferme-dev-token, X-AppId: com.thundermaps.saferme, X-TeamId: 1234, "
        "X-InstallationId: optional",
        "Token token=saferme-other-team-token (team 5678)",
        "POST /api/v4/session (or /api/v3/sessions) as integrations@example.com / saferme-dev-password "
        "(teams 1234 and 5678)",
    ),
)
