"""QUBS seed endpoint in-process: POST .../report/attachments rules, problem bodies and idempotency."""

from __future__ import annotations

import gc
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

import mock_server.app
from mock_server.core.sandbox import Sandbox
from mock_server.core.store import Store
from mock_server.settings import Settings
from mock_server.vendors.qubs import attachments

PATH = "/qubs/integrations/v1/{domain}/reporting/appointments/{appointment}/report/attachments"
PDF = {"fileName": "report.pdf", "contentType": "application/pdf"}
ACME = {"Authorization": "Bearer qubs-dev-token"}


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"urn:qubs:integrations:{slug}" and body["status"] == status
    assert body["requestId"] == response.headers["x-correlation-id"]
    return body


class TestCreate:
    def test_creates_metadata_and_upload_urls(self, qubs, sandbox: Sandbox) -> None:
        sandbox.clock.freeze("2026-11-24T10:00:00Z")
        body = {"items": [PDF, {"fileName": "sr.dcm", "contentType": "application/dicom", "category": "sr"}]}
        response = qubs.create(body)
        assert response.status_code == 201
        items = response.json()["items"]
        assert [(i["fileName"], i["category"]) for i in items] == [("report.pdf", "report"), ("sr.dcm", "sr")]
        assert len({i["guid"] for i in items}) == 2
        assert {i["uploadUrlExpiresAtUtc"] for i in items} == {"2026-11-24T10:15:00Z"}
        first = items[0]["uploadUrl"]
        assert first.startswith("http://127.0.0.1:8080/s3/qubs-report-attachments/acme/A123456/")
        assert (
            f"/{items[0]['guid']}/report.pdf?" in first and "X-Amz-SignedHeaders=content-type%3Bhost" in first
        )
        assert qubs.attachment_count(sandbox) == 2

    def test_content_type_unsigned_when_absent(self, qubs) -> None:
        item = qubs.create({"items": [{"fileName": "notes.pdf", "contentType": None}]}).json()["items"][0]
        assert "X-Amz-SignedHeaders=host&" in item["uploadUrl"]

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("report.pdf", "report.pdf"),
            ("folder/sub/report.pdf", "report.pdf"),
            ("C:\\Users\\rad\\report.pdf", "report.pdf"),
            ("../../etc/passwd", "passwd"),
            ("re\x00port.pdf", "report.pdf"),
            ("  spaced name.pdf  ", "spaced name.pdf"),
            ("ünïcode résumé.pdf", "ünïcode résumé.pdf"),
        ],
        ids=["plain", "posix-path", "windows-path", "traversal", "nul-byte", "blanks", "unicode"],
    )
    def test_file_name_path_segments_stripped(self, qubs, sandbox: Sandbox, raw: str, expected: str) -> None:
        item = qubs.create({"items": [{"fileName": raw}]}).json()["items"][0]
        assert item["fileName"] == expected
        record = attachments.get(sandbox, "acme", "A123456", item["guid"])
        assert record.key == f"acme/A123456/{item['guid']}/{expected}"

    @pytest.mark.parametrize(
        ("raw", "content_type", "extension"),
        [
            ("", "application/pdf", ".pdf"),
            ("folder/", "application/dicom", ".dcm"),
            ("..", None, ".bin"),
            ("\\", None, ".bin"),
        ],
        ids=["empty", "trailing-slash", "dot-dot", "backslash-only"],
    )
    def test_empty_name_gets_fallback(self, qubs, raw: str, content_type: str | None, extension: str) -> None:
        item = qubs.create({"items": [{"fileName": raw, "contentType": content_type}]}).json()["items"][0]
        assert item["fileName"] == f"attachment-{item['guid'][:8]}{extension}"

    @pytest.mark.parametrize("category", [None, "", "MISSING"], ids=["null", "empty", "omitted"])
    def test_category_defaults_to_report(self, qubs, category: str | None) -> None:
        item = {"fileName": "a.pdf"} if category == "MISSING" else {"fileName": "a.pdf", "category": category}
        assert qubs.create({"items": [item]}).json()["items"][0]["category"] == "report"

    def test_twenty_items_and_255_characters_are_allowed(self, qubs) -> None:
        response = qubs.create({"items": [{"fileName": "x" * 251 + ".pdf"}] * 20})
        assert response.status_code == 201 and len(response.json()["items"]) == 20

    def test_expiry_follows_scenario_lifetime(
        self, qubs, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sandbox.clock.freeze("2026-11-24T10:00:00Z")
        monkeypatch.setattr(type(sandbox), "lifetime", lambda self, request, default: 60.0)
        item = qubs.create({"items": [PDF]}).json()["items"][0]
        assert (
            item["uploadUrlExpiresAtUtc"] == "2026-11-24T10:01:00Z"
            and "X-Amz-Expires=60&" in item["uploadUrl"]
        )


class TestValidation:
    @pytest.mark.parametrize(
        ("body", "field", "rule"),
        [
            ({}, "items", "required"),
            ({"items": []}, "items", "minItems"),
            ({"items": [PDF] * 21}, "items", "maxItems"),
            ({"items": "report.pdf"}, "items", "type"),
            ({"items": [{}]}, "items[0].fileName", "required"),
            ({"items": [{"fileName": 42}]}, "items[0].fileName", "type"),
            ({"items": [{"fileName": "x" * 256}]}, "items[0].fileName", "maxLength"),
            ({"items": [{"fileName": "a.txt", "contentType": "text/plain"}]}, "items[0].contentType", "enum"),
            (
                {"items": [{"fileName": "a.pdf", "contentType": "APPLICATION/PDF"}]},
                "items[0].contentType",
                "enum",
            ),
            ({"items": [{"fileName": "a.pdf", "category": 7}]}, "items[0].category", "type"),
            ([PDF], "body", "type"),
        ],
        ids=[
            "items-missing",
            "items-empty",
            "items-21",
            "items-not-array",
            "fileName-missing",
            "fileName-number",
            "fileName-256",
            "contentType-text",
            "contentType-case",
            "category-number",
            "body-array",
        ],
    )
    def test_body_rules(self, qubs, sandbox: Sandbox, body: Any, field: str, rule: str) -> None:
        detail = problem(qubs.create(body), 400, "bad-request")["detail"]
        assert f"{field} " in detail and f"(rule: {rule})" in detail
        assert qubs.attachment_count(sandbox) == 0

    @pytest.mark.parametrize(
        ("content", "content_type", "needle"),
        [
            (b'{"items": [', "application/json", "not valid JSON"),
            (b"\xff\xfe", "application/json", "not valid JSON"),
            (b'{"items": [{"fileName": "a.pdf"}]}', "text/plain", "Content-Type must be application/json"),
            (b"items=a.pdf", "application/x-www-form-urlencoded", "Content-Type must be application/json"),
            (b'{"items": [{"fileName": "a.pdf"}]}', "", "Content-Type must be application/json"),
            (b'{"items": [{"fileName": "' + b"a" * 300_000 + b'"}]}', "application/json", "exceeds"),
        ],
        ids=["truncated-json", "not-utf8", "text-plain", "form", "no-content-type", "over-cap"],
    )
    def test_malformed_bodies(self, qubs, content: bytes, content_type: str, needle: str) -> None:
        response = qubs.create(content=content, headers={"Content-Type": content_type})
        assert needle in problem(response, 400, "bad-request")["detail"]

    def test_all_failures_are_listed(self, qubs) -> None:
        detail = problem(qubs.create({"items": [{"contentType": "x"}, {"fileName": 1}]}), 400, "bad-request")[
            "detail"
        ]
        assert "items[0].fileName is required" in detail and "items[0].contentType" in detail
        assert "items[1].fileName must be of type string" in detail


class TestAccess:
    @pytest.mark.parametrize(
        ("domain", "appointment", "why"),
        [
            ("acme", "A999999", "unknown"),
            ("acme", "A123458", "authorised"),
            ("acme", "A123459", "arrived"),
            ("acme", "G200001", "other-domain's-id"),
        ],
        ids=["unknown", "authorised", "arrived", "other-domains-appointment"],
    )
    def test_not_found_unless_pending_in_domain(
        self, qubs, sandbox: Sandbox, domain: str, appointment: str, why: str
    ) -> None:
        body = problem(
            qubs.create({"items": [PDF]}, domain=domain, appointment=appointment), 404, "not-found"
        )
        assert appointment in body["detail"] and "PENDING REPORTING" in body["detail"]
        assert body["instance"] == PATH.format(domain=domain, appointment=appointment).removeprefix("/qubs")
        assert qubs.attachment_count(sandbox) == 0

    def test_other_domain_forbidden(self, qubs) -> None:
        response = qubs.create({"items": [PDF]}, domain="globex", appointment="G200001")
        assert "globex" in problem(response, 403, "forbidden")["detail"]

    def test_auth_comes_before_body_checks(self, qubs) -> None:
        response = qubs.create(
            content=b"{", headers={"Authorization": "", "Content-Type": "application/json"}
        )
        problem(response, 401, "unauthorized")

    def test_correlation_id_echoed_and_generated(self, qubs) -> None:
        sent = qubs.create({"items": [PDF]}, headers={"X-Correlation-Id": "4b7f0a91b4f54f2a"})
        assert sent.headers["x-correlation-id"] == "4b7f0a91b4f54f2a"
        failed = qubs.create({"items": []}, headers={"X-Correlation-Id": "abc-123"})
        assert problem(failed, 400, "bad-request")["requestId"] == "abc-123"
        generated = qubs.create({"items": [PDF]})
        assert len(generated.headers["x-correlation-id"]) >= 8


class TestIdempotency:
    def test_replay_is_byte_for_byte(self, qubs, sandbox: Sandbox) -> None:
        key = {"Idempotency-Key": "cd4a859c7a1f4b44b765a8fe17bb44c1"}
        first = qubs.create({"items": [PDF, {"fileName": "b.dcm"}]}, headers=key)
        sandbox.clock.advance(120)
        again = qubs.create(
            content=json.dumps({"items": [PDF, {"fileName": "b.dcm"}]}, indent=4).encode(),
            headers={**key, "Content-Type": "application/json"},
        )
        assert again.status_code == first.status_code == 201
        assert again.content == first.content and again.headers.get("idempotent-replayed") == "true"
        assert "idempotent-replayed" not in first.headers
        assert qubs.attachment_count(sandbox) == 2

    def test_key_order_of_the_payload_does_not_matter(self, qubs) -> None:
        key = {"Idempotency-Key": "k-order"}
        first = qubs.create({"items": [{"fileName": "a.pdf", "contentType": "application/pdf"}]}, headers=key)
        again = qubs.create({"items": [{"contentType": "application/pdf", "fileName": "a.pdf"}]}, headers=key)
        assert again.content == first.content

    @pytest.mark.parametrize(
        ("second", "appointment"),
        [({"items": [{"fileName": "other.pdf"}]}, "A123456"), ({"items": [PDF]}, "A123457")],
        ids=["other-payload", "other-appointment"],
    )
    def test_reuse_with_other_payload_conflicts(
        self, qubs, sandbox: Sandbox, second: Any, appointment: str
    ) -> None:
        key = {"Idempotency-Key": "reused"}
        assert qubs.create({"items": [PDF]}, headers=key).status_code == 201
        body = problem(qubs.create(second, appointment=appointment, headers=key), 409, "conflict")
        assert "reused" in body["detail"]
        assert qubs.attachment_count(sandbox) == 1

    def test_keys_expire_after_15_minutes(self, qubs, sandbox: Sandbox) -> None:
        key = {"Idempotency-Key": "short-lived"}
        first = qubs.create({"items": [PDF]}, headers=key).json()
        sandbox.clock.advance(14 * 60)
        assert qubs.create({"items": [PDF]}, headers=key).json() == first
        sandbox.clock.advance(61)
        fresh = qubs.create({"items": [{"fileName": "new.pdf"}]}, headers=key)
        assert fresh.status_code == 201 and fresh.json()["items"][0]["guid"] != first["items"][0]["guid"]

    def test_without_key_every_call_creates(self, qubs, sandbox: Sandbox) -> None:
        first, second = (qubs.create({"items": [PDF]}).json() for _ in range(2))
        assert first["items"][0]["guid"] != second["items"][0]["guid"]
        assert qubs.attachment_count(sandbox) == 2

    def test_scoped_per_client_and_domain(self, qubs, client: TestClient, sandbox: Sandbox) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": "qubs-dev-client",
            "client_secret": "qubs-dev-secret",
        }
        jwt = client.post("/qubs/oauth2/token", data=form).json()["access_token"]
        key = {"Idempotency-Key": "shared-key"}
        static = qubs.create({"items": [PDF]}, headers=key).json()
        same_client = qubs.create({"items": [PDF]}, headers={**key, "Authorization": f"Bearer {jwt}"}).json()
        assert same_client == static  # one client (qubs-dev-client), whichever token it uses
        globex = qubs.create(
            {"items": [PDF]},
            domain="globex",
            appointment="G200001",
            headers={**key, "Authorization": "Bearer qubs-globex-token"},
        )
        assert globex.status_code == 201 and globex.json() != static

    def test_failed_requests_keep_the_key_free(self, qubs) -> None:
        key = {"Idempotency-Key": "retry-me"}
        problem(qubs.create({"items": [PDF]}, appointment="A999999", headers=key), 404, "not-found")
        assert qubs.create({"items": [PDF]}, headers=key).status_code == 201

    @pytest.mark.parametrize(
        "value",
        ["x" * 129, "clé-unicode", "tab\there", ""],
        ids=["129-characters", "non-ascii", "control-character", "empty"],
    )
    def test_malformed_keys(self, qubs, sandbox: Sandbox, value: str) -> None:
        response = qubs.create({"items": [PDF]}, headers={"Idempotency-Key": value.encode("utf-8")})
        assert "Idempotency-Key" in problem(response, 400, "bad-request")["detail"]
        assert qubs.attachment_count(sandbox) == 0

    def test_128_printable_characters_are_fine(self, qubs) -> None:
        key = "".join(chr(32 + i % 95) for i in range(128)).strip()
        assert qubs.create({"items": [PDF]}, headers={"Idempotency-Key": key}).status_code == 201


def test_upload_url_expiry_is_15_minutes_from_now(qubs, sandbox: Sandbox) -> None:
    before = sandbox.clock.now().replace(microsecond=0)
    expiry = qubs.create({"items": [PDF]}).json()["items"][0]["uploadUrlExpiresAtUtc"]
    assert expiry.endswith("Z")
    assert datetime.fromisoformat(expiry) - before in (timedelta(seconds=900), timedelta(seconds=901))


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        st.characters(exclude_categories=["Cs"]) | st.sampled_from("/\\.\x00\x1f\x7f \u2028"), max_size=20
    )
)
def test_file_names_are_cleaned_as_the_full_rule_cleans_them(raw: str) -> None:
    """The shortcut for names with nothing to remove gives what splitting and stripping controls gives."""
    full = attachments._CONTROLS.sub("", attachments._SEPARATORS.split(raw)[-1]).strip()
    assert attachments.clean_file_name(raw) == ("" if full in {".", ".."} else full)


def test_stored_records_leave_the_collector_s_walk_and_no_grant_is_stored(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record is kept per upload URL until a reset: the young collections stop tracking it, so records
    never reach the oldest generation and full collections do not grow with them. The URL's limits are
    signed into it: nothing is stored per URL until it is used."""
    monkeypatch.setattr(mock_server.app, "Store", Store)  # records held as users run it, not pickled
    app = mock_server.app.create_app(settings)
    body = {"items": [PDF, {"fileName": "sr.dcm", "contentType": "application/dicom"}] * 10}
    path = PATH.format(domain="acme", appointment="A123456")
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:

        def tracked_after(requests: int) -> int:
            gc.disable()
            try:
                for _ in range(requests):
                    assert client.post(path, json=body, headers=ACME).status_code == 201
            finally:
                gc.enable()
            gc.collect(0)
            gc.collect(1)
            return len(gc.get_objects())

        before = tracked_after(5)
        after = tracked_after(50)  # 1,000 more records
        held = len(app.state.sandbox.storage.grants)
    app.state.sandbox.close()
    assert after - before < 150  # the journal's entries for the 50 requests, not the 1,000 items
    assert held == 0
