"""Report attachments: metadata records, presigned upload (PUT) and download (GET) URLs.

An attachment exists as soon as its upload URL is issued; its content is whatever object the
single PUT stored at its key. Status is computed on read from the object store (no callbacks):
``available`` once the object exists, ``expired`` when the upload URL lapsed first, else ``pending``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import quote

from mock_server.core.clock import iso_z
from mock_server.core.sandbox import Sandbox
from mock_server.storage.s3 import ObjectInfo
from mock_server.vendors.qubs.errors import NotFound
from mock_server.vendors.qubs.limits import DOWNLOAD_URL_SECONDS_RANGE, LIMITS
from mock_server.vendors.qubs.models import VENDOR, appointment, pending_appointment

BUCKET = "qubs-report-attachments"
MAX_UPLOAD_BYTES = LIMITS.max_upload_bytes
UPLOAD_URL_TTL = LIMITS.upload_url_seconds
URL_TTL_MIN, URL_TTL_MAX = DOWNLOAD_URL_SECONDS_RANGE
DEFAULT_CATEGORY = "report"
FALLBACK_EXTENSIONS = {"application/pdf": ".pdf", "application/dicom": ".dcm"}
_SEPARATORS = re.compile(r"[/\\]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE_IN_QUOTES = re.compile(r'[^\x20-\x7e]|["\\]')


class Attachment(NamedTuple):
    """A stored attachment record; immutable (a change is a new record, put again), and a tuple because a
    frozen dataclass takes 4x as long to build (0.87 us against 0.2; 20 per upload-URL request)."""

    domain: str
    appointment_id: str
    guid: str
    file_name: str
    category: str
    content_type: str | None
    key: str
    added_at: str
    # the ``addedBy`` user summary as a flat tuple, key, value, key, value (``summary`` makes it a dict
    # again): the garbage collector stops walking a plain tuple once what it holds is untracked, never
    # one that holds a dict, and one that holds a tuple of pairs only a collection later
    added_by: tuple[Any, ...]
    upload_expires_at: str | None
    bucket: str = BUCKET


_APPOINTMENT = Attachment._fields.index("appointment_id")


def flat_summary(user: Mapping[str, Any]) -> tuple[Any, ...]:
    """``{"userId": "u", "displayName": "D"}`` -> ``("userId", "u", "displayName", "D")`` (``added_by``)."""
    return tuple(part for pair in user.items() for part in pair)


def summary(flat: tuple[Any, ...]) -> dict[str, Any]:
    """The user summary ``flat_summary`` flattened."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def clean_file_name(raw: str) -> str:
    """The last path segment (``/`` or ``\\``) without NUL or control characters; may be ``""``."""
    if raw.isprintable() and "/" not in raw and "\\" not in raw:  # most names: nothing to remove
        name = raw.strip()
    else:
        name = _CONTROLS.sub("", _SEPARATORS.split(raw)[-1]).strip()
    return "" if name in {".", ".."} else name


def fallback_name(guid: str, content_type: str | None) -> str:
    return f"attachment-{guid[:8]}{FALLBACK_EXTENSIONS.get(content_type or '', '.bin')}"


def object_key(domain: str, appointment_id: str, guid: str, file_name: str) -> str:
    return f"{domain}/{appointment_id}/{guid}/{file_name}"


def create_upload_urls(
    sandbox: Sandbox,
    user: dict[str, str],
    domain: str,
    appointment_id: str,
    items: list[dict[str, Any]],
    base_url: str,
    lifetime: float,
) -> dict[str, Any]:
    """One attachment record and presigned PUT URL per item; records are stored only once all are made.

    Raises: NotFound when the appointment is unknown in ``domain`` or not in PENDING REPORTING.
    """
    pending_appointment(sandbox, domain, appointment_id)
    added_at = iso_z(sandbox.clock.now())
    added_by = flat_summary(user)
    named: list[tuple[str, str | None, str, str]] = []  # guid, content type, file name, key
    for item, guid in zip(items, sandbox.ids.uuid4s(len(items)), strict=True):
        content_type = item.get("contentType")
        file_name = clean_file_name(item["fileName"]) or fallback_name(guid, content_type)
        named.append((guid, content_type, file_name, object_key(domain, appointment_id, guid, file_name)))
    issued_urls = sandbox.storage.presign_puts(
        base_url,
        BUCKET,
        [(key, content_type) for _, content_type, _, key in named],
        expires_in=lifetime,
        max_bytes=MAX_UPLOAD_BYTES,
        single_use=True,
    )
    records: list[Attachment] = []
    expires_at, expires = None, ""
    response_items: list[dict[str, Any]] = []
    for item, (guid, content_type, file_name, key), issued in zip(items, named, issued_urls, strict=True):
        if issued.expires_at != expires_at:  # items signed in the same second share their expiry
            expires_at, expires = issued.expires_at, iso_z(issued.expires_at)
        record = Attachment(
            domain,
            appointment_id,
            guid,
            file_name,
            item.get("category") or DEFAULT_CATEGORY,
            content_type,
            key,
            added_at,
            added_by,
            expires,
        )
        records.append(record)
        response_items.append(
            {
                "guid": guid,
                "fileName": file_name,
                "category": record.category,
                "uploadUrl": issued.url,
                "uploadUrlExpiresAtUtc": expires,
            }
        )
    put_all(sandbox, domain, records)
    return {"items": response_items}


def put_all(sandbox: Sandbox, domain: str, records: list[Attachment]) -> None:
    """Store ``records`` (new or changed) in ``domain``, all or none (as ``Store.put_all``).

    Held as plain tuples: the garbage collector stops walking a plain tuple of atomic fields at its first
    pass (never a NamedTuple), and a record is kept per upload URL until a reset, so full collections
    do not grow with the records held. Read back through ``get`` and ``for_appointment``.
    """
    sandbox.store.put_all(VENDOR, domain, "attachment", [(record.guid, tuple(record)) for record in records])


def for_appointment(sandbox: Sandbox, domain: str, appointment_id: str, *, pending: bool) -> list[Attachment]:
    """The appointment's attachments, oldest first. Raises: NotFound (see ``pending_appointment``)."""
    (pending_appointment if pending else appointment)(sandbox, domain, appointment_id)
    held = sandbox.store.list(VENDOR, domain, "attachment", where=lambda a: a[_APPOINTMENT] == appointment_id)
    return [Attachment._make(raw) for raw in held]


def held(sandbox: Sandbox, domain: str) -> list[Attachment]:
    """Every attachment record of ``domain``, oldest first, whatever its appointment."""
    return [Attachment._make(raw) for raw in sandbox.store.list(VENDOR, domain, "attachment")]


def get(sandbox: Sandbox, domain: str, appointment_id: str, guid: str) -> Attachment:
    """Raises: NotFound when the appointment or the attachment (in that appointment) is unknown."""
    appointment(sandbox, domain, appointment_id)
    held = sandbox.store.get(VENDOR, domain, "attachment", guid)
    record = None if held is None else Attachment._make(held)
    if record is None or record.appointment_id != appointment_id:
        raise NotFound(f"Attachment {guid} was not found for appointment {appointment_id}.")
    return record


def status_of(sandbox: Sandbox, record: Attachment, info: ObjectInfo | None) -> str:
    if info is not None:
        return "available"
    if record.upload_expires_at is not None and sandbox.clock.expired(_epoch(record.upload_expires_at)):
        return "expired"
    return "pending"


def reporting_view(sandbox: Sandbox, record: Attachment) -> dict[str, Any]:
    """The reporting worklist's view: upload state, size and the upload deadline."""
    info = sandbox.storage.objects.head(record.bucket, record.key)
    return {
        "guid": record.guid,
        "fileName": record.file_name,
        "category": record.category,
        "contentType": record.content_type,
        "status": status_of(sandbox, record, info),
        "size": info.size if info else None,
        "addedDateTime": record.added_at,
        "addedBy": summary(record.added_by),
        "lastModifiedDateTime": iso_z(info.uploaded_at) if info else record.added_at,
        "uploadUrlExpiresAtUtc": record.upload_expires_at,
    }


def read_view(
    sandbox: Sandbox, record: Attachment, base_url: str, lifetime: float, disposition: str
) -> dict[str, Any]:
    """The documented attachment view; ``url`` is a presigned GET once the content exists, else null."""
    info = sandbox.storage.objects.head(record.bucket, record.key)
    url = expires = None
    if info is not None:
        issued = sandbox.storage.presign_get(
            base_url,
            record.bucket,
            record.key,
            expires_in=lifetime,
            content_disposition=content_disposition(disposition, record.file_name),
        )
        url, expires = issued.url, iso_z(issued.expires_at)
    return {
        "guid": record.guid,
        "category": record.category,
        "fileName": record.file_name,
        "addedDateTime": record.added_at,
        "addedBy": summary(record.added_by),
        "lastModifiedDateTime": iso_z(info.uploaded_at) if info else record.added_at,
        "lastModifiedBy": summary(record.added_by),
        "url": url,
        "urlExpiresAtUtc": expires,
    }


def content_disposition(disposition: str, file_name: str) -> str:
    """RFC 6266 value with an ASCII fallback name and the exact name as ``filename*``."""
    fallback = _UNSAFE_IN_QUOTES.sub("_", file_name)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def url_ttl(seconds: int) -> int:
    """``urlTtlSeconds`` (already an integer: openapi.yaml's pattern) clamped into its ``x-clamped-to``
    range, as QUBS does rather than refusing."""
    return max(URL_TTL_MIN, min(URL_TTL_MAX, seconds))


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
