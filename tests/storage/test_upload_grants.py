"""Upload URLs keep their limits or are refused: never accepted without the cap and single-use rule.

The limits (size cap, single use) are signed into the URL; a single-use URL's use is kept in memory
until the URL expires and a sweep forgets it. A URL issued before a reset or restart, or a single-use one
expired by the last sweep (then the clock moved back), answers S3's 403 ``AccessDenied``.
"""

from __future__ import annotations

import re
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
from mock_server.storage.grants import UNKNOWN_GRANT, decode
from mock_server.storage.service import S3_MAX_OBJECT, upload_cap

BASE = "http://127.0.0.1:8080"
BUCKET = "sandbox-uploads"


def issue(sandbox: Sandbox, key: str = "capped.bin", expires_in: float = 60) -> str:
    url = sandbox.storage.presign_put(
        BASE, BUCKET, key, expires_in=expires_in, max_bytes=4, single_use=True
    ).url
    return url[len(BASE) :]


def claim_others(sandbox: Sandbox, count: int) -> None:
    """``count`` claims of other URLs, valid 10 minutes more: every GRANT_SWEEP_EVERY claims, a sweep."""
    grants = sandbox.storage.grants
    for number in range(count):
        grants.claim(f"other-{number}", sandbox.clock.time() + 600, grants.epoch(), grants.sweeps())


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
    used = issue(sandbox, expires_in=60)
    assert client.put(used, content=b"ok").status_code == 200
    unused = issue(sandbox, key="never-used", expires_in=60)
    sandbox.clock.advance(120)
    claim_others(sandbox, GRANT_SWEEP_EVERY)  # a sweep
    sandbox.clock.advance(-120)
    assert refusal(client.put(used, content=b"a second upload")) == UNKNOWN
    assert refusal(client.put(unused, content=b"a much larger body than the cap")) == UNKNOWN
    assert sandbox.storage.objects.head(BUCKET, "never-used") is None
    assert sandbox.storage.objects.head(BUCKET, "capped.bin").size == 2  # the first upload, untouched


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


def test_nothing_is_kept_per_issued_url_and_claims_until_their_url_expires(
    client: TestClient, sandbox: Sandbox
) -> None:
    storage = sandbox.storage
    for number in range(2 * GRANT_SWEEP_EVERY):
        storage.presign_put(BASE, BUCKET, f"long-{number}", expires_in=600, single_use=True)
    assert len(storage.grants) == 0
    short = issue(sandbox, key="short", expires_in=60)
    assert client.put(short, content=b"ok").status_code == 200
    assert len(storage.grants) == 1
    sandbox.clock.advance(120)  # the short URL expires
    claim_others(sandbox, GRANT_SWEEP_EVERY - 1)  # with the short URL's, GRANT_SWEEP_EVERY claims: a sweep
    assert len(storage.grants) == GRANT_SWEEP_EVERY - 1


@pytest.mark.parametrize(
    ("value", "cap"),
    [
        (None, S3_MAX_OBJECT),
        ("1.4.e.0.aA", 4),
        ("0..e.0.aA", S3_MAX_OBJECT),
        (f"1.{10**15}.e.0.aA", S3_MAX_OBJECT),  # signed by someone holding the sandbox credentials
        (f"1.{S3_MAX_OBJECT + 1}.e.0.aA", S3_MAX_OBJECT),
        (f"1.{10**30}.e.0.aA", S3_MAX_OBJECT),  # not the sandbox's: no grant, S3's own cap
    ],
)
def test_an_upload_s_cap_is_the_url_s_and_never_past_s3_s(value: str | None, cap: int) -> None:
    assert upload_cap(None if value is None else decode(value)) == cap


def test_a_url_with_its_limits_changed_is_refused(client: TestClient, sandbox: Sandbox) -> None:
    path = issue(sandbox)
    raised = path.replace("x-sandbox-grant=1.4.", "x-sandbox-grant=1.4000.", 1)
    assert raised != path
    assert refusal(client.put(raised, content=b"too large"))[:2] == (403, "SignatureDoesNotMatch")
    reusable = path.replace("x-sandbox-grant=1.", "x-sandbox-grant=0.", 1)
    assert refusal(client.put(reusable, content=b"ok"))[:2] == (403, "SignatureDoesNotMatch")
    assert sandbox.storage.objects.head(BUCKET, "capped.bin") is None


def test_a_url_issued_after_the_clock_went_back_past_a_sweep_is_honoured(
    client: TestClient, sandbox: Sandbox
) -> None:
    """The sweep's mark refuses URLs issued before that sweep, not those issued since."""
    sandbox.clock.advance(86_400)
    claim_others(sandbox, GRANT_SWEEP_EVERY)  # a sweep, a day ahead
    sandbox.clock.advance(-86_400)
    fresh = issue(sandbox, key="after-the-sweep")
    assert client.put(fresh, content=b"ok").status_code == 200
    assert refusal(client.put(fresh, content=b"ok"))[:2] == (403, "AccessDenied")


def test_a_grant_too_long_to_be_the_sandbox_s_is_no_server_error(
    client: TestClient, sandbox: Sandbox
) -> None:
    path = issue(sandbox)
    cap = "9" * 5000
    longer = re.sub(r"x-sandbox-grant=1\.4\.", f"x-sandbox-grant=1.{cap}.", path)
    assert longer != path
    assert refusal(client.put(longer, content=b"x"))[:2] == (403, "SignatureDoesNotMatch")
    unsigned = f"/s3/{BUCKET}/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&x-sandbox-grant=1.{cap}.a.0.aA"
    assert client.get(unsigned).status_code in (400, 403)


def test_a_url_whose_host_was_rewritten_names_the_host_it_was_signed_for(
    client: TestClient, sandbox: Sandbox
) -> None:
    path = sandbox.storage.presign_put(
        "http://localhost:18101", BUCKET, "moved.bin", expires_in=60, max_bytes=4, single_use=True
    ).url.replace("localhost:18101", "127.0.0.1:8080")
    status, code, message = refusal(client.put(path[len("http://127.0.0.1:8080") :], content=b"ok"))
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert "signed for host 'localhost:18101'" in message
