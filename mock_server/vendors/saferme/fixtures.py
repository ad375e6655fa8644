"""The ``saferme:`` section of the fixture files: its JSON Schema and how it fills the store.

    saferme:
      settings:
        processing_seconds: 3          # sandbox seconds an attachment answers 202 before 200
        max_upload_bytes: null         # set it to add ["content-length-range", 0, N] to policies
        first_file_attachment_id: 21   # ids count up from here (the docs' example id)
        session_ttl_seconds: 2592000   # access tokens from POST /api/v3/sessions
        access_token_ttl_seconds: 3600 # v4 sessions (POST/PATCH /api/v4/session): access token
        refresh_token_ttl_seconds: 2592000  # v4 sessions: refresh token, from each refresh
        first_report_id: 49            # report ids count up from here (the Reports API docs' id)
      app_ids: [com.thundermaps.saferme, com.thundermaps.main]   # accepted X-AppId values
      teams:
        - {id: 1234, name: ..., api_keys: [saferme-dev-token]}
      users:
        - {id: 1234, email: ..., password: ..., teams: [1234], locked: false}
      forms:                       # report forms per account (forms.py)
        - {id: 2222, uuid: ..., name: ..., team_id: 1234, fields: [{id, key, label, field_type}]}

API keys act for their team only; users' access tokens for every team listed (the first is the
default when X-TeamId is absent). With no ``app_ids`` any non-empty X-AppId is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mock_server.core.fixtures import FixtureError
from mock_server.vendors.saferme.forms import FORMS_SCHEMA, load_forms
from mock_server.vendors.saferme.models import GLOBAL, VENDOR, Credential, Team, User, VendorSettings, install

if TYPE_CHECKING:
    from mock_server.core.sandbox import Sandbox

TEXT = {"type": "string", "minLength": 1}
TEAM_ID = {"type": "integer", "minimum": 1}

FIXTURES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "settings": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "processing_seconds": {"type": "number", "minimum": 0},
                "max_upload_bytes": {"type": ["integer", "null"], "minimum": 1},
                "first_file_attachment_id": {"type": "integer", "minimum": 1},
                "session_ttl_seconds": {"type": "integer", "minimum": 1},
                "access_token_ttl_seconds": {"type": "integer", "minimum": 1},
                "refresh_token_ttl_seconds": {"type": "integer", "minimum": 1},
                "first_report_id": {"type": "integer", "minimum": 1},
            },
        },
        "app_ids": {"type": "array", "items": TEXT},
        "forms": FORMS_SCHEMA,
        "teams": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "name"],
                "properties": {
                    "id": TEAM_ID,
                    "name": TEXT,
                    "api_keys": {"type": "array", "items": TEXT},
                },
            },
        },
        "users": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "email", "password", "teams"],
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "email": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+$"},
                    "password": TEXT,
                    "teams": {"type": "array", "minItems": 1, "items": TEAM_ID},
                    "locked": {"type": "boolean"},
                },
            },
        },
    },
}


def load_fixtures(sandbox: Sandbox, section: Mapping[str, Any]) -> None:
    """Put settings, teams, API keys and users into the store.

    Raises: FixtureError for a duplicate team id, API key or email, or a user of an unknown team.
    """
    raw = dict(section.get("settings") or {})
    install(
        sandbox,
        VendorSettings(
            processing_seconds=float(raw.get("processing_seconds", VendorSettings.processing_seconds)),
            max_upload_bytes=raw.get("max_upload_bytes"),
            first_file_attachment_id=int(
                raw.get("first_file_attachment_id", VendorSettings.first_file_attachment_id)
            ),
            session_ttl_seconds=int(raw.get("session_ttl_seconds", VendorSettings.session_ttl_seconds)),
            app_ids=tuple(section.get("app_ids") or ()),
            access_token_ttl_seconds=int(
                raw.get("access_token_ttl_seconds", VendorSettings.access_token_ttl_seconds)
            ),
            refresh_token_ttl_seconds=int(
                raw.get("refresh_token_ttl_seconds", VendorSettings.refresh_token_ttl_seconds)
            ),
            first_report_id=int(raw.get("first_report_id", VendorSettings.first_report_id)),
        ),
    )
    teams: dict[int, Team] = {}
    keys: set[str] = set()
    # Sections from several files arrive merged, so records are named by id rather than position.
    for item in section.get("teams") or []:
        where = f"saferme/teams (id {item['id']})"
        if item["id"] in teams:
            raise FixtureError(f"{where}: team {item['id']} is defined twice")
        teams[item["id"]] = Team(item["id"], item["name"])
        sandbox.store.put(VENDOR, GLOBAL, "team", str(item["id"]), teams[item["id"]])
        for token in item.get("api_keys") or []:
            if token in keys:
                raise FixtureError(f"{where}: API key {token!r} is used twice")
            keys.add(token)
            sandbox.store.put(VENDOR, GLOBAL, "api_key", token, Credential(token, (item["id"],)))
    emails: set[str] = set()
    for item in section.get("users") or []:
        where = f"saferme/users (id {item['id']}, {item['email']})"
        unknown = [team for team in item["teams"] if team not in teams]
        if unknown:
            raise FixtureError(f"{where}: team {unknown[0]} is not defined under saferme/teams")
        if item["email"].lower() in emails:
            raise FixtureError(f"{where}: email {item['email']} is used twice")
        emails.add(item["email"].lower())
        user = User(
            item["id"], item["email"], item["password"], tuple(item["teams"]), bool(item.get("locked"))
        )
        sandbox.store.put(VENDOR, GLOBAL, "user", str(item["id"]), user)
    load_forms(sandbox, list(section.get("forms") or []), set(teams))
