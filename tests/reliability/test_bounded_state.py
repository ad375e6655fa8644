"""A sandbox left running stays bounded: spooled bodies, stored objects (no descriptor each), records,
idempotency keys and their locks; each cap answers a clear error in the vendor's format; a reset
while an upload is in flight leaves no half state.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.bodies import SPOOL_IN_MEMORY, BodyWriter
from mock_server.core.clock import Clock
from mock_server.core.idempotency import SWEEP_EVERY, IdempotencyStore, IdempotencyStoreFull, StoredResponse
from mock_server.core.sandbox import Sandbox
from mock_server.settings import Settings

MiB = 1024 * 1024
BUCKET = "staging-thundermaps-uploads"
QUBS_AUTH = {"Authorization": "Bearer qubs-dev-token"}
QUBS_COMMENTS = "/qubs/integrations/v1/acme/reporting/appointments/A123456/comments"
DECODA_AUTH = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _body(size: int) -> BodyWriter:
    writer = BodyWriter()
    writer.write(os.urandom(1024) * (size // 1024))
    return writer


@pytest.fixture
def app_with(request: pytest.FixtureRequest) -> Iterator[Starlette]:
    application = create_app(Settings(seed=11, default_scenarios=False, **request.param))
    yield application
    application.state.sandbox.close()


@pytest.fixture
def client_of(app_with: Starlette) -> Iterator[TestClient]:
    with TestClient(app_with, base_url="http://127.0.0.1:8080", raise_server_exceptions=False) as client:
        yield client


# -- bodies and objects -----------------------------------------------------------------------------
def test_stalled_bodies_keep_a_bounded_spool_in_memory() -> None:
    """200 uploads stalled after 1 MB: each keeps at most the in-memory spool, the rest is on disk."""
    tracemalloc.start()
    try:
        writers = []
        for _ in range(200):
            writer = BodyWriter(limit=2 * MiB)
            for _ in range(16):
                writer.write(b"x" * 64 * 1024)
            writers.append(writer)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        for writer in writers:
            writer.abort()
    assert held < 200 * SPOOL_IN_MEMORY, f"{held / MiB:.1f} MiB held by 200 stalled 1 MB bodies"


def test_stored_objects_over_the_spool_hold_no_descriptor(
    quiet_app: Starlette, quiet_client: TestClient
) -> None:
    objects = quiet_app.state.sandbox.storage.objects
    now = quiet_app.state.sandbox.clock.now()
    before = _open_descriptors()
    for n in range(200):
        objects.put(
            BUCKET, f"fd/{n}.bin", _body(SPOOL_IN_MEMORY + 4096).finish(), content_type=None, uploaded_at=now
        )
    assert _open_descriptors() - before < 10
    response = quiet_client.get(f"/__admin/objects/{BUCKET}/fd/7.bin")
    assert response.status_code == 200
    assert len(response.content) == SPOOL_IN_MEMORY + 4096
    assert objects.read(BUCKET, "fd/7.bin") == response.content
    for n in range(200):
        assert objects.delete(BUCKET, f"fd/{n}.bin")


def test_replaced_and_deleted_objects_leave_no_files(quiet_app: Starlette) -> None:
    objects = quiet_app.state.sandbox.storage.objects
    now = quiet_app.state.sandbox.clock.now()
    directory = objects._directory
    for _ in range(3):
        objects.put(
            BUCKET, "same.bin", _body(2 * SPOOL_IN_MEMORY).finish(), content_type=None, uploaded_at=now
        )
    assert len(os.listdir(directory)) == 1
    objects.delete(BUCKET, "same.bin")
    assert os.listdir(directory) == []


@pytest.mark.parametrize("app_with", [{"max_objects": 1_000}], indirect=True)
def test_object_cap_answers_s3_storage_full(app_with: Starlette, client_of: TestClient) -> None:
    storage = app_with.state.sandbox.storage
    storage.objects.max_objects = len(storage.objects.list()) + 2  # room for two more beside the fixtures
    statuses = []
    for n in range(3):
        issued = storage.presign_put("http://127.0.0.1:8080", BUCKET, f"cap/{n}", expires_in=600)
        statuses.append(client_of.put(issued.url, content=b"data"))
    assert [r.status_code for r in statuses] == [200, 200, 507]
    assert b"<Code>StorageFull</Code>" in statuses[2].content
    assert statuses[2].headers["content-type"].startswith("application/xml")


@pytest.mark.parametrize("app_with", [{"max_object_bytes": 1_000_000}], indirect=True)
def test_object_byte_cap_answers_storage_full(app_with: Starlette, client_of: TestClient) -> None:
    objects = app_with.state.sandbox.storage.objects
    objects.max_bytes = sum(info.size for info in objects.list()) + 10
    issued = app_with.state.sandbox.storage.presign_put(
        "http://127.0.0.1:8080", BUCKET, "big", expires_in=600
    )
    response = client_of.put(issued.url, content=b"x" * 11)
    assert response.status_code == 507
    assert app_with.state.sandbox.storage.objects.head(BUCKET, "big") is None


# -- records ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("app_with", [{"max_records": 10_000}], indirect=True)
def test_record_cap_answers_in_the_vendors_format(app_with: Starlette, client_of: TestClient) -> None:
    store = app_with.state.sandbox.store
    store.max_records = store.count() + 2
    statuses = [
        client_of.post(QUBS_COMMENTS, json={"commentText": f"note {n}"}, headers=QUBS_AUTH) for n in range(3)
    ]
    assert [r.status_code for r in statuses] == [201, 201, 507]
    assert statuses[2].headers["content-type"] == "application/problem+json"
    assert statuses[2].json()["status"] == 507
    assert store.count() == store.max_records


# -- idempotency ------------------------------------------------------------------------------------
def _stored(n: int) -> StoredResponse:
    return StoredResponse(201, b"%d" % n)


def test_expired_keys_and_their_locks_are_dropped() -> None:
    clock = Clock()
    clock.freeze("2030-01-01T00:00:00Z")
    store = IdempotencyStore(clock)
    for n in range(3 * SWEEP_EVERY):
        store.run("scope", f"key-{n}", "fp", 60, lambda n=n: _stored(n))
    assert store.held() == (3 * SWEEP_EVERY, 0), "no lock outlives its request"
    clock.advance(61)
    for n in range(SWEEP_EVERY):
        store.run("scope", f"fresh-{n}", "fp", 60, lambda n=n: _stored(n))
    entries, locks = store.held()
    assert entries <= SWEEP_EVERY and locks == 0


def test_idempotency_cap_refuses_new_keys_and_frees_on_expiry() -> None:
    clock = Clock()
    clock.freeze("2030-01-01T00:00:00Z")
    store = IdempotencyStore(clock, max_keys=3)
    for n in range(3):
        store.run("scope", f"key-{n}", "fp", 60, lambda n=n: _stored(n))
    with pytest.raises(IdempotencyStoreFull):
        store.run("scope", "one-too-many", "fp", 60, lambda: _stored(9))
    assert store.run("scope", "key-0", "fp", 60, lambda: _stored(9)) == (_stored(0), True)
    clock.advance(61)
    assert store.run("scope", "after-expiry", "fp", 60, lambda: _stored(7)) == (_stored(7), False)


@pytest.mark.parametrize("app_with", [{"max_idempotency_keys": 1}], indirect=True)
def test_idempotency_cap_answers_in_the_vendors_format(app_with: Starlette, client_of: TestClient) -> None:
    first = client_of.post(
        QUBS_COMMENTS, json={"commentText": "a"}, headers={**QUBS_AUTH, "Idempotency-Key": "k-1"}
    )
    second = client_of.post(
        QUBS_COMMENTS, json={"commentText": "b"}, headers={**QUBS_AUTH, "Idempotency-Key": "k-2"}
    )
    assert (first.status_code, second.status_code) == (201, 507)
    assert second.headers["content-type"] == "application/problem+json"


# -- reset during an upload -------------------------------------------------------------------------
def _decoda_upload(client: TestClient) -> object:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="patient_id"\r\n\r\nP1001\r\n'
        b'--b\r\nContent-Disposition: form-data; name="attachments"; filename="a.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n\r\n"
        b'--b\r\nContent-Disposition: form-data; name="attachments"; filename="b.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n\r\n--b--\r\n"
    )
    return client.post(
        "/decoda/attachments/bulk",
        content=body,
        headers={**DECODA_AUTH, "Content-Type": "multipart/form-data; boundary=b"},
    )


def _every_record_has_its_file(sandbox: Sandbox) -> None:
    for record in sandbox.store.list("decoda", "demo", "attachment"):
        assert sandbox.storage.objects.head("decoda-attachments", record["objectKey"]) is not None, record


@pytest.mark.parametrize("reset_after_puts", [1, 2])
@pytest.mark.parametrize("app_with", [{}], indirect=True)
def test_reset_during_a_decoda_upload_leaves_no_half_state(
    app_with: Starlette, client_of: TestClient, monkeypatch: pytest.MonkeyPatch, reset_after_puts: int
) -> None:
    sandbox: Sandbox = app_with.state.sandbox
    objects = sandbox.storage.objects
    original = objects.put
    calls = {"n": 0}

    def put_then_reset(*args: object, **kwargs: object) -> object:
        info = original(*args, **kwargs)  # type: ignore[arg-type]
        calls["n"] += 1
        if calls["n"] == reset_after_puts:
            sandbox.reset()  # what POST /__admin/reset does, between this upload's writes
        return info

    monkeypatch.setattr(objects, "put", put_then_reset)
    response = _decoda_upload(client_of)
    monkeypatch.undo()

    assert response.status_code == 503, response.text
    assert sandbox.store.list("decoda", "demo", "attachment") == []
    assert [info for info in objects.list("decoda-attachments")] == []
    assert _decoda_upload(client_of).status_code == 200
    _every_record_has_its_file(sandbox)


SAFERME = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}


@pytest.mark.parametrize("app_with", [{}], indirect=True)
def test_reset_while_saferme_styles_are_made_does_not_resurrect_the_attachment(
    app_with: Starlette, client_of: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from PIL import Image

    from mock_server.vendors.saferme import styles

    sandbox: Sandbox = app_with.state.sandbox
    grant = client_of.get(
        "/saferme/api/v4/file_attachments/upload_authorization",
        params={"content_type": "image/png"},
        headers=SAFERME,
    ).json()["upload_authorization"]
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(image, "PNG")
    key = grant["key_prefix"] + "p.png"
    uploaded = client_of.post(
        grant["url"].removeprefix("http://127.0.0.1:8080"),
        data={**grant["fields"], "key": key},
        files={"file": ("p.png", image.getvalue(), "image/png")},
    )
    assert uploaded.status_code == 201, uploaded.text
    created = client_of.post(
        "/saferme/api/v4/file_attachments", json={"file_attachment": {"key": key}}, headers=SAFERME
    )
    assert created.status_code == 202
    sandbox.clock.advance(3600)
    derive = styles.derive_styles

    def derive_then_reset(*args: object) -> dict[str, str]:
        made = derive(*args)  # type: ignore[arg-type]
        assert made, "the styles were written"
        sandbox.reset()  # what POST /__admin/reset does while the worker thread runs
        return made

    monkeypatch.setattr(styles, "derive_styles", derive_then_reset)
    response = client_of.get(f"/saferme/api/v4/file_attachments/{created.json()['id']}", headers=SAFERME)
    monkeypatch.undo()

    assert response.status_code == 503, response.text
    assert sandbox.store.list("saferme", "1234", "file_attachment") == []
    assert [info.key for info in sandbox.storage.objects.list(prefix="async_uploads/")] == []
