"""Many clients retrying one request at once, over real sockets: exactly one effect, one answer for all.

QUBS serialises requests that share an Idempotency-Key (the first creates, the others replay its
bytes); SaferMe answers every post of one uploaded key with the same attachment.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from mock_server.testing.server import LiveServer
from mock_server.vendors.qubs import attachments

CLIENTS = 100
QUBS_AUTH = {"Authorization": "Bearer qubs-dev-token"}
QUBS_PENDING = "/qubs/integrations/v1/acme/reporting/appointments/A123456"
SAFERME_AUTH = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}


def _all_at_once(count: int, send: Any) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: send(), range(count)))


def _qubs_attachments(live: LiveServer) -> list[Any]:
    return [a for a in attachments.held(live.sandbox, "acme") if a.appointment_id == "A123456"]


def test_one_idempotency_key_creates_one_set_of_attachments(live: LiveServer) -> None:
    before = {record.guid for record in _qubs_attachments(live)}
    body = {"items": [{"fileName": f"part-{n}.pdf", "contentType": "application/pdf"} for n in range(3)]}
    headers = {**QUBS_AUTH, "Idempotency-Key": "retry-storm-0001"}
    url = f"{live.url}{QUBS_PENDING}/report/attachments"

    responses = _all_at_once(CLIENTS, lambda: requests.post(url, json=body, headers=headers, timeout=60))

    assert [r.status_code for r in responses] == [201] * CLIENTS
    assert len({r.content for r in responses}) == 1, "every client gets the same bytes"
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == CLIENTS - 1
    created = {record.guid for record in _qubs_attachments(live)} - before
    assert created == {item["guid"] for item in responses[0].json()["items"]}
    assert len(created) == 3


def test_one_idempotency_key_posts_one_comment(live: LiveServer) -> None:
    headers = {**QUBS_AUTH, "Idempotency-Key": "retry-storm-0002"}
    url = f"{live.url}{QUBS_PENDING}/comments"

    responses = _all_at_once(
        CLIENTS,
        lambda: requests.post(url, json={"commentText": "Prior imaging?"}, headers=headers, timeout=60),
    )

    assert [r.status_code for r in responses] == [201] * CLIENTS
    assert len({r.content for r in responses}) == 1
    comments = live.sandbox.store.list("qubs", "acme", "comment")
    assert [comment["commentId"] for comment in comments] == [responses[0].json()["commentId"]]


def test_one_idempotency_key_with_two_payloads_has_one_winner(live: LiveServer) -> None:
    headers = {**QUBS_AUTH, "Idempotency-Key": "retry-storm-0003"}
    url = f"{live.url}{QUBS_PENDING}/report/attachments"
    before = len(_qubs_attachments(live))
    bodies = [{"items": [{"fileName": f"variant-{n % 2}.pdf"}]} for n in range(CLIENTS)]

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        responses = list(pool.map(lambda b: requests.post(url, json=b, headers=headers, timeout=60), bodies))

    created = [r for r in responses if r.status_code == 201]
    conflicts = [r for r in responses if r.status_code == 409]
    assert len(created) + len(conflicts) == CLIENTS
    winner = created[0].json()["items"][0]["fileName"]
    assert all(r.json()["items"][0]["fileName"] == winner for r in created)
    assert len(created) == sum(b["items"][0]["fileName"] == winner for b in bodies)
    assert len(_qubs_attachments(live)) == before + 1


def test_saferme_same_key_posted_at_once_is_one_attachment(live: LiveServer) -> None:
    grant = requests.get(
        f"{live.url}/saferme/api/v4/file_attachments/upload_authorization",
        params={"content_type": "application/pdf"},
        headers=SAFERME_AUTH,
        timeout=60,
    )
    authorization = grant.json()["upload_authorization"]
    key = authorization["key_prefix"] + "report.pdf"
    uploaded = requests.post(
        authorization["url"],
        data={**authorization["fields"], "key": key},
        files={"file": ("report.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        timeout=60,
    )
    assert uploaded.status_code == 201, uploaded.text
    url = f"{live.url}/saferme/api/v4/file_attachments"

    responses = _all_at_once(
        CLIENTS,
        lambda: requests.post(url, json={"file_attachment": {"key": key}}, headers=SAFERME_AUTH, timeout=60),
    )

    assert {r.status_code for r in responses} == {202}
    assert {r.json()["id"] for r in responses} == {responses[0].json()["id"]}
    assert len(live.sandbox.store.list("saferme", "1234", "file_attachment")) == 1
