"""QUBS over a real socket with ``requests``: the whole partner flow, the upload PUT rules, concurrency."""

from __future__ import annotations

import http.client
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote, urlsplit

import pytest
import requests

from mock_server.testing.server import LiveServer
from mock_server.vendors.qubs import attachments

PDF_BYTES = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
DICOM_BYTES = b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00\xc8\x00\x00\x00"
TWO_MB = 2_097_152


def s3_code(response: requests.Response) -> tuple[int, str, str]:
    root = ET.fromstring(response.content)
    return response.status_code, root.findtext("Code") or "", root.findtext("Message") or ""


def key_of(url: str) -> str:
    """The object key behind an upload URL (``/s3/<bucket>/<key>``)."""
    return unquote(urlsplit(url).path).split("/", 3)[3]


def one_url(partner, content_type: str | None = "application/pdf") -> str:
    item = {"fileName": "report.pdf", "contentType": content_type}
    return partner.create_urls([item]).json()["items"][0]["uploadUrl"]


def test_whole_reporting_flow(partner) -> None:
    partner.login()
    pending = partner.call("listPendingAppointments", "GET", "/reporting/appointments/pending").json()
    assert "A123456" in [a["appointmentId"] for a in pending["items"]]
    assert partner.call("getPendingAppointment", "GET", "/reporting/appointments/A123456").status_code == 200

    created = partner.create_urls(
        [
            {"fileName": "reports/final-report.pdf", "contentType": "application/pdf"},
            {"fileName": "structured-report.dcm", "contentType": "application/dicom", "category": "dicom-sr"},
        ]
    ).json()["items"]
    pdf, dicom = created
    assert pdf["fileName"] == "final-report.pdf" and dicom["category"] == "dicom-sr"
    for item, data, content_type in (
        (pdf, PDF_BYTES, "application/pdf"),
        (dicom, DICOM_BYTES, "application/dicom"),
    ):
        upload = requests.put(item["uploadUrl"], data=data, headers={"Content-Type": content_type})
        assert upload.status_code == 200 and upload.headers["etag"]

    states = partner.call(
        "listReportingAttachments", "GET", "/reporting/appointments/A123456/attachments"
    ).json()
    assert {a["guid"]: a["status"] for a in states["items"]}[pdf["guid"]] == "available"
    listed = partner.call("listAppointmentAttachments", "GET", "/appointments/A123456/attachments").json()
    urls = {a["guid"]: a["url"] for a in listed}
    for item, data, content_type in (
        (pdf, PDF_BYTES, "application/pdf"),
        (dicom, DICOM_BYTES, "application/dicom"),
    ):
        download = requests.get(urls[item["guid"]])
        assert (download.content, download.headers["content-type"]) == (data, content_type)
    single = partner.call(
        "getAppointmentAttachment",
        "GET",
        f"/appointments/A123456/attachments/{dicom['guid']}",
        params={"disposition": "attachment"},
    ).json()
    assert requests.get(single["url"]).headers["content-disposition"].startswith("attachment;")

    comment = partner.call(
        "createComment",
        "POST",
        "/reporting/appointments/A123456/comments",
        json={"commentText": "Report attached."},
    )
    assert comment.status_code == 201
    report = partner.call(
        "submitReport",
        "POST",
        "/reporting/appointments/A123456/report",
        json={"reportText": "CT BRAIN: no acute abnormality.", "reportStatus": "final"},
        headers={"Idempotency-Key": "final-A123456"},
    )
    assert report.json()["appointmentStatus"] == "FINALISED"

    late = partner.create_urls([{"fileName": "addendum.pdf"}])
    assert late.status_code == 404 and late.json()["type"] == "urn:qubs:integrations:not-found"
    assert late.json()["requestId"] == late.headers["X-Correlation-Id"]
    still = partner.call("listPendingAppointments", "GET", "/reporting/appointments/pending").json()
    assert "A123456" not in [a["appointmentId"] for a in still["items"]]


class TestUploadPut:
    @pytest.fixture(autouse=True)
    def _login(self, partner) -> None:
        partner.session.headers["Authorization"] = "Bearer qubs-dev-token"

    def test_wrong_content_type_breaks_the_signature(self, partner, live: LiveServer) -> None:
        url = one_url(partner)
        response = requests.put(url, data=PDF_BYTES, headers={"Content-Type": "application/dicom"})
        assert s3_code(response)[:2] == (403, "SignatureDoesNotMatch")
        missing = requests.put(url, data=PDF_BYTES)
        assert s3_code(missing)[:2] == (403, "SignatureDoesNotMatch")
        assert live.sandbox.storage.objects.head("qubs-report-attachments", key_of(url)) is None

    def test_any_content_type_when_none_was_given(self, partner) -> None:
        url = one_url(partner, content_type=None)
        assert requests.put(url, data=PDF_BYTES, headers={"Content-Type": "text/plain"}).status_code == 200

    def test_content_length_is_required(self, partner) -> None:
        parts = urlsplit(one_url(partner))
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            connection.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
            connection.putheader("Content-Type", "application/pdf")
            connection.endheaders()
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        root = ET.fromstring(body)
        assert (response.status, root.findtext("Code")) == (411, "MissingContentLength")

    @pytest.mark.parametrize(
        ("size", "status"), [(TWO_MB, 200), (TWO_MB + 1, 400)], ids=["exactly-2MB", "2MB+1"]
    )
    def test_two_megabyte_cap(self, partner, live: LiveServer, size: int, status: int) -> None:
        url = one_url(partner)
        response = requests.put(url, data=b"%" * size, headers={"Content-Type": "application/pdf"})
        assert response.status_code == status
        if status == 400:
            root = ET.fromstring(response.content)
            assert (root.findtext("Code"), root.findtext("MaxSizeAllowed")) == ("EntityTooLarge", str(TWO_MB))
            assert root.findtext("ProposedSize") == str(size)

    def test_expired_url(self, partner, live: LiveServer) -> None:
        url = one_url(partner)
        live.sandbox.clock.advance(901)
        response = requests.put(url, data=PDF_BYTES, headers={"Content-Type": "application/pdf"})
        assert s3_code(response) == (403, "AccessDenied", "Request has expired")

    def test_single_use(self, partner, live: LiveServer) -> None:
        item = partner.create_urls([{"fileName": "once.pdf", "contentType": "application/pdf"}]).json()[
            "items"
        ][0]
        headers = {"Content-Type": "application/pdf"}
        assert requests.put(item["uploadUrl"], data=b"%PDF first", headers=headers).status_code == 200
        second = requests.put(item["uploadUrl"], data=b"%PDF second", headers=headers)
        assert s3_code(second)[:2] == (403, "AccessDenied")
        assert key_of(item["uploadUrl"]) == f"acme/A123456/{item['guid']}/once.pdf"
        assert (
            live.sandbox.storage.objects.read("qubs-report-attachments", key_of(item["uploadUrl"]))
            == b"%PDF first"
        )

    def test_failed_upload_leaves_the_url_usable(self, partner) -> None:
        url = one_url(partner)
        too_big = requests.put(url, data=b"x" * (TWO_MB + 1), headers={"Content-Type": "application/pdf"})
        assert too_big.status_code == 400
        assert (
            requests.put(url, data=PDF_BYTES, headers={"Content-Type": "application/pdf"}).status_code == 200
        )


def test_twenty_concurrent_requests_with_one_key_create_one_set(partner, live: LiveServer) -> None:
    partner.session.headers["Authorization"] = "Bearer qubs-dev-token"
    items = [{"fileName": "report.pdf", "contentType": "application/pdf"}, {"fileName": "sr.dcm"}]

    def attempt(_: int) -> tuple[int, bytes]:
        response = requests.post(
            f"{partner.base}/integrations/v1/acme/reporting/appointments/A123456/report/attachments",
            json={"items": items},
            headers={"Authorization": "Bearer qubs-dev-token", "Idempotency-Key": "burst-1"},
            timeout=30,
        )
        return response.status_code, response.content

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(attempt, range(20)))
    assert {status for status, _ in results} == {201}
    assert len({body for _, body in results}) == 1
    created = [a for a in attachments.held(live.sandbox, "acme") if a.upload_expires_at]
    assert len(created) == 2
