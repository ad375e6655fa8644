"""QUBS reporting workflow in-process: worklist paging, attachment state, reports, comments, read side."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.fixtures import FixtureError
from mock_server.core.sandbox import Sandbox
from mock_server.settings import Settings

BASE = "http://127.0.0.1:8080"
REPORTING = "/qubs/integrations/v1/{domain}/reporting/appointments"
ACME = {"Authorization": "Bearer qubs-dev-token"}
GLOBEX = {"Authorization": "Bearer qubs-globex-token"}
REFERRAL = "2b7e1516-28ae-4d2a-a6f7-15880912cf4f"


def status_and_type(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["type"].rsplit(":", 1)[-1]


class TestWorklist:
    def test_lists_pending_appointments_of_the_domain(self, qubs) -> None:
        acme = [a["appointmentId"] for a in qubs.pending().json()["items"]]
        globex = qubs.pending("globex", headers=GLOBEX)
        assert acme == ["A123456", "A123457"]
        assert [a["appointmentId"] for a in globex.json()["items"]] == ["G200001"]
        assert "nextToken" not in globex.json()

    def test_cursor_paging(self, qubs, sandbox: Sandbox) -> None:
        for number in range(5):
            sandbox.store.put(
                "qubs",
                "acme",
                "appointment",
                f"B{number}",
                {
                    "domain": "acme",
                    "appointmentId": f"B{number}",
                    "status": "PENDING REPORTING",
                    "scheduledSite": "Acme Imaging Central",
                },
            )
        seen, token, pages = [], None, 0
        while True:
            params = {"pageSize": 3, **({"nextToken": token} if token else {})}
            page = qubs.pending(**params).json()
            seen += [a["appointmentId"] for a in page["items"]]
            pages += 1
            token = page.get("nextToken")
            if not token:
                break
        assert pages == 3 and seen == ["A123456", "A123457", "B0", "B1", "B2", "B3", "B4"]

    def test_cursor_survives_appointments_leaving(self, qubs) -> None:
        first = qubs.pending(pageSize=1).json()
        assert [a["appointmentId"] for a in first["items"]] == ["A123456"]
        qubs.report({"reportText": "done", "reportStatus": "final"})
        second = qubs.pending(pageSize=1, nextToken=first["nextToken"]).json()
        assert [a["appointmentId"] for a in second["items"]] == ["A123457"] and "nextToken" not in second

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"pageSize": 0}, "pageSize"),
            ({"pageSize": 501}, "pageSize"),
            ({"pageSize": "ten"}, "pageSize"),
            ({"nextToken": "not-a-token"}, "nextToken"),
            ({"nextToken": "eyJwYWdlIjoyfQ=="}, "nextToken"),
        ],
        ids=["pageSize-0", "pageSize-501", "pageSize-text", "token-garbage", "token-foreign"],
    )
    def test_bad_paging_parameters(self, qubs, params: dict[str, Any], field: str) -> None:
        response = qubs.pending(**params)
        assert status_and_type(response) == (400, "bad-request") and response.json()["detail"].startswith(
            field
        )

    def test_get_pending_appointment(self, qubs) -> None:
        body = qubs.get_pending("A123456").json()
        assert (body["appointmentId"], body["status"], body["patientName"]) == (
            "A123456",
            "PENDING REPORTING",
            "SMITH, Jane",
        )

    @pytest.mark.parametrize(
        "appointment", ["A123458", "A999999", "G200001"], ids=["authorised", "unknown", "other-domain"]
    )
    def test_get_pending_404(self, qubs, appointment: str) -> None:
        assert status_and_type(qubs.get_pending(appointment)) == (404, "not-found")


class TestAttachmentState:
    def test_pending_then_available_then_downloadable(self, qubs) -> None:
        created = qubs.create_urls([{"fileName": "report.pdf", "contentType": "application/pdf"}]).json()[
            "items"
        ][0]
        listed = {a["guid"]: a for a in qubs.reporting_attachments().json()["items"]}
        assert (listed[created["guid"]]["status"], listed[created["guid"]]["size"]) == ("pending", None)
        read = qubs.attachment(created["guid"]).json()
        assert (read["url"], read["urlExpiresAtUtc"], read["category"]) == (None, None, "report")

        assert qubs.upload(created["uploadUrl"], b"%PDF-1.7 final", "application/pdf").status_code == 200
        listed = {a["guid"]: a for a in qubs.reporting_attachments().json()["items"]}
        assert (listed[created["guid"]]["status"], listed[created["guid"]]["size"]) == ("available", 14)
        url = qubs.attachment(created["guid"]).json()["url"]
        download = qubs.client.get(url.removeprefix(BASE))
        assert download.content == b"%PDF-1.7 final" and download.headers["content-type"] == "application/pdf"

    def test_expired_when_the_upload_url_lapses(self, qubs, sandbox: Sandbox) -> None:
        guid = qubs.create_urls([{"fileName": "late.pdf"}]).json()["items"][0]["guid"]
        sandbox.clock.advance(901)
        listed = {a["guid"]: a for a in qubs.reporting_attachments().json()["items"]}
        assert listed[guid]["status"] == "expired"

    def test_reporting_attachments_needs_a_pending_appointment(self, qubs) -> None:
        assert status_and_type(qubs.reporting_attachments("A123458")) == (404, "not-found")


class TestReport:
    def test_preliminary_keeps_the_appointment_pending(self, qubs) -> None:
        body = qubs.report({"reportText": "Prelim.", "reportStatus": "Preliminary"}).json()
        assert (body["reportStatus"], body["appointmentStatus"]) == ("preliminary", "PENDING REPORTING")
        assert qubs.get_pending("A123456").status_code == 200

    def test_final_report_ends_reporting(self, qubs, sandbox: Sandbox) -> None:
        body = qubs.report(
            {
                "reportText": "No acute abnormality.",
                "reportStatus": "FINAL",
                "interpretingClinicianName": "Dr Alex Chen",
            }
        ).json()
        assert (body["reportStatus"], body["appointmentStatus"]) == ("final", "FINALISED")
        assert body["submittedBy"] == {
            "userId": "qubs-dev-client",
            "displayName": "Acme Tele-Reporting (sandbox)",
        }
        stored = sandbox.store.get("qubs", "acme", "report", "A123456")
        assert (
            stored["reportText"] == "No acute abnormality."
            and stored["interpretingClinicianName"] == "Dr Alex Chen"
        )
        assert status_and_type(qubs.create_urls([{"fileName": "late.pdf"}])) == (404, "not-found")
        assert status_and_type(qubs.report({"reportText": "again", "reportStatus": "final"})) == (
            404,
            "not-found",
        )
        assert status_and_type(qubs.comment({"commentText": "late"})) == (404, "not-found")
        assert qubs.attachments().status_code == 200  # the read side still shows it

    def test_resubmission_overwrites(self, qubs, sandbox: Sandbox) -> None:
        qubs.report({"reportText": "v1", "reportStatus": "preliminary"})
        qubs.report({"reportText": "v2", "reportStatus": "preliminary"})
        assert sandbox.store.get("qubs", "acme", "report", "A123456")["reportText"] == "v2"

    def test_report_text_limit_is_in_utf8_bytes(self, qubs) -> None:
        at_limit = qubs.report({"reportText": "a" * 2_097_152, "reportStatus": "preliminary"})
        assert at_limit.status_code == 200
        over = qubs.report({"reportText": "é" * 1_048_577, "reportStatus": "preliminary"})
        assert status_and_type(over) == (400, "bad-request") and "reportText" in over.json()["detail"]

    @pytest.mark.parametrize(
        ("body", "field", "rule"),
        [
            ({"reportStatus": "final"}, "reportText", "required"),
            ({"reportText": "x"}, "reportStatus", "required"),
            ({"reportText": "x", "reportStatus": "draft"}, "reportStatus", "enum"),
            ({"reportText": 5, "reportStatus": "final"}, "reportText", "type"),
        ],
        ids=["no-text", "no-status", "unknown-status", "text-number"],
    )
    def test_rules(self, qubs, body: dict[str, Any], field: str, rule: str) -> None:
        response = qubs.report(body)
        assert status_and_type(response) == (400, "bad-request")
        assert field in response.json()["detail"] and rule in response.json()["detail"]

    def test_idempotency_lasts_24_hours(self, qubs, sandbox: Sandbox) -> None:
        key = {"Idempotency-Key": "report-1"}
        first = qubs.report({"reportText": "final text", "reportStatus": "final"}, headers=key)
        sandbox.clock.advance(23 * 3600)
        replay = qubs.report({"reportText": "final text", "reportStatus": "final"}, headers=key)
        assert replay.content == first.content and replay.headers["idempotent-replayed"] == "true"
        assert status_and_type(
            qubs.report({"reportText": "other", "reportStatus": "final"}, headers=key)
        ) == (409, "conflict")
        sandbox.clock.advance(3601)
        assert status_and_type(
            qubs.report({"reportText": "final text", "reportStatus": "final"}, headers=key)
        ) == (404, "not-found")


class TestComments:
    @pytest.mark.parametrize(
        ("body", "comment_type", "is_alert"),
        [
            ({"commentText": "note"}, "AC", False),
            ({"commentText": "alert", "isAlert": True}, "AA", True),
            ({"commentText": "pc", "commentType": "PC", "isAlert": True}, "PC", True),
            ({"commentText": "null type", "commentType": None, "isAlert": None}, "AC", False),
        ],
        ids=["default-AC", "alert-AA", "explicit-type", "nulls"],
    )
    def test_comment_types(self, qubs, body: dict[str, Any], comment_type: str, is_alert: bool) -> None:
        response = qubs.comment(body)
        assert response.status_code == 201
        assert (response.json()["commentType"], response.json()["isAlert"]) == (comment_type, is_alert)

    def test_comment_time_defaults_to_now_and_is_normalised(self, qubs, sandbox: Sandbox) -> None:
        sandbox.clock.freeze("2026-11-24T10:00:00Z")
        assert qubs.comment({"commentText": "now"}).json()["commentDateTime"] == "2026-11-24T10:00:00Z"
        given = qubs.comment({"commentText": "then", "commentDateTime": "2026-11-24T20:30:00+10:00"}).json()
        assert given["commentDateTime"] == "2026-11-24T10:30:00Z"

    @pytest.mark.parametrize(
        ("body", "field", "rule"),
        [
            ({}, "commentText", "required"),
            ({"commentText": ""}, "commentText", "minLength"),
            ({"commentText": "  \t"}, "commentText", "pattern"),
            ({"commentText": "x", "commentType": "ZZ"}, "commentType", "enum"),
            ({"commentText": "x", "isAlert": "yes"}, "isAlert", "type"),
            ({"commentText": "x", "commentDateTime": "yesterday"}, "commentDateTime", "format"),
            ({"commentText": "x", "commentDateTime": "2026-11-24T10:00:00"}, "commentDateTime", "format"),
        ],
        ids=["missing", "empty", "blank", "unknown-type", "alert-string", "bad-date", "no-offset"],
    )
    def test_rules(self, qubs, body: dict[str, Any], field: str, rule: str) -> None:
        response = qubs.comment(body)
        assert status_and_type(response) == (400, "bad-request")
        assert field in response.json()["detail"] and rule in response.json()["detail"]

    def test_idempotent_comments(self, qubs, sandbox: Sandbox) -> None:
        key = {"Idempotency-Key": "comment-1"}
        first, again = (qubs.comment({"commentText": "once"}, headers=key) for _ in range(2))
        assert first.content == again.content
        assert len(sandbox.store.list("qubs", "acme", "comment")) == 1


class TestReadSide:
    def test_list_includes_fixture_and_new_attachments(self, qubs) -> None:
        guid = qubs.create_urls([{"fileName": "new.pdf"}]).json()["items"][0]["guid"]
        listed = {a["guid"]: a for a in qubs.attachments().json()}
        assert listed[REFERRAL]["category"] == "Referral" and listed[REFERRAL]["url"]
        assert listed[guid]["url"] is None

    def test_fixture_attachment_downloads(self, qubs) -> None:
        url = qubs.attachment(REFERRAL).json()["url"]
        assert qubs.client.get(url.removeprefix(BASE)).content.startswith(b"%PDF-1.4")

    @pytest.mark.parametrize(
        ("ttl", "expected"),
        [(None, 900), ("300", 300), ("5", 60), ("0", 60), ("-20", 60), ("86400", 3600)],
        ids=["default", "in-range", "below-min", "zero", "negative", "above-max"],
    )
    def test_url_ttl_is_clamped(self, qubs, ttl: str | None, expected: int) -> None:
        params = {} if ttl is None else {"urlTtlSeconds": ttl}
        url = qubs.attachment(REFERRAL, params=params).json()["url"]
        assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == [str(expected)]

    @pytest.mark.parametrize(
        ("disposition", "expected"),
        [(None, "inline"), ("inline", "inline"), ("attachment", "attachment")],
        ids=["default", "inline", "attachment"],
    )
    def test_disposition_is_signed_into_the_url(self, qubs, disposition: str | None, expected: str) -> None:
        params = {} if disposition is None else {"disposition": disposition}
        url = qubs.attachment(REFERRAL, params=params).json()["url"]
        header = qubs.client.get(url.removeprefix(BASE)).headers["content-disposition"]
        assert header.startswith(f'{expected}; filename="referral-letter.pdf"')

    @pytest.mark.parametrize(
        ("params", "field"),
        [({"urlTtlSeconds": "soon"}, "urlTtlSeconds"), ({"disposition": "download"}, "disposition")],
        ids=["ttl-text", "disposition-unknown"],
    )
    def test_bad_query(self, qubs, params: dict[str, str], field: str) -> None:
        response = qubs.attachment(REFERRAL, params=params)
        assert status_and_type(response) == (400, "bad-request") and field in response.json()["detail"]

    def test_url_expires_on_the_clock(self, qubs, sandbox: Sandbox) -> None:
        url = qubs.attachment(REFERRAL, params={"urlTtlSeconds": 60}).json()["url"]
        sandbox.clock.advance(61)
        assert qubs.client.get(url.removeprefix(BASE)).status_code == 403

    @pytest.mark.parametrize(
        ("domain", "appointment", "guid", "headers", "status"),
        [
            ("acme", "A123456", "00000000-0000-4000-8000-000000000000", ACME, 404),
            ("acme", "A123457", REFERRAL, ACME, 404),
            ("acme", "A999999", REFERRAL, ACME, 404),
            ("globex", "A123456", REFERRAL, GLOBEX, 404),
            ("acme", "A123456", REFERRAL, GLOBEX, 403),
        ],
        ids=[
            "unknown-guid",
            "other-appointment",
            "unknown-appointment",
            "other-domain-path",
            "other-domain-token",
        ],
    )
    def test_tenant_isolation(
        self, qubs, domain: str, appointment: str, guid: str, headers: dict[str, str], status: int
    ) -> None:
        response = qubs.attachment(guid, appointment=appointment, domain=domain, headers=headers)
        assert response.status_code == status and "url" not in response.json()

    def test_other_status_appointments_are_readable(self, qubs) -> None:
        assert qubs.attachments("A123458").json() == []
        assert status_and_type(qubs.attachments("A999999")) == (404, "not-found")


class TestWiring:
    def test_journal_names_operations(self, qubs) -> None:
        qubs.create_urls([{"fileName": "a.pdf"}])
        entries = qubs.client.get(
            "/__admin/requests", params={"operation": "qubs.createReportAttachments"}
        ).json()
        assert [e["status"] for e in entries["requests"]] == [201]

    def test_served_at_the_root_with_root_vendor(self) -> None:
        app = create_app(Settings(seed=5, root_vendor="qubs"))
        try:
            with TestClient(app, base_url=BASE) as client:
                response = client.post(
                    "/integrations/v1/acme/reporting/appointments/A123456/report/attachments",
                    json={"items": [{"fileName": "a.pdf"}]},
                    headers=ACME,
                )
                assert response.status_code == 201 and response.headers["x-correlation-id"]
                assert "/s3/qubs-report-attachments/acme/A123456/" in response.json()["items"][0]["uploadUrl"]
                missing = client.get("/integrations/v1/acme/reporting/appointments/A999999", headers=ACME)
                assert missing.json()["instance"] == "/integrations/v1/acme/reporting/appointments/A999999"
        finally:
            app.state.sandbox.close()

    def test_broken_fixture_names_file_and_path(self, tmp_path: Path) -> None:
        broken = tmp_path / "qubs.yaml"
        broken.write_text(
            "qubs:\n  appointments:\n    - {domain: acme, appointmentId: A1, scheduledSite: X}\n"
        )
        with pytest.raises(
            FixtureError, match=r"qubs\.yaml:\d+: qubs/appointments/0: 'status' is a required property"
        ):
            create_app(Settings(fixtures=(broken,)))

    def test_reset_restores_fixtures(self, qubs, sandbox: Sandbox) -> None:
        qubs.report({"reportText": "done", "reportStatus": "final"})
        qubs.create_urls([{"fileName": "a.pdf"}], appointment="A123457")
        sandbox.reset()
        assert qubs.get_pending("A123456").status_code == 200
        assert [a["guid"] for a in qubs.attachments("A123457").json()] == []
        assert qubs.client.get(qubs.attachment(REFERRAL).json()["url"].removeprefix(BASE)).status_code == 200
