"""SaferMe forms (forms.md): the fields a report on an account (channel) is filled with, from fixtures.

    saferme:
      forms:
        - id: 2222                       # the account id reports name as ``account_id``
          uuid: 886b1d4c-dec3-43fe-bcce-fd4eea6f28f8
          name: Hazard on a leash
          team_id: 1234
          fields:
            - {id: 26, key: f_2_38_18, label: Photos, field_type: Image}
            - {id: 25, key: f_2_37_17, label: File Attachment, field_type: FileUpload, mandatory: false}

``check_value`` applies each field type's rule to a report's ``form_fields[].value`` (reports.md);
attachment ids (``Image``/``FileUpload``) are checked by reports.py, which knows the team's uploads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mock_server.core.clock import iso_z
from mock_server.core.fixtures import FixtureError
from mock_server.vendors.saferme.errors import Problem
from mock_server.vendors.saferme.models import VENDOR

if TYPE_CHECKING:
    from mock_server.core.sandbox import Sandbox

TEXT_TYPES = frozenset({"ShortTextBox", "LongTextBox", "Description"})
LIST_TYPES = frozenset({"ExternalAttendees", "BulletedList", "NumberedList"})
OPTION_TYPES = frozenset({"CheckBox", "DropDown", "RadioButton"})
ATTACHMENT_TYPES = frozenset({"Image", "FileUpload"})
# Filled by SaferMe itself or by other APIs (signatures, states): values sent for them are ignored.
COMPUTED_TYPES = frozenset(
    {"Reporter", "ReportState", "SectionBreak", "FreeText", "ReportViewers", "RelativePosition", "Signature"}
)
FIELD_TYPES = sorted(
    TEXT_TYPES
    | LIST_TYPES
    | OPTION_TYPES
    | ATTACHMENT_TYPES
    | COMPUTED_TYPES
    | {"Category", "InternalAttendees", "IntegerRange", "DateAndTime"}
)

FORMS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "uuid", "name", "team_id", "fields"],
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "uuid": {"type": "string", "pattern": "^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$"},
            "name": {"type": "string", "minLength": 1},
            "team_id": {"type": "integer", "minimum": 1},
            "version": {"type": "integer", "minimum": 1},
            "appearance": {"type": "string", "minLength": 1},
            "fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "key", "label", "field_type"],
                    "properties": {
                        "id": {"type": "integer", "minimum": 1},
                        "key": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"},
                        "label": {"type": "string", "minLength": 1},
                        "field_type": {"enum": FIELD_TYPES},
                        "data": {"type": "object"},
                        "mandatory": {"type": "boolean"},
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True)
class FieldProblem(Problem):
    """A problem with one form field: keyed by the field's key, full message led by its label."""

    label: str = ""

    @property
    def full_message(self) -> str:
        return f"{self.label} {self.message}"


@dataclass(frozen=True)
class FormField:
    id: int
    key: str
    label: str
    field_type: str
    form_order: int
    data: Mapping[str, Any] = field(default_factory=dict)
    mandatory: bool = False

    def problem(self, message: str, code: str, **detail: Any) -> FieldProblem:
        return FieldProblem(self.key, message, code, detail, label=self.label)

    def options(self) -> list[Any]:
        return [option.get("value") for option in self.data.get("options") or [] if isinstance(option, dict)]


@dataclass(frozen=True)
class Form:
    id: int
    uuid: str
    name: str
    team_id: int
    version: int
    appearance: str
    fields: tuple[FormField, ...]
    updated_at: float

    def field(self, key: str) -> FormField | None:
        return next((item for item in self.fields if item.key == key), None)


def load_forms(sandbox: Sandbox, items: list[Mapping[str, Any]], team_ids: set[int]) -> None:
    """Store each form under its team. Raises: FixtureError (unknown team, duplicate id/uuid/key)."""
    seen: set[object] = set()
    for item in items:
        where = f"saferme/forms (id {item['id']})"
        if item["team_id"] not in team_ids:
            raise FixtureError(f"{where}: team {item['team_id']} is not defined under saferme/teams")
        for name in ("id", "uuid"):
            if (name, item[name]) in seen:
                raise FixtureError(f"{where}: {name} {item[name]} is used twice")
            seen.add((name, item[name]))
        fields = []
        for order, raw in enumerate(item["fields"]):
            if ("key", raw["key"]) in seen:
                raise FixtureError(f"{where}: field key {raw['key']} is used twice")
            seen.add(("key", raw["key"]))
            data = dict(raw.get("data") or {})
            fields.append(
                FormField(
                    raw["id"],
                    raw["key"],
                    raw["label"],
                    raw["field_type"],
                    order,
                    data,
                    raw.get("mandatory", False),
                )
            )
        form = Form(
            item["id"],
            item["uuid"],
            item["name"],
            item["team_id"],
            item.get("version", 1),
            item.get("appearance", "generic_teal"),
            tuple(fields),
            sandbox.clock.time(),
        )
        sandbox.store.put(VENDOR, str(form.team_id), "form", str(form.id), form)


def forms_of(sandbox: Sandbox, team_id: int) -> list[Form]:
    return sorted(sandbox.store.list(VENDOR, str(team_id), "form"), key=lambda form: form.id)


def find_form(sandbox: Sandbox, team_id: int, reference: object) -> Form | None:
    """The team's form by id (integer or digits) or uuid; None when there is none."""
    for form in forms_of(sandbox, team_id):
        if isinstance(reference, bool):
            return None
        if reference == form.id or str(reference).strip().lower() in (str(form.id), form.uuid):
            return form
    return None


def is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_blank(value: object) -> bool:
    return value is None or value == "" or value == []


def check_value(form_field: FormField, value: Any) -> Any:
    """The value to store for ``form_field`` (null clears any field; computed types store null).

    Attachment fields only get their shape checked here (a list of ids, repeats dropped); reports.py
    checks the ids against the team's uploads.

    Raises: ValueError whose only argument is the ``FieldProblem`` to report (``invalid``,
    ``inclusion``, ``out_of_range``), so the caller can collect every field's problem.
    """
    kind = form_field.field_type
    if kind in COMPUTED_TYPES or value is None:
        return None
    if kind in TEXT_TYPES and isinstance(value, str):
        return value
    if kind in LIST_TYPES and isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    if kind == "Category" and is_integer(value) and value > 0:
        return value
    if kind == "IntegerRange" and is_integer(value):
        low, high = form_field.data.get("minimum"), form_field.data.get("maximum")
        if (is_integer(low) and value < low) or (is_integer(high) and value > high):
            raise ValueError(
                form_field.problem(f"must be between {low} and {high}", "out_of_range", value=value)
            )
        return value
    if kind == "DateAndTime" and isinstance(value, str):
        return _date_time(form_field, value)
    if kind == "InternalAttendees" and isinstance(value, list) and all(is_integer(item) for item in value):
        return _in_options(form_field, value) if form_field.options() else value
    if kind in OPTION_TYPES:
        multi = bool(form_field.data.get("multi_select"))
        chosen = value if multi and isinstance(value, list) else [value] if not multi else None
        if chosen is not None and all(isinstance(item, str) for item in chosen):
            _in_options(form_field, chosen)
            return value
    if kind in ATTACHMENT_TYPES and isinstance(value, list):
        if all(
            is_integer(item) or (isinstance(item, str) and item.isascii() and item.isdigit())
            for item in value
        ):
            return list(dict.fromkeys(int(item) for item in value))
    raise ValueError(form_field.problem("is invalid", "invalid", value=value))


def _in_options(form_field: FormField, chosen: list[Any]) -> list[Any]:
    allowed = form_field.options()
    for item in chosen:
        if item not in allowed:
            raise ValueError(form_field.problem("is not included in the list", "inclusion", value=item))
    return chosen


def _date_time(form_field: FormField, value: str) -> str:
    """ISO 8601 in, Rails' UTC JSON time out (``2023-03-21T03:08:00.000Z`` -> ``2023-03-21T03:08:00Z``)."""
    try:
        instant = datetime.fromisoformat(value)
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        return iso_z(instant)
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset
        raise ValueError(form_field.problem("is invalid", "invalid", value=value)) from None


def missing_mandatory(form: Form, values: Mapping[str, Any]) -> list[FieldProblem]:
    return [
        item.problem("can't be blank", "blank")
        for item in form.fields
        if item.mandatory and item.field_type not in COMPUTED_TYPES and _is_blank(values.get(item.key))
    ]


def field_json(form_field: FormField, value: Any, *, data_as_text: bool = False) -> dict[str, Any]:
    """One entry of a report's ``form_fields`` (reports.md) or a form's ``fields`` (forms.md, where
    ``data`` is a JSON string, "" when empty)."""
    data: Any = dict(form_field.data)
    if data_as_text:
        data = json.dumps(data, separators=(",", ":")) if data else ""
    return {
        "id": form_field.id,
        "label": form_field.label,
        "key": form_field.key,
        "field_type": form_field.field_type,
        "form_order": form_field.form_order,
        "data": data,
        "mandatory": form_field.mandatory,
        "visibility": "public",
        "field_visibility": "public",
        "value": value,
        "editable": True,
    }
