"""Every documented status is reachable: one crafted request per status of each vendor's main operations.

Statuses a client can cause (bad credentials, unknown ids, bad bodies, caps) are reached with real
requests; statuses only the vendor's infrastructure produces (rate limits, 5xx, SaferMe's 420) are
injected through the scenario engine, as users would. Each answer must carry a status, a content type
and a body the operation's OpenAPI document lists, and the table must cover every status the document
lists for these operations (``default`` aside), so a newly documented status needs a row here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.openapi import OpenApiDocument, issues_of
from mock_server.core.sandbox import Sandbox
from mock_server.settings import DEFAULT_FIXTURES, Settings

VENDOR_DIR = Path(__file__).resolve().parents[2] / "mock_server" / "vendors"
DOCUMENTS = {
    name: OpenApiDocument(VENDOR_DIR / name / "openapi.yaml")
    for name in ("qubs", "decoda", "saferme", "candid")
}
MAIN_OPERATIONS = {
    "qubs": (
        "createToken",
        "createReportAttachments",
        "listAppointmentAttachments",
        "getAppointmentAttachment",
    ),
    "decoda": ("uploadAttachmentsBulk", "uploadAttachment", "listAttachments", "linkAttachmentsToNote"),
    "saferme": ("createSession", "getUploadAuthorization", "createFileAttachment", "getFileAttachment"),
    "candid": (
        "getToken",
        "createEncounterAttachmentV2",
        "getEncounterAttachments",
        "deleteEncounterAttachment",
    ),
}
# Small caps so "too large" needs kilobytes, not the real 25 MiB.
LIMITS = {"decoda": {"limits": {"max_file_bytes": 4096}}}

QUBS = "/qubs/integrations/v1"
QUBS_AUTH = {"Authorization": "Bearer qubs-dev-token"}
QUBS_UPLOADS = f"{QUBS}/acme/reporting/appointments/A123456/report/attachments"
QUBS_READ = f"{QUBS}/acme/appointments/A123456/attachments"
QUBS_FIXTURE_GUID = "2b7e1516-28ae-4d2a-a6f7-15880912cf4f"
DECODA_AUTH = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}
DECODA_OPERATIONS = [f"decoda.{name}" for name in MAIN_OPERATIONS["decoda"]]
UTC = {"tz": "UTC"}
SAFERME_AUTH = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}
SAFERME_AUTHORIZE = "/saferme/api/v4/file_attachments/upload_authorization"
SAFERME_ATTACHMENTS = "/saferme/api/v4/file_attachments"
CANDID_AUTH = {"Authorization": "Bearer candid-dev-token"}
CANDID_ENCOUNTER = "d5e9c84f-c2b2-4bf4-b4b0-7ffd7a9ffc32"
CANDID_OTHER_ENCOUNTER = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
CANDID_ATTACHMENT = "4ee11757-444d-400b-8c78-d6838c8fabcd"
CANDID_V1 = "/candid/api/encounter-attachments/v1"
UNKNOWN_UUID = "0f0e0d0c-0b0a-4909-8807-060504030201"
PDF = b"%PDF-1.4\n% status table\n%%EOF\n"


@dataclass
class Calls:
    client: TestClient
    sandbox: Sandbox

    def inject(self, operation: str, status: int) -> None:
        """A scenario rule answering ``operation`` (``vendor.operationId``) with ``status``."""
        assert self.sandbox.scenarios is not None
        rule = {"id": "status", "match": {"operation": operation}, "respond": status}
        scenario = {"name": "status-table", "description": f"{operation} answers {status}", "rules": [rule]}
        self.sandbox.scenarios.add({"scenarios": [scenario]})

    # -- QUBS --------------------------------------------------------------------------------------
    def qubs_token(self, secret: str = "qubs-dev-secret", grant: str = "client_credentials") -> Any:
        form = {"grant_type": grant, "client_id": "qubs-dev-client", "client_secret": secret}
        return self.client.post("/qubs/oauth2/token", data=form)

    def qubs_create(
        self, path: str = QUBS_UPLOADS, body: Any = None, headers: dict[str, str] = QUBS_AUTH
    ) -> Any:
        body = (
            {"items": [{"fileName": "report.pdf", "contentType": "application/pdf"}]}
            if body is None
            else body
        )
        return self.client.post(path, json=body, headers=headers)

    def qubs_conflict(self) -> Any:
        headers = {**QUBS_AUTH, "Idempotency-Key": "status-table-key"}
        assert self.qubs_create(headers=headers).status_code == 201
        return self.qubs_create(body={"items": [{"fileName": "other.pdf"}]}, headers=headers)

    def qubs_read(self, path: str = QUBS_READ, headers: dict[str, str] = QUBS_AUTH, **params: str) -> Any:
        return self.client.get(path, params=params, headers=headers)

    # -- Decoda ------------------------------------------------------------------------------------
    def decoda_upload(
        self,
        bulk: bool,
        patient: str | None = "P1001",
        headers: dict[str, str] = DECODA_AUTH,
        content: bytes = PDF,
    ) -> Any:
        data = {"patient_id": patient} if patient else {}
        field = "attachments" if bulk else "attachment"
        return self.client.post(
            "/decoda/attachments/bulk" if bulk else "/decoda/attachments",
            data=data,
            files=[(field, ("visit.pdf", content, "application/pdf"))],
            headers=headers,
        )

    def decoda_broken_multipart(self, bulk: bool) -> Any:
        headers = {**DECODA_AUTH, "Content-Type": "multipart/form-data"}
        return self.client.post(
            "/decoda/attachments/bulk" if bulk else "/decoda/attachments", content=b"--x\r\n", headers=headers
        )

    def decoda_attachment_id(self, patient: str = "P1001") -> str:
        response = self.decoda_upload(False, patient=patient)
        assert response.status_code == 200, response.text
        return response.json()["id"]

    def decoda_link(
        self,
        note: str = "N2001",
        ids: list[str] | None = None,
        headers: dict[str, str] = DECODA_AUTH,
        body: Any = None,
    ) -> Any:
        body = (
            {"noteId": note, "attachmentIds": ids or [self.decoda_attachment_id()]} if body is None else body
        )
        return self.client.post("/decoda/attachments/link-to-note", json=body, headers=headers)

    # -- SaferMe -----------------------------------------------------------------------------------
    def saferme_session(self, password: str = "saferme-dev-password", content: bytes | None = None) -> Any:
        headers = {"X-AppId": "com.thundermaps.saferme", "Content-Type": "application/json"}
        body = (
            content
            or json.dumps({"user": {"email": "integrations@example.com", "password": password}}).encode()
        )
        return self.client.post("/saferme/api/v3/sessions", content=body, headers=headers)

    def saferme_authorize(
        self, content_type: str = "application/pdf", headers: dict[str, str] = SAFERME_AUTH
    ) -> Any:
        return self.client.get(SAFERME_AUTHORIZE, params={"content_type": content_type}, headers=headers)

    def saferme_uploaded_key(self) -> str:
        grant = self.saferme_authorize().json()["upload_authorization"]
        key = grant["key_prefix"] + "report.pdf"
        response = self.client.post(
            grant["url"],
            data={**grant["fields"], "key": key},
            files={"file": ("report.pdf", PDF, grant["fields"]["Content-Type"])},
        )
        assert response.status_code == 201, response.text
        return key

    def saferme_create(
        self,
        key: str | None = None,
        headers: dict[str, str] = SAFERME_AUTH,
        content: bytes | None = None,
        processed: bool = False,
    ) -> Any:
        key = key or self.saferme_uploaded_key()
        body = content or json.dumps({"file_attachment": {"key": key}}).encode()
        send = {**headers, "Content-Type": "application/json"}
        response = self.client.post(SAFERME_ATTACHMENTS, content=body, headers=send)
        if processed:
            self.sandbox.clock.advance(10)
            response = self.client.post(SAFERME_ATTACHMENTS, content=body, headers=send)
        return response

    def saferme_get(
        self, processed: bool = False, attachment: str | None = None, headers: dict[str, str] = SAFERME_AUTH
    ) -> Any:
        attachment = attachment or str(self.saferme_create().json()["id"])
        if processed:
            self.sandbox.clock.advance(10)
        return self.client.get(f"{SAFERME_ATTACHMENTS}/{attachment}", headers=headers)

    # -- Candid ------------------------------------------------------------------------------------
    def candid_token(self, body: Any = None, content_type: str = "application/json") -> Any:
        body = (
            {"client_id": "candid-dev-client", "client_secret": "candid-dev-secret"} if body is None else body
        )
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.post(
            "/candid/api/auth/v2/token", content=content, headers={"Content-Type": content_type}
        )

    def candid_upload(
        self,
        encounter: str = CANDID_ENCOUNTER,
        headers: dict[str, str] = CANDID_AUTH,
        media: str = "text/plain",
        attachment_type: str | None = "DOCUMENTATION",
        files: int = 1,
        json_body: bool = False,
    ) -> Any:
        path = f"{CANDID_V1}/{encounter}/v2"
        if json_body:
            return self.client.put(path, json={"attachment_type": "DOCUMENTATION"}, headers=headers)
        data = {"attachment_type": attachment_type} if attachment_type else {}
        parts = [("attachment_file", (f"note-{n}.txt", b"visit note\n", media)) for n in range(files)]
        return self.client.put(
            path, data={**data, "description": "status table"}, files=parts, headers=headers
        )

    def candid_list(self, encounter: str = CANDID_ENCOUNTER, headers: dict[str, str] = CANDID_AUTH) -> Any:
        return self.client.get(f"{CANDID_V1}/{encounter}", headers=headers)

    def candid_delete(
        self, encounter: str = CANDID_ENCOUNTER, body: Any = None, headers: dict[str, str] = CANDID_AUTH
    ) -> Any:
        body = {"attachment_id": CANDID_ATTACHMENT} if body is None else body
        return self.client.request("DELETE", f"{CANDID_V1}/{encounter}", json=body, headers=headers)


def _scenario(operation: str, status: int) -> Callable[[Calls], Any]:
    """Inject ``status`` on ``operation``, then make the operation's ordinary successful request."""

    def call(calls: Calls) -> Any:
        calls.inject(operation, status)
        return OK[operation](calls)

    return call


OK: dict[str, Callable[[Calls], Any]] = {
    "qubs.createToken": lambda c: c.qubs_token(),
    "qubs.createReportAttachments": lambda c: c.qubs_create(),
    "qubs.listAppointmentAttachments": lambda c: c.qubs_read(),
    "qubs.getAppointmentAttachment": lambda c: c.qubs_read(f"{QUBS_READ}/{QUBS_FIXTURE_GUID}"),
    "decoda.uploadAttachmentsBulk": lambda c: c.decoda_upload(True),
    "decoda.uploadAttachment": lambda c: c.decoda_upload(False),
    "decoda.listAttachments": lambda c: c.client.get("/decoda/attachments", params=UTC, headers=DECODA_AUTH),
    "decoda.linkAttachmentsToNote": lambda c: c.decoda_link(),
    "saferme.createSession": lambda c: c.saferme_session(),
    "saferme.getUploadAuthorization": lambda c: c.saferme_authorize(),
    "saferme.createFileAttachment": lambda c: c.saferme_create(processed=True),
    "saferme.getFileAttachment": lambda c: c.saferme_get(processed=True),
    "candid.getToken": lambda c: c.candid_token(),
    "candid.createEncounterAttachmentV2": lambda c: c.candid_upload(),
    "candid.getEncounterAttachments": lambda c: c.candid_list(),
    "candid.deleteEncounterAttachment": lambda c: c.candid_delete(),
}
NO_AUTH: dict[str, str] = {}
SAFERME_TEAM_9 = {**SAFERME_AUTH, "X-TeamId": "9999"}
CANDID_BAD_TOKEN = {"Authorization": "Bearer not-a-token"}

# (operation, documented status key, request making it happen)
TABLE: list[tuple[str, str, Callable[[Calls], Any]]] = [
    ("qubs.createToken", "200", OK["qubs.createToken"]),
    ("qubs.createToken", "400", lambda c: c.qubs_token(grant="password")),
    ("qubs.createToken", "401", lambda c: c.qubs_token(secret="wrong")),
    ("qubs.createReportAttachments", "201", OK["qubs.createReportAttachments"]),
    ("qubs.createReportAttachments", "400", lambda c: c.qubs_create(body={"items": []})),
    ("qubs.createReportAttachments", "401", lambda c: c.qubs_create(headers=NO_AUTH)),
    ("qubs.createReportAttachments", "403", lambda c: c.qubs_create(QUBS_UPLOADS.replace("acme", "globex"))),
    (
        "qubs.createReportAttachments",
        "404",
        lambda c: c.qubs_create(QUBS_UPLOADS.replace("A123456", "A123458")),
    ),
    ("qubs.createReportAttachments", "409", lambda c: c.qubs_conflict()),
    ("qubs.createReportAttachments", "429", _scenario("qubs.createReportAttachments", 429)),
    ("qubs.createReportAttachments", "500", _scenario("qubs.createReportAttachments", 500)),
    ("qubs.listAppointmentAttachments", "200", OK["qubs.listAppointmentAttachments"]),
    ("qubs.listAppointmentAttachments", "400", lambda c: c.qubs_read(urlTtlSeconds="soon")),
    ("qubs.listAppointmentAttachments", "401", lambda c: c.qubs_read(headers=NO_AUTH)),
    ("qubs.listAppointmentAttachments", "403", lambda c: c.qubs_read(QUBS_READ.replace("acme", "globex"))),
    (
        "qubs.listAppointmentAttachments",
        "404",
        lambda c: c.qubs_read(QUBS_READ.replace("A123456", "A999999")),
    ),
    ("qubs.listAppointmentAttachments", "429", _scenario("qubs.listAppointmentAttachments", 429)),
    ("qubs.listAppointmentAttachments", "500", _scenario("qubs.listAppointmentAttachments", 500)),
    ("qubs.getAppointmentAttachment", "200", OK["qubs.getAppointmentAttachment"]),
    (
        "qubs.getAppointmentAttachment",
        "400",
        lambda c: c.qubs_read(f"{QUBS_READ}/{QUBS_FIXTURE_GUID}", disposition="download"),
    ),
    (
        "qubs.getAppointmentAttachment",
        "401",
        lambda c: c.qubs_read(f"{QUBS_READ}/{QUBS_FIXTURE_GUID}", NO_AUTH),
    ),
    (
        "qubs.getAppointmentAttachment",
        "403",
        lambda c: c.qubs_read(f"{QUBS_READ}/{QUBS_FIXTURE_GUID}".replace("acme", "globex")),
    ),
    ("qubs.getAppointmentAttachment", "404", lambda c: c.qubs_read(f"{QUBS_READ}/{UNKNOWN_UUID}")),
    ("qubs.getAppointmentAttachment", "429", _scenario("qubs.getAppointmentAttachment", 429)),
    ("qubs.getAppointmentAttachment", "500", _scenario("qubs.getAppointmentAttachment", 500)),
    *[
        row
        for bulk, operation in ((True, "decoda.uploadAttachmentsBulk"), (False, "decoda.uploadAttachment"))
        for row in (
            (operation, "200", OK[operation]),
            (operation, "400", lambda c, bulk=bulk: c.decoda_broken_multipart(bulk)),
            (
                operation,
                "401",
                lambda c, bulk=bulk: c.decoda_upload(bulk, headers={**DECODA_AUTH, "API-KEY": "x"}),
            ),
            (operation, "404", lambda c, bulk=bulk: c.decoda_upload(bulk, patient="P9999")),
            (operation, "413", lambda c, bulk=bulk: c.decoda_upload(bulk, content=b"x" * 5000)),
            (operation, "422", lambda c, bulk=bulk: c.decoda_upload(bulk, patient=None)),
            (operation, "500", _scenario(operation, 500)),
        )
    ],
    ("decoda.listAttachments", "200", OK["decoda.listAttachments"]),
    (
        "decoda.listAttachments",
        "401",
        lambda c: c.client.get("/decoda/attachments", params=UTC, headers={"TENANT": "demo", "API-KEY": "x"}),
    ),
    (
        "decoda.listAttachments",
        "422",
        lambda c: c.client.get("/decoda/attachments", params={"tz": "Mars/Olympus"}, headers=DECODA_AUTH),
    ),
    ("decoda.listAttachments", "500", _scenario("decoda.listAttachments", 500)),
    # Statuses Decoda's document lists because a scenario may answer them instead of the handler.
    *[
        (operation, str(status), _scenario(operation, status))
        for operation in DECODA_OPERATIONS
        for status in (403, 409, 429, 502, 503, 504)
    ],
    *[
        ("decoda.listAttachments", str(status), _scenario("decoda.listAttachments", status))
        for status in (400, 404)
    ],
    ("decoda.linkAttachmentsToNote", "200", OK["decoda.linkAttachmentsToNote"]),
    ("decoda.linkAttachmentsToNote", "400", lambda c: c.decoda_link(ids=[c.decoda_attachment_id("P1002")])),
    (
        "decoda.linkAttachmentsToNote",
        "401",
        lambda c: c.decoda_link(ids=["a"], headers={**DECODA_AUTH, "API-KEY": "x"}),
    ),
    ("decoda.linkAttachmentsToNote", "404", lambda c: c.decoda_link(note="N9999")),
    (
        "decoda.linkAttachmentsToNote",
        "413",
        lambda c: c.decoda_link(body={"noteId": "N2001", "attachmentIds": ["a" * (1 << 20)]}),
    ),
    ("decoda.linkAttachmentsToNote", "422", lambda c: c.decoda_link(body={"noteId": "N2001"})),
    ("decoda.linkAttachmentsToNote", "500", _scenario("decoda.linkAttachmentsToNote", 500)),
    ("saferme.createSession", "200", OK["saferme.createSession"]),
    ("saferme.createSession", "400", lambda c: c.saferme_session(content=b"{user:")),
    ("saferme.createSession", "401", lambda c: c.saferme_session(password="wrong")),
    ("saferme.createSession", "413", lambda c: c.saferme_session(content=b" " * 70_000 + b"{}")),
    *[
        row
        for operation in (
            "saferme.createSession",
            "saferme.getUploadAuthorization",
            "saferme.createFileAttachment",
            "saferme.getFileAttachment",
        )
        for row in (
            (operation, "420", _scenario(operation, 420)),
            (operation, "429", _scenario(operation, 429)),
            (operation, "5XX", _scenario(operation, 503)),
        )
    ],
    ("saferme.getUploadAuthorization", "200", OK["saferme.getUploadAuthorization"]),
    ("saferme.getUploadAuthorization", "401", lambda c: c.saferme_authorize(headers=NO_AUTH)),
    ("saferme.getUploadAuthorization", "403", lambda c: c.saferme_authorize(headers=SAFERME_TEAM_9)),
    ("saferme.getUploadAuthorization", "422", lambda c: c.saferme_authorize("text/html")),
    ("saferme.createFileAttachment", "200", OK["saferme.createFileAttachment"]),
    ("saferme.createFileAttachment", "202", lambda c: c.saferme_create()),
    ("saferme.createFileAttachment", "400", lambda c: c.saferme_create("k", content=b"{file_attachment:")),
    ("saferme.createFileAttachment", "401", lambda c: c.saferme_create("k", headers=NO_AUTH)),
    ("saferme.createFileAttachment", "403", lambda c: c.saferme_create("k", headers=SAFERME_TEAM_9)),
    ("saferme.createFileAttachment", "413", lambda c: c.saferme_create("k" * 70_000)),
    ("saferme.createFileAttachment", "422", lambda c: c.saferme_create("async_uploads/not-issued")),
    ("saferme.getFileAttachment", "200", OK["saferme.getFileAttachment"]),
    ("saferme.getFileAttachment", "202", lambda c: c.saferme_get()),
    ("saferme.getFileAttachment", "401", lambda c: c.saferme_get(attachment="21", headers=NO_AUTH)),
    ("saferme.getFileAttachment", "403", lambda c: c.saferme_get(attachment="21", headers=SAFERME_TEAM_9)),
    ("saferme.getFileAttachment", "404", lambda c: c.saferme_get(attachment="9999")),
    ("candid.getToken", "200", OK["candid.getToken"]),
    (
        "candid.getToken",
        "401",
        lambda c: c.candid_token({"client_id": "candid-dev-client", "client_secret": "x"}),
    ),
    ("candid.getToken", "415", lambda c: c.candid_token(b"client_id=a", content_type="text/plain")),
    ("candid.getToken", "422", lambda c: c.candid_token({"client_id": "candid-dev-client"})),
    *[
        row
        for operation in (
            "candid.getToken",
            "candid.createEncounterAttachmentV2",
            "candid.getEncounterAttachments",
            "candid.deleteEncounterAttachment",
        )
        for row in (
            (operation, "429", _scenario(operation, 429)),
            (operation, "4XX", _scenario(operation, 409)),
            (operation, "5XX", _scenario(operation, 503)),
        )
    ],
    ("candid.createEncounterAttachmentV2", "200", OK["candid.createEncounterAttachmentV2"]),
    ("candid.createEncounterAttachmentV2", "400", lambda c: c.candid_upload(files=2)),
    ("candid.createEncounterAttachmentV2", "401", lambda c: c.candid_upload(headers=CANDID_BAD_TOKEN)),
    ("candid.createEncounterAttachmentV2", "403", lambda c: c.candid_upload(CANDID_OTHER_ENCOUNTER)),
    ("candid.createEncounterAttachmentV2", "404", lambda c: c.candid_upload(UNKNOWN_UUID)),
    ("candid.createEncounterAttachmentV2", "415", lambda c: c.candid_upload(json_body=True)),
    ("candid.createEncounterAttachmentV2", "422", lambda c: c.candid_upload(media="text/html")),
    ("candid.getEncounterAttachments", "200", OK["candid.getEncounterAttachments"]),
    ("candid.getEncounterAttachments", "401", lambda c: c.candid_list(headers=CANDID_BAD_TOKEN)),
    ("candid.getEncounterAttachments", "403", lambda c: c.candid_list(CANDID_OTHER_ENCOUNTER)),
    ("candid.getEncounterAttachments", "404", lambda c: c.candid_list(UNKNOWN_UUID)),
    ("candid.getEncounterAttachments", "422", lambda c: c.candid_list("not-a-uuid")),
    ("candid.deleteEncounterAttachment", "200", OK["candid.deleteEncounterAttachment"]),
    ("candid.deleteEncounterAttachment", "401", lambda c: c.candid_delete(headers=CANDID_BAD_TOKEN)),
    ("candid.deleteEncounterAttachment", "403", lambda c: c.candid_delete(CANDID_OTHER_ENCOUNTER)),
    (
        "candid.deleteEncounterAttachment",
        "404",
        lambda c: c.candid_delete(body={"attachment_id": UNKNOWN_UUID}),
    ),
    ("candid.deleteEncounterAttachment", "422", lambda c: c.candid_delete(body={})),
]


@pytest.fixture(scope="module")
def status_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starlette]:
    limits = tmp_path_factory.mktemp("fixtures") / "limits.yaml"
    limits.write_text(yaml.safe_dump(LIMITS), encoding="utf-8")
    application = create_app(Settings(seed=77, default_scenarios=False, fixtures=(DEFAULT_FIXTURES, limits)))
    yield application
    application.state.sandbox.close()


@pytest.fixture(scope="module")
def status_client(status_app: Starlette) -> Iterator[TestClient]:
    with TestClient(status_app, base_url="http://127.0.0.1:8080") as client:
        yield client


@pytest.fixture
def calls(status_app: Starlette, status_client: TestClient) -> Calls:
    status_app.state.sandbox.reset()
    return Calls(status_client, status_app.state.sandbox)


def _documented(operation: str) -> tuple[OpenApiDocument, dict[str, Any]]:
    vendor, operation_id = operation.split(".", 1)
    document = DOCUMENTS[vendor]
    return document, document.operations[operation_id][2]["responses"]


@pytest.mark.parametrize(
    ("operation", "status_key", "make"), [pytest.param(*row, id=f"{row[0]}-{row[1]}") for row in TABLE]
)
def test_documented_status_is_reached_and_answered_as_documented(
    calls: Calls, operation: str, status_key: str, make: Callable[[Calls], Any]
) -> None:
    document, responses = _documented(operation)
    response = make(calls)
    status = str(response.status_code)
    assert status == status_key or (
        status_key.endswith("XX") and status[0] == status_key[0] and status not in responses
    ), (status, response.text[:300])
    content = document.resolve(responses[status_key]).get("content", {})
    media = response.headers.get("content-type", "").split(";", 1)[0].strip()
    if not content:
        assert response.content == b"", response.content[:100]
        return
    assert media in content, f"{operation} {status}: {media!r} is not one of {sorted(content)}"
    validator = document.response_validator(operation.split(".", 1)[1], response.status_code, media)
    if validator is not None:
        body = response.json() if "json" in media else response.text
        assert not issues_of(validator, body), issues_of(validator, body)


@pytest.mark.parametrize("vendor", sorted(MAIN_OPERATIONS))
def test_table_covers_every_documented_status(vendor: str) -> None:
    covered = {(operation, key) for operation, key, _ in TABLE}
    for operation_id in MAIN_OPERATIONS[vendor]:
        _, responses = _documented(f"{vendor}.{operation_id}")
        missing = sorted(
            key for key in responses if key != "default" and (f"{vendor}.{operation_id}", key) not in covered
        )
        assert not missing, f"{vendor}.{operation_id}: no row reaches {missing}"
