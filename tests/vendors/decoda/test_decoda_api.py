"""Decoda in-process: auth and tenants, listing and day pages, link-to-note, patients, FastAPI defaults."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.clock import Clock
from mock_server.core.fixtures import FixtureError
from mock_server.core.sandbox import Sandbox
from mock_server.settings import DEFAULT_FIXTURES, Settings
from mock_server.vendors.decoda import auth, lazy_api, vendor
from mock_server.vendors.decoda.errors import ERRORS_BY_STATUS, error_for_status
from mock_server.vendors.decoda.routes import DOCUMENT

DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}
UTC = {"tz": "UTC"}
OTHER = {"TENANT": "other", "API-KEY": "decoda-other-key"}


# -- auth and tenants --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {"TENANT": "demo", "API-KEY": "wrong-key"},
        {"TENANT": "nobody", "API-KEY": "decoda-dev-key"},
        {"TENANT": "demo", "API-KEY": "decoda-other-key"},
        {"TENANT": "other", "API-KEY": "decoda-dev-key"},
        {"TENANT": "", "API-KEY": ""},
    ],
    ids=["wrong-key", "unknown-tenant", "other-tenants-key", "key-for-wrong-tenant", "empty-values"],
)
@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        ("GET", "/attachments", "listAttachments"),
        ("GET", "/user/patient/P1001", "getPatient"),
        ("POST", "/attachments/bulk", "uploadAttachmentsBulk"),
        ("POST", "/attachments/link-to-note", "linkAttachmentsToNote"),
    ],
    ids=["list", "patient", "bulk", "link"],
)
def test_a_key_that_is_not_the_tenants_active_key_is_401(
    client: TestClient,
    validate_response: Callable[..., Any],
    headers: dict[str, str],
    method: str,
    path: str,
    operation: str,
) -> None:
    # Even with a body that is itself invalid: the key is checked first.
    response = client.request(method, f"/decoda{path}", headers=headers, content=b"{broken")
    assert validate_response("decoda", operation, response) == {"detail": "Invalid API key"}
    assert response.status_code == 401


def test_rotating_the_key_invalidates_the_old_one(client: TestClient, sandbox: Sandbox) -> None:
    new_key = auth.rotate_api_key(sandbox, "demo")
    assert client.get("/decoda/attachments", headers=DEMO, params=UTC).status_code == 401
    assert (
        client.get(
            "/decoda/attachments", headers={"TENANT": "demo", "API-KEY": new_key}, params=UTC
        ).status_code
        == 200
    )
    assert client.get("/decoda/attachments", headers=OTHER, params=UTC).status_code == 200


def test_tenants_never_see_each_others_data(decoda, client: TestClient) -> None:
    mine = decoda.upload_texts(note_id="N2001")
    decoda.upload_texts("P5001", headers=OTHER)
    assert [item["id"] for item in decoda.list(OTHER).json()["data"]] != [mine[0]["id"]]
    assert decoda.list(OTHER, note_id="N2001").json() == []
    assert decoda.link({"noteId": "N6001", "attachmentIds": [mine[0]["id"]]}, OTHER).json() == {
        "detail": f"Attachment not found: {mine[0]['id']}"
    }
    assert client.get("/decoda/user/patient/P1001", headers=OTHER).status_code == 404


# -- listing -----------------------------------------------------------------------------------
@pytest.fixture
def three_days(decoda, clock: Clock) -> None:
    """A at 2024-03-05 23:30Z (P1001), B at 03-06 00:30Z (P1002), C and D at 03-08 00:30Z (P1001)."""
    clock.freeze("2024-03-05T23:30:00Z")
    decoda.upload_texts("P1001")
    clock.advance(3600)
    decoda.upload_texts("P1002")
    clock.advance(2 * 86400)
    decoda.upload_texts("P1001", count=2)


@pytest.mark.usefixtures("three_days")
@pytest.mark.parametrize(
    ("params", "page"),
    [
        ({}, ("2024-03-08", ["P1001-0.txt", "P1001-1.txt"], "2024-03-06")),
        ({"date": "2024-03-06"}, ("2024-03-06", ["P1002-0.txt"], "2024-03-05")),
        ({"date": "2024-03-05"}, ("2024-03-05", ["P1001-0.txt"], None)),
        ({"date": "2024-03-07"}, ("2024-03-06", ["P1002-0.txt"], "2024-03-05")),
        ({"date": "2024-03-04"}, ("2024-03-04", [], None)),
        ({"tz": "America/Los_Angeles"}, ("2024-03-07", ["P1001-0.txt", "P1001-1.txt"], "2024-03-05")),
        (
            {"tz": "America/Los_Angeles", "date": "2024-03-05"},
            ("2024-03-05", ["P1002-0.txt", "P1001-0.txt"], None),
        ),
        ({"tz": "Asia/Tokyo", "date": "2024-03-06"}, ("2024-03-06", ["P1002-0.txt", "P1001-0.txt"], None)),
        ({"patient_id": "P1002"}, ("2024-03-06", ["P1002-0.txt"], None)),
        ({"patient_id": "P1001", "date": "2024-03-07"}, ("2024-03-05", ["P1001-0.txt"], None)),
        ({"patient_id": "P9999"}, ("2024-03-08", [], None)),
    ],
    ids=[
        "latest-day",
        "cursor",
        "last-page",
        "cursor-on-an-empty-day",
        "before-everything",
        "los-angeles",
        "los-angeles-one-day-newest-first",
        "tokyo",
        "patient-filter",
        "patient-and-cursor",
        "unknown-patient",
    ],
)
def test_day_pages_go_back_in_time(
    decoda, params: dict[str, str], page: tuple[str, list[str], str | None]
) -> None:
    assert decoda.page(**params) == page


def test_walking_the_cursor_visits_every_attachment_once(decoda, three_days: None) -> None:
    seen, params = [], {}
    while True:
        date, names, next_date = decoda.page(**params)
        seen += names
        if next_date is None:
            break
        params = {"date": next_date}
    assert sorted(seen) == ["P1001-0.txt", "P1001-0.txt", "P1001-1.txt", "P1002-0.txt"]


def test_empty_listing_is_today_in_the_zone(decoda, clock: Clock) -> None:
    clock.freeze("2024-03-05T23:30:00Z")
    assert decoda.page() == ("2024-03-05", [], None)
    assert decoda.page(tz="Asia/Tokyo") == ("2024-03-06", [], None)


def test_listing_by_note_is_a_plain_list_in_upload_order(decoda) -> None:
    first = decoda.upload_texts(note_id="N2001", count=2)
    decoda.upload_texts()
    second = decoda.upload_texts(note_id="N2001")
    listed = decoda.list(note_id="N2001").json()
    assert [item["id"] for item in listed] == [item["id"] for item in first + second]
    assert decoda.list(note_id="N2001", patient_id="P1002").json() == []
    assert decoda.list(note_id="N9999").json() == []


# -- link to note ------------------------------------------------------------------------------
def test_link_to_note_sets_note_and_provider(decoda) -> None:
    items = decoda.upload_texts(count=2)
    assert {item["noteId"] for item in items} == {None}
    ids = [items[1]["id"], items[0]["id"], items[1]["id"]]
    response = decoda.link({"noteId": "N2001", "attachmentIds": ids})
    linked = response.json()
    assert response.status_code == 200
    assert [item["id"] for item in linked] == ids[:2]
    assert {(item["noteId"], item["note"]["id"], item["provider"]["id"]) for item in linked} == {
        ("N2001", "N2001", "PR3001")
    }
    assert sorted(item["id"] for item in decoda.list(note_id="N2001").json()) == sorted(ids[:2])


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"noteId": "N9999", "attachmentIds": []}, 404, "Note not found"),
        (
            {"noteId": "N2001", "attachmentIds": ["{first}", "missing-id"]},
            404,
            "Attachment not found: missing-id",
        ),
        (
            {"noteId": "N2002", "attachmentIds": ["{first}"]},
            400,
            "Attachment {first} does not belong to the patient of note N2002",
        ),
    ],
    ids=["unknown-note", "unknown-attachment", "attachment-of-another-patient"],
)
def test_link_to_note_refuses_all_or_nothing(decoda, body: dict[str, Any], status: int, detail: str) -> None:
    first = decoda.upload_texts()[0]["id"]
    body = {**body, "attachmentIds": [value.format(first=first) for value in body["attachmentIds"]]}
    response = decoda.link(body)
    assert (response.status_code, response.json()) == (status, {"detail": detail.format(first=first)})
    assert decoda.list(note_id=body["noteId"]).json() == []


def test_link_with_no_ids_is_an_empty_list(decoda) -> None:
    assert decoda.link({"noteId": "N2001", "attachmentIds": []}).json() == []


# -- patients ----------------------------------------------------------------------------------
def test_get_patient_has_every_documented_key(
    client: TestClient, validate_response: Callable[..., Any], sandbox: Sandbox
) -> None:
    full = validate_response("decoda", "getPatient", client.get("/decoda/user/patient/P1001", headers=DEMO))
    fixture = sandbox.fixtures["decoda"]["tenants"][0]["patients"][0]
    chart = {
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
    assert full == {**fixture, **chart}
    sparse = validate_response("decoda", "getPatient", client.get("/decoda/user/patient/P1002", headers=DEMO))
    assert (sparse["firstName"], sparse["type"], sparse["tags"], sparse["phoneNumber"]) == (
        "Alex",
        "PATIENT",
        [],
        None,
    )
    missing = client.get("/decoda/user/patient/P9999", headers=DEMO)
    assert validate_response("decoda", "getPatient", missing) == {"detail": "Patient not found"}


# -- FastAPI defaults, spec, faults ------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "status", "detail"),
    [
        ("GET", "/decoda/nope", 404, "Not Found"),
        ("GET", "/decoda/attachments/bulk", 405, "Method Not Allowed"),
        ("DELETE", "/decoda/attachments", 405, "Method Not Allowed"),
        ("PUT", "/decoda/attachments/link-to-note", 405, "Method Not Allowed"),
    ],
    ids=["unknown-path", "get-on-bulk", "delete-attachments", "put-on-link"],
)
def test_fastapi_default_errors(client: TestClient, method: str, path: str, status: int, detail: str) -> None:
    response = client.request(method, path, headers=DEMO)
    assert (response.status_code, response.json()) == (status, {"detail": detail})
    assert response.headers["content-type"] == "application/json"


def test_openapi_is_served_and_names_every_route(client: TestClient) -> None:
    response = client.get("/decoda/openapi.json")
    document = response.json()
    operations = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    routes = [route for route in lazy_api.build().routes if isinstance(route, Route)]
    names = {route.name.split(":", 1)[1] for route in routes}
    assert operations == names == set(DOCUMENT.operations)
    assert (
        len(operations) == 27
    )  # Decoda's 23 attachment operations, the patient chart, 2 e-mail ones, this one
    assert all(route.name.startswith("decoda:") for route in routes)


@pytest.mark.parametrize("status", sorted({*ERRORS_BY_STATUS, 418}), ids=str)
def test_every_status_renders_in_fastapi_format(status: int) -> None:
    error = error_for_status(status, "injected" if status != 500 else None)
    request = Request(
        {"type": "http", "method": "GET", "path": "/decoda/attachments", "headers": [], "query_string": b""}
    )
    response = vendor.render_error(request, error)
    assert response.status_code == status
    if status == 500:
        assert (response.body, response.media_type) == (b"Internal Server Error", "text/plain")
    elif status == 422:
        assert (
            response.body
            == b'{"detail":[{"type":"value_error","loc":["body"],"msg":"injected","input":null}]}'
        )
    else:
        assert response.body == b'{"detail":"injected"}'


def test_journal_names_the_operation_and_masks_the_key(client: TestClient, sandbox: Sandbox) -> None:
    client.get("/decoda/user/patient/P1001", headers=DEMO)
    client.get("/decoda/attachments", headers=DEMO, params=UTC)
    client.post("/decoda/attachments", headers=DEMO)
    entries = sandbox.journal.entries(vendor="decoda")
    assert [(entry.operation, entry.status) for entry in entries] == [
        ("decoda.uploadAttachment", 422),
        ("decoda.listAttachments", 200),
        ("decoda.getPatient", 200),
    ]
    assert all("decoda-dev-key" not in str(entry.as_dict()) for entry in entries)


# -- fixtures ----------------------------------------------------------------------------------
def test_default_fixtures_and_credentials(sandbox: Sandbox) -> None:
    tenants = {tenant["name"]: tenant for tenant in sandbox.fixtures["decoda"]["tenants"]}
    assert (tenants["demo"]["api_key"], tenants["other"]["api_key"]) == ("decoda-dev-key", "decoda-other-key")
    assert any("decoda-dev-key" in line for line in vendor.credentials)
    assert sandbox.storage.objects.has_bucket("decoda-attachments")


@pytest.mark.parametrize(
    ("yaml_text", "reason"),
    [
        ("decoda:\n  tenants:\n    - name: x\n", "decoda/tenants/0: 'api_key' is a required property"),
        (
            "decoda:\n  limits:\n    max_file_bytes: 0\n",
            "decoda/limits/max_file_bytes: 0 is less than the minimum of 1",
        ),
        (
            "decoda:\n  tenants:\n    - {name: x, api_key: key-12345, notes: [{id: N1, patientId: P1, "
            "createdDate: '2024-01-01T00:00:00Z'}]}\n",
            r"decoda/tenants/0/notes/0/patientId: .P1. names no patient under decoda/tenants/\*/patients/\*",
        ),
        ("decoda:\n  tenants:\n    - {name: '..', api_key: key-12345}\n", "decoda/tenants/0/name"),
    ],
    ids=["missing-api-key", "zero-limit", "note-of-unknown-patient", "dot-dot-tenant"],
)
def test_broken_fixture_files_say_where_and_why(tmp_path: Path, yaml_text: str, reason: str) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml_text)
    with pytest.raises(FixtureError, match=reason.replace("'", ".").replace("(", ".").replace(")", ".")):
        create_app(Settings(fixtures=(DEFAULT_FIXTURES, broken)))


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"detail": "Bad Request"}),
        (404, {"detail": "Not Found"}),
        (
            422,
            {
                "detail": [
                    {"type": "value_error", "loc": ["body"], "msg": "Unprocessable Entity", "input": None}
                ]
            },
        ),
        (429, {"detail": "Too Many Requests"}),
        (500, "Internal Server Error"),
        (503, {"detail": "Service Unavailable"}),
    ],
    ids=str,
)
@pytest.mark.parametrize(
    ("method", "path", "operation", "kwargs"),
    [
        ("POST", "/attachments/bulk", "uploadAttachmentsBulk", {"data": {"patient_id": "patient-{status}"}}),
        ("GET", "/user/patient/patient-{status}", "getPatient", {}),
    ],
    ids=["bulk-form-field", "patient-path"],
)
def test_magic_patient_ids_answer_in_decodas_format(
    app: Starlette,
    validate_response: Callable[..., Any],
    status: int,
    body: Any,
    method: str,
    path: str,
    operation: str,
    kwargs: dict[str, Any],
) -> None:
    data = {key: value.format(status=status) for key, value in kwargs.get("data", {}).items()}
    with TestClient(app, base_url="http://127.0.0.1:8080", raise_server_exceptions=False) as client:
        response = client.request(
            method,
            f"/decoda{path.format(status=status)}",
            headers=DEMO,
            data=data or None,
            files=[("attachments", ("a.txt", b"a"))] if data else None,
        )
    assert response.status_code == status
    assert validate_response("decoda", operation, response) == body
