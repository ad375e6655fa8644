"""Changing stored attachments: delete, rename, move to another patient, replace the image, annotate,
duplicate, compare, count. Every change is all or nothing and stays inside the caller's tenant.

Choices Decoda's specification leaves open (also listed in docs/vendors/decoda.md):
- delete removes the record and its objects (old signed URLs then get GCS's 404 ``NoSuchKey``);
- a new image is stored under a new object key (``.../<id>/r<n>/<filename>``) and the old objects
  are deleted, so links to the old bytes stop working; ``originalFilename`` becomes the new file's;
- moving to another patient clears ``noteId`` when the note belongs to the old patient; objects stay;
- annotations: ``PUT`` stores the body's ``annotations`` list when it has one, else the body as one
  annotation object (``{}`` clears them); each change first saves the previous state in the history
  (newest first), whose entries are ``NoteAttachmentResponse`` snapshots with their own ``id``;
- a duplicate copies bytes, thumbnail, name, note, annotations and tags, with a new id and date and no
  ``externalId``; a comparison is a new PNG of both images side by side (400 when one is not an image).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from PIL import Image

from mock_server.core.bodies import BodyWriter, SpooledBody
from mock_server.core.multipart import FilePart
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.decoda import models, uploads
from mock_server.vendors.decoda.errors import AttachmentNotFound, BadRequest, NotFound
from mock_server.vendors.decoda.fixtures import VENDOR

BUCKET = models.BUCKET
COMPARISON_MAX_HEIGHT = 1024


def _put(sandbox: Sandbox, tenant: str, record: dict[str, Any]) -> None:
    sandbox.store.put(VENDOR, tenant, "attachment", record["id"], record)


def _delete_objects(sandbox: Sandbox, record: dict[str, Any]) -> None:
    for key in (record["objectKey"], record["thumbnailKey"]):
        if key:
            sandbox.storage.objects.delete(BUCKET, key)


def delete(sandbox: Sandbox, tenant: str, attachment_id: str) -> bool:
    """Raises: AttachmentNotFound."""
    with sandbox.store.transaction() as store:
        record = models.get_attachment(sandbox, tenant, attachment_id)
        store.delete(VENDOR, tenant, "attachment", attachment_id)
    _delete_objects(sandbox, record)
    return True


def rename(sandbox: Sandbox, tenant: str, attachment_id: str, name: str) -> bool:
    with sandbox.store.transaction():
        record = models.get_attachment(sandbox, tenant, attachment_id)
        record["name"] = name
        _put(sandbox, tenant, record)
    return True


def rename_many(sandbox: Sandbox, tenant: str, updates: Sequence[tuple[str, str]]) -> bool:
    """All or nothing. Raises: AttachmentNotFound naming the first unknown id."""
    with sandbox.store.transaction():
        records = []
        for attachment_id, name in updates:
            record = sandbox.store.get(VENDOR, tenant, "attachment", attachment_id)
            if record is None:
                raise AttachmentNotFound(f"Attachment not found: {attachment_id}")
            records.append((record, name))
        for record, name in records:
            record["name"] = name
            _put(sandbox, tenant, record)
    return True


def change_patient(sandbox: Sandbox, tenant: str, attachment_id: str, patient_id: str) -> bool:
    """Raises: AttachmentNotFound, PatientNotFound."""
    with sandbox.store.transaction():
        record = models.get_attachment(sandbox, tenant, attachment_id)
        models.get_patient(sandbox, tenant, patient_id)
        if record["noteId"]:
            note = sandbox.store.get(VENDOR, tenant, "note", record["noteId"])
            if note is None or note["patientId"] != patient_id:
                record["noteId"] = None
        record["patientId"] = patient_id
        _put(sandbox, tenant, record)
    return True


def _store_file(
    sandbox: Sandbox, base: str, part: FilePart, filename: str
) -> tuple[str, str | None, str, list[str]]:
    """Write the file (and thumbnail) under ``base``: (key, thumbnail key, content type, written keys)."""
    objects, now = sandbox.storage.objects, sandbox.clock.now()
    content_type = uploads.content_type_of(part, filename)
    key = f"{base}/{uploads.key_segment(filename)}"
    thumbnail = uploads.make_thumbnail(part.body, content_type)
    objects.put(BUCKET, key, part.body, content_type=content_type, uploaded_at=now)
    if thumbnail is None:
        return key, None, content_type, [key]
    thumbnail_key = f"{base}/thumbnail.{thumbnail.extension}"
    try:
        objects.put(
            BUCKET, thumbnail_key, thumbnail.body, content_type=thumbnail.content_type, uploaded_at=now
        )
    except Exception:
        objects.delete(BUCKET, key)
        raise
    return key, thumbnail_key, content_type, [key, thumbnail_key]


def replace_image(sandbox: Sandbox, tenant: str, attachment_id: str, part: FilePart) -> dict[str, Any]:
    """The new file replaces the old bytes (new key); the old objects are deleted.

    Raises: AttachmentNotFound.
    """
    try:
        record = models.get_attachment(sandbox, tenant, attachment_id)
        revision = record.get("revision", 0) + 1
        filename = uploads.safe_filename(part.filename)
        base = f"{tenant}/{record['patientId']}/{attachment_id}/r{revision}"
        key, thumbnail_key, content_type, written = _store_file(sandbox, base, part, filename)
    finally:
        part.body.close()  # no-op once the object store took it over
    with sandbox.store.transaction() as store:
        current = store.get(VENDOR, tenant, "attachment", attachment_id)
        if current is None:  # deleted meanwhile
            for written_key in written:
                sandbox.storage.objects.delete(BUCKET, written_key)
            raise AttachmentNotFound()
        old = dict(current)
        current.update(
            objectKey=key,
            thumbnailKey=thumbnail_key,
            contentType=content_type,
            originalFilename=filename,
            size=part.body.size,
            revision=revision,
        )
        _put(sandbox, tenant, current)
    _delete_objects(sandbox, old)
    return current


# -- annotations ---------------------------------------------------------------------------------
def annotations_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    listed = body.get("annotations")
    if isinstance(listed, list) and all(isinstance(item, dict) for item in listed):
        return [dict(item) for item in listed]
    return [dict(body)] if body else []


def set_annotations(sandbox: Sandbox, tenant: str, attachment_id: str, annotations: list[dict]) -> bool:
    with sandbox.store.transaction():
        record = models.get_attachment(sandbox, tenant, attachment_id)
        _save_history(sandbox, record)
        record["annotations"] = annotations
        _put(sandbox, tenant, record)
    return True


def _save_history(sandbox: Sandbox, record: dict[str, Any]) -> None:
    snapshot = {
        "id": sandbox.ids.uuid4(),
        "createdAt": sandbox.clock.now(),
        "name": record["name"],
        "annotations": [dict(item) for item in record["annotations"]],
    }
    record["history"] = [snapshot, *record.get("history", [])]


def history(sandbox: Sandbox, tenant: str, attachment_id: str) -> list[dict[str, Any]]:
    """Records to render: the attachment as it is, with each snapshot's id, date, name and annotations."""
    record = models.get_attachment(sandbox, tenant, attachment_id)
    return [{**record, **snapshot} for snapshot in record.get("history", [])]


def restore_annotations(sandbox: Sandbox, tenant: str, attachment_id: str, history_id: str) -> bool:
    """Raises: AttachmentNotFound; NotFound for a history id this attachment does not have."""
    with sandbox.store.transaction():
        record = models.get_attachment(sandbox, tenant, attachment_id)
        entry = next((item for item in record.get("history", []) if item["id"] == history_id), None)
        if entry is None:
            raise NotFound("Annotation history not found")
        _save_history(sandbox, record)
        record["annotations"] = [dict(item) for item in entry["annotations"]]
        _put(sandbox, tenant, record)
    return True


# -- new attachments from stored ones -------------------------------------------------------------
def _copy_body(sandbox: Sandbox, key: str) -> SpooledBody:
    writer = BodyWriter()
    _, chunks = sandbox.storage.objects.open(BUCKET, key)
    for chunk in chunks:
        writer.write(chunk)
    return writer.finish()


def duplicate(sandbox: Sandbox, tenant: str, attachment_id: str) -> dict[str, Any]:
    source = models.get_attachment(sandbox, tenant, attachment_id)
    part = FilePart(
        "file", source["originalFilename"], source["contentType"], _copy_body(sandbox, source["objectKey"])
    )
    planned = models.plan_attachments([part], [source["name"]], [None])
    (record,) = models.create_attachments(sandbox, tenant, source["patientId"], source["noteId"], planned)
    with sandbox.store.transaction():
        record.update(annotations=[dict(item) for item in source["annotations"]], tags=list(source["tags"]))
        _put(sandbox, tenant, record)
    return record


def create_comparison(
    sandbox: Sandbox,
    tenant: str,
    before_id: str,
    after_id: str,
    patient_id: str,
    note_id: str | None,
    name: str | None,
) -> dict[str, Any]:
    """A PNG of the two images side by side, stored as a new attachment of ``patient_id``.

    Raises: AttachmentNotFound, PatientNotFound, NoteNotFound, BadRequest (note of another patient,
    or an attachment that is not a decodable image).
    """
    before = models.get_attachment(sandbox, tenant, before_id)
    after = models.get_attachment(sandbox, tenant, after_id)
    patient = models.get_patient(sandbox, tenant, patient_id)
    if note_id is not None:
        models.get_note(sandbox, tenant, note_id, patient["id"])
    part = _side_by_side([_open_image(sandbox, record) for record in (before, after)])
    planned = models.plan_attachments([part], [name or "Comparison"], [None])
    (record,) = models.create_attachments(sandbox, tenant, patient_id, note_id, planned)
    return record


def _side_by_side(images: list[Image.Image]) -> FilePart:
    """Both images scaled to one height (at most 1024 px), left to right, as a PNG upload."""
    height = min(COMPARISON_MAX_HEIGHT, *(image.height for image in images))
    scaled = [image.resize((max(1, round(image.width * height / image.height)), height)) for image in images]
    canvas = Image.new("RGB", (sum(image.width for image in scaled), height), "white")
    canvas.paste(scaled[0], (0, 0))
    canvas.paste(scaled[1], (scaled[0].width, 0))
    output = io.BytesIO()
    canvas.save(output, format="PNG")
    writer = BodyWriter()
    writer.write(output.getvalue())
    return FilePart("file", "comparison.png", "image/png", writer.finish())


def _open_image(sandbox: Sandbox, record: dict[str, Any]) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(sandbox.storage.objects.read(BUCKET, record["objectKey"])))
        image.load()
        if image.width * image.height > uploads.MAX_IMAGE_PIXELS:
            raise ValueError("too large")
        return image.convert("RGB")
    except Exception as exc:  # not an image Pillow can decode
        raise BadRequest(f"Attachment {record['id']} is not an image") from exc


def count(sandbox: Sandbox, tenant: str, patient_id: str | None, note_id: str | None) -> int:
    return len(
        sandbox.store.list(
            VENDOR,
            tenant,
            "attachment",
            lambda r: (
                (patient_id is None or r["patientId"] == patient_id)
                and (note_id is None or r["noteId"] == note_id)
            ),
        )
    )
