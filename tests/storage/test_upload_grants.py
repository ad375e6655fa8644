"""Upload URLs keep their limits or are refused: never accepted without the cap and single-use rule.

A grant (size cap, single use) lives in memory; it is forgotten when swept after expiry, on reset and
on restart. A URL the sandbox issued whose grant is gone answers S3's 403 ``AccessDenied``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.sandbox import Sandbox
from mock_server.settings import Settings
from mock_server.storage.grants import SWEEP_EVERY as GRANT_SWEEP_EVERY
from mock_server.storage.service import UNKNOWN_GRANT

BASE = "http://127.0.0.1:8080"
BUCKET = "sandbox-uploads"


def issue(sandbox: Sandbox, key: str = "capped.bin", expires_in: float = 60) -> str:
    url = sandbox.storage.presign_put(
        BASE, BUCKET, key, expires_in=expires_in, max_bytes=4, single_use=True
    ).url
    return url[len(BASE) :]


def refusal(response) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    root = ET.fromstring(response.content)
    return response.status_code, root.findtext("Code") or "", root.findtext("Message") or ""


UNKNOWN = (403, "AccessDenied", UNKNOWN_GRANT)


def test_limits_hold_while_the_grant_is_known(client: TestClient, sandbox: Sandbox) -> None:
    path = issue(sandbox)
    assert refusal(client.put(path, content=b"too large"))[:2] == (400, "EntityTooLarge")
    assert client.put(path, content=b"ok").status_code == 200
    assert refusal(client.put(path, content=b"ok"))[:2] == (403, "AccessDenied")


def test_clock_moved_back_after_the_sweep_refuses_the_url(client: TestClient, sandbox: Sandbox) -> None:
    path = issue(sandbox, expires_in=60)
    sandbox.clock.advance(120)
    for number in range(GRANT_SWEEP_EVERY):  # issuing sweeps expired grants every GRANT_SWEEP_EVERY URLs
        sandbox.storage.presign_put(BASE, BUCKET, f"filler-{number}", expires_in=600)
    sandbox.clock.advance(-120)
    assert refusal(client.put(path, content=b"a much larger body than the cap")) == UNKNOWN
    assert sandbox.storage.objects.head(BUCKET, "capped.bin") is None


def test_url_issued_before_a_reset_is_refused(client: TestClient, sandbox: Sandbox) -> None:
    path = issue(sandbox)
    sandbox.reset()
    assert refusal(client.put(path, content=b"x")) == UNKNOWN


@pytest.fixture
def restarted(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, base_url=BASE) as other:
        yield other
    app.state.sandbox.close()


def test_url_issued_before_a_restart_is_refused(sandbox: Sandbox, restarted: TestClient) -> None:
    assert refusal(restarted.put(issue(sandbox), content=b"x")) == UNKNOWN


def test_urls_presigned_by_clients_need_no_grant(client: TestClient, sandbox: Sandbox) -> None:
    settings = sandbox.settings
    s3 = boto3.client(
        "s3",
        endpoint_url=f"{BASE}/s3",
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key,
        region_name=settings.s3_region,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "mine.txt"})
    assert client.put(url[len(BASE) :], content=b"free size").status_code == 200


def test_grants_are_kept_until_expired_and_forgotten_at_the_next_sweep(sandbox: Sandbox) -> None:
    storage = sandbox.storage
    for number in range(4 * GRANT_SWEEP_EVERY):  # sweeps come and find nothing expired
        storage.presign_put(BASE, BUCKET, f"long-{number}", expires_in=600)
    short = issue(sandbox, key="short", expires_in=60)
    assert len(storage.grants) == 4 * GRANT_SWEEP_EVERY + 1
    sandbox.clock.advance(120)  # the short URL's grant expires; the others do not
    for number in range(GRANT_SWEEP_EVERY - 1):
        storage.presign_put(BASE, BUCKET, f"later-{number}", expires_in=600)
    assert storage.grant_for(short.rsplit("X-Amz-Signature=", 1)[1]) is None
    assert len(storage.grants) == 5 * GRANT_SWEEP_EVERY - 1
