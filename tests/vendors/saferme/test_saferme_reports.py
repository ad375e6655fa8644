"""SaferMe's Reports API (reports.md) with file attachments in Image and FileUpload fields, and the
form fetch (forms.md), in-process; every body checked against openapi.yaml."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from mock_server.core.clock import Clock
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.saferme.models import BUCKET

API = "/saferme/api/v4"
HEADERS = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
}
OTHER_TEAM = {**HEADERS, "Authorization": "Token token=saferme-other-team-token", "X-TeamId": "5678"}
IMAGE, FILES = "f_2_38_18", "f_2_37_17"
POINT = "Point(174.7759821 -41.2861352)"
Validate = Callable[..., Any]


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (10, 90, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def code_of(body: dict[str, Any], attribute: str) -> str:
    return body["error_codes"][attribute][0]["error"]


class Reports:
    def __init__(self, client: TestClient, validate: Validate, saferme: Any) -> None:
        self.client = client
        self.validate = validate
        self.saferme = saferme

    def attachment(self, content_type: str = "image/png", headers: dict[str, str] = HEADERS) -> int:
        """Authorize, upload and create; the new attachment id."""
        data = png() if content_type == "image/png" else b"%PDF-1.4 sandbox"
        return self.saferme.attachment(content_type, headers, data)

    def create(
        self, report: dict[str, Any], status: int = 201, headers: dict[str, str] = HEADERS, **params: str
    ) -> Any:
        response = self.client.post(f"{API}/reports", json={"report": report}, headers=headers, params=params)
        assert response.status_code == status, response.text
        return self.validate("saferme", "createReport", response)

    def get(
        self, reference: object, status: int = 200, headers: dict[str, str] = HEADERS, **params: str
    ) -> Any:
        response = self.client.get(f"{API}/reports/{reference}", headers=headers, params=params)
        assert response.status_code == status, response.text
        return self.validate("saferme", "getReport", response)

    def update(
        self, reference: object, report: object, status: int = 204, headers: dict[str, str] = HEADERS
    ) -> Any:
        response = self.client.patch(f"{API}/reports/{reference}", json={"report": report}, headers=headers)
        assert response.status_code == status, response.text
        if status == 204:
            assert response.content == b""
            return None
        return self.validate("saferme", "updateReport", response)

    def values(self, reference: object) -> dict[str, Any]:
        body = self.get(reference, fields="form_fields")
        return {item["key"]: item["value"] for item in body["form_fields"]}


@pytest.fixture
def reports(client: TestClient, validate_response: Validate, saferme: Any) -> Reports:
    return Reports(client, validate_response, saferme)


def report(*fields: tuple[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "account_id": "2222",
        "geom": POINT,
        "form_fields": [{"key": key, "value": value} for key, value in fields],
        **changes,
    }


def test_the_docs_example_creates_and_fetches(reports: Reports, clock: Clock) -> None:
    photos = [reports.attachment(), reports.attachment()]
    files = [reports.attachment("application/pdf"), reports.attachment("image/png")]
    example = report(
        ("f_2_3_1", 10),
        ("f_2_4_2", ["Person 1", "Person 2"]),
        ("f_2_5_3", [17, 19, 5]),
        ("f_2_9_7", 7),
        ("f_2_10_8", ["bullet One", "bullet 2"]),
        ("f_2_11_9", "2023-03-21T03:08:00.000Z"),
        ("f_2_13_11", "Long Text\nWith multiple\nlines"),
        ("f_2_14_12", ["Item for start", "Item continuing", "Item Bullet finishing"]),
        ("f_2_15_13", "Single line text box"),
        ("f_2_16_14", ["f_2_16_14_18_2", "f_2_16_14_20_3"]),
        ("f_2_23_15", "f_2_23_15_24_4"),
        ("f_2_28_16", "f_2_28_16_31_6"),
        (FILES, files),
        (IMAGE, photos),
        uuid="ab06e7e6-1205-4027-b938-70d1cdfe7d41",
        report_state_id=15,
        address="123 Somewhere rd. In the World",
    )
    created = reports.create(example)
    assert created["id"] == 49 and created["uuid"] == example["uuid"]
    assert (created["account_id"], created["report_state_id"], created["category_id"]) == (2222, 15, 10)
    assert created["location"] == {"latitude": -41.2861352, "longitude": 174.7759821}
    assert "form_fields" not in created and created["shape_id"] is None
    clock.advance(3)
    fetched = reports.get(49, fields="form_fields,-shape_id")
    assert "shape_id" not in fetched and len(fetched["form_fields"]) == 21
    values = {item["key"]: item["value"] for item in fetched["form_fields"]}
    assert values["f_2_11_9"] == "2023-03-21T03:08:00Z" and values["f_2_9_7"] == 7
    assert [item["id"] for item in values[IMAGE]] == photos
    for item in values[IMAGE]:
        assert set(item["style_url"]) == {"thumb", "medium"} and item["ready_to_attach"] and item["attached"]
    pdf, picture = values[FILES]
    assert pdf["style_url"] == {} and set(picture["style_url"]) == {"thumb", "medium"}
    assert values["f_2_41_21"] == [] and values["f_2_6_4"] is None
    assert reports.get(example["uuid"])["id"] == 49


def test_attachments_still_processing_show_empty_styles(reports: Reports, clock: Clock) -> None:
    attachment = reports.attachment()
    reports.create(report((IMAGE, [attachment])))
    [shown] = reports.values(49)[IMAGE]
    assert (shown["style_url"], shown["ready_to_attach"]) == ({}, False)
    clock.advance(3)
    [shown] = reports.values(49)[IMAGE]
    assert set(shown["style_url"]) == {"thumb", "medium"} and shown["ready_to_attach"]


def test_image_fields_take_images_only(reports: Reports) -> None:
    pdf = reports.attachment("application/pdf")
    body = reports.create(report((IMAGE, [pdf])), status=422)
    assert code_of(body, IMAGE) == "content_type"
    assert body["errors"] == ["Photos does not accept application/pdf files"]
    assert reports.create(report((FILES, [pdf])))["id"] == 49


def test_unknown_and_other_team_attachments(reports: Reports) -> None:
    theirs = reports.attachment(headers=OTHER_TEAM)
    body = reports.create(report((IMAGE, [theirs, 999])), status=422)
    assert [detail["error"] for detail in body["error_codes"][IMAGE]] == ["not_found", "not_found"]


def test_attachment_whose_upload_is_gone(reports: Reports, sandbox: Sandbox) -> None:
    attachment = reports.attachment()
    [info] = [item for item in sandbox.storage.objects.list(BUCKET) if item.key.endswith("picture.png")]
    sandbox.storage.objects.delete(BUCKET, info.key)
    body = reports.create(report((IMAGE, [attachment])), status=422)
    assert code_of(body, IMAGE) == "not_uploaded"


def test_one_attachment_in_one_field_only(reports: Reports) -> None:
    attachment = reports.attachment()
    body = reports.create(report((IMAGE, [attachment]), (FILES, [attachment])), status=422)
    # Fields are checked in form order, so the later field (Photos) is the one refused.
    assert code_of(body, IMAGE) == "taken" and FILES not in body["error_codes"]
    assert reports.create(report((IMAGE, [attachment, attachment])))["id"] == 49
    assert reports.values(49)[IMAGE][0]["id"] == attachment and len(reports.values(49)[IMAGE]) == 1
    assert code_of(reports.create(report((FILES, [attachment])), status=422), FILES) == "taken"
    reports.update(49, {"form_fields": [{"key": IMAGE, "value": []}]})
    assert reports.create(report((FILES, [attachment])))["id"] == 50


def test_update_changes_only_what_is_sent(reports: Reports, clock: Clock) -> None:
    first, second = reports.attachment(), reports.attachment()
    created = reports.create(report((IMAGE, [first]), ("f_2_15_13", "before"), address="here"))
    clock.advance(10)
    reports.update(
        49, {"geom": "POINT (10.5 -20.25)", "form_fields": [{"key": IMAGE, "value": [first, second]}]}
    )
    fetched = reports.get(49)
    assert fetched["location"] == {"latitude": -20.25, "longitude": 10.5} and fetched["address"] == "here"
    assert (
        fetched["updated_at"] > created["updated_at"]
        and fetched["iso_created_at"] == created["iso_created_at"]
    )
    values = reports.values(49)
    assert values["f_2_15_13"] == "before" and [item["id"] for item in values[IMAGE]] == [first, second]


def test_a_refused_update_changes_nothing(reports: Reports, sandbox: Sandbox) -> None:
    reports.create(report(("f_2_15_13", "kept"), address="here"))
    body = reports.update(
        49,
        {
            "address": "moved",
            "form_fields": [{"key": "f_2_15_13", "value": "new"}, {"key": IMAGE, "value": [404]}],
        },
        status=422,
    )
    assert code_of(body, IMAGE) == "not_found"
    assert reports.get(49)["address"] == "here" and reports.values(49)["f_2_15_13"] == "kept"


@pytest.mark.parametrize(
    ("changes", "attribute", "code"),
    [
        ({"account_id": None}, "account_id", "invalid"),
        ({"account_id": "9999"}, "account", "blank"),
        ({"account_id": "1"}, "account", "blank"),  # team 5678's form
        ({"geom": "Point(200 10)"}, "geom", "invalid"),
        ({"geom": "LINESTRING(1 2, 3 4)"}, "geom", "invalid"),
        ({"uuid": "not-a-uuid"}, "uuid", "invalid"),
        ({"form_fields": [{"key": "f_9_9_9", "value": 1}]}, "form_fields", "invalid"),
        ({"form_fields": [{"key": "f_2_9_7", "value": 11}]}, "f_2_9_7", "out_of_range"),
        ({"form_fields": [{"key": "f_2_9_7", "value": True}]}, "f_2_9_7", "invalid"),
        ({"form_fields": [{"key": "f_2_23_15", "value": "f_2_23_15_99_9"}]}, "f_2_23_15", "inclusion"),
        ({"form_fields": [{"key": "f_2_16_14", "value": "f_2_16_14_18_2"}]}, "f_2_16_14", "invalid"),
        ({"form_fields": [{"key": "f_2_15_13", "value": 5}]}, "f_2_15_13", "invalid"),
        ({"form_fields": [{"key": "f_2_11_9", "value": "yesterday"}]}, "f_2_11_9", "invalid"),
        ({"form_fields": [{"key": "f_2_11_9", "value": "0001-01-01T00:00:00+01:00"}]}, "f_2_11_9", "invalid"),
        ({"form_fields": [{"key": "f_2_5_3", "value": [99]}]}, "f_2_5_3", "inclusion"),
        ({"form_fields": [{"key": IMAGE, "value": "21"}]}, IMAGE, "invalid"),
        ({"form_fields": [{"key": IMAGE}]}, "value", "blank"),
    ],
    ids=[
        "null-account", "unknown-account", "other-team-account", "geom-out-of-range", "geom-not-point",
        "bad-uuid", "unknown-field", "slider-out-of-range", "slider-boolean", "dropdown-option",
        "checkbox-not-list", "text-not-string", "date-not-iso", "date-before-year-one",
        "attendee-not-option", "image-not-list", "field-without-value",
    ],
)  # fmt: skip
def test_create_refusals(reports: Reports, changes: dict[str, Any], attribute: str, code: str) -> None:
    body = reports.create({**report(), **changes}, status=422)
    assert code_of(body, attribute) == code, body


def test_missing_required_members(reports: Reports) -> None:
    body = reports.create({"address": "x"}, status=422)
    assert {code_of(body, "account_id"), code_of(body, "geom")} == {"blank"}


def test_a_uuid_is_used_once_per_team(reports: Reports) -> None:
    reports.create(report(uuid="ab06e7e6-1205-4027-b938-70d1cdfe7d41"))
    body = reports.create(report(uuid="AB06E7E6-1205-4027-B938-70D1CDFE7D41"), status=422)
    assert code_of(body, "uuid") == "taken"


def test_mandatory_fields(reports: Reports) -> None:
    base = {"account_id": "9c21c96e-4ce5-59e6-95d5-eb475fd03440", "geom": POINT}
    body = reports.create(base, status=422, headers=OTHER_TEAM)
    assert code_of(body, "f_1_29_11") == "blank" and body["errors"] == ["Short Text Box can't be blank"]
    filled = {
        **base,
        "form_fields": [{"key": "f_1_29_11", "value": "ok"}, {"key": "f_1_35_12", "value": "words"}],
    }
    created = reports.create(filled, headers=OTHER_TEAM)
    assert (created["account_id"], created["description"]) == (1, "words")
    cleared = reports.update(
        created["id"], {"form_fields": [{"key": "f_1_29_11", "value": None}]}, status=422, headers=OTHER_TEAM
    )
    assert code_of(cleared, "f_1_29_11") == "blank"


def test_response_field_selection(reports: Reports, sandbox: Sandbox) -> None:
    created = reports.create(report(), fields="account_name,-id,risk_level,comment_count")
    assert (
        "id" not in created and created["account_name"] == "From raceway, Industrial waste, Cleaner streams"
    )
    assert created["comment_count"] == 0 and "risk_level" not in created
    assert list(reports.get(49, fields="-" + ",-".join(reports.get(49))).keys()) == []


def test_reports_are_team_scoped(reports: Reports) -> None:
    created = reports.create(report())
    reports.get(created["id"], status=404, headers=OTHER_TEAM)
    reports.get(created["uuid"], status=404, headers=OTHER_TEAM)
    body = reports.update(created["id"], {"address": "x"}, status=404, headers=OTHER_TEAM)
    assert body["errors"] == [f"Couldn't find Report with 'id'={created['id']}"]
    reports.get("nope", status=404)


def test_report_calls_need_credentials(reports: Reports) -> None:
    no_token = {key: value for key, value in HEADERS.items() if key != "Authorization"}
    assert code_of(reports.create(report(), status=401, headers=no_token), "base") == "invalid_token"
    reports.get(49, status=401, headers=no_token)
    reports.update(49, {}, status=401, headers=no_token)


def test_update_body_errors(reports: Reports, client: TestClient, validate_response: Validate) -> None:
    reports.create(report())
    assert code_of(reports.update(49, "text", status=422), "report") == "invalid"
    broken = client.patch(f"{API}/reports/49", content=b"{report", headers=HEADERS)
    assert broken.status_code == 400
    validate_response("saferme", "updateReport", broken)


@pytest.mark.parametrize(
    ("method", "path", "operation", "root"),
    [
        ("POST", "/reports", "createReport", "report"),
        ("PATCH", "/reports/49", "updateReport", "report"),
        ("POST", "/session", "createV4Session", "session"),
    ],
)
def test_a_body_that_is_not_an_object_names_its_own_root(
    reports: Reports,
    client: TestClient,
    validate_response: Validate,
    method: str,
    path: str,
    operation: str,
    root: str,
) -> None:
    reports.create(report())
    response = client.request(method, f"{API}{path}", json=[], headers=HEADERS)
    assert response.status_code == 422, response.text
    assert code_of(validate_response("saferme", operation, response), root) == "invalid"


def test_fetch_a_form(client: TestClient, validate_response: Validate) -> None:
    response = client.get(f"{API}/forms/2222", headers=HEADERS)
    assert response.status_code == 200
    form = validate_response("saferme", "getForm", response)
    by_key = {item["key"]: item for item in form["fields"]}
    assert by_key[IMAGE]["field_type"] == "Image" and by_key[FILES]["field_type"] == "FileUpload"
    assert by_key[IMAGE]["data"] == "" and by_key["f_2_9_7"]["data"].startswith('{"minimum":1')
    assert (
        client.get(f"{API}/forms/886b1d4c-dec3-43fe-bcce-fd4eea6f28f8", headers=HEADERS).json()["id"] == 2222
    )
    other = client.get(f"{API}/forms/1", headers=HEADERS)
    assert other.status_code == 404
    assert validate_response("saferme", "getForm", other)["errors"] == ["Couldn't find Form with 'id'=1"]
