"""Candid's records and rules over ``sandbox.store``: organizations, encounters, charge captures, attachments.

Every record lives under its organization (the store's tenant), so one organization's token can
never list or delete another's attachments. Attachment bytes live in the embedded S3 bucket
``candid-encounter-attachments`` under ``<organization_id>/<attachment_id>/<file name>``.
No Starlette here: routes.py parses requests and renders what these functions return.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mock_server.core.bodies import SpooledBody
from mock_server.core.jsontext import instant
from mock_server.vendors.candid.errors import EntityConflictError, EntityNotFoundError, UnauthorizedError
from mock_server.vendors.candid.limits import LIMITS
from mock_server.vendors.candid.spec import DOCUMENT

if TYPE_CHECKING:
    from mock_server.core.sandbox import Sandbox
    from mock_server.storage.service import Storage

VENDOR = "candid"
GLOBAL = "*"  # tenant of records that belong to no single organization (clients, tokens, runtime)
BUCKET = "candid-encounter-attachments"
MAX_ATTACHMENT_BYTES = LIMITS.max_upload_bytes
TOKEN_TTL_SECONDS = LIMITS.token_seconds
AUTHED_URL_TTL_SECONDS = LIMITS.download_url_seconds
# Items a listing builds and writes at a time (core.jsontext.array): small enough that a chunk's records,
# dicts and URLs are still in the CPU cache when written (32 to 256 measured alike, 4,096 ~8 ms slower on
# 10,001 items; bench/PROFILE.md).
LISTING_CHUNK = 256
# Enums live in openapi.yaml only; these names read them from there.
ALLOWED_CONTENT_TYPES = frozenset(DOCUMENT.component("AllowedContentType")["enum"])
ATTACHMENT_TYPES = tuple(DOCUMENT.component("EncounterAttachmentType")["enum"])


@dataclass(frozen=True)
class Principal:
    """Who is calling: the organization every lookup is scoped to and the ``UserV2`` it acts as."""

    organization_id: str
    user: dict[str, Any]
    client_id: str | None = None


@dataclass
class Encounter:
    encounter_id: str
    organization_id: str


@dataclass
class ChargeCapture:
    """A charge capture external id; its attachments join ``encounter_id`` once ``converted``."""

    external_id: str
    organization_id: str
    encounter_id: str | None = None
    converted: bool = False


@dataclass(slots=True)
class Attachment:
    attachment_id: str
    organization_id: str
    attachment_type: str
    file_name: str
    description: str
    content_type: str
    size: int
    key: str
    created_at: datetime
    created_by: dict[str, Any]
    encounter_id: str | None = None
    charge_capture_external_id: str | None = None


@dataclass
class NewAttachment:
    """A validated upload, not yet stored."""

    attachment_type: str
    file_name: str
    content_type: str
    body: SpooledBody
    description: str = ""


def is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except (ValueError, AttributeError, TypeError):
        return False


_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def sanitize_file_name(raw: str | None) -> str:
    """The name a client sent, without path segments, NUL or control characters ("upload" if empty)."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch >= " " and ch != "\x7f").strip()
    return name if name not in {"", ".", ".."} else "upload"


def object_key(organization_id: str, attachment_id: str, file_name: str) -> str:
    """S3 key under the organization's prefix; the name part is reduced to safe characters."""
    safe = _UNSAFE_KEY_CHARS.sub("_", file_name).strip("._") or "upload"
    return f"{organization_id}/{attachment_id}/{safe[:200]}"


# -- encounters and charge captures ---------------------------------------------------------------
def find_encounter(sandbox: Sandbox, principal: Principal, encounter_id: str) -> Encounter:
    """The caller's encounter.

    Raises: UnauthorizedError when it belongs to another organization, EntityNotFoundError when
    no organization has it.
    """
    store = sandbox.store
    encounter = store.get(VENDOR, principal.organization_id, "encounter", encounter_id)
    if encounter is not None:
        return encounter
    for organization_id in store.tenants(VENDOR, "encounter"):
        if store.get(VENDOR, organization_id, "encounter", encounter_id) is not None:
            raise UnauthorizedError("This encounter belongs to another organization.")
    raise EntityNotFoundError(encounter_id)


def charge_capture(sandbox: Sandbox, organization_id: str, external_id: str) -> ChargeCapture | None:
    return sandbox.store.get(VENDOR, organization_id, "charge_capture", external_id)


def convert_charge_capture(
    sandbox: Sandbox, principal: Principal, external_id: str, encounter_id: str | None
) -> tuple[ChargeCapture, list[Attachment]]:
    """Turn a charge capture into an encounter: its attachments become visible under the encounter.

    The encounter is ``encounter_id``, else the one the fixtures planned, else a new id; it is
    created in the caller's organization when it does not exist yet.

    Raises: EntityNotFoundError (no such charge capture and no attachments for it),
    EntityConflictError (already converted), UnauthorizedError (the encounter is another
    organization's).
    """
    store, org = sandbox.store, principal.organization_id
    with store.transaction():
        capture = charge_capture(sandbox, org, external_id)
        attachments = _charge_capture_attachments(sandbox, org, external_id)
        if capture is None and not attachments:
            raise EntityNotFoundError(external_id)
        if capture is not None and capture.converted:
            raise EntityConflictError(
                "ChargeCapture", f"{external_id} is already encounter {capture.encounter_id}"
            )
        target = encounter_id or (capture.encounter_id if capture else None) or sandbox.ids.uuid4()
        try:
            find_encounter(sandbox, principal, target)
        except EntityNotFoundError:
            store.put(VENDOR, org, "encounter", target, Encounter(target, org))
        capture = ChargeCapture(external_id, org, target, converted=True)
        store.put(VENDOR, org, "charge_capture", external_id, capture)
        for attachment in attachments:
            attachment.encounter_id = target
            store.put(VENDOR, org, "attachment", attachment.attachment_id, attachment)
    return capture, attachments


# -- attachments ----------------------------------------------------------------------------------
def _charge_capture_attachments(sandbox: Sandbox, organization_id: str, external_id: str) -> list[Attachment]:
    return sandbox.store.list(
        VENDOR, organization_id, "attachment", lambda a: a.charge_capture_external_id == external_id
    )


def encounter_attachments(sandbox: Sandbox, principal: Principal, encounter_id: str) -> list[Attachment]:
    """Raises: as ``find_encounter``."""
    find_encounter(sandbox, principal, encounter_id)
    return sandbox.store.list(
        VENDOR, principal.organization_id, "attachment", lambda a: a.encounter_id == encounter_id
    )


def charge_capture_attachments(sandbox: Sandbox, principal: Principal, external_id: str) -> list[Attachment]:
    """All attachments uploaded for ``external_id`` in the caller's organization (maybe none)."""
    return _charge_capture_attachments(sandbox, principal.organization_id, external_id)


def create_attachment(
    sandbox: Sandbox,
    principal: Principal,
    upload: NewAttachment,
    *,
    encounter_id: str | None = None,
    charge_capture_external_id: str | None = None,
) -> Attachment:
    """Store the bytes in S3, then the record (the caller has validated everything before)."""
    org = principal.organization_id
    attachment_id = sandbox.ids.uuid4()
    key = object_key(org, attachment_id, upload.file_name)
    now = sandbox.clock.now()
    try:
        sandbox.storage.objects.put(
            BUCKET, key, upload.body, content_type=upload.content_type, uploaded_at=now
        )
    except BaseException:
        upload.body.close()  # the object store adopts the spooled file only on success
        raise
    attachment = Attachment(
        attachment_id,
        org,
        upload.attachment_type,
        upload.file_name,
        upload.description,
        upload.content_type,
        upload.body.size,
        key,
        now,
        principal.user,
        encounter_id,
        charge_capture_external_id,
    )
    with sandbox.store.transaction():
        if charge_capture_external_id is not None:
            capture = charge_capture(sandbox, org, charge_capture_external_id)
            if capture is None:
                capture = ChargeCapture(charge_capture_external_id, org)
                sandbox.store.put(VENDOR, org, "charge_capture", charge_capture_external_id, capture)
            attachment.encounter_id = capture.encounter_id if capture.converted else None
        sandbox.store.put(VENDOR, org, "attachment", attachment_id, attachment)
    return attachment


def delete_attachment(
    sandbox: Sandbox,
    principal: Principal,
    attachment_id: str,
    *,
    encounter_id: str | None = None,
    charge_capture_external_id: str | None = None,
) -> None:
    """Delete one attachment listed under the given encounter or charge capture, and its object.

    Raises: EntityNotFoundError when the caller's organization has no such attachment there
    (as ``find_encounter`` for the encounter itself).
    """
    org = principal.organization_id
    if encounter_id is not None:
        find_encounter(sandbox, principal, encounter_id)
    with sandbox.store.transaction():
        attachment: Attachment | None = sandbox.store.get(VENDOR, org, "attachment", attachment_id)
        listed_there = attachment is not None and (
            attachment.encounter_id == encounter_id
            if encounter_id is not None
            else attachment.charge_capture_external_id == charge_capture_external_id
        )
        if attachment is None or not listed_there:
            raise EntityNotFoundError(attachment_id)
        sandbox.store.delete(VENDOR, org, "attachment", attachment_id)
    sandbox.storage.objects.delete(BUCKET, attachment.key)


def attachments_json(
    storage: Storage, attachments: Sequence[Attachment], *, base_url: str, url_ttl: float, for_encounter: bool
) -> Iterator[list[dict[str, Any]]]:
    """``EncounterAttachment`` (``for_encounter``) or ``ChargeCaptureAttachment`` JSON per attachment, in
    chunks of ``LISTING_CHUNK``, for ``core.jsontext.array`` (``created_at`` may be a datetime that it
    writes as ``iso_z`` text).

    ``authed_url`` is a fresh presigned GET URL valid ``url_ttl`` seconds (all signed at one instant).
    """
    signer = storage.download_signer(base_url, BUCKET, expires_in=url_ttl)
    for start in range(0, len(attachments), LISTING_CHUNK):
        chunk = attachments[start : start + LISTING_CHUNK]
        urls = signer.urls([a.key for a in chunk])
        # One dict literal per item and per schema, each in its spec's field order (``encounter_id`` comes
        # between ``authed_url`` and ``attachment_type``): 10,001 of them are built per listing.
        if not for_encounter:
            yield [
                {
                    "attachment_id": a.attachment_id,
                    "file_name": a.file_name,
                    "description": a.description,
                    "content_type": a.content_type,
                    "authed_url": url,
                    "attachment_type": a.attachment_type,
                }
                for a, url in zip(chunk, urls, strict=True)
            ]
            continue
        yield [
            {
                "attachment_id": a.attachment_id,
                "file_name": a.file_name,
                "description": a.description,
                "content_type": a.content_type,
                "authed_url": url,
                "encounter_id": a.encounter_id,
                "attachment_type": a.attachment_type,
                "created_at": instant(a.created_at),
                "created_by": a.created_by,
            }
            for a, url in zip(chunk, urls, strict=True)
        ]
