"""QUBS test helpers: ``qubs`` (in-process calls) and ``partner`` (a real client over a socket).

Every response a helper receives is validated against the QUBS openapi.yaml.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox
from mock_server.testing.server import LiveServer
from mock_server.vendors.qubs import attachments

BASE = "http://127.0.0.1:8080"
REPORTING = "/qubs/integrations/v1/{domain}/reporting/appointments"
READ = "/qubs/integrations/v1/{domain}/appointments/{appointment}/attachments"
ACME = {"Authorization": "Bearer qubs-dev-token"}


class QubsActions:
    """Calls one QUBS operation (as the ``acme`` client unless ``headers`` say otherwise) and checks the
    response against openapi.yaml."""

    def __init__(self, client: TestClient, validate: Callable[..., Any]) -> None:
        self.client = client
        self.validate = validate

    def call(
        self, operation: str, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        response = self.client.request(method, path, headers={**ACME, **(headers or {})}, **kwargs)
        self.validate("qubs", operation, response)
        return response

    def pending(self, domain: str = "acme", headers: dict[str, str] | None = None, **params: Any) -> Any:
        return self.call(
            "listPendingAppointments",
            "GET",
            REPORTING.format(domain=domain) + "/pending",
            params=params,
            headers=headers,
        )

    def get_pending(self, appointment: str, domain: str = "acme") -> Any:
        return self.call("getPendingAppointment", "GET", f"{REPORTING.format(domain=domain)}/{appointment}")

    def create_urls(self, items: list[dict[str, Any]], appointment: str = "A123456") -> Any:
        return self.call(
            "createReportAttachments",
            "POST",
            f"{REPORTING.format(domain='acme')}/{appointment}/report/attachments",
            json={"items": items},
        )

    def reporting_attachments(self, appointment: str = "A123456", **params: Any) -> Any:
        return self.call(
            "listReportingAttachments",
            "GET",
            f"{REPORTING.format(domain='acme')}/{appointment}/attachments",
            params=params,
        )

    def report(self, body: Any, appointment: str = "A123456", **kwargs: Any) -> Any:
        return self.call(
            "submitReport",
            "POST",
            f"{REPORTING.format(domain='acme')}/{appointment}/report",
            json=body,
            **kwargs,
        )

    def comment(self, body: Any, appointment: str = "A123456", **kwargs: Any) -> Any:
        return self.call(
            "createComment",
            "POST",
            f"{REPORTING.format(domain='acme')}/{appointment}/comments",
            json=body,
            **kwargs,
        )

    def attachments(self, appointment: str = "A123456", domain: str = "acme", **kwargs: Any) -> Any:
        return self.call(
            "listAppointmentAttachments", "GET", READ.format(domain=domain, appointment=appointment), **kwargs
        )

    def attachment(self, guid: str, appointment: str = "A123456", domain: str = "acme", **kwargs: Any) -> Any:
        path = READ.format(domain=domain, appointment=appointment) + f"/{guid}"
        return self.call("getAppointmentAttachment", "GET", path, **kwargs)

    def create(
        self,
        body: Any = None,
        *,
        domain: str = "acme",
        appointment: str = "A123456",
        headers: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """POST .../report/attachments with ``body`` as it is (None: no JSON body)."""
        if body is not None:
            kwargs["json"] = body
        path = f"{REPORTING.format(domain=domain)}/{appointment}/report/attachments"
        return self.call("createReportAttachments", "POST", path, headers=headers, **kwargs)

    def attachment_count(self, sandbox: Sandbox, domain: str = "acme") -> int:
        return len([a for a in attachments.held(sandbox, domain) if a.upload_expires_at])

    def upload(self, url: str, data: bytes, content_type: str | None) -> Any:
        headers = {"Content-Type": content_type} if content_type else {}
        return self.client.put(url.removeprefix(BASE), content=data, headers=headers)


class Partner:
    """A QUBS integration as a partner writes it: token first, then bearer calls, uploads with PUT."""

    def __init__(self, live: LiveServer, validate: Callable[..., Any]) -> None:
        self.base = f"{live.url}/qubs"
        self.validate = validate
        self.session = requests.Session()

    def login(self, client_id: str = "qubs-dev-client", secret: str = "qubs-dev-secret") -> None:
        response = self.session.post(
            f"{self.base}/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )
        self.validate("qubs", "createToken", response)
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def call(self, operation: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, f"{self.base}/integrations/v1/acme{path}", **kwargs)
        self.validate("qubs", operation, response)
        return response

    def create_urls(
        self, items: list[dict[str, Any]], key: str | None = None, appointment: str = "A123456"
    ) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.call(
            "createReportAttachments",
            "POST",
            f"/reporting/appointments/{appointment}/report/attachments",
            json={"items": items},
            headers=headers,
        )


@pytest.fixture
def qubs(client: TestClient, validate_response: Callable[..., Any]) -> QubsActions:
    return QubsActions(client, validate_response)


@pytest.fixture
def partner(live: LiveServer, validate_response: Callable[..., Any]) -> Partner:
    return Partner(live, validate_response)
