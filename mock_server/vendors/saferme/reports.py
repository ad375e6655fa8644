"""SaferMe reports (reports.md): create, fetch and update a report on a fixture form, and the
attachment rules of "Filling FileUpload and Image fields".

A report belongs to the team of its form (``account_id``); every lookup is scoped to the caller's
team. Attachment ids in ``Image``/``FileUpload`` fields must be the team's file attachments whose
upload still exists; ``Image`` takes png/jpeg/gif only, ``FileUpload`` every type the upload
authorization allows; one attachment sits in one field of one report. All problems of a request are
reported together in one 422, and a refused request changes nothing. No Starlette here.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mock_server.vendors.saferme.errors import NotFound, Problem, UnprocessableEntity
from mock_server.vendors.saferme.forms import (
    ATTACHMENT_TYPES,
    COMPUTED_TYPES,
    Form,
    FormField,
    check_value,
    field_json,
    find_form,
    missing_mandatory,
)
from mock_server.vendors.saferme.models import (
    ALLOWED_CONTENT_TYPES,
    BUCKET,
    GLOBAL,
    IMAGE_CONTENT_TYPES,
    VENDOR,
    FileAttachment,
    attachment_json,
    settings_of,
)
from mock_server.vendors.saferme.sessions import iso_millis
from mock_server.vendors.saferme.styles import process_if_due

if TYPE_CHECKING:
    from mock_server.core.sandbox import Sandbox

DEFAULT_FIELDS = frozenset(
    {
        "id", "uuid", "account_id", "account_uuid", "address", "appearance", "category_id", "description",
        "is_anonymous", "location", "report_state_id", "shape_id", "title", "user_id", "iso_created_at",
        "updated_at",
    }
)  # fmt: skip
# Every field the docs list, in the order answers carry them (the docs' examples: form_fields last
# before the timestamps).
ALL_FIELDS = (
    "id", "uuid", "account_id", "account_name", "account_uuid", "address", "appearance", "assigned_at",
    "assignee", "assignee_id", "assignment_due_at", "category_id", "comment_count", "description",
    "is_anonymous", "is_manageable_by", "location", "report_state_id", "report_state_name",
    "report_state_uuid", "shape_id", "title", "user_id", "user_image", "user_short_name", "form_fields",
    "iso_created_at", "updated_at",
)  # fmt: skip
UPDATABLE = ("geom", "address", "shape_id", "form_fields")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_POINT = re.compile(rf"^\s*POINT\s*\(\s*({_NUMBER})\s+({_NUMBER})\s*\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Report:
    id: int
    uuid: str
    team_id: int
    form_id: int
    user_id: int | None
    latitude: float
    longitude: float
    address: str | None
    is_anonymous: bool
    report_state_id: int | None
    shape_id: int | None
    values: Mapping[str, Any]  # form field key -> stored value (attachment fields: list of ids)
    created_at: float
    updated_at: float


def selected_fields(param: str | None) -> list[str]:
    """``fields=form_fields,-shape_id``: bold defaults, plus named extras, minus ``-`` names; names
    the sandbox does not know (the SDK asks for ``risk_level`` ...) are ignored."""
    chosen = set(DEFAULT_FIELDS)
    for part in (param or "").split(","):
        name = part.strip()
        if name.startswith("-"):
            chosen.discard(name[1:])
        elif name in ALL_FIELDS:
            chosen.add(name)
    return [name for name in ALL_FIELDS if name in chosen]


def parse_point(geom: object) -> tuple[float, float] | None:
    """WKT ``Point(<longitude> <latitude>)`` -> (latitude, longitude), or None."""
    match = _POINT.match(geom) if isinstance(geom, str) else None
    if match is None:
        return None
    longitude, latitude = float(match.group(1)), float(match.group(2))
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        return None
    return latitude, longitude


def _apply(form: Form, values: dict[str, Any], items: list[Any], problems: list[Problem]) -> None:
    for item in items:
        key = item.get("key")
        form_field = form.field(key) if isinstance(key, str) else None
        if form_field is None:
            problems.append(Problem("form_fields", f"has no field {key}", "invalid", {"key": key}))
            continue
        try:
            values[form_field.key] = check_value(form_field, item.get("value"))
        except ValueError as exc:
            problems.append(exc.args[0])


def _check_attachments(
    sandbox: Sandbox, form: Form, values: Mapping[str, Any], report_id: int | None, problems: list[Problem]
) -> None:
    store, team = sandbox.store, str(form.team_id)
    owner: dict[int, str] = {}
    for form_field in form.fields:
        if form_field.field_type not in ATTACHMENT_TYPES:
            continue
        allowed = IMAGE_CONTENT_TYPES if form_field.field_type == "Image" else ALLOWED_CONTENT_TYPES
        for attachment_id in values.get(form_field.key) or []:
            found = store.get(VENDOR, team, "file_attachment", str(attachment_id))
            if not isinstance(found, FileAttachment):
                problems.append(
                    form_field.problem("has an unknown file attachment", "not_found", id=attachment_id)
                )
                continue
            if sandbox.storage.objects.head(BUCKET, found.key) is None:
                message = "has a file attachment that has not been uploaded"
                problems.append(form_field.problem(message, "not_uploaded", id=attachment_id))
            elif found.content_type not in allowed:
                message = f"does not accept {found.content_type} files"
                problems.append(form_field.problem(message, "content_type", id=attachment_id))
            attached_to = store.get(VENDOR, team, "attachment_report", str(attachment_id))
            if attachment_id in owner:
                message = f"has a file attachment already used in field {owner[attachment_id]}"
                problems.append(form_field.problem(message, "taken", id=attachment_id))
            elif attached_to is not None and attached_to != report_id:
                message = "has a file attachment already attached to another report"
                problems.append(form_field.problem(message, "taken", id=attachment_id))
            owner.setdefault(attachment_id, form_field.key)


def _attachment_ids(form: Form, values: Mapping[str, Any]) -> set[int]:
    return {
        attachment_id
        for form_field in form.fields
        if form_field.field_type in ATTACHMENT_TYPES
        for attachment_id in values.get(form_field.key) or []
    }


def _save(sandbox: Sandbox, form: Form, report: Report, previous: Report | None) -> None:
    store, team = sandbox.store, str(report.team_id)
    if previous is not None:
        for attachment_id in _attachment_ids(form, previous.values):
            store.delete(VENDOR, team, "attachment_report", str(attachment_id))
    for attachment_id in _attachment_ids(form, report.values):
        store.put(VENDOR, team, "attachment_report", str(attachment_id), report.id)
    store.put(VENDOR, team, "report", str(report.id), report)
    store.put(VENDOR, team, "report_uuid", report.uuid, report.id)


def _take_id(sandbox: Sandbox) -> int:
    value = sandbox.store.get(VENDOR, GLOBAL, "sequence", "report")
    if not isinstance(value, int):
        value = settings_of(sandbox).first_report_id
    sandbox.store.put(VENDOR, GLOBAL, "sequence", "report", value + 1)
    return value


def _uuid(sandbox: Sandbox, team_id: int, value: object, problems: list[Problem]) -> str:
    if value is None:
        return sandbox.ids.uuid4()
    try:
        normalized = str(uuid_module.UUID(str(value)))
    except ValueError:
        problems.append(Problem("uuid", "is invalid", "invalid", {"value": value}))
        return ""
    if sandbox.store.get(VENDOR, str(team_id), "report_uuid", normalized) is not None:
        problems.append(Problem("uuid", "has already been taken", "taken", {"value": value}))
    return normalized


def create_report(sandbox: Sandbox, team_id: int, user_id: int | None, params: Mapping[str, Any]) -> Report:
    """A new report from the ``report`` object of ``POST /api/v4/reports``.

    Raises: UnprocessableEntity listing every problem (account, geom, uuid, form fields, attachments).
    """
    problems: list[Problem] = []
    form = find_form(sandbox, team_id, params.get("account_id"))
    if form is None:
        problems.append(Problem("account", "must exist", "blank"))
    point = parse_point(params.get("geom"))
    if point is None:
        problems.append(Problem("geom", "is invalid", "invalid", {"value": params.get("geom")}))
    with sandbox.store.transaction():
        report_uuid = _uuid(sandbox, team_id, params.get("uuid"), problems)
        values: dict[str, Any] = {}
        if form is not None:
            _apply(form, values, params.get("form_fields") or [], problems)
            problems += missing_mandatory(form, values)
            _check_attachments(sandbox, form, values, None, problems)
        if problems or form is None or point is None:
            raise UnprocessableEntity(problems)
        now = sandbox.clock.time()
        state = params.get("report_state_id")
        report = Report(
            id=_take_id(sandbox),
            uuid=report_uuid,
            team_id=team_id,
            form_id=form.id,
            user_id=user_id,
            latitude=point[0],
            longitude=point[1],
            address=params.get("address"),
            is_anonymous=bool(params.get("is_anonymous", False)),
            report_state_id=state if isinstance(state, int) else None,
            shape_id=params.get("shape_id"),
            values=values,
            created_at=now,
            updated_at=now,
        )
        _save(sandbox, form, report, None)
    return report


def find_report(sandbox: Sandbox, team_id: int, reference: str) -> Report:
    """The team's report by id or uuid. Raises: NotFound (SaferMe's ActiveRecord message)."""
    store, team = sandbox.store, str(team_id)
    report_id: object = reference if reference.isascii() and reference.isdigit() else None
    if report_id is None:
        report_id = store.get(VENDOR, team, "report_uuid", reference.strip().lower())
    found = store.get(VENDOR, team, "report", str(int(str(report_id)))) if report_id is not None else None
    if not isinstance(found, Report):
        raise NotFound(f"Couldn't find Report with 'id'={reference}")
    return found


def update_report(sandbox: Sandbox, team_id: int, reference: str, params: Mapping[str, Any]) -> Report:
    """``PATCH``: only the fields sent, among geom, address, shape_id and form_fields.

    Raises: NotFound; UnprocessableEntity listing every problem (nothing is changed then).
    """
    with sandbox.store.transaction():
        report = find_report(sandbox, team_id, reference)
        form = find_form(sandbox, team_id, report.form_id)
        assert form is not None  # forms are fixtures and outlive the reports made on them
        problems: list[Problem] = []
        changes: dict[str, Any] = {name: params[name] for name in ("address", "shape_id") if name in params}
        if "geom" in params:
            point = parse_point(params["geom"])
            if point is None:
                problems.append(Problem("geom", "is invalid", "invalid", {"value": params["geom"]}))
            else:
                changes.update(latitude=point[0], longitude=point[1])
        values = dict(report.values)
        _apply(form, values, params.get("form_fields") or [], problems)
        problems += missing_mandatory(form, values)
        _check_attachments(sandbox, form, values, report.id, problems)
        if problems:
            raise UnprocessableEntity(problems)
        updated = replace(report, **changes, values=values, updated_at=sandbox.clock.time())
        _save(sandbox, form, updated, report)
    return updated


def _iso_seconds(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _field_value(
    sandbox: Sandbox, report: Report, form_field: FormField, link: Callable[[FileAttachment], dict[str, Any]]
) -> Any:
    value = report.values.get(form_field.key)
    if form_field.field_type == "Signature":
        return []
    if form_field.field_type not in ATTACHMENT_TYPES or value is None:
        return None if form_field.field_type in COMPUTED_TYPES else value
    shown = []
    for attachment_id in value:
        found = sandbox.store.get(VENDOR, str(report.team_id), "file_attachment", str(attachment_id))
        if isinstance(found, FileAttachment):
            found = process_if_due(sandbox, found)
            shown.append({**link(found), "ready_to_attach": found.processed, "attached": True})
    return shown


def report_json(
    sandbox: Sandbox, report: Report, fields: list[str], *, base_url: str, lifetime: float
) -> dict[str, Any]:
    """The report with the selected ``fields``. Blocking (attachment styles): run on a worker thread."""
    form = find_form(sandbox, report.team_id, report.form_id)
    assert form is not None

    def link(attachment: FileAttachment) -> dict[str, Any]:
        return attachment_json(sandbox, attachment, base_url=base_url, lifetime=lifetime)

    category = next((report.values.get(f.key) for f in form.fields if f.field_type == "Category"), None)
    description = next((report.values.get(f.key) for f in form.fields if f.field_type == "Description"), None)
    everything: dict[str, Any] = {
        "id": report.id,
        "uuid": report.uuid,
        "account_id": form.id,
        "account_name": form.name,
        "account_uuid": form.uuid,
        "address": report.address,
        "appearance": form.appearance,
        "assigned_at": None,
        "assignee": None,
        "assignee_id": None,
        "assignment_due_at": None,
        "category_id": category,
        "comment_count": 0,
        "description": description,
        "is_anonymous": report.is_anonymous,
        "is_manageable_by": None,
        "location": {"latitude": report.latitude, "longitude": report.longitude},
        "report_state_id": report.report_state_id,
        "report_state_name": None,
        "report_state_uuid": None,
        "shape_id": report.shape_id,
        "title": form.name,
        "user_id": None if report.is_anonymous else report.user_id,
        "user_image": None,
        "user_short_name": None,
        "iso_created_at": _iso_seconds(report.created_at),
        "updated_at": iso_millis(report.updated_at),
    }
    if "form_fields" in fields:
        everything["form_fields"] = [
            field_json(form_field, _field_value(sandbox, report, form_field, link))
            for form_field in form.fields
        ]
    return {name: everything[name] for name in fields}
