"""Contract fuzzing of SaferMe signed in as a v4 session user, with an uploaded attachment and a report.

test_fuzz_contracts.py fuzzes every operation with the fixture API key, so session, report and form
operations mostly answer 401/404 there. Here each operation starts from a sandbox where a v4 session, a
processed image attachment (id 21) and a report using it (id 49) exist, and path ids point at them
every other request, so generated ``fields=`` selections, PATCH bodies and session calls reach the
success paths (the state then evolves across one operation's requests: a delete signs out, an update
changes the report). Every answer must be documented and valid, and never a 5xx (the magic-id
scenarios are off).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fuzzing import CHECKS, FUZZ, contract_config, without_lifespan
from PIL import Image
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.settings import Settings

CONFIG = contract_config(2025)
APP = create_app(Settings(seed=2025, default_scenarios=False))
BASE = "http://127.0.0.1:8080"
API = "/saferme/api/v4"
TEAM = {"X-AppId": "com.thundermaps.saferme", "X-TeamId": "1234"}
IDS = {"/api/v4/forms/": "2222", "/api/v4/reports/": "49", "/api/v4/file_attachments/": "21"}
_turns = itertools.count()


@pytest.fixture(scope="module", autouse=True)
def _close_app() -> Iterator[None]:
    yield
    APP.state.sandbox.close()


def _signed_in() -> dict[str, str]:
    """Reset, sign in, upload and attach one picture, file report 49; the session's headers."""
    sandbox = APP.state.sandbox
    sandbox.reset()
    with TestClient(APP, base_url=BASE) as client:
        login = {"app_bundle_id": "com.thundermaps.saferme", "email": "integrations@example.com"}
        session = client.post(
            f"{API}/session", json={"session": {**login, "password": "saferme-dev-password"}}
        )
        headers = {**TEAM, "Authorization": f"Token token={session.json()['session']['access_token']}"}
        grant = client.get(
            f"{API}/file_attachments/upload_authorization",
            params={"content_type": "image/png"},
            headers=headers,
        ).json()["upload_authorization"]
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48)).save(buffer, "PNG")
        client.post(
            grant["url"][len(BASE) :], data=grant["fields"], files={"file": ("a.png", buffer.getvalue())}
        )
        attachment = client.post(
            f"{API}/file_attachments", json={"file_attachment": {"key": grant["key"]}}, headers=headers
        )
        sandbox.clock.advance(3)
        report = {
            "account_id": 2222,
            "geom": "Point(1 2)",
            "form_fields": [{"key": "f_2_38_18", "value": [attachment.json()["id"]]}],
        }
        created = client.post(f"{API}/reports", json={"report": report}, headers=headers)
        assert (session.status_code, created.status_code, created.json()["id"]) == (201, 201, 49)
    return headers


SCHEMA = schemathesis.openapi.from_asgi("/saferme/openapi.json", without_lifespan(APP), config=CONFIG)


@pytest.fixture
def signed_in() -> dict[str, str]:
    return _signed_in()


@SCHEMA.parametrize()
@FUZZ
def test_saferme_signed_in_contract(case: Any, signed_in: dict[str, str]) -> None:
    """Every SaferMe operation, signed in with a v4 session, answers as the OpenAPI document says."""
    headers = signed_in
    path_parameters = case.path_parameters or {}
    if any("\n" in str(value) for value in path_parameters.values()):
        return  # Starlette's mount patterns do not match a newline (see test_fuzz_contracts.py)
    if next(_turns) % 2 and "id" in path_parameters:
        path_parameters["id"] = next(
            (value for prefix, value in IDS.items() if case.path.startswith(prefix)), "21"
        )
    case.call_and_validate(headers=headers, checks=CHECKS)
