"""Every status SaferMe's OpenAPI document lists for its session, report and form operations is reached.

The same idea as test_fuzz_statuses.py, for the operations that file's table does not cover: statuses a
client can cause come from real requests, statuses only SaferMe's infrastructure produces (420, 429,
5xx) are injected through the scenario engine. Each answer must match the documented status, content
type and schema, and the table must cover every documented status (``default`` aside).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.openapi import issues_of
from mock_server.core.sandbox import Sandbox
from mock_server.settings import Settings
from mock_server.vendors.saferme.routes import DOCUMENT

BASE = "http://127.0.0.1:8080"
API = "/saferme/api/v4"
AUTH = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
}
TEAM_9 = {**AUTH, "X-TeamId": "9999"}
LOGIN = {
    "app_bundle_id": "com.thundermaps.saferme",
    "email": "integrations@example.com",
    "password": "saferme-dev-password",
}
REPORT = {"account_id": 2222, "geom": "Point(174.77 -41.28)"}
OPERATIONS = (
    "createV4Session",
    "getV4Session",
    "refreshV4Session",
    "deleteV4Session",
    "createReport",
    "getReport",
    "updateReport",
    "getForm",
)
BIG = b'{"report": {"address": "' + b"a" * 70_000 + b'"}}'


@dataclass
class Calls:
    client: TestClient
    sandbox: Sandbox

    def inject(self, operation_id: str, status: int) -> None:
        assert self.sandbox.scenarios is not None
        rule = {"id": "status", "match": {"operation": f"saferme.{operation_id}"}, "respond": status}
        scenario = {
            "name": "saferme-status-table",
            "description": f"{operation_id} answers {status}",
            "rules": [rule],
        }
        self.sandbox.scenarios.add({"scenarios": [scenario]})

    def login(self, session: Any = LOGIN, content: bytes | None = None) -> Any:
        if content is not None:
            return self.client.post(
                f"{API}/session", content=content, headers={"Content-Type": "application/json"}
            )
        return self.client.post(f"{API}/session", json={"session": session})

    def tokens(self) -> dict[str, str]:
        return self.login().json()["session"]

    def bearer(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Token token={token or self.tokens()['access_token']}"}

    def refresh(self, body: Any = None, content: bytes | None = None) -> Any:
        if content is not None:
            return self.client.patch(
                f"{API}/session", content=content, headers={"Content-Type": "application/json"}
            )
        if body is None:
            tokens = self.tokens()
            body = {"session": {key: tokens[key] for key in ("access_token", "refresh_token")}}
        return self.client.patch(f"{API}/session", json=body)

    def report(self, body: Any = None, headers: dict[str, str] = AUTH, content: bytes | None = None) -> Any:
        if content is not None:
            return self.client.post(
                f"{API}/reports", content=content, headers={**headers, "Content-Type": "application/json"}
            )
        return self.client.post(
            f"{API}/reports", json={"report": REPORT if body is None else body}, headers=headers
        )

    def report_id(self) -> str:
        response = self.report()
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def get(self, reference: str | None = None, headers: dict[str, str] = AUTH) -> Any:
        return self.client.get(f"{API}/reports/{reference or self.report_id()}", headers=headers)

    def update(
        self,
        body: Any = None,
        headers: dict[str, str] = AUTH,
        content: bytes | None = None,
        reference: str | None = None,
    ) -> Any:
        path = f"{API}/reports/{reference or self.report_id()}"
        if content is not None:
            return self.client.patch(
                path, content=content, headers={**headers, "Content-Type": "application/json"}
            )
        return self.client.patch(
            path, json={"report": {"address": "moved"} if body is None else body}, headers=headers
        )

    def pdf_attachment(self) -> int:
        grant = self.client.get(
            f"{API}/file_attachments/upload_authorization",
            params={"content_type": "application/pdf"},
            headers=AUTH,
        ).json()["upload_authorization"]
        self.client.post(
            grant["url"][len(BASE) :], data=grant["fields"], files={"file": ("a.pdf", b"%PDF-1.4")}
        )
        return self.client.post(
            f"{API}/file_attachments", json={"file_attachment": {"key": grant["key"]}}, headers=AUTH
        ).json()["id"]


def image_field_with_pdf(calls: Calls) -> Any:
    return calls.report({**REPORT, "form_fields": [{"key": "f_2_38_18", "value": [calls.pdf_attachment()]}]})


def injected(operation_id: str, status: int) -> Callable[[Calls], Any]:
    def call(calls: Calls) -> Any:
        calls.inject(operation_id, status)
        return OK[operation_id](calls)

    return call


OK: dict[str, Callable[[Calls], Any]] = {
    "createV4Session": lambda c: c.login(),
    "getV4Session": lambda c: c.client.get(f"{API}/session", headers=c.bearer()),
    "refreshV4Session": lambda c: c.refresh(),
    "deleteV4Session": lambda c: c.client.delete(f"{API}/session", headers=c.bearer()),
    "createReport": lambda c: c.report(),
    "getReport": lambda c: c.get(),
    "updateReport": lambda c: c.update(),
    "getForm": lambda c: c.client.get(f"{API}/forms/2222", headers=AUTH),
}

TABLE: list[tuple[str, str, Callable[[Calls], Any]]] = [
    *[
        row
        for operation_id in OPERATIONS
        for row in (
            (operation_id, "420", injected(operation_id, 420)),
            (operation_id, "429", injected(operation_id, 429)),
            (operation_id, "5XX", injected(operation_id, 502)),
        )
    ],
    ("createV4Session", "201", OK["createV4Session"]),
    ("createV4Session", "400", lambda c: c.login(content=b"{session")),
    ("createV4Session", "401", lambda c: c.login({**LOGIN, "password": "wrong"})),
    ("createV4Session", "413", lambda c: c.login(content=b" " * 70_000 + b"{}")),
    ("createV4Session", "422", lambda c: c.login({**LOGIN, "app_bundle_id": ""})),
    ("getV4Session", "200", OK["getV4Session"]),
    ("getV4Session", "401", lambda c: c.client.get(f"{API}/session", headers=c.bearer("saferme-dev-token"))),
    ("refreshV4Session", "200", OK["refreshV4Session"]),
    ("refreshV4Session", "400", lambda c: c.refresh(content=b"{session")),
    (
        "refreshV4Session",
        "401",
        lambda c: c.refresh({"session": {"access_token": "a", "refresh_token": "b"}}),
    ),
    ("refreshV4Session", "413", lambda c: c.refresh(content=b" " * 70_000 + b"{}")),
    ("refreshV4Session", "422", lambda c: c.refresh({"session": {}})),
    ("deleteV4Session", "200", OK["deleteV4Session"]),
    ("deleteV4Session", "401", lambda c: c.client.delete(f"{API}/session")),
    ("createReport", "201", OK["createReport"]),
    ("createReport", "400", lambda c: c.report(content=b"{report")),
    ("createReport", "401", lambda c: c.report(headers={})),
    ("createReport", "403", lambda c: c.report(headers=TEAM_9)),
    ("createReport", "413", lambda c: c.report(content=BIG)),
    ("createReport", "422", image_field_with_pdf),
    ("getReport", "200", OK["getReport"]),
    ("getReport", "401", lambda c: c.get("49", headers={})),
    ("getReport", "403", lambda c: c.get("49", headers=TEAM_9)),
    ("getReport", "404", lambda c: c.get("9999")),
    ("updateReport", "204", OK["updateReport"]),
    ("updateReport", "400", lambda c: c.update(content=b"{report")),
    ("updateReport", "401", lambda c: c.update(headers={}, reference="49")),
    ("updateReport", "403", lambda c: c.update(headers=TEAM_9, reference="49")),
    ("updateReport", "404", lambda c: c.update(reference="9999")),
    ("updateReport", "413", lambda c: c.update(content=BIG)),
    ("updateReport", "422", lambda c: c.update({"geom": "nowhere"})),
    ("getForm", "200", OK["getForm"]),
    ("getForm", "401", lambda c: c.client.get(f"{API}/forms/2222")),
    ("getForm", "403", lambda c: c.client.get(f"{API}/forms/2222", headers=TEAM_9)),
    ("getForm", "404", lambda c: c.client.get(f"{API}/forms/1", headers=AUTH)),
]


@pytest.fixture(scope="module")
def status_app() -> Iterator[Starlette]:
    application = create_app(Settings(seed=78, default_scenarios=False))
    yield application
    application.state.sandbox.close()


@pytest.fixture(scope="module")
def status_client(status_app: Starlette) -> Iterator[TestClient]:
    with TestClient(status_app, base_url=BASE) as client:
        yield client


@pytest.fixture
def calls(status_app: Starlette, status_client: TestClient) -> Calls:
    status_app.state.sandbox.reset()
    return Calls(status_client, status_app.state.sandbox)


@pytest.mark.parametrize(
    ("operation_id", "status_key", "make"), [pytest.param(*row, id=f"{row[0]}-{row[1]}") for row in TABLE]
)
def test_documented_status_is_reached_and_answered_as_documented(
    calls: Calls, operation_id: str, status_key: str, make: Callable[[Calls], Any]
) -> None:
    responses = DOCUMENT.operations[operation_id][2]["responses"]
    response = make(calls)
    status = str(response.status_code)
    assert status == status_key or (
        status_key.endswith("XX") and status[0] == status_key[0] and status not in responses
    ), (status, response.text[:300])
    content = DOCUMENT.resolve(responses[status_key]).get("content", {})
    if not content:
        assert response.content == b""
        return
    media = response.headers.get("content-type", "").split(";", 1)[0].strip()
    assert media in content, f"{operation_id} {status}: {media!r} is not one of {sorted(content)}"
    validator = DOCUMENT.response_validator(operation_id, response.status_code, media)
    assert validator is not None
    body = response.json()
    assert not issues_of(validator, body), (body, issues_of(validator, body))


def test_table_covers_every_documented_status() -> None:
    covered = {(operation_id, key) for operation_id, key, _ in TABLE}
    for operation_id in OPERATIONS:
        responses = DOCUMENT.operations[operation_id][2]["responses"]
        missing = sorted(key for key in responses if key != "default" and (operation_id, key) not in covered)
        assert not missing, f"{operation_id}: no row reaches {missing}"


def test_a_png_is_still_fine_in_the_image_field(calls: Calls) -> None:
    """The 422 row above is the file type, not a broken upload: the same flow with a PNG is accepted."""
    grant = calls.client.get(
        f"{API}/file_attachments/upload_authorization", params={"content_type": "image/png"}, headers=AUTH
    ).json()["upload_authorization"]
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    calls.client.post(
        grant["url"][len(BASE) :], data=grant["fields"], files={"file": ("a.png", buffer.getvalue())}
    )
    attachment = calls.client.post(
        f"{API}/file_attachments", json={"file_attachment": {"key": grant["key"]}}, headers=AUTH
    )
    response = calls.report(
        {**REPORT, "form_fields": [{"key": "f_2_38_18", "value": [attachment.json()["id"]]}]}
    )
    assert response.status_code == 201, response.text
