"""Candid test helpers: request helpers behind the ``candid`` and ``cc`` fixtures.

Every response a helper receives is validated against the Candid openapi.yaml.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

V1 = "/candid/api/encounter-attachments/v1"
TOKEN = "/candid/api/auth/v2/token"
ENCOUNTER = "d5e9c84f-c2b2-4bf4-b4b0-7ffd7a9ffc32"
CREDENTIALS = {"client_id": "candid-dev-client", "client_secret": "candid-dev-secret"}
DEV = {"Authorization": "Bearer candid-dev-token"}
NOTE_PDF = ("note.pdf", b"%PDF-1.4\n% sandbox\n", "application/pdf")
CLAIM_PDF = ("claim.pdf", b"%PDF-1.4 claim", "application/pdf")
CREATE_PATHS = {
    "createEncounterAttachment": f"{V1}/{ENCOUNTER}",
    "createEncounterAttachmentV2": f"{V1}/{ENCOUNTER}/v2",
    "createAttachmentFromChargeCaptureExternalId": f"{V1}/create-from-charge-capture-external-id",
}


class CandidCalls:
    """One request, its response validated against ``operation`` in the Candid openapi.yaml."""

    def __init__(self, client: TestClient, validate: Callable[..., Any]) -> None:
        self.client = client
        self.validate = validate

    def call(self, method: str, path: str, operation: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        media = None  # the response's own Content-Type
        if method == "DELETE":  # a delete's empty 200 is documented as text/plain
            media = "application/json" if response.content else "text/plain"
        self.validate("candid", operation, response, media)
        return response


class CandidActions(CandidCalls):
    """Token, list, upload and delete on encounters."""

    def token(self, **kwargs: Any) -> Any:
        return self.call("POST", TOKEN, "getToken", **kwargs)

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(json=CREDENTIALS).json()['access_token']}"}

    def list(self, encounter: str = ENCOUNTER, headers: dict[str, str] = DEV) -> Any:
        return self.call("GET", f"{V1}/{encounter}", "getEncounterAttachments", headers=headers)

    def upload(
        self,
        operation: str = "createEncounterAttachmentV2",
        *,
        path: str | None = None,
        headers: dict[str, str] = DEV,
        **kwargs: Any,
    ) -> Any:
        """Multipart upload; ``data``/``files`` default to a valid request (pass None to leave one out)."""
        if "data" not in kwargs:
            kwargs["data"] = {"attachment_type": "DOCUMENTATION"}
            if operation == "createAttachmentFromChargeCaptureExternalId":
                kwargs["data"]["charge_capture_external_id"] = "cc-ext-001"
        kwargs.setdefault("files", {"attachment_file": NOTE_PDF})
        method = "POST" if "ChargeCapture" in operation else "PUT"
        return self.call(method, path or CREATE_PATHS[operation], operation, headers=headers, **kwargs)

    def delete(
        self, attachment_id: Any, encounter: str = ENCOUNTER, headers: dict[str, str] = DEV, **kwargs: Any
    ) -> Any:
        body = {"json": {"attachment_id": attachment_id}} if not kwargs else kwargs
        headers = body.pop("headers", headers)
        return self.call("DELETE", f"{V1}/{encounter}", "deleteEncounterAttachment", headers=headers, **body)


class ChargeCaptureActions(CandidCalls):
    """Charge-capture calls: upload, list, convert into an encounter, delete."""

    def upload(self, external_id: str = "cc-ext-001", headers: dict[str, str] = DEV) -> Any:
        return self.call(
            "POST",
            f"{V1}/create-from-charge-capture-external-id",
            "createAttachmentFromChargeCaptureExternalId",
            headers=headers,
            data={"charge_capture_external_id": external_id, "attachment_type": "SUPPORT_DATA_FOR_CLAIM"},
            files={"attachment_file": CLAIM_PDF},
        )

    def listed(self, external_id: str = "cc-ext-001", headers: dict[str, str] = DEV) -> list[str]:
        path = f"{V1}/by-charge-capture-external-id/{external_id}"
        response = self.call("GET", path, "getChargeCaptureAttachments", headers=headers)
        assert response.status_code == 200, response.text
        return [item["attachment_id"] for item in response.json()]

    def on_encounter(self, encounter: str, headers: dict[str, str] = DEV) -> Any:
        return self.call("GET", f"{V1}/{encounter}", "getEncounterAttachments", headers=headers)

    def convert(self, external_id: str = "cc-ext-001", headers: dict[str, str] = DEV, **kwargs: Any) -> Any:
        path = f"/candid/__sandbox/charge-captures/{external_id}/convert"
        return self.call("POST", path, "convertChargeCapture", headers=headers, **kwargs)

    def delete(
        self, attachment_id: str, external_id: str = "cc-ext-001", headers: dict[str, str] = DEV
    ) -> Any:
        path = f"{V1}/by-charge-capture-external-id/{external_id}"
        body = {"attachment_id": attachment_id}
        return self.call("DELETE", path, "deleteChargeCaptureAttachment", headers=headers, json=body)


@pytest.fixture
def candid(client: TestClient, validate_response: Callable[..., Any]) -> CandidActions:
    return CandidActions(client, validate_response)


@pytest.fixture
def cc(client: TestClient, validate_response: Callable[..., Any]) -> ChargeCaptureActions:
    return ChargeCaptureActions(client, validate_response)
