"""Two sessions live at once share nothing: clock, scenarios, idempotency keys, objects, journal, URLs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

QUBS = "/qubs/integrations/v1/acme/reporting/appointments/A123456"
AUTH = {"Authorization": "Bearer qubs-dev-token"}
PDF = {"Content-Type": "application/pdf"}


def _busy(status: int) -> dict:
    rule = {"match": {"operation": "qubs.listReportingAttachments"}, "respond": {"status": status}}
    return {"scenarios": [{"name": "busy", "description": f"always {status}", "rules": [rule]}]}


@pytest.fixture
def sessions(app: Starlette, client: TestClient) -> Iterator[dict[str, str]]:
    made = {name: client.post("/__admin/sessions", json={"name": name}).json() for name in ("a", "b")}
    yield {name: body["pathPrefix"] for name, body in made.items()}
    app.state.sessions.close()


def _upload(client: TestClient, prefix: str, body: bytes, key: str = "same-key") -> dict:
    headers = {**AUTH, "Idempotency-Key": key}
    items = {"items": [{"fileName": "report.pdf", "contentType": "application/pdf"}]}
    created = client.post(f"{prefix}{QUBS}/report/attachments", json=items, headers=headers)
    assert created.status_code == 201, created.text
    item = created.json()["items"][0]
    assert client.put(item["uploadUrl"], content=body, headers=PDF).status_code == 200
    return item


def test_two_sessions_share_nothing(client: TestClient, sessions: dict[str, str]) -> None:
    a, b = sessions["a"], sessions["b"]
    client.post(f"{a}/__admin/clock", json={"advance": 3600})
    client.post(f"{b}/__admin/clock", json={"advance": -3600})
    client.post(f"{a}/__admin/scenarios", json=_busy(429))
    client.post(f"{b}/__admin/scenarios", json=_busy(503))

    item_a = _upload(client, a, b"from a")
    item_b = _upload(client, b, b"from b, longer")

    # time: each its own offset, the default session untouched
    offsets = [client.get(f"{p}/__admin/clock").json()["offsetSeconds"] for p in (a, b, "")]
    assert offsets == [3600, -3600, 0]
    # scenarios: the same name, each session's own rule
    assert client.get(f"{a}{QUBS}/attachments", headers=AUTH).status_code == 429
    assert client.get(f"{b}{QUBS}/attachments", headers=AUTH).status_code == 503
    assert client.get(f"{QUBS}/attachments", headers=AUTH).status_code == 200
    # the same Idempotency-Key with the same seed: the same guid and object key, apart
    assert item_a["guid"] == item_b["guid"]
    assert "/~s/a/s3/" in item_a["uploadUrl"] and "/~s/b/s3/" in item_b["uploadUrl"]
    sizes = {}
    for name, prefix in sessions.items():
        [stored] = client.get(
            f"{prefix}/__admin/objects", params={"prefix": f"acme/A123456/{item_a['guid']}"}
        ).json()["objects"]
        sizes[name] = stored["size"]
    assert sizes == {"a": 6, "b": 14}
    assert (
        client.get("/__admin/objects", params={"prefix": f"acme/A123456/{item_a['guid']}"}).json()["objects"]
        == []
    )
    # journal: each sees only its own calls
    for prefix, status in ((a, 429), (b, 503)):
        entries = client.get(f"{prefix}/__admin/requests").json()["requests"]
        assert [entry["status"] for entry in entries] == [status, 200, 201]
    assert client.get("/__admin/requests").json()["requests"][0]["status"] == 200


def test_urls_of_one_session_are_refused_by_another(client: TestClient, sessions: dict[str, str]) -> None:
    item = _upload(client, sessions["a"], b"a's")
    again = client.post(
        f"{sessions['a']}{QUBS}/report/attachments",
        json={"items": [{"fileName": "late.pdf", "contentType": "application/pdf"}]},
        headers=AUTH,
    ).json()["items"][0]["uploadUrl"]
    # moved to another session or to the default one, the signed path no longer matches: S3's 403
    for elsewhere in (again.replace("/~s/a/", "/~s/b/"), again.replace("/~s/a/", "/")):
        refused = client.put(elsewhere, content=b"x", headers=PDF)
        assert refused.status_code == 403, refused.text
    # a record id of session a is unknown in session b
    guid = item["guid"]
    path = f"/qubs/integrations/v1/acme/appointments/A123456/attachments/{guid}"
    assert client.get(sessions["a"] + path, headers=AUTH).status_code == 200
    assert client.get(sessions["b"] + path, headers=AUTH).status_code == 404


def test_gcs_style_links_carry_and_sign_the_prefix(app: Starlette, client: TestClient) -> None:
    client.post("/__admin/sessions", json={"name": "g"})
    sandbox = app.state.sessions.sandbox("g")
    objects = sandbox.storage.objects
    [info, *_] = objects.list("qubs-report-attachments")
    link = sandbox.storage.download_url(
        "http://127.0.0.1:8080/~s/g", info.bucket, info.key, expires_in=60
    ).url
    assert link.startswith("http://127.0.0.1:8080/~s/g/gcs/")
    assert client.get(link).status_code == 200
    assert client.get(link.replace("/~s/g/", "/")).status_code == 403
    app.state.sessions.close()


def test_every_vendors_generated_urls_carry_the_prefix_and_work(
    client: TestClient, sessions: dict[str, str]
) -> None:
    a = sessions["a"]
    # Decoda: signedUrl (GCS-style link) of an uploaded attachment
    decoda = {"API-KEY": "decoda-dev-key", "TENANT": "demo"}
    uploaded = client.post(
        f"{a}/decoda/attachments/bulk",
        headers=decoda,
        data={"patient_id": "P1001"},
        files=[("attachments", ("note.txt", b"decoda bytes", "text/plain"))],
    )
    assert uploaded.status_code == 200, uploaded.text
    signed = uploaded.json()["attachments"][0]["signedUrl"]
    assert "/~s/a/gcs/" in signed and client.get(signed).content == b"decoda bytes"
    # SaferMe: the POST-policy form URL
    saferme = {
        "Authorization": "Token token=saferme-dev-token",
        "X-AppId": "com.thundermaps.saferme",
        "X-TeamId": "1234",
    }
    authorized = client.get(
        f"{a}/saferme/api/v4/file_attachments/upload_authorization?content_type=text/plain", headers=saferme
    )
    assert authorized.status_code == 200, authorized.text
    form = authorized.json()["upload_authorization"]
    assert "/~s/a/s3/" in form["url"]
    fields = {name: value.replace("${filename}", "n.txt") for name, value in form["fields"].items()}
    posted = client.post(form["url"], data=fields, files={"file": ("n.txt", b"saferme", "text/plain")})
    assert posted.status_code in (200, 201, 204), posted.text
    # Candid: authed_url of an encounter attachment
    candid = {"Authorization": "Bearer candid-dev-token"}
    encounter = f"{a}/candid/api/encounter-attachments/v1/d5e9c84f-c2b2-4bf4-b4b0-7ffd7a9ffc32"
    created = client.put(
        f"{encounter}/v2",
        headers=candid,
        data={"attachment_type": "DOCUMENTATION"},
        files={"attachment_file": ("n.pdf", b"%PDF-1.4 candid", "application/pdf")},
    )
    assert created.status_code == 200, created.text
    listed = client.get(encounter, headers=candid)
    [attachment] = [item for item in listed.json() if item["authed_url"]][-1:]
    assert "/~s/a/s3/" in attachment["authed_url"]
    assert client.get(attachment["authed_url"]).status_code == 200
