"""The official ``candidhealth`` SDK against a live sandbox: every endpoint, its errors and its retries."""

from __future__ import annotations

import io
import tracemalloc
import uuid
import warnings
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import requests

with warnings.catch_warnings():  # the SDK's pydantic models use v1-style config (deprecation warnings)
    warnings.simplefilter("ignore")
    from candid import CandidApiClient, CandidApiClientEnvironment
    from candid.core import http_client as sdk_http
    from candid.core.api_error import ApiError
    from candid.resources.auth.resources.default.errors import InvalidContentTypeError, TooManyRequestsError
    from candid.resources.encounter_attachments.resources.v_1 import (
        ChargeCaptureAttachment,
        EncounterAttachment,
        EncounterAttachmentType,
    )

from mock_server.testing.server import LiveServer
from mock_server.vendors.candid import auth, models

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:pydantic"),
    pytest.mark.filterwarnings("ignore:Valid config keys have changed in V2:UserWarning"),
    pytest.mark.filterwarnings("ignore:Support for class-based `config` is deprecated"),
]

ENCOUNTER = uuid.UUID("d5e9c84f-c2b2-4bf4-b4b0-7ffd7a9ffc32")
OTHER_ENCOUNTER = uuid.UUID("9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
PLANNED = uuid.UUID("0b5e4f3a-8d2c-4b71-9a6e-1f0c2d3e4a5b")
SEEDED = uuid.UUID("4ee11757-444d-400b-8c78-d6838c8fabcd")
PDF = ("visit-note.pdf", b"%PDF-1.4\n% candid sandbox\n", "application/pdf")


class SdkClients:
    """Builds SDK clients pointed at the live sandbox and closes every httpx client they opened."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.environment = CandidApiClientEnvironment(candid_api=f"{live.url}/candid", pre_encounter=live.url)
        self._opened: list[httpx.Client] = []

    def oauth(self, client_id: str = "candid-dev-client", client_secret: str = "candid-dev-secret") -> Any:
        client = CandidApiClient(
            environment=self.environment, client_id=client_id, client_secret=client_secret
        )
        provider = client._client_wrapper._token.__self__  # the SDK's OAuthTokenProvider
        self._opened += [
            client._client_wrapper.httpx_client.httpx_client,
            provider._auth_client._raw_client._client_wrapper.httpx_client.httpx_client,
        ]
        return client

    def static(self, token: str = "candid-dev-token") -> Any:
        http = httpx.Client(timeout=30)
        self._opened.append(http)
        return CandidApiClient(environment=self.environment, token=lambda: token, httpx_client=http)

    def close(self) -> None:
        for http in self._opened:
            http.close()

    def scenario(self, name: str, *rules: dict[str, Any]) -> None:
        document = {"scenarios": [{"name": name, "description": name, "rules": list(rules)}]}
        assert (
            requests.post(f"{self.live.url}/__admin/scenarios", json=document, timeout=10).status_code == 201
        )

    def convert(self, external_id: str, token: str = "candid-dev-token", **body: str) -> requests.Response:
        return requests.post(
            f"{self.live.url}/candid/__sandbox/charge-captures/{external_id}/convert",
            headers={"Authorization": f"Bearer {token}"},
            json=body or None,
            timeout=10,
        )


@pytest.fixture
def sdk(live: LiveServer) -> Iterator[SdkClients]:
    clients = SdkClients(live)
    yield clients
    clients.close()


@pytest.fixture
def sdk_sleeps(monkeypatch: pytest.MonkeyPatch, live: LiveServer) -> list[float]:
    """The SDK's retry sleeps, recorded instead of slept; each moves the sandbox clock by its length."""
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        live.sandbox.clock.advance(seconds)

    monkeypatch.setattr(sdk_http, "time", SimpleNamespace(sleep=sleep, time=sdk_http.time.time))
    return slept


def test_client_credentials_flow_through_every_endpoint(sdk: SdkClients, live: LiveServer) -> None:
    v1 = sdk.oauth().encounter_attachments.v_1
    [seeded] = v1.get(ENCOUNTER)
    assert isinstance(seeded, EncounterAttachment) and seeded.attachment_id == SEEDED
    first = v1.create(ENCOUNTER, attachment_file=PDF, attachment_type=EncounterAttachmentType.DOCUMENTATION)
    second = v1.create_with_description(
        ENCOUNTER,
        attachment_file=("eob.png", b"\x89PNG\r\n", "image/png"),
        attachment_type="EOB",
        description="remit from payer",
    )
    listed = {item.attachment_id: item for item in v1.get(ENCOUNTER)}
    assert list(listed) == [SEEDED, first, second]
    assert listed[second].description == "remit from payer" and listed[first].description == ""
    assert listed[second].attachment_type is EncounterAttachmentType.EOB
    assert listed[first].created_by.user_metadata.name == "candid-dev-client"
    assert requests.get(listed[first].authed_url, timeout=10).content == PDF[1]
    v1.delete(ENCOUNTER, attachment_id=first)
    assert [item.attachment_id for item in v1.get(ENCOUNTER)] == [SEEDED, second]
    assert len(live.sandbox.journal.entries(operation="candid.getToken")) == 1  # fetched once, then cached


def test_charge_capture_becomes_an_encounter(sdk: SdkClients) -> None:
    v1 = sdk.oauth().encounter_attachments.v_1
    created = v1.create_with_charge_capture_external_id(
        charge_capture_external_id="cc-ext-001",
        attachment_file=("bill.csv", b"cpt,units\n99213,1\n", "text/csv"),
        attachment_type="SUPPORT_DATA_FOR_CLAIM",
        description="charge sheet",
    )
    by_cc = v1.get_by_charge_capture_external_id("cc-ext-001")
    assert all(isinstance(item, ChargeCaptureAttachment) for item in by_cc)
    assert created in [item.attachment_id for item in by_cc]
    with pytest.raises(ApiError) as before:
        v1.get(PLANNED)
    assert before.value.status_code == 404
    converted = sdk.convert("cc-ext-001")
    assert converted.status_code == 200 and converted.json()["encounter_id"] == str(PLANNED)
    on_encounter = {item.attachment_id: item for item in v1.get(PLANNED)}
    assert (
        on_encounter[created].description == "charge sheet" and on_encounter[created].encounter_id == PLANNED
    )
    v1.delete_by_charge_capture_external_id("cc-ext-001", attachment_id=created)
    assert created not in [item.attachment_id for item in v1.get_by_charge_capture_external_id("cc-ext-001")]
    assert created not in [item.attachment_id for item in v1.get(PLANNED)]


SDK_ERRORS: list[tuple[str, Callable[[Any], Any], int, str]] = [
    (
        "unknown-encounter",
        lambda v1: v1.get(uuid.UUID("00000000-0000-4000-8000-0000000000aa")),
        404,
        "EntityNotFoundError",
    ),
    ("other-organization", lambda v1: v1.get(OTHER_ENCOUNTER), 403, "UnauthorizedError"),
    (
        "mime-not-allowed",
        lambda v1: v1.create(
            ENCOUNTER, attachment_file=("a.exe", b"MZ", "application/x-msdownload"), attachment_type="OTHER"
        ),
        422,
        "UnprocessableEntityError",
    ),
    (
        "raw-bytes-are-octet-stream",
        lambda v1: v1.create(ENCOUNTER, attachment_file=b"%PDF", attachment_type="OTHER"),
        422,
        "UnprocessableEntityError",
    ),
    (
        "unknown-attachment-type",
        lambda v1: v1.create_with_description(ENCOUNTER, attachment_file=PDF, attachment_type="INVOICE"),
        422,
        "HttpRequestValidationError",
    ),
    (
        "delete-unknown-attachment",
        lambda v1: v1.delete(ENCOUNTER, attachment_id=uuid.UUID(int=7)),
        404,
        "EntityNotFoundError",
    ),
    ("encounter-not-uuid", lambda v1: v1.get("not-a-uuid"), 422, "HttpRequestValidationError"),
]


@pytest.mark.parametrize(("case", "call", "status", "name"), SDK_ERRORS, ids=[case[0] for case in SDK_ERRORS])
def test_errors_surface_as_the_sdks_api_error(
    sdk: SdkClients, live: LiveServer, case: str, call: Callable[[Any], Any], status: int, name: str
) -> None:
    v1 = sdk.static().encounter_attachments.v_1
    before = len(live.sandbox.storage.objects.list(models.BUCKET))
    with pytest.raises(ApiError) as raised:
        call(v1)
    assert type(raised.value) is ApiError  # the attachment endpoints declare no typed errors in the SDK
    assert raised.value.status_code == status and raised.value.body["errorName"] == name
    assert len(live.sandbox.storage.objects.list(models.BUCKET)) == before


def test_organizations_are_isolated(sdk: SdkClients) -> None:
    other = sdk.oauth("candid-other-client", "candid-other-secret").encounter_attachments.v_1
    assert other.get(OTHER_ENCOUNTER) == []
    assert other.get_by_charge_capture_external_id("cc-ext-001") == []
    with pytest.raises(ApiError) as raised:
        other.delete(OTHER_ENCOUNTER, attachment_id=SEEDED)
    assert raised.value.status_code == 404
    with pytest.raises(ApiError) as raised:
        other.delete_by_charge_capture_external_id(
            "cc-ext-001", attachment_id=uuid.UUID("7c0b2a43-3f1e-4c55-9d7e-2b61f8e0c9a1")
        )
    assert raised.value.status_code == 404
    assert [item.attachment_id for item in sdk.static().encounter_attachments.v_1.get(ENCOUNTER)] == [SEEDED]


def test_expired_token_and_expired_authed_url(sdk: SdkClients, live: LiveServer) -> None:
    v1 = sdk.oauth().encounter_attachments.v_1
    url = v1.get(ENCOUNTER)[0].authed_url
    live.sandbox.clock.advance(3601)
    expired = requests.get(url, timeout=10)
    assert expired.status_code == 403 and b"Request has expired" in expired.content
    live.sandbox.clock.advance(18000 - 3601)
    with pytest.raises(ApiError) as raised:
        v1.get(ENCOUNTER)  # the SDK keeps its cached token (its own clock) and never refreshes on 401
    assert raised.value.status_code == 401 and raised.value.body["errorName"] == "UnauthorizedError"


class LazyFile(io.RawIOBase):
    """``size`` zero bytes produced on demand, so the client never holds the upload in memory."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.pulled = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.left if size is None or size < 0 else min(size, self.left)
        self.left -= size
        self.pulled += size
        return b"\0" * size


def test_25_mb_plus_one_is_refused_while_streaming(sdk: SdkClients, live: LiveServer) -> None:
    v1 = sdk.static().encounter_attachments.v_1
    upload = LazyFile(models.MAX_ATTACHMENT_BYTES + 1)
    tracemalloc.start()
    try:
        with pytest.raises(ApiError) as raised:
            v1.create_with_description(
                ENCOUNTER,
                attachment_file=("scan.pdf", upload, "application/pdf"),
                attachment_type="MEDICAL_RECORD_ATTACHMENT",
            )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert raised.value.status_code == 422
    assert raised.value.body["errorName"] == "UnprocessableEntityError"
    assert upload.pulled == models.MAX_ATTACHMENT_BYTES + 1
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes: the upload was held in memory"
    assert [item.attachment_id for item in v1.get(ENCOUNTER)] == [SEEDED]
    assert len(live.sandbox.storage.objects.list(models.BUCKET)) == 3


def test_token_endpoint_raises_the_sdks_typed_errors(sdk: SdkClients, live: LiveServer) -> None:
    default = sdk.static().auth.default
    auth.configure_rate_limit(live.sandbox, requests=1)
    assert (
        default.get_token(client_id="candid-dev-client", client_secret="candid-dev-secret").expires_in
        == 18000
    )
    with pytest.raises(TooManyRequestsError) as limited:
        default.get_token(client_id="candid-dev-client", client_secret="candid-dev-secret")
    assert limited.value.body.message.startswith("Too many requests")
    assert int(limited.value.headers["retry-after"]) >= 1
    auth.configure_rate_limit(live.sandbox, enabled=False)
    sdk.scenario("token-415", {"id": "t", "match": {"operation": "candid.getToken"}, "respond": 415})
    with pytest.raises(InvalidContentTypeError) as refused:
        default.get_token(client_id="candid-dev-client", client_secret="candid-dev-secret")
    assert refused.value.status_code == 415 and refused.value.body.message
    never = {"operation": "candid.getToken", "path": "/never"}
    sdk.scenario("token-415", {"id": "t", "match": never, "respond": 415})
    with pytest.raises(ApiError) as wrong:
        default.get_token(client_id="candid-dev-client", client_secret="wrong")
    assert type(wrong.value) is ApiError and wrong.value.status_code == 401


def test_retry_after_429_then_success(sdk: SdkClients, sdk_sleeps: list[float]) -> None:
    sdk.scenario(
        "candid-429-once",
        {
            "id": "busy",
            "match": {"operation": "candid.getEncounterAttachments"},
            "times": 1,
            "respond": 429,
            "headers": {"Retry-After": "1"},
        },
    )
    listed = sdk.static().encounter_attachments.v_1.get(ENCOUNTER, request_options={"max_retries": 3})
    assert [item.attachment_id for item in listed] == [SEEDED]
    assert sdk_sleeps == [1.0]


def test_rate_limit_retry_after_is_honoured(
    sdk: SdkClients, live: LiveServer, sdk_sleeps: list[float]
) -> None:
    live.sandbox.clock.freeze()
    auth.configure_rate_limit(live.sandbox, requests=2, window_seconds=10)
    v1 = sdk.static().encounter_attachments.v_1
    v1.get(ENCOUNTER)
    v1.get(ENCOUNTER)
    assert [item.attachment_id for item in v1.get(ENCOUNTER, request_options={"max_retries": 3})] == [SEEDED]
    assert sdk_sleeps == [10.0]


def test_retried_upload_arrives_without_its_fields(
    sdk: SdkClients, live: LiveServer, sdk_sleeps: list[float]
) -> None:
    """SDK 1.37.0 drops ``data`` when it retries, so the retried upload is refused, never half-stored."""
    sdk.scenario(
        "candid-500-once",
        {
            "id": "boom",
            "match": {"operation": "candid.createEncounterAttachmentV2"},
            "times": 1,
            "respond": 500,
            "headers": {"Retry-After": "1"},
        },
    )
    with pytest.raises(ApiError) as raised:
        sdk.static().encounter_attachments.v_1.create_with_description(
            ENCOUNTER, attachment_file=PDF, attachment_type="EOB", request_options={"max_retries": 3}
        )
    assert raised.value.status_code == 422
    assert raised.value.body["content"] == {
        "fieldName": "attachment_type",
        "humanReadableMessage": "attachment_type is required.",
    }
    assert sdk_sleeps == [1.0] and len(live.sandbox.storage.objects.list(models.BUCKET)) == 3
