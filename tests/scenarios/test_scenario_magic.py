"""The built-in magic ids (each vendor folder's magic-defaults.yaml): each documented failure with no
scenario loaded, in the vendor's own format, before authentication."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.openapi import OpenApiDocument, issues_of
from mock_server.core.sandbox import Sandbox
from mock_server.scenarios.actions import ConnectionDropped
from mock_server.settings import Settings

STATUSES = [400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504]
QUBS_TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    429: "too-many-requests",
    500: "server-error",
    502: "server-error",
    503: "server-error",
    504: "server-error",
}
QUBS_PATH = "/qubs/integrations/v1/{domain}/reporting/appointments/{appointment}/report/attachments"
CANDID_V1 = "/candid/api/encounter-attachments/v1"
Validate = Callable[..., Any]


# Magic rules change nothing but counters and the journal, so one app serves the whole module.
@pytest.fixture(scope="module")
def app() -> Iterator[Starlette]:
    application = create_app(Settings(seed=1234))
    yield application
    application.state.sandbox.close()


@pytest.fixture(scope="module")
def sandbox(app: Starlette) -> Sandbox:
    return app.state.sandbox


@pytest.fixture(scope="module")
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1:8080") as test_client:
        yield test_client


@pytest.fixture(scope="module")
def validate_response(sandbox: Sandbox) -> Validate:
    documents: dict[str, OpenApiDocument] = {}

    def check(vendor: str, operation_id: str, response: Any) -> Any:
        path = sandbox.vendors[vendor].openapi_path
        assert path is not None
        document = documents.setdefault(vendor, OpenApiDocument(path))
        media = response.headers.get("content-type", "application/json").split(";")[0]
        validator = document.response_validator(operation_id, response.status_code, media)
        body = response.json() if "json" in media else response.text
        if validator is not None:
            assert not issues_of(validator, body), f"{operation_id} {response.status_code}"
        return body

    return check


def require(sandbox: Sandbox, vendor: str) -> None:
    if vendor not in sandbox.vendors:
        pytest.skip(f"the {vendor} vendor is not part of this build")


def validated(validate: Validate, vendor: str, operation: str, response: Any) -> Any:
    """The body, checked against the vendor's spec when it documents that status."""
    try:
        return validate(vendor, operation, response)
    except KeyError:
        return response.json()


def rule_of(sandbox: Sandbox, path: str) -> str | None:
    (entry, *_) = sandbox.journal.entries(path=path)
    return entry.scenarioRule


@pytest.mark.parametrize("status", [s for s in STATUSES if s != 422], ids=str)
def test_qubs_appointment_ids(
    client: TestClient, sandbox: Sandbox, validate_response: Validate, status: int
) -> None:
    require(sandbox, "qubs")
    path = QUBS_PATH.format(domain="acme", appointment=f"A{status}")
    response = client.post(
        path, json={"items": [{"fileName": "r.pdf"}]}, headers={"X-Correlation-Id": "cid-1"}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = validated(validate_response, "qubs", "createReportAttachments", response)
    assert body["type"] == f"urn:qubs:integrations:{QUBS_TYPES[status]}" and body["requestId"] == "cid-1"
    if status == 429:
        assert response.headers["retry-after"] == "1"
    assert rule_of(sandbox, path) == f"magic-qubs/appointment-A{status}"


def test_qubs_rate_limited_domain_and_drop(client: TestClient, sandbox: Sandbox) -> None:
    require(sandbox, "qubs")
    response = client.get("/qubs/integrations/v1/rate-limited/reporting/appointments/pending")
    assert response.status_code == 429 and response.json()["type"].endswith("too-many-requests")
    with pytest.raises(ConnectionDropped):
        client.post(QUBS_PATH.format(domain="acme", appointment="ADROP"), json={"items": []})


def test_qubs_ordinary_ids_are_untouched(client: TestClient, sandbox: Sandbox) -> None:
    require(sandbox, "qubs")
    response = client.post(QUBS_PATH.format(domain="acme", appointment="A123456"), json={"items": []})
    assert response.status_code == 401  # no token: the vendor answered, not a magic rule


@pytest.mark.parametrize("status", STATUSES, ids=str)
def test_decoda_patient_ids(client: TestClient, sandbox: Sandbox, status: int) -> None:
    require(sandbox, "decoda")
    patient = f"patient-{status}"
    by_path = client.get(f"/decoda/user/patient/{patient}")
    by_query = client.get("/decoda/attachments", params={"patient_id": patient})
    by_form = client.post(
        "/decoda/attachments/bulk",
        data={"patient_id": patient},
        files={"attachments": ("a.png", b"\x89PNG", "image/png")},
    )
    for response in (by_path, by_query, by_form):
        assert response.status_code == status
        if status == 500:  # FastAPI's own unhandled-error answer
            assert response.text == "Internal Server Error"
        else:
            assert (
                response.headers["content-type"].startswith("application/json")
                and "detail" in response.json()
            )
    assert rule_of(sandbox, "/decoda/attachments/bulk") == f"magic-decoda/{patient}"


@pytest.mark.parametrize("status", STATUSES, ids=str)
def test_saferme_team_ids(
    client: TestClient, sandbox: Sandbox, validate_response: Validate, status: int
) -> None:
    require(sandbox, "saferme")
    response = client.get(
        "/saferme/api/v4/file_attachments/upload_authorization",
        params={"content_type": "image/png"},
        headers={"X-TeamId": str(status)},
    )
    assert response.status_code == status
    body = validated(validate_response, "saferme", "getUploadAuthorization", response)
    assert "errors" in body


@pytest.mark.parametrize("status", STATUSES, ids=str)
def test_candid_encounter_and_charge_capture_ids(
    client: TestClient, sandbox: Sandbox, validate_response: Validate, status: int
) -> None:
    require(sandbox, "candid")
    encounter = client.get(f"{CANDID_V1}/00000000-0000-4000-8000-{status:012d}")
    capture = client.get(f"{CANDID_V1}/by-charge-capture-external-id/charge-capture-{status}")
    form = client.post(
        f"{CANDID_V1}/create-from-charge-capture-external-id",
        data={"charge_capture_external_id": f"charge-capture-{status}", "attachment_type": "OTHER"},
        files={"attachment_file": ("a.pdf", b"%PDF-1.7", "application/pdf")},
    )
    for response in (encounter, capture, form):
        assert response.status_code == status and "errorName" in response.json()
    validated(validate_response, "candid", "getEncounterAttachments", encounter)


def test_candid_drop(client: TestClient, sandbox: Sandbox) -> None:
    require(sandbox, "candid")
    with pytest.raises(ConnectionDropped):
        client.get(f"{CANDID_V1}/00000000-0000-4000-8000-00000000dead")


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [("sandbox-fail-503", 503, "SlowDown"), ("sandbox-fail-500", 500, "InternalError")],
    ids=["503", "500"],
)
def test_storage_keys_and_posted_file_names(
    client: TestClient, sandbox: Sandbox, token: str, status: int, code: str
) -> None:
    put = client.put(
        sandbox.storage.presign_put(
            "http://127.0.0.1:8080", "sandbox-uploads", f"a/{token}.pdf", expires_in=60
        ).url,
        content=b"x",
    )
    posted = client.post(
        "/s3/sandbox-uploads",
        data={"key": "async_uploads/u/${filename}"},
        files={"file": (f"{token}.png", b"\x89PNG", "image/png")},
    )
    for response in (put, posted):
        assert response.status_code == status and f"<Code>{code}</Code>" in response.text


def test_storage_drop(client: TestClient, sandbox: Sandbox) -> None:
    with pytest.raises(ConnectionDropped):
        client.put(
            sandbox.storage.presign_put(
                "http://127.0.0.1:8080", "sandbox-uploads", "sandbox-fail-drop", expires_in=60
            ).url,
            content=b"x",
        )
