"""SaferMe's records and rules over ``sandbox.store``: credentials, upload authorizations, file attachments.

Team-scoped records use the team id as the store's tenant, so one team can never read another's
upload authorizations or attachments. Uploads land in the embedded S3 bucket
``staging-thundermaps-uploads`` under ``async_uploads/<uuid4>`` (the bucket the seed's policy names).
No Starlette here: routes.py parses requests and renders what these functions return.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mock_server.vendors.saferme.errors import NotFound, invalid
from mock_server.vendors.saferme.limits import ACCESS_TOKEN_SECONDS, LIMITS, REFRESH_TOKEN_SECONDS
from mock_server.vendors.saferme.spec import DOCUMENT

if TYPE_CHECKING:
    from mock_server.core.sandbox import Sandbox

VENDOR = "saferme"
GLOBAL = "_"  # tenant of records that belong to no single team (teams, keys, users, sessions)
BUCKET = "staging-thundermaps-uploads"
KEY_ROOT = "async_uploads/"
UPLOAD_AUTHORIZATION_TTL_SECONDS = LIMITS.post_policy_seconds
URL_TTL_SECONDS = LIMITS.download_url_seconds
REQUIRED_FIELDS = ("Content-Type", "file")
ALLOWED_CONTENT_TYPES = tuple(DOCUMENT.parameter_schema("getUploadAuthorization", "content_type")["enum"])
IMAGE_CONTENT_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})
_ISSUED_KEY = re.compile(
    r"async_uploads/([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})"
)
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class VendorSettings:
    """The ``saferme.settings`` fixture section."""

    processing_seconds: float = 3.0
    max_upload_bytes: int | None = None
    first_file_attachment_id: int = 21
    session_ttl_seconds: int = LIMITS.token_seconds
    app_ids: tuple[str, ...] = ()
    access_token_ttl_seconds: int = ACCESS_TOKEN_SECONDS
    refresh_token_ttl_seconds: int = REFRESH_TOKEN_SECONDS
    first_report_id: int = 49  # the Reports API docs' example id


@dataclass(frozen=True)
class Team:
    id: int
    name: str


@dataclass(frozen=True)
class User:
    id: int
    email: str
    password: str
    team_ids: tuple[int, ...]
    locked: bool = False


@dataclass(frozen=True)
class Credential:
    """What a token grants: the teams it may act for (the first is the default) and its user."""

    token: str
    team_ids: tuple[int, ...]
    user_id: int | None = None
    expires_at: float | None = None  # sandbox epoch seconds; None = never (fixture API keys)


@dataclass(frozen=True)
class UploadAuthorization:
    uuid: str
    team_id: int
    key: str
    content_type: str
    issued_at: float
    expires_at: float


@dataclass
class FileAttachment:
    id: int
    team_id: int
    key: str
    filename: str | None
    content_type: str
    created_at: float
    ready_at: float
    processed: bool = False
    styles: dict[str, str] = field(default_factory=dict)  # style name -> object key of the derived image


# -- settings and ids ----------------------------------------------------------------------
def settings_of(sandbox: Sandbox) -> VendorSettings:
    found = sandbox.store.get(VENDOR, GLOBAL, "settings", "current")
    return found if isinstance(found, VendorSettings) else VendorSettings()


def install(sandbox: Sandbox, settings: VendorSettings) -> None:
    sandbox.store.put(VENDOR, GLOBAL, "settings", "current", settings)
    sandbox.store.put(VENDOR, GLOBAL, "sequence", "file_attachment", settings.first_file_attachment_id)


def _take_id(sandbox: Sandbox) -> int:
    """The next attachment id (ids are global, as the vendor's are), under the store's lock."""
    with sandbox.store.transaction():
        value = sandbox.store.get(VENDOR, GLOBAL, "sequence", "file_attachment")
        if not isinstance(value, int):
            value = settings_of(sandbox).first_file_attachment_id
        sandbox.store.put(VENDOR, GLOBAL, "sequence", "file_attachment", value + 1)
        return value


# -- upload authorizations ----------------------------------------------------------------
def policy_conditions(content_type: str, max_upload_bytes: int | None) -> list[object]:
    """Conditions after bucket and key, in the order of SaferMe's 2022 policy (AWS Ruby SDK)."""
    conditions: list[object] = [
        ["starts-with", "$Content-Type", ""],
        {"success_action_status": "201"},
        {"Content-Type": content_type},
    ]
    if max_upload_bytes is not None:
        conditions.append(["content-length-range", 0, max_upload_bytes])
    return conditions


def authorize_upload(
    sandbox: Sandbox, team_id: int, content_type: str, *, base_url: str, lifetime: float
) -> dict[str, Any]:
    """Mint ``async_uploads/<uuid4>``, sign a POST policy for it and remember it for ``team_id``."""
    storage = sandbox.storage
    uuid = sandbox.ids.uuid4()
    key = f"{KEY_ROOT}{uuid}"
    fields = {"success_action_status": "201", "Content-Type": content_type}
    url, issued, expires_at = storage.presign_post(
        base_url,
        BUCKET,
        key,
        expires_in=lifetime,
        key_starts_with=True,
        fields=fields,
        conditions=policy_conditions(content_type, settings_of(sandbox).max_upload_bytes),
    )
    # The SDK's model requires x-amz-security-token; with long-term sandbox keys it is "" (as in the
    # SDK's fixture). Storage treats an empty token as none, so the docs' curl (which omits it) and
    # the SDK (which posts it back) both upload under a policy without a token condition.
    issued.setdefault("x-amz-security-token", "")
    now = sandbox.clock.time()
    record = UploadAuthorization(uuid, team_id, key, content_type, now, expires_at.timestamp())
    sandbox.store.put(VENDOR, str(team_id), "upload_authorization", uuid, record)
    order = (
        "key",
        "success_action_status",
        "Content-Type",
        "policy",
        "x-amz-credential",
        "x-amz-algorithm",
        "x-amz-date",
        "x-amz-signature",
        "x-amz-security-token",
    )
    ordered = {name: issued[name] for name in order if name in issued}
    ordered.update(issued)
    return {
        "upload_authorization": {
            "method": "POST",
            "key": key,
            "key_prefix": f"{key}/",
            "url": url,
            "fields": ordered,
            "required_fields": list(REQUIRED_FIELDS),
        }
    }


def _authorization_for(sandbox: Sandbox, team_id: int, key: str) -> UploadAuthorization | None:
    match = _ISSUED_KEY.match(key)
    if match is None:
        return None
    found = sandbox.store.get(VENDOR, str(team_id), "upload_authorization", match.group(1))
    # The policy's key condition is a plain prefix, so accept exactly what it let S3 store.
    return found if isinstance(found, UploadAuthorization) and key.startswith(found.key) else None


# -- file attachments ------------------------------------------------------------------------
def filename_of(key: str, authorization_key: str) -> str | None:
    """None for the bare issued key (the docs: "the filename will be lost"), else the last segment."""
    if key == authorization_key:
        return None
    name = _UNPRINTABLE.sub("", key.rsplit("/", 1)[-1])
    return name or None


def create_file_attachment(sandbox: Sandbox, team_id: int, key: str) -> FileAttachment:
    """The attachment for an uploaded ``key``: new, or the one made earlier for the same key.

    Raises: UnprocessableEntity when ``key`` is not under an upload authorization issued to
    ``team_id`` ("is invalid") or nothing was uploaded under it ("has not been uploaded").
    """
    authorization = _authorization_for(sandbox, team_id, key)
    if authorization is None:
        raise invalid("key", "is invalid", "invalid", value=key)
    with sandbox.store.transaction():
        existing = sandbox.store.get(VENDOR, str(team_id), "file_attachment_key", key)
        if existing is not None:
            return sandbox.store.get(VENDOR, str(team_id), "file_attachment", str(existing))
        info = sandbox.storage.objects.head(BUCKET, key)
        if info is None:
            raise invalid("key", "has not been uploaded", "not_uploaded", value=key)
        now = sandbox.clock.time()
        attachment = FileAttachment(
            id=_take_id(sandbox),
            team_id=team_id,
            key=key,
            filename=filename_of(key, authorization.key),
            content_type=info.content_type,
            created_at=now,
            ready_at=now + settings_of(sandbox).processing_seconds,
        )
        sandbox.store.put(VENDOR, str(team_id), "file_attachment", str(attachment.id), attachment)
        sandbox.store.put(VENDOR, str(team_id), "file_attachment_key", key, attachment.id)
    return attachment


def find_file_attachment(sandbox: Sandbox, team_id: int, attachment_id: str) -> FileAttachment:
    """Raises: NotFound for a non-numeric id or one that is not this team's."""
    found = None
    if attachment_id.isascii() and attachment_id.isdigit():
        found = sandbox.store.get(VENDOR, str(team_id), "file_attachment", str(int(attachment_id)))
    if not isinstance(found, FileAttachment):
        raise NotFound(f"Couldn't find FileAttachment with 'id'={attachment_id}")
    return found


def due(sandbox: Sandbox, attachment: FileAttachment) -> bool:
    """True when processing time has passed on the sandbox clock but styles are not made yet."""
    return not attachment.processed and sandbox.clock.time() >= attachment.ready_at


def mark_processed(sandbox: Sandbox, attachment: FileAttachment, styles: dict[str, str]) -> FileAttachment:
    done = replace(attachment, processed=True, styles=dict(styles))
    sandbox.store.put(VENDOR, str(attachment.team_id), "file_attachment", str(attachment.id), done)
    return done


def attachment_json(
    sandbox: Sandbox, attachment: FileAttachment, *, base_url: str, lifetime: float
) -> dict[str, Any]:
    """The vendor's body (docs + SDK fixture); URLs are presigned GETs issued fresh each time."""
    storage = sandbox.storage

    def link(key: str) -> str:
        return storage.presign_get(base_url, BUCKET, key, expires_in=lifetime).url

    return {
        "id": attachment.id,
        "original_url": link(attachment.key),
        "filename": attachment.filename,
        "style_url": {name: link(key) for name, key in attachment.styles.items()},
        "photo_time": None,
        "photo_location": None,
        "tags": {},
    }
