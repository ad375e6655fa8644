"""Decoda's records over ``sandbox.store``: patients, notes, providers (from fixtures) and attachments.

Every record lives under its tenant (the ``TENANT`` header value), so a tenant never sees another's
data. An attachment is stored as one object (plus a thumbnail object for images) in the bucket
``decoda-attachments`` under ``<tenant>/<patient_id>/<attachment_id>/<filename>``; the response
carries ``gcsPath`` (``gs://`` form of that location) and freshly signed download URLs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from mock_server.core.clock import iso_z
from mock_server.core.multipart import FilePart
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.decoda import uploads
from mock_server.vendors.decoda.errors import AttachmentNotFound, BadRequest, NoteNotFound, PatientNotFound
from mock_server.vendors.decoda.fixtures import VENDOR

BUCKET = "decoda-attachments"

PATIENT_DEFAULTS: dict[str, Any] = {
    "id": None,
    "type": "PATIENT",
    "createdDate": None,
    "firstName": None,
    "lastName": None,
    "phoneNumber": None,
    "email": None,
    "locationId": None,
    "externalId": None,
    "address": None,
    "addressLineTwo": None,
    "city": None,
    "state": None,
    "zipCode": None,
    "country": None,
    "addressValid": None,
    "meta": {},
    "isArchived": False,
    "primaryLocationId": None,
    "gender": None,
    "pronouns": None,
    "preferredName": None,
    "dateOfBirth": None,
    "patientMedications": [],
    "patientSource": None,
    "leadSource": None,
    "onSchedulingBlacklist": False,
    "surchargeDisabled": False,
    "tags": [],
    "creditBalance": 0,
    "preferredProviderId": None,
    "dosespotPatientId": None,
}
TAG_DEFAULTS: dict[str, Any] = {
    "id": None,
    "name": None,
    "isActive": True,
    "createdDate": None,
    "emoji": None,
    "color": None,
    "updatedDate": None,
}
PROVIDER_KEYS = ("id", "firstName", "lastName", "email", "createdDate")
CHART_DEFAULTS: dict[str, Any] = {
    "memberships": [],
    "goalWeight": None,
    "measurements": [],
    "medications": [],
    "optedOutOfSms": False,
    "appointmentCount": 0,
    "totalSpent": 0,
    "healthData": {},
    "profilePictureUrl": None,
}
TAG_KIND = "attachment-tag"


@dataclass(frozen=True)
class NewAttachment:
    """One file to store, with everything decided before anything is written."""

    part: FilePart
    filename: str
    content_type: str
    name: str
    external_id: str | None
    answer_id: str | None = None


# -- lookups ----------------------------------------------------------------------------------
def get_patient(sandbox: Sandbox, tenant: str, patient_id: str) -> dict[str, Any]:
    """Raises: PatientNotFound."""
    record = sandbox.store.get(VENDOR, tenant, "patient", patient_id)
    if record is None:
        raise PatientNotFound()
    return record


def get_note(sandbox: Sandbox, tenant: str, note_id: str, patient_id: str | None = None) -> dict[str, Any]:
    """The note; with ``patient_id``, it must be that patient's note.

    Raises: NoteNotFound; BadRequest when the note belongs to another patient.
    """
    record = sandbox.store.get(VENDOR, tenant, "note", note_id)
    if record is None:
        raise NoteNotFound()
    if patient_id is not None and record["patientId"] != patient_id:
        raise BadRequest(f"Note {note_id} does not belong to patient {patient_id}")
    return record


def get_attachment(sandbox: Sandbox, tenant: str, attachment_id: str) -> dict[str, Any]:
    """Raises: AttachmentNotFound (also for another tenant's attachment)."""
    record = sandbox.store.get(VENDOR, tenant, "attachment", attachment_id)
    if record is None:
        raise AttachmentNotFound()
    return record


def patient_response(record: dict[str, Any]) -> dict[str, Any]:
    """``PatientSummary``: every documented key, chart keys left out."""
    body = {**PATIENT_DEFAULTS, **{k: v for k, v in record.items() if k not in CHART_DEFAULTS}}
    body["tags"] = [{**TAG_DEFAULTS, **tag} for tag in body.get("tags") or []]
    return body


def patient_chart(record: dict[str, Any]) -> dict[str, Any]:
    """``PatientChart``: the summary plus the chart keys (fixture values, else empty)."""
    chart = {key: record.get(key, default) for key, default in CHART_DEFAULTS.items()}
    return {**patient_response(record), **chart}


# -- creating ---------------------------------------------------------------------------------
def plan_attachments(
    parts: Sequence[FilePart],
    names: Sequence[str | None],
    external_ids: Sequence[str | None],
    answer_id: str | None = None,
) -> list[NewAttachment]:
    planned = []
    for part, name, external_id in zip(parts, names, external_ids, strict=True):
        filename = uploads.safe_filename(part.filename)
        planned.append(
            NewAttachment(
                part,
                filename,
                uploads.content_type_of(part, filename),
                name or filename,
                external_id,
                answer_id,
            )
        )
    return planned


def object_key(tenant: str, patient_id: str, attachment_id: str, filename: str) -> str:
    return f"{tenant}/{patient_id}/{attachment_id}/{uploads.key_segment(filename)}"


def create_attachments(
    sandbox: Sandbox, tenant: str, patient_id: str, note_id: str | None, planned: Sequence[NewAttachment]
) -> list[dict[str, Any]]:
    """Store every file (and thumbnail) and then the records, all or nothing.

    Raises: whatever the object store raises, StoreFull, or ResetDuringRequest when the sandbox was
    reset meanwhile; objects already written by this call are removed first.
    """
    objects = sandbox.storage.objects
    now = sandbox.clock.now()
    started = sandbox.generation  # a reset while the files are written voids the whole upload
    written: list[str] = []
    records: list[dict[str, Any]] = []
    try:
        for item in planned:
            attachment_id = sandbox.ids.uuid4()
            key = object_key(tenant, patient_id, attachment_id, item.filename)
            thumbnail = uploads.make_thumbnail(item.part.body, item.content_type)
            objects.put(BUCKET, key, item.part.body, content_type=item.content_type, uploaded_at=now)
            written.append(key)
            thumbnail_key = None
            if thumbnail is not None:
                thumbnail_key = f"{tenant}/{patient_id}/{attachment_id}/thumbnail.{thumbnail.extension}"
                objects.put(
                    BUCKET,
                    thumbnail_key,
                    thumbnail.body,
                    content_type=thumbnail.content_type,
                    uploaded_at=now,
                )
                written.append(thumbnail_key)
            records.append(
                {
                    "id": attachment_id,
                    "patientId": patient_id,
                    "noteId": note_id,
                    "name": item.name,
                    "originalFilename": item.filename,
                    "externalId": item.external_id,
                    "contentType": item.content_type,
                    "size": item.part.body.size,
                    "objectKey": key,
                    "thumbnailKey": thumbnail_key,
                    "createdAt": now,
                    "annotations": [],
                    "tags": [],
                    "answerId": item.answer_id,
                    "history": [],
                    "revision": 0,
                }
            )
        with sandbox.store.transaction() as store:
            sandbox.check_generation(started)
            store.ensure_room(len(records))
            for record in records:
                store.put(VENDOR, tenant, "attachment", record["id"], record)
    except Exception:
        for key in written:
            objects.delete(BUCKET, key)
        raise
    finally:
        for item in planned:
            item.part.body.close()  # no-op for bodies the object store took over
    return records


# -- reading ----------------------------------------------------------------------------------
def _tagged(record: dict[str, Any], tag_ids: Sequence[str]) -> bool:
    return not tag_ids or any(tag in record["tags"] for tag in tag_ids)


def attachments_for_note(
    sandbox: Sandbox, tenant: str, note_id: str, patient_id: str | None, tag_ids: Sequence[str] = ()
) -> list[dict]:
    """The note's attachments in upload order (optionally only ``patient_id``'s, with any of ``tag_ids``)."""
    return sandbox.store.list(
        VENDOR,
        tenant,
        "attachment",
        lambda r: (
            r["noteId"] == note_id
            and (patient_id is None or r["patientId"] == patient_id)
            and _tagged(r, tag_ids)
        ),
    )


@dataclass(frozen=True)
class DayPage:
    day: date
    records: list[dict[str, Any]]
    next_date: date | None


def day_page(
    sandbox: Sandbox,
    tenant: str,
    zone: ZoneInfo,
    cursor: date | None,
    patient_id: str | None,
    tag_ids: Sequence[str] = (),
) -> DayPage:
    """The latest local day (in ``zone``) on or before ``cursor`` that has attachments, newest first.

    ``next_date`` is the previous local day with attachments (the cursor for the next page), or None.
    With nothing to show, the page is the cursor (default: today in ``zone``) with no data.
    """
    records = sandbox.store.list(
        VENDOR,
        tenant,
        "attachment",
        lambda r: (patient_id is None or r["patientId"] == patient_id) and _tagged(r, tag_ids),
    )
    # One pass for the local days, then only the chosen day's records are sorted and rendered.
    local_days = [record["createdAt"].astimezone(zone).date() for record in records]
    days = {day for day in local_days if cursor is None or day <= cursor}
    if not days:
        return DayPage(cursor or sandbox.clock.now().astimezone(zone).date(), [], None)
    day = max(days)
    days.discard(day)
    chosen = [(position, records[position]) for position, d in enumerate(local_days) if d == day]
    # Newest first; one upload's files share an instant and keep their upload order.
    ordered = sorted(chosen, key=lambda item: (-item[1]["createdAt"].timestamp(), item[0]))
    return DayPage(day, [record for _, record in ordered], max(days) if days else None)


def link_to_note(sandbox: Sandbox, tenant: str, note_id: str, attachment_ids: Sequence[str]) -> list[dict]:
    """Point every attachment at the note (all or nothing); returns them in request order, deduplicated.

    Raises: NoteNotFound; AttachmentNotFound naming the first unknown id; BadRequest when an
    attachment belongs to another patient than the note.
    """
    with sandbox.store.transaction() as store:
        note = get_note(sandbox, tenant, note_id)
        found = []
        for attachment_id in dict.fromkeys(attachment_ids):
            record = store.get(VENDOR, tenant, "attachment", attachment_id)
            if record is None:
                raise AttachmentNotFound(f"Attachment not found: {attachment_id}")
            if record["patientId"] != note["patientId"]:
                raise BadRequest(
                    f"Attachment {attachment_id} does not belong to the patient of note {note_id}"
                )
            found.append(record)
        for record in found:
            record["noteId"] = note_id
            store.put(VENDOR, tenant, "attachment", record["id"], record)
        return found


# -- response shape ----------------------------------------------------------------------------
def attachment_response(
    sandbox: Sandbox, tenant: str, record: dict[str, Any], base_url: str, lifetime: float
) -> dict[str, Any]:
    """``NoteAttachmentResponse``: the record, its patient, note, provider and fresh signed URLs."""
    store = sandbox.store
    note = store.get(VENDOR, tenant, "note", record["noteId"]) if record["noteId"] else None
    provider_id = note.get("providerId") if note else None
    provider = store.get(VENDOR, tenant, "provider", provider_id) if provider_id else None
    patient = store.get(VENDOR, tenant, "patient", record["patientId"]) or {"id": record["patientId"]}
    thumbnail = record["thumbnailKey"]
    return {
        "id": record["id"],
        "gcsPath": f"gs://{BUCKET}/{record['objectKey']}",
        "originalFilename": record["originalFilename"],
        "signedUrl": _signed_url(sandbox, record["objectKey"], base_url, lifetime),
        "name": record["name"],
        "createdDate": iso_z(record["createdAt"]),
        "noteId": record["noteId"],
        "thumbnailSignedUrl": _signed_url(sandbox, thumbnail, base_url, lifetime) if thumbnail else None,
        "annotations": list(record["annotations"]),
        "externalId": record["externalId"],
        "patient": patient_response(patient),
        "note": {"id": note["id"], "createdDate": note["createdDate"]} if note else None,
        "provider": {key: provider.get(key) for key in PROVIDER_KEYS} if provider else None,
        "tags": tag_summaries(sandbox, tenant, record["tags"]),
    }


def tag_summaries(sandbox: Sandbox, tenant: str, tag_ids: Sequence[str]) -> list[dict[str, Any]]:
    """``NoteAttachmentTagSummary`` of each tag id that still exists, in assignment order."""
    found = (sandbox.store.get(VENDOR, tenant, TAG_KIND, tag_id) for tag_id in tag_ids)
    return [tag_summary(tag) for tag in found if tag is not None]


def tag_summary(tag: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": tag["id"],
        "name": tag["name"],
        "color": tag["color"],
        "createdDate": iso_z(tag["createdAt"]),
    }


def _signed_url(sandbox: Sandbox, key: str, base_url: str, lifetime: float) -> str:
    return sandbox.storage.download_url(base_url, BUCKET, key, expires_in=lifetime).url
