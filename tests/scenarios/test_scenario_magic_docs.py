"""The README's magic-id table is what the built-in rules answer, and an id for an unlisted status
answers what the README says (an ordinary id: not found, or SaferMe's team refusal)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
MAGIC = README.split("### Magic ids", 1)[1].split("\n### ", 1)[0]


@pytest.fixture(scope="module")
def app() -> Iterator[Starlette]:
    application = create_app(Settings(seed=3))
    yield application
    application.state.sandbox.close()


@pytest.fixture(scope="module")
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1:8080") as test_client:
        yield test_client


def documented(vendor: str) -> set[int]:
    (row,) = [
        line
        for line in MAGIC.splitlines()
        if line.startswith(f"| {vendor} |")
        and "that status" in line
        or line.startswith(f"| {vendor} |")
        and "status NNN" in line
    ]
    return {int(code) for code in re.findall(r"(?<![\w-])`?[A-Za-z-]*(\d{3})`", row.split("|")[2])}


def built_in(app: Starlette, name: str) -> set[int]:
    live = app.state.sandbox.scenarios.get(f"magic-{name}")
    return {rule.action.respond.status for rule in live.scenario.rules if rule.action.respond is not None}


@pytest.mark.parametrize(
    "vendor, name", [("QUBS", "qubs"), ("Decoda", "decoda"), ("SaferMe", "saferme"), ("Candid", "candid")]
)
def test_the_readme_lists_exactly_the_statuses_that_have_a_magic_id(
    app: Starlette, vendor: str, name: str
) -> None:
    assert documented(vendor) == built_in(app, name)


@pytest.mark.parametrize(
    "method, path, headers, status, body",
    [
        (
            "GET",
            "/qubs/integrations/v1/acme/reporting/appointments/A422",
            {"Authorization": "Bearer qubs-dev-token"},
            404,
            "Appointment A422 was not found",
        ),
        (
            "GET",
            "/decoda/user/patient/patient-405",
            {"TENANT": "demo", "API-KEY": "decoda-dev-key"},
            404,
            '{"detail":"Patient not found"}',
        ),
        (
            "GET",
            "/saferme/api/v4/file_attachments/1",
            {
                "Authorization": "Token token=saferme-dev-token",
                "X-AppId": "com.thundermaps.saferme",
                "X-InstallationId": "i",
                "X-TeamId": "418",
            },
            403,
            "You are not authorized to access team 418.",
        ),
        (
            "GET",
            "/candid/api/encounter-attachments/v1/00000000-0000-4000-8000-000000000418",
            {"Authorization": "Bearer candid-dev-token"},
            404,
            '{"errorName":"EntityNotFoundError","content":{"id":"00000000-0000-4000-8000-000000000418"}}',
        ),
    ],
    ids=["qubs-A422", "decoda-patient-405", "saferme-team-418", "candid-418"],
)
def test_an_id_for_a_status_without_a_magic_id_is_an_ordinary_id(
    client: TestClient, method: str, path: str, headers: dict[str, str], status: int, body: str
) -> None:
    response = client.request(method, path, headers=headers)
    assert response.status_code == status and body in response.text
