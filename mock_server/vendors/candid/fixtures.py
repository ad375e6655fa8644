"""The ``candid:`` section of the fixture files: its JSON Schema and how it fills the store.

    candid:
      rate_limit: {enabled: true, requests: 1000, window_seconds: 10}
      organizations:
        - organization_id: <uuid>
          name: ...
          oauth_clients:   [{client_id, client_secret, user?}]
          bearer_tokens:   [{token, user?}]          # static tokens, never expire
          encounters:      [{encounter_id}]
          charge_captures: [{charge_capture_external_id, encounter_id?, converted?}]
          attachments:     [{encounter_id | charge_capture_external_id, file_name, content_type,
                             attachment_type, content, description?, attachment_id?, created_at?}]

``user`` is the ``UserV2`` reported as ``created_by`` (default: a machine user named after the
client). A charge capture with ``converted: true`` starts as an encounter already.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mock_server.core.bodies import BodyWriter
from mock_server.core.fixtures import FixtureError
from mock_server.vendors.candid.auth import OAuthClient, StaticToken, install_runtime
from mock_server.vendors.candid.models import (
    ALLOWED_CONTENT_TYPES,
    ATTACHMENT_TYPES,
    BUCKET,
    GLOBAL,
    VENDOR,
    Attachment,
    ChargeCapture,
    Encounter,
    object_key,
    sanitize_file_name,
)
from mock_server.vendors.candid.ratelimit import DEFAULT_REQUESTS, DEFAULT_WINDOW_SECONDS, RateLimiter

if TYPE_CHECKING:
    from mock_server.core.sandbox import Sandbox

UUID = {"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}
TEXT = {"type": "string", "minLength": 1}


def _variant(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["type", *fields],
        "properties": {"type": {"const": kind}, **fields},
    }


USER_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["user_id", "user_metadata"],
    "properties": {
        "user_id": UUID,
        "primary_organization_id": UUID,
        "idp_metadata": {
            "type": "array",
            "items": {
                "oneOf": [
                    _variant("auth_zero_metadata", auth0_id=TEXT),
                    _variant("google_apps_metadata", google_apps_id=TEXT),
                    _variant("other_idp_metadata", idp_external_id=TEXT),
                ]
            },
        },
        "user_metadata": {
            "oneOf": [
                _variant("machine_user_metadata", name=TEXT),
                _variant("human_user_metadata", first_name=TEXT, last_name=TEXT, email=TEXT),
            ]
        },
    },
}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties}


ATTACHMENT_SCHEMA = {
    **_object(
        ["file_name", "content_type", "attachment_type", "content"],
        attachment_id=UUID,
        encounter_id=UUID,
        charge_capture_external_id=TEXT,
        file_name=TEXT,
        content_type={"enum": sorted(ALLOWED_CONTENT_TYPES)},
        attachment_type={"enum": list(ATTACHMENT_TYPES)},
        description={"type": "string"},
        content={"type": "string"},
        created_at={"type": "string", "format": "date-time"},
        created_by=USER_SCHEMA,
    ),
    "oneOf": [{"required": ["encounter_id"]}, {"required": ["charge_capture_external_id"]}],
}

ORGANIZATION_SCHEMA = _object(
    ["organization_id"],
    organization_id=UUID,
    name={"type": "string"},
    oauth_clients={
        "type": "array",
        "items": _object(
            ["client_id", "client_secret"], client_id=TEXT, client_secret=TEXT, user=USER_SCHEMA
        ),
    },
    bearer_tokens={"type": "array", "items": _object(["token"], token=TEXT, user=USER_SCHEMA)},
    encounters={"type": "array", "items": _object(["encounter_id"], encounter_id=UUID)},
    charge_captures={
        "type": "array",
        "items": _object(
            ["charge_capture_external_id"],
            charge_capture_external_id=TEXT,
            encounter_id=UUID,
            converted={"type": "boolean"},
        ),
    },
    attachments={"type": "array", "items": ATTACHMENT_SCHEMA},
)

FIXTURES_SCHEMA: dict[str, Any] = _object(
    [],
    rate_limit=_object(
        [],
        enabled={"type": "boolean"},
        requests={"type": "integer", "minimum": 1},
        window_seconds={"type": "number", "exclusiveMinimum": 0},
    ),
    organizations={"type": "array", "items": ORGANIZATION_SCHEMA},
)


def _user(raw: Mapping[str, Any] | None, organization_id: str, name: str) -> dict[str, Any]:
    """A complete ``UserV2``: the fixture's, or a machine user named ``name``."""
    if raw is None:
        raw = {
            "user_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"candid:{organization_id}:{name}")),
            "idp_metadata": [{"type": "auth_zero_metadata", "auth0_id": f"{name}@clients"}],
            "user_metadata": {"type": "machine_user_metadata", "name": name},
        }
    return {
        "user_id": raw["user_id"],
        "idp_metadata": list(raw.get("idp_metadata", [])),
        "primary_organization_id": raw.get("primary_organization_id", organization_id),
        "user_metadata": dict(raw["user_metadata"]),
    }


def load_fixtures(sandbox: Sandbox, section: Mapping[str, Any]) -> None:
    """Fill the store from the ``candid`` section (called at start and after every reset).

    Raises: FixtureError for references the schema cannot check (duplicate ids across
    organizations, an attachment on an encounter its organization does not have).
    """
    limits = section.get("rate_limit", {})
    install_runtime(
        sandbox,
        RateLimiter(
            limits.get("requests", DEFAULT_REQUESTS),
            limits.get("window_seconds", DEFAULT_WINDOW_SECONDS),
            limits.get("enabled", True),
        ),
    )
    seen: set[tuple[str, str]] = set()
    for index, org in enumerate(section.get("organizations", [])):
        where = f"candid/organizations/{index}"
        named = [("organization", org["organization_id"])]
        named += [("encounter", e["encounter_id"]) for e in org.get("encounters", [])]
        named += [("oauth client", c["client_id"]) for c in org.get("oauth_clients", [])]
        named += [("bearer token", t["token"]) for t in org.get("bearer_tokens", [])]
        for kind, value in named:
            if (kind, value) in seen:
                raise FixtureError(f"{where}: {kind} {value} is defined twice")
            seen.add((kind, value))
        _load_organization(sandbox, org, where)


def _load_organization(sandbox: Sandbox, org: Mapping[str, Any], where: str) -> None:
    store, org_id = sandbox.store, org["organization_id"]
    users = []
    for client in org.get("oauth_clients", []):
        user = _user(client.get("user"), org_id, client["client_id"])
        users.append(user)
        store.put(
            VENDOR,
            GLOBAL,
            "oauth_client",
            client["client_id"],
            OAuthClient(client["client_id"], client["client_secret"], org_id, user),
        )
    for index, token in enumerate(org.get("bearer_tokens", [])):
        user = _user(token.get("user"), org_id, f"static-token-{index + 1}")
        users.append(user)
        store.put(
            VENDOR, GLOBAL, "static_token", f"{org_id}:{index}", StaticToken(token["token"], org_id, user)
        )
    for encounter in org.get("encounters", []):
        store.put(
            VENDOR,
            org_id,
            "encounter",
            encounter["encounter_id"],
            Encounter(encounter["encounter_id"], org_id),
        )
    for index, capture in enumerate(org.get("charge_captures", [])):
        external_id, converted = capture["charge_capture_external_id"], capture.get("converted", False)
        if converted and "encounter_id" not in capture:
            raise FixtureError(
                f"{where}/charge_captures/{index}: a converted charge capture needs encounter_id"
            )
        if converted:
            encounter_id = capture["encounter_id"]
            store.put(VENDOR, org_id, "encounter", encounter_id, Encounter(encounter_id, org_id))
        store.put(
            VENDOR,
            org_id,
            "charge_capture",
            external_id,
            ChargeCapture(external_id, org_id, capture.get("encounter_id"), converted),
        )
    fallback_user = users[0] if users else _user(None, org_id, "sandbox-fixtures")
    for index, raw in enumerate(org.get("attachments", [])):
        _load_attachment(sandbox, org_id, raw, fallback_user, f"{where}/attachments/{index}")


def _load_attachment(
    sandbox: Sandbox, org_id: str, raw: Mapping[str, Any], fallback_user: dict[str, Any], where: str
) -> None:
    store = sandbox.store
    encounter_id, external_id = raw.get("encounter_id"), raw.get("charge_capture_external_id")
    if encounter_id is not None and store.get(VENDOR, org_id, "encounter", encounter_id) is None:
        raise FixtureError(f"{where}: encounter {encounter_id} is not one of this organization's encounters")
    if external_id is not None:
        capture = store.get(VENDOR, org_id, "charge_capture", external_id)
        if capture is None:
            capture = store.put(
                VENDOR, org_id, "charge_capture", external_id, ChargeCapture(external_id, org_id)
            )
        encounter_id = capture.encounter_id if capture.converted else None
    attachment_id = raw.get("attachment_id") or sandbox.ids.uuid4()
    file_name = sanitize_file_name(raw["file_name"])
    try:
        created_at = datetime.fromisoformat(raw["created_at"]) if "created_at" in raw else sandbox.clock.now()
    except ValueError as exc:
        raise FixtureError(f"{where}/created_at: not an ISO 8601 date-time: {raw['created_at']!r}") from exc
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    try:  # kept in UTC: an instant whose UTC falls outside years 1-9999 cannot be listed
        created_at = created_at.astimezone(UTC)
    except OverflowError as exc:
        raise FixtureError(f"{where}/created_at: outside years 1-9999 in UTC: {raw['created_at']!r}") from exc
    writer = BodyWriter()
    writer.write(raw["content"].encode("utf-8"))
    body = writer.finish()
    key = object_key(org_id, attachment_id, file_name)
    sandbox.storage.objects.put(BUCKET, key, body, content_type=raw["content_type"], uploaded_at=created_at)
    created_by = _user(raw["created_by"], org_id, "") if "created_by" in raw else fallback_user
    store.put(
        VENDOR,
        org_id,
        "attachment",
        attachment_id,
        Attachment(
            attachment_id,
            org_id,
            raw["attachment_type"],
            file_name,
            raw.get("description", ""),
            raw["content_type"],
            body.size,
            key,
            created_at,
            created_by,
            encounter_id,
            external_id,
        ),
    )
