"""Candid in-process: charge captures becoming encounters, isolation, rate limit, injected errors,
the served spec and fixture checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server.core import jsontext
from mock_server.core.fixtures import FixtureError
from mock_server.core.fixtures import load_fixtures as load_fixture_files
from mock_server.core.openapi import OpenApiDocument
from mock_server.core.sandbox import Sandbox
from mock_server.vendors.candid import auth, models
from mock_server.vendors.candid.errors import error_for_status
from mock_server.vendors.candid.fixtures import FIXTURES_SCHEMA, load_fixtures
from mock_server.vendors.candid.routes import routes

V1 = "/candid/api/encounter-attachments/v1"
ORG = "83a2a782-35f6-45a7-b5c3-53ca2ebe8887"
ENCOUNTER = "d5e9c84f-c2b2-4bf4-b4b0-7ffd7a9ffc32"
PLANNED = "0b5e4f3a-8d2c-4b71-9a6e-1f0c2d3e4a5b"  # the encounter cc-ext-001 becomes (fixtures)
CONVERTED = "e7c3b1a2-5d4f-4e6a-8b9c-0d1e2f3a4b5c"  # cc-ext-000, converted in the fixtures
OTHER_ENCOUNTER = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
DEV = {"Authorization": "Bearer candid-dev-token"}
OTHER = {"Authorization": "Bearer candid-other-token"}


def error(response: Any, status: int, name: str) -> Any:
    assert response.status_code == status, response.text
    assert response.json()["errorName"] == name
    return response.json()["content"]


class TestChargeCapture:
    def test_listed_by_charge_capture_only_until_it_becomes_an_encounter(self, cc) -> None:
        created = cc.upload().json()
        assert cc.listed() == ["7c0b2a43-3f1e-4c55-9d7e-2b61f8e0c9a1", created]
        error(cc.on_encounter(PLANNED), 404, "EntityNotFoundError")  # the encounter does not exist yet
        converted = cc.convert().json()
        assert converted["encounter_id"] == PLANNED and created in converted["attachment_ids"]
        on_encounter = cc.on_encounter(PLANNED).json()
        assert [item["attachment_id"] for item in on_encounter][-1] == created
        assert all(item["encounter_id"] == PLANNED for item in on_encounter)
        later = cc.upload().json()
        assert later in [item["attachment_id"] for item in cc.on_encounter(PLANNED).json()]
        assert cc.listed()[-1] == later
        assert error(cc.convert(), 409, "EntityConflictError") == {"entity_name": "ChargeCapture"}

    def test_fixture_converted_charge_capture_is_an_encounter_already(self, cc) -> None:
        [item] = cc.on_encounter(CONVERTED).json()
        assert (
            item["description"] == "Referral from primary care" and item["attachment_type"] == "REFERRAL_FORM"
        )
        assert cc.listed("cc-ext-000") == [item["attachment_id"]]

    def test_new_external_id_converts_into_an_existing_encounter(self, cc) -> None:
        created = cc.upload("visit 7/b").json()
        assert cc.listed("visit 7/b") == [created]
        assert created not in [item["attachment_id"] for item in cc.on_encounter(ENCOUNTER).json()]
        cc.convert("visit 7/b", json={"encounter_id": ENCOUNTER})
        assert created in [item["attachment_id"] for item in cc.on_encounter(ENCOUNTER).json()]

    def test_unknown_external_id_lists_nothing_and_cannot_convert(self, cc) -> None:
        assert cc.listed("never-seen") == []
        assert error(cc.convert("never-seen"), 404, "EntityNotFoundError") == {"id": "never-seen"}

    @pytest.mark.parametrize(
        ("kwargs", "status", "name"),
        [
            ({"json": {"encounter_id": OTHER_ENCOUNTER}}, 403, "UnauthorizedError"),
            ({"json": {"encounter_id": "nope"}}, 422, "HttpRequestValidationError"),
            ({"json": {"encounter": ENCOUNTER}}, 422, "HttpRequestValidationError"),
            ({"headers": {}}, 401, "UnauthorizedError"),
        ],
        ids=["other-organizations-encounter", "encounter-not-uuid", "unknown-field", "no-token"],
    )
    def test_convert_refusals(self, cc, kwargs: dict[str, Any], status: int, name: str) -> None:
        error(cc.convert(**kwargs), status, name)
        error(cc.on_encounter(PLANNED), 404, "EntityNotFoundError")

    def test_delete_by_charge_capture(self, cc, sandbox: Sandbox) -> None:
        created = cc.upload().json()
        assert cc.delete(created).status_code == 200
        assert created not in cc.listed()
        assert not [info for info in sandbox.storage.objects.list(models.BUCKET) if created in info.key]
        assert error(cc.delete(created), 404, "EntityNotFoundError") == {"id": created}
        error(cc.delete("4ee11757-444d-400b-8c78-d6838c8fabcd"), 404, "EntityNotFoundError")  # an encounter's

    def test_organizations_do_not_share_external_ids(self, cc) -> None:
        created = cc.upload().json()
        assert cc.listed(headers=OTHER) == []
        error(cc.delete(created, headers=OTHER), 404, "EntityNotFoundError")
        error(cc.convert(headers=OTHER), 404, "EntityNotFoundError")
        mine = cc.upload(headers=OTHER).json()
        assert cc.listed(headers=OTHER) == [mine] and mine not in cc.listed()


class TestRateLimit:
    def test_default_is_the_documented_limit(self, sandbox: Sandbox) -> None:
        limiter = auth.runtime(sandbox).limiter
        assert (limiter.requests, limiter.window_seconds, limiter.enabled) == (1000, 10, True)

    def test_past_the_limit_429_with_retry_after_until_the_window_rolls(
        self, client: TestClient, sandbox: Sandbox, clock: Any, validate_response: Callable[..., Any]
    ) -> None:
        clock.freeze()
        auth.configure_rate_limit(sandbox, requests=3, window_seconds=10)
        token = client.post(
            "/candid/api/auth/v2/token",
            json={"client_id": "candid-dev-client", "client_secret": "candid-dev-secret"},
        )
        assert token.status_code == 200  # the token endpoint counts too
        assert client.get("/candid/openapi.json").status_code == 200  # the spec does not
        for _ in range(2):
            assert client.get(f"{V1}/{ENCOUNTER}", headers=DEV).status_code == 200
        refused = client.get(f"{V1}/{ENCOUNTER}", headers=DEV)
        validate_response("candid", "getEncounterAttachments", refused)
        assert error(refused, 429, "TooManyRequestsError")["message"].startswith("Too many requests")
        assert refused.headers["retry-after"] == "10"
        clock.advance(6)
        assert client.get(f"{V1}/{ENCOUNTER}", headers=DEV).headers["retry-after"] == "4"
        clock.advance(4)
        assert client.get(f"{V1}/{ENCOUNTER}", headers=DEV).status_code == 200

    def test_disabled_by_configuration(self, client: TestClient, sandbox: Sandbox) -> None:
        auth.configure_rate_limit(sandbox, requests=1, enabled=False)
        assert all(client.get(f"{V1}/{ENCOUNTER}", headers=DEV).status_code == 200 for _ in range(3))

    def test_fixtures_set_the_limit(self, sandbox: Sandbox) -> None:
        load_fixtures(sandbox, {"rate_limit": {"requests": 5, "window_seconds": 1.5, "enabled": False}})
        limiter = auth.runtime(sandbox).limiter
        assert (limiter.requests, limiter.window_seconds, limiter.enabled) == (5, 1.5, False)


STATUSES = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "UnauthorizedError",
    404: "EntityNotFoundError",
    409: "EntityConflictError",
    422: "UnprocessableEntityError",
    429: "TooManyRequestsError",
    500: "InternalError",
    502: "HttpServiceUnavailableError",
    503: "HttpServiceUnavailableError",
    504: "HttpServiceUnavailableError",
}


@pytest.mark.parametrize(("status", "name"), STATUSES.items(), ids=[str(s) for s in STATUSES])
def test_magic_encounter_ids_answer_in_candids_shape(
    client: TestClient, validate_response: Callable[..., Any], status: int, name: str
) -> None:
    magic = f"00000000-0000-4000-8000-000000000{status}"
    response = client.get(f"{V1}/{magic}", headers=DEV)
    validate_response("candid", "getEncounterAttachments", response)
    content = error(response, status, name)
    if status == 404:
        assert content == {"id": magic}
    assert error_for_status(status, "x").status == status


def test_magic_charge_capture_ids_in_path_and_form(cc) -> None:
    assert error(cc.upload("charge-capture-503"), 503, "HttpServiceUnavailableError")
    assert (
        cc.client.get(f"{V1}/by-charge-capture-external-id/charge-capture-429", headers=DEV).status_code
        == 429
    )
    assert error(cc.delete(ENCOUNTER, "charge-capture-404"), 404, "EntityNotFoundError") == {
        "id": "charge-capture-404"
    }


def test_unrouted_and_wrong_method_answer_in_candids_shape(client: TestClient) -> None:
    assert error(client.get("/candid/api/nothing-here"), 404, "EntityNotFoundError") == {"id": "nothing-here"}
    assert error(client.post(f"{V1}/{ENCOUNTER}", headers=DEV), 405, "BadRequestError")


class TestSpec:
    def test_served_document_names_every_route(self, client: TestClient, sandbox: Sandbox) -> None:
        document = client.get("/candid/openapi.json").json()
        operations = {
            op["operationId"]: (method, path)
            for path, item in document["paths"].items()
            for method, op in item.items()
            if isinstance(op, dict) and "operationId" in op
        }
        assert set(operations) == {route.name.split(":", 1)[1] for route in routes}
        assert all(route.name.startswith("candid:") for route in routes)
        assert (
            document["paths"]["/__sandbox/charge-captures/{charge_capture_external_id}/convert"]["post"][
                "x-sandbox"
            ]
            is True
        )

    def test_every_operation_documents_its_errors(self, sandbox: Sandbox) -> None:
        path = sandbox.vendors["candid"].openapi_path
        assert path is not None
        document = OpenApiDocument(path)
        for operation_id in document.operations:
            if operation_id == "openapi":
                continue
            for status in (401, 422, 429, 500, 503):
                assert document.response_validator(operation_id, status) is not None, (operation_id, status)


def _org(**extra: Any) -> dict[str, Any]:
    return {"organization_id": "11111111-2222-4333-8444-555555555555", **extra}


def _dated_attachment(created_at: str) -> dict[str, Any]:
    """A Candid fixture section: one organization, one encounter, one attachment created at ``created_at``."""
    attachment = {
        "encounter_id": ENCOUNTER,
        "file_name": "a.txt",
        "content_type": "text/plain",
        "attachment_type": "OTHER",
        "content": "x",
        "created_at": created_at,
    }
    return {"organizations": [_org(encounters=[{"encounter_id": ENCOUNTER}], attachments=[attachment])]}


BROKEN = [
    (
        "duplicate-client",
        {
            "organizations": [
                _org(oauth_clients=[{"client_id": "c", "client_secret": "s"}]),
                {
                    "organization_id": "21111111-2222-4333-8444-555555555555",
                    "oauth_clients": [{"client_id": "c", "client_secret": "t"}],
                },
            ]
        },
        "organizations/1: oauth client c",
    ),
    (
        "attachment-on-unknown-encounter",
        {
            "organizations": [
                _org(
                    attachments=[
                        {
                            "encounter_id": ENCOUNTER,
                            "file_name": "a.txt",
                            "content_type": "text/plain",
                            "attachment_type": "OTHER",
                            "content": "x",
                        }
                    ]
                )
            ]
        },
        "attachments/0: encounter",
    ),
    (
        "converted-without-encounter",
        {"organizations": [_org(charge_captures=[{"charge_capture_external_id": "x", "converted": True}])]},
        "charge_captures/0",
    ),
    ("bad-created-at", _dated_attachment("yesterday"), "attachments/0/created_at"),
    *(
        (
            f"created-at-{name}",
            _dated_attachment(when),
            "attachments/0/created_at: outside years 1-9999 in UTC",
        )
        for name, when in (
            ("past-9999-in-utc", "9999-12-31T23:59:59-01:00"),
            ("before-1", "0001-01-01T00:00:00+01:00"),
        )
    ),
]


@pytest.mark.parametrize(("case", "section", "where"), BROKEN, ids=[case[0] for case in BROKEN])
def test_fixture_references_are_checked(
    sandbox: Sandbox, case: str, section: dict[str, Any], where: str
) -> None:
    sandbox.store.reset()
    sandbox.store.loading = True  # as Sandbox.load_fixtures does
    with pytest.raises(FixtureError, match=where):
        load_fixtures(sandbox, section)


def test_fixture_schema_errors_name_file_and_path(tmp_path: Path) -> None:
    broken = tmp_path / "candid.yaml"
    broken.write_text(
        "candid:\n  organizations:\n    - organization_id: 83a2a782-35f6-45a7-b5c3-53ca2ebe8887\n"
        "      encounters: [{encounter_id: not-a-uuid}]\n",
        encoding="utf-8",
    )
    with pytest.raises(
        FixtureError,
        match=r"candid\.yaml:\d+: candid/organizations/0/encounters/0/encounter_id",
    ):
        load_fixture_files([broken], {"candid": FIXTURES_SCHEMA})


def test_default_fixtures_load_users_and_static_tokens(sandbox: Sandbox) -> None:
    tokens = sandbox.store.list(models.VENDOR, models.GLOBAL, "static_token")
    assert {t.token for t in tokens} == {"candid-dev-token", "candid-other-token"}
    other = next(t for t in tokens if t.token == "candid-other-token")
    assert other.user["user_metadata"] == {"type": "machine_user_metadata", "name": "static-token-1"}
    assert other.user["primary_organization_id"] == "5b2e9f8d-4c1a-4e7b-9d3f-2a6c8e1b0f47"
    assert sandbox.storage.objects.has_bucket(models.BUCKET)
    assert len(sandbox.store.list(models.VENDOR, ORG, "attachment")) == 3


@pytest.mark.parametrize(
    ("given", "listed"),
    [
        ("2024-01-15T09:30:00+02:00", "2024-01-15T07:30:00Z"),
        ("2024-01-15T09:30:00.999999", "2024-01-15T09:30:00Z"),
        ("0999-06-01T12:00:00Z", "0999-06-01T12:00:00Z"),  # four digits, as RFC 3339 (and the SDK) needs
        ("1000-01-01T01:00:00+02:00", "0999-12-31T23:00:00Z"),
    ],
)
def test_fixture_times_are_listed_in_utc_to_the_second(sandbox: Sandbox, given: str, listed: str) -> None:
    sandbox.store.reset()
    sandbox.store.loading = True  # as Sandbox.load_fixtures does
    load_fixtures(sandbox, _dated_attachment(given))
    records = sandbox.store.list("candid", _org()["organization_id"], "attachment")
    chunks = models.attachments_json(
        sandbox.storage, records, base_url="http://127.0.0.1:8080", url_ttl=60, for_encounter=True
    )
    assert [item["created_at"] for item in json.loads(jsontext.array(chunks))] == [listed]
