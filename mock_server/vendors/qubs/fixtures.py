"""The ``qubs:`` section of the fixture files: its JSON Schema and how it becomes store records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mock_server.core.bodies import BodyWriter
from mock_server.core.clock import iso_z
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.qubs import attachments
from mock_server.vendors.qubs.auth import VENDOR, new_signing_key
from mock_server.vendors.qubs.models import APPOINTMENT_STATUSES

_ID = {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}
_USER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["userId", "displayName"],
    "properties": {"userId": {"type": "string"}, "displayName": {"type": "string"}},
}
_OPTIONAL_TEXT = {"type": ["string", "null"]}

FIXTURES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "clients": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["clientId", "clientSecret", "domains"],
                "properties": {
                    "clientId": {"type": "string", "minLength": 1},
                    "clientSecret": {"type": "string", "minLength": 1},
                    "name": {"type": "string"},
                    "domains": {"type": "array", "minItems": 1, "items": _ID},
                },
            },
        },
        "tokens": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["token", "clientId", "domains"],
                "properties": {
                    "token": {"type": "string", "pattern": "^[A-Za-z0-9._~+/=-]+$"},
                    "clientId": {"type": "string", "minLength": 1},
                    "domains": {"type": "array", "minItems": 1, "items": _ID},
                },
            },
        },
        "appointments": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["domain", "appointmentId", "status", "scheduledSite"],
                "properties": {
                    "domain": _ID,
                    "appointmentId": _ID,
                    "status": {"enum": list(APPOINTMENT_STATUSES)},
                    "scheduledSite": {"type": "string"},
                    "appointmentDate": {"type": ["string", "null"], "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                    "startTime": {"type": ["string", "null"], "pattern": r"^\d{2}:\d{2}:\d{2}$"},
                    "endTime": {"type": ["string", "null"], "pattern": r"^\d{2}:\d{2}:\d{2}$"},
                    "patientId": {"type": "string"},
                    "patientName": {"type": "string"},
                    "dateOfBirth": {"type": "string"},
                    "studyDescription": {"type": "string"},
                    "clinicalInfo": {"type": "string"},
                    "priority": {"type": "string"},
                    "reportingDeadline": _OPTIONAL_TEXT,
                    "assignedRadiologist": {"oneOf": [{"type": "null"}, _USER]},
                },
            },
        },
        "attachments": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["domain", "appointmentId", "guid", "fileName", "category"],
                "properties": {
                    "domain": _ID,
                    "appointmentId": _ID,
                    "guid": {"type": "string", "pattern": "^[0-9a-f-]{36}$"},
                    "fileName": {"type": "string", "pattern": r"^[^/\\\x00]{1,255}$"},
                    "category": {"type": "string"},
                    "contentType": {"type": "string"},
                    "addedDateTime": {"type": "string"},
                    "addedBy": _USER,
                    "content": {"type": "string", "description": "stored as the object's bytes (UTF-8)"},
                },
            },
        },
    },
}


def load_fixtures(sandbox: Sandbox, section: Mapping[str, Any]) -> None:
    """Clients, static tokens, appointments and attachments (with their objects) into the sandbox."""
    store = sandbox.store
    new_signing_key(sandbox)
    for client in section.get("clients", []):
        record = {"name": client["clientId"], **client}
        store.put(VENDOR, "*", "client", client["clientId"], record)
    for token in section.get("tokens", []):
        store.put(VENDOR, "*", "static-token", token["token"], dict(token))
    for appointment in section.get("appointments", []):
        store.put(
            VENDOR, appointment["domain"], "appointment", appointment["appointmentId"], dict(appointment)
        )
    for item in section.get("attachments", []):
        _load_attachment(sandbox, item)


def _load_attachment(sandbox: Sandbox, item: Mapping[str, Any]) -> None:
    added_at = item.get("addedDateTime") or iso_z(sandbox.clock.now())
    added_by = item.get("addedBy") or {"userId": "qubs", "displayName": "QUBS"}
    record = attachments.Attachment(
        domain=item["domain"],
        appointment_id=item["appointmentId"],
        guid=item["guid"],
        file_name=item["fileName"],
        category=item["category"],
        content_type=item.get("contentType"),
        key=attachments.object_key(item["domain"], item["appointmentId"], item["guid"], item["fileName"]),
        added_at=added_at,
        added_by=attachments.flat_summary(added_by),
        upload_expires_at=None,
    )
    attachments.put_all(sandbox, record.domain, [record])
    if "content" in item:
        writer = BodyWriter()
        writer.write(item["content"].encode("utf-8"))
        sandbox.storage.objects.put(
            attachments.BUCKET,
            record.key,
            writer.finish(),
            content_type=record.content_type,
            uploaded_at=datetime.fromisoformat(added_at),
        )
