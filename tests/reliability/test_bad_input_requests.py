"""Hostile request bodies, content types and encodings: each vendor answers with its own documented
4xx and nothing changes.

Every case is sent with valid credentials, so the refusal comes from parsing and validation, not from
authentication. "Nothing changes" means the same number of records in the store and the same objects
(keys and SHA-256) in the embedded S3 as before the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.core.openapi import OpenApiDocument, issues_of

VENDOR_DIR = Path(__file__).resolve().parents[2] / "mock_server" / "vendors"
DOCUMENTS = {
    name: OpenApiDocument(VENDOR_DIR / name / "openapi.yaml")
    for name in ("qubs", "decoda", "saferme", "candid")
}
QUBS = {"Authorization": "Bearer qubs-dev-token"}
DECODA = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}
SAFERME = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}
CANDID = {"Authorization": "Bearer candid-dev-token"}
QUBS_CREATE = "/qubs/integrations/v1/acme/reporting/appointments/A123456/report/attachments"
QUBS_REPORT = "/qubs/integrations/v1/acme/reporting/appointments/A123456/report"
QUBS_COMMENTS = "/qubs/integrations/v1/acme/reporting/appointments/A123456/comments"
CANDID_ENCOUNTER = "/candid/api/encounter-attachments/v1/d5e9c84f-c2b2-4bf4-b4b0-7ffd7a9ffc32"
JSON = "application/json"
MULTIPART = "multipart/form-data; boundary=b"


def multipart(*parts: tuple[bytes, bytes | None, bytes]) -> bytes:
    """``(name, filename or None, content)`` parts, boundary ``b``; file parts are application/pdf."""
    out = b""
    for name, filename, content in parts:
        disposition = b'form-data; name="' + name + b'"'
        headers = b""
        if filename is not None:
            disposition += b'; filename="' + filename + b'"'
            headers = b"\r\nContent-Type: application/pdf"
        out += b"--b\r\nContent-Disposition: " + disposition + headers + b"\r\n\r\n" + content + b"\r\n"
    return out + b"--b--\r\n"


@dataclass(frozen=True)
class Case:
    operation: str  # vendor.operationId
    method: str
    path: str
    headers: dict[str, Any]
    body: bytes = b""
    query: str = ""


def case(
    operation: str,
    method: str,
    path: str,
    headers: dict[str, Any],
    content_type: str | None,
    body: bytes = b"",
    query: str = "",
) -> Case:
    sent = dict(headers)
    if content_type is not None:
        sent["Content-Type"] = content_type
    return Case(operation, method, path, sent, body, query)


CASES = {
    # -- malformed JSON ---------------------------------------------------------------------------
    "qubs-json-truncated": case(
        "qubs.createReportAttachments", "POST", QUBS_CREATE, QUBS, JSON, b'{"items": ['
    ),
    "qubs-json-not-an-object": case(
        "qubs.createReportAttachments", "POST", QUBS_CREATE, QUBS, JSON, b"[1, 2]"
    ),
    "qubs-json-nan": case(
        "qubs.submitReport", "POST", QUBS_REPORT, QUBS, JSON, b'{"reportText": NaN, "reportStatus": "final"}'
    ),
    "qubs-token-form-garbage": case(
        "qubs.createToken",
        "POST",
        "/qubs/oauth2/token",
        {},
        "application/x-www-form-urlencoded",
        b"%%%&&&==\xff",
    ),
    "decoda-json-truncated": case(
        "decoda.linkAttachmentsToNote",
        "POST",
        "/decoda/attachments/link-to-note",
        DECODA,
        JSON,
        b'{"noteId": "N2001", ',
    ),
    "saferme-json-truncated": case(
        "saferme.createFileAttachment",
        "POST",
        "/saferme/api/v4/file_attachments",
        SAFERME,
        JSON,
        b'{"file_attachment": {"key": ',
    ),
    "saferme-session-json-truncated": case(
        "saferme.createSession",
        "POST",
        "/saferme/api/v3/sessions",
        {"X-AppId": "com.thundermaps.saferme"},
        JSON,
        b'{"user": {',
    ),
    "candid-json-truncated": case(
        "candid.getToken", "POST", "/candid/api/auth/v2/token", {}, JSON, b'{"client_id": '
    ),
    "candid-delete-json-truncated": case(
        "candid.deleteEncounterAttachment", "DELETE", CANDID_ENCOUNTER, CANDID, JSON, b'{"attachment_id": '
    ),
    # -- wrong content types ----------------------------------------------------------------------
    "qubs-text-plain": case(
        "qubs.createReportAttachments",
        "POST",
        QUBS_CREATE,
        QUBS,
        "text/plain",
        b'{"items": [{"fileName": "a.pdf"}]}',
    ),
    "qubs-no-content-type": case(
        "qubs.createReportAttachments", "POST", QUBS_CREATE, QUBS, None, b'{"items": [{"fileName": "a.pdf"}]}'
    ),
    "qubs-token-json": case(
        "qubs.createToken", "POST", "/qubs/oauth2/token", {}, JSON, b'{"grant_type": "client_credentials"}'
    ),
    "decoda-upload-json": case(
        "decoda.uploadAttachmentsBulk",
        "POST",
        "/decoda/attachments/bulk",
        DECODA,
        JSON,
        b'{"patient_id": "P1001"}',
    ),
    "decoda-upload-multipart-without-boundary": case(
        "decoda.uploadAttachment", "POST", "/decoda/attachments", DECODA, "multipart/form-data", b"--b\r\n"
    ),
    "decoda-link-xml": case(
        "decoda.linkAttachmentsToNote",
        "POST",
        "/decoda/attachments/link-to-note",
        DECODA,
        "application/xml",
        b"<noteId>N2001</noteId>",
    ),
    "candid-token-text-plain": case(
        "candid.getToken",
        "POST",
        "/candid/api/auth/v2/token",
        {},
        "text/plain",
        b"client_id=candid-dev-client",
    ),
    "candid-upload-json": case(
        "candid.createEncounterAttachmentV2",
        "PUT",
        CANDID_ENCOUNTER + "/v2",
        CANDID,
        JSON,
        b'{"attachment_type": "DOCUMENTATION"}',
    ),
    "candid-upload-multipart-without-boundary": case(
        "candid.createEncounterAttachmentV2",
        "PUT",
        CANDID_ENCOUNTER + "/v2",
        CANDID,
        "multipart/form-data",
        b"--b\r\n",
    ),
    "candid-upload-truncated-multipart": case(
        "candid.createEncounterAttachmentV2",
        "PUT",
        CANDID_ENCOUNTER + "/v2",
        CANDID,
        MULTIPART,
        multipart((b"attachment_type", None, b"DOCUMENTATION"))[:-8] + b"--b\r\nContent-Disposition: form-da",
    ),
    # -- invalid UTF-8 ----------------------------------------------------------------------------
    "qubs-json-invalid-utf8": case(
        "qubs.createReportAttachments",
        "POST",
        QUBS_CREATE,
        QUBS,
        JSON,
        b'{"items": [{"fileName": "\xff\xfe.pdf"}]}',
    ),
    "qubs-query-invalid-utf8": case(
        "qubs.listAppointmentAttachments",
        "GET",
        "/qubs/integrations/v1/acme/appointments/A123456/attachments",
        QUBS,
        None,
        query="disposition=%FF%FE",
    ),
    "qubs-idempotency-key-latin1": case(
        "qubs.createReportAttachments",
        "POST",
        QUBS_CREATE,
        {**QUBS, "Idempotency-Key": "cl\xe9".encode("latin-1")},
        JSON,
        b'{"items": [{"fileName": "a.pdf"}]}',
    ),
    "decoda-api-key-latin1": case(
        "decoda.getPatient",
        "GET",
        "/decoda/user/patient/P1001",
        {**DECODA, "API-KEY": "cl\xe9".encode("latin-1")},
        None,
    ),
    "decoda-json-invalid-utf8": case(
        "decoda.linkAttachmentsToNote",
        "POST",
        "/decoda/attachments/link-to-note",
        DECODA,
        JSON,
        b'{"noteId": "\xff", "attachmentIds": []}',
    ),
    "decoda-form-field-invalid-utf8": case(
        "decoda.uploadAttachmentsBulk",
        "POST",
        "/decoda/attachments/bulk",
        DECODA,
        MULTIPART,
        multipart((b"patient_id", None, b"P1001\xff"), (b"attachments", b"a.pdf", b"%PDF-1.4")),
    ),
    "decoda-query-invalid-utf8": case(
        "decoda.listAttachments", "GET", "/decoda/attachments", DECODA, None, query="tz=%FF"
    ),
    "saferme-json-invalid-utf8": case(
        "saferme.createFileAttachment",
        "POST",
        "/saferme/api/v4/file_attachments",
        SAFERME,
        JSON,
        b'{"file_attachment": {"key": "\xff"}}',
    ),
    "saferme-query-invalid-utf8": case(
        "saferme.getUploadAuthorization",
        "GET",
        "/saferme/api/v4/file_attachments/upload_authorization",
        SAFERME,
        None,
        query="content_type=%FF",
    ),
    "candid-json-invalid-utf8": case(
        "candid.getToken",
        "POST",
        "/candid/api/auth/v2/token",
        {},
        JSON,
        b'{"client_id": "\xff", "client_secret": "x"}',
    ),
    "candid-form-field-invalid-utf8": case(
        "candid.createEncounterAttachmentV2",
        "PUT",
        CANDID_ENCOUNTER + "/v2",
        CANDID,
        MULTIPART,
        multipart((b"attachment_type", None, b"DOCUMENTATION\xff"), (b"attachment_file", b"a.pdf", b"%PDF")),
    ),
    "candid-path-invalid-utf8": case(
        "candid.getEncounterAttachments", "GET", "/candid/api/encounter-attachments/v1/%FF%FE", CANDID, None
    ),
}


def _state(app: Starlette) -> tuple[int, list[tuple[str, str, str]]]:
    sandbox = app.state.sandbox
    objects = sorted((info.bucket, info.key, info.sha256) for info in sandbox.storage.objects.list())
    return sandbox.store.count(), objects


def _assert_documented(operation: str, response: Any) -> None:
    """The status is a 4xx the operation documents, in a documented content type, with a valid body."""
    vendor, operation_id = operation.split(".", 1)
    document = DOCUMENTS[vendor]
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    responses = document.operations[operation_id][2]["responses"]
    status = str(response.status_code)
    key = next((k for k in (status, f"{status[0]}XX", "default") if k in responses), None)
    assert key is not None, f"{operation} does not document {status}"
    content = document.resolve(responses[key]).get("content", {})
    media = response.headers.get("content-type", "").split(";", 1)[0].strip()
    assert media in content, f"{operation} {status}: {media!r} not in {sorted(content)}"
    validator = document.response_validator(operation_id, response.status_code, media)
    if validator is not None:
        body = response.json() if "json" in media else response.text
        assert not issues_of(validator, body), body


@pytest.mark.parametrize("name", sorted(CASES))
def test_refused_with_the_vendors_error_and_no_state_change(
    quiet_app: Starlette, quiet_client: TestClient, name: str
) -> None:
    quiet_app.state.sandbox.reset()
    sent = CASES[name]
    before = _state(quiet_app)
    url = sent.path + (f"?{sent.query}" if sent.query else "")
    response = quiet_client.request(sent.method, url, content=sent.body or None, headers=sent.headers)
    _assert_documented(sent.operation, response)
    assert _state(quiet_app) == before


NEWLINE_PATHS = {
    "qubs": ("/qubs/integrations/v1/ac%0Ame/reporting/appointments/pending", QUBS),
    "decoda": ("/decoda/user/patient/P10%0A01", DECODA),
    "saferme": ("/saferme/api/v4/file_attachments/2%0A1", SAFERME),
    "candid": ("/candid/api/encounter-attachments/v1/d5e9c84f%0A", CANDID),
    "storage": ("/s3/sandbox-uploads/a%0Ab?X-Amz-Signature=0", {}),
}


@pytest.mark.parametrize("vendor", sorted(NEWLINE_PATHS))
def test_newline_in_a_path_parameter_gets_the_vendors_error(quiet_client: TestClient, vendor: str) -> None:
    path, headers = NEWLINE_PATHS[vendor]
    response = quiet_client.get(path, headers=headers)
    assert 400 <= response.status_code < 500
    assert not response.headers["content-type"].startswith("text/plain"), response.text


# JSON that parses but Python cannot use as is: nesting past the parser's recursion limit, and a lone
# UTF-16 surrogate written as a "\\ud800" escape (valid JSON text, not encodable as UTF-8).
DEEP = b"[" * 1001 + b"]" * 1001
UNUSABLE_JSON = {
    "qubs-deep": ("qubs.createReportAttachments", "POST", QUBS_CREATE, QUBS, DEEP),
    "qubs-surrogate-file-name": (
        "qubs.createReportAttachments",
        "POST",
        QUBS_CREATE,
        QUBS,
        b'{"items": [{"fileName": "\\ud800.pdf"}]}',
    ),
    "qubs-surrogate-comment": (
        "qubs.createComment",
        "POST",
        QUBS_COMMENTS,
        QUBS,
        b'{"commentText": "\\ud800"}',
    ),
    "qubs-surrogate-report": (
        "qubs.submitReport",
        "POST",
        QUBS_REPORT,
        QUBS,
        b'{"reportText": "\\ud800", "reportStatus": "preliminary"}',
    ),
    "decoda-deep": ("decoda.linkAttachmentsToNote", "POST", "/decoda/attachments/link-to-note", DECODA, DEEP),
    "saferme-deep": (
        "saferme.createFileAttachment",
        "POST",
        "/saferme/api/v4/file_attachments",
        SAFERME,
        DEEP,
    ),
    "saferme-session-deep": (
        "saferme.createSession",
        "POST",
        "/saferme/api/v3/sessions",
        {"X-AppId": "com.thundermaps.saferme"},
        DEEP,
    ),
    "saferme-surrogate-key": (
        "saferme.createFileAttachment",
        "POST",
        "/saferme/api/v4/file_attachments",
        SAFERME,
        b'{"file_attachment": {"key": "\\ud800"}}',
    ),
    "saferme-surrogate-password": (
        "saferme.createSession",
        "POST",
        "/saferme/api/v3/sessions",
        {"X-AppId": "com.thundermaps.saferme"},
        b'{"user": {"email": "a@example.com", "password": "\\ud800"}}',
    ),
    "candid-deep": ("candid.getToken", "POST", "/candid/api/auth/v2/token", {}, DEEP),
    "candid-delete-deep": ("candid.deleteEncounterAttachment", "DELETE", CANDID_ENCOUNTER, CANDID, DEEP),
    "candid-surrogate-secret": (
        "candid.getToken",
        "POST",
        "/candid/api/auth/v2/token",
        {},
        b'{"client_id": "candid-dev-client", "client_secret": "\\ud800"}',
    ),
}


@pytest.mark.parametrize("name", sorted(UNUSABLE_JSON))
def test_json_python_cannot_use_is_a_client_error(
    quiet_app: Starlette, quiet_client: TestClient, name: str
) -> None:
    quiet_app.state.sandbox.reset()
    operation, method, path, headers, body = UNUSABLE_JSON[name]
    before = _state(quiet_app)
    response = quiet_client.request(method, path, content=body, headers={**headers, "Content-Type": JSON})
    _assert_documented(operation, response)
    assert _state(quiet_app) == before


def test_scenario_json_matching_survives_deeply_nested_json(
    quiet_app: Starlette, quiet_client: TestClient
) -> None:
    quiet_app.state.sandbox.reset()
    assert quiet_app.state.sandbox.scenarios is not None
    rule = {
        "id": "by-name",
        "match": {"operation": "qubs.createReportAttachments", "json": {"items.0.fileName": "x.pdf"}},
        "respond": 409,
    }
    quiet_app.state.sandbox.scenarios.add(
        {"scenarios": [{"name": "json-match", "description": "match on the body", "rules": [rule]}]}
    )
    response = quiet_client.post(QUBS_CREATE, content=DEEP, headers={**QUBS, "Content-Type": JSON})
    _assert_documented("qubs.createReportAttachments", response)
