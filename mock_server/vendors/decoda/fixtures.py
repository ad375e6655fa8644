"""The ``decoda:`` section of the fixture files: its JSON Schema, the limits it configures, and loading.

Settings use snake_case (``limits.max_file_bytes``, ``tenants[].api_key``); patients, providers and
notes are written exactly as the API returns them (camelCase), so a record reads like a response.
Dates must be quoted strings (YAML would otherwise turn ``2024-01-15`` into a date object).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mock_server.core.bodies import BodyWriter
from mock_server.core.fixtures import FixtureError
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.decoda.limits import LIMITS, MAX_SIGNED_URL_SECONDS, MB

VENDOR = "decoda"


@dataclass(frozen=True)
class DecodaConfig:
    """Limits and lifetimes from the fixtures (defaults when absent)."""

    max_file_bytes: int = LIMITS.max_upload_bytes
    max_request_bytes: int = LIMITS.max_request_bytes
    max_files: int = 1000  # Starlette's own default for request.form()
    max_field_bytes: int = MB  # Starlette's per-field cap ("Part exceeded maximum size of 1024KB.")
    signed_url_seconds: int = LIMITS.download_url_seconds
    fetch_allowed_hosts: frozenset[str] = frozenset()  # attachment-from-url may fetch from these hosts


_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_DATE_TIME = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
}
# Ids end up in object keys and URL paths: no "/" and never only dots (clients would resolve "..").
_ID = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"^(?!\.+$)[A-Za-z0-9._:-]+$"}

PATIENT_TAG_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name"],
    "properties": {
        "id": _STRING,
        "name": _STRING,
        "isActive": {"type": "boolean"},
        "createdDate": _DATE_TIME,
        "emoji": _NULLABLE_STRING,
        "color": _NULLABLE_STRING,
        "updatedDate": _DATE_TIME,
    },
}

PATIENT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "firstName", "lastName", "createdDate"],
    "properties": {
        "id": _ID,
        "type": _STRING,
        "createdDate": _DATE_TIME,
        **{
            name: _NULLABLE_STRING
            for name in (
                "firstName",
                "lastName",
                "phoneNumber",
                "email",
                "locationId",
                "externalId",
                "address",
                "addressLineTwo",
                "city",
                "state",
                "zipCode",
                "country",
                "primaryLocationId",
                "gender",
                "pronouns",
                "preferredName",
                "patientSource",
                "leadSource",
                "preferredProviderId",
                "dosespotPatientId",
            )
        },
        "addressValid": {"type": ["boolean", "null"]},
        "meta": {"type": ["object", "null"]},
        "isArchived": {"type": "boolean"},
        "dateOfBirth": {"type": ["string", "null"], "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "patientMedications": {"type": "array", "items": _STRING},
        "onSchedulingBlacklist": {"type": "boolean"},
        "surchargeDisabled": {"type": "boolean"},
        "tags": {"type": "array", "items": PATIENT_TAG_SCHEMA},
        "creditBalance": {"type": ["integer", "null"]},
        # PatientChart keys (GET /user/patient/{patient_id})
        "memberships": {"type": ["array", "null"], "items": {"type": "object"}},
        "goalWeight": {"type": ["number", "null"]},
        "measurements": {"type": ["array", "null"], "items": {"type": "object"}},
        "medications": {"type": ["array", "null"], "items": {"type": "object"}},
        "optedOutOfSms": {"type": ["boolean", "null"]},
        "appointmentCount": {"type": ["integer", "null"]},
        "totalSpent": {"type": ["integer", "null"]},
        "healthData": {"type": ["object", "null"]},
        "profilePictureUrl": _NULLABLE_STRING,
    },
}

EMAIL_MESSAGE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "attachments"],
    "properties": {
        "id": _ID,
        "attachments": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "filename"],
                "properties": {
                    "id": _ID,
                    "filename": {"type": "string", "minLength": 1, "maxLength": 255},
                    "contentType": _STRING,
                    "contentId": _NULLABLE_STRING,
                    "content": {"type": "string", "description": "text; absent: not downloaded to GCS yet"},
                },
            },
        },
    },
}

PROVIDER_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "firstName", "lastName", "createdDate"],
    "properties": {
        "id": _ID,
        "firstName": _STRING,
        "lastName": _STRING,
        "email": _NULLABLE_STRING,
        "createdDate": _DATE_TIME,
    },
}

NOTE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "patientId", "createdDate"],
    "properties": {"id": _ID, "patientId": _ID, "providerId": _ID, "createdDate": _DATE_TIME},
}

FIXTURES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "limits": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "max_file_bytes": {"type": "integer", "minimum": 1},
                "max_request_bytes": {"type": "integer", "minimum": 1},
                "max_files": {"type": "integer", "minimum": 1},
            },
        },
        "signed_url_seconds": {"type": "integer", "minimum": 1, "maximum": MAX_SIGNED_URL_SECONDS},
        "fetch_allowed_hosts": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "tenants": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "api_key"],
                "properties": {
                    "name": {**_ID, "description": "the TENANT header value"},
                    "api_key": {"type": "string", "minLength": 8, "pattern": r"^[\x21-\x7e]+$"},
                    "patients": {"type": "array", "items": PATIENT_SCHEMA},
                    "providers": {"type": "array", "items": PROVIDER_SCHEMA},
                    "notes": {"type": "array", "items": NOTE_SCHEMA},
                    "email_messages": {"type": "array", "items": EMAIL_MESSAGE_SCHEMA},
                },
            },
        },
    },
}


def load_fixtures(sandbox: Sandbox, section: Mapping[str, Any]) -> None:
    """Put the config, each tenant's active API key, patients, providers and notes into the store.

    Raises: FixtureError when a note names a patient or provider its tenant does not have.
    """
    limits = dict(section.get("limits") or {})
    config = DecodaConfig(
        **{key: int(value) for key, value in limits.items()},
        signed_url_seconds=int(section.get("signed_url_seconds", DecodaConfig.signed_url_seconds)),
        fetch_allowed_hosts=frozenset(host.lower() for host in section.get("fetch_allowed_hosts") or []),
    )
    store = sandbox.store
    store.put(VENDOR, "*", "config", "settings", config)
    for tenant in section.get("tenants") or []:
        name = tenant["name"]
        store.put(VENDOR, name, "api-key", "active", tenant["api_key"])
        for kind, records in (("patient", "patients"), ("provider", "providers"), ("note", "notes")):
            for record in tenant.get(records) or []:
                store.put(VENDOR, name, kind, record["id"], dict(record))
        for message in tenant.get("email_messages") or []:
            _load_email_message(sandbox, name, message)
    for tenant in section.get("tenants") or []:
        _check_references(sandbox, tenant)


def _check_references(sandbox: Sandbox, tenant: Mapping[str, Any]) -> None:
    # Sections are merged from several files, so name the tenant and note rather than a list index.
    name = tenant["name"]
    for note in tenant.get("notes") or []:
        where = f"decoda: tenant {name!r}: note {note['id']!r}"
        if sandbox.store.get(VENDOR, name, "patient", note["patientId"]) is None:
            raise FixtureError(f"{where}: patientId {note['patientId']!r} is not a patient of this tenant")
        provider = note.get("providerId")
        if provider is not None and sandbox.store.get(VENDOR, name, "provider", provider) is None:
            raise FixtureError(f"{where}: providerId {provider!r} is not a provider of this tenant")


EMAIL_BUCKET = "decoda-attachments"


def _load_email_message(sandbox: Sandbox, tenant: str, message: Mapping[str, Any]) -> None:
    """Each attachment with ``content`` is put in GCS (``<tenant>/email/<message>/<id>/<filename>``)."""
    for attachment in message["attachments"]:
        key = None
        if "content" in attachment:
            key = f"{tenant}/email/{message['id']}/{attachment['id']}/{attachment['filename']}"
            writer = BodyWriter()
            writer.write(attachment["content"].encode("utf-8"))
            sandbox.storage.objects.put(
                EMAIL_BUCKET,
                key,
                writer.finish(),
                content_type=attachment.get("contentType", "application/octet-stream"),
                uploaded_at=sandbox.clock.now(),
            )
        record = {"messageId": message["id"], **attachment, "objectKey": key}
        record.pop("content", None)
        sandbox.store.put(VENDOR, tenant, "email-attachment", attachment["id"], record)


def config(sandbox: Sandbox) -> DecodaConfig:
    found = sandbox.store.get(VENDOR, "*", "config", "settings")
    return found if isinstance(found, DecodaConfig) else DecodaConfig()
