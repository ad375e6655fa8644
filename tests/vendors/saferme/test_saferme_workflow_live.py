"""SaferMe's whole attachment workflow over a real socket, as a new integrator runs it from today's docs:
v4 login, upload authorization, browser-style POST to the storage form URL, create the attachment,
a report with it in an Image field, refresh the session (the old token is then refused), sign out.
Every JSON answer is checked against openapi.yaml, the S3 answer against S3's PostResponse."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

import requests
from PIL import Image

from mock_server.core.openapi import issues_of
from mock_server.testing.server import LiveServer
from mock_server.vendors.saferme.routes import DOCUMENT

APP = {"X-AppId": "com.thundermaps.saferme", "X-TeamId": "1234"}  # no X-InstallationId: optional today
LOGIN = {
    "session": {
        "app_bundle_id": "com.thundermaps.saferme",
        "email": "integrations@example.com",
        "password": "saferme-dev-password",
    }
}


def checked(operation_id: str, response: requests.Response, status: int) -> Any:
    assert response.status_code == status, (operation_id, response.status_code, response.text)
    if status == 204:
        assert response.content == b""
        return None
    media = response.headers["content-type"].split(";")[0]
    assert media == "application/json", media
    validator = DOCUMENT.response_validator(operation_id, status, media)
    body = response.json()
    assert validator is not None and not issues_of(validator, body), (operation_id, body)
    return body


def picture() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1024, 768), (240, 160, 20)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_login_upload_attach_to_a_report_refresh_and_sign_out(live: LiveServer) -> None:
    api = f"{live.url}/saferme/api/v4"
    http = requests.Session()

    session = checked("createV4Session", http.post(f"{api}/session", json=LOGIN, timeout=10), 201)["session"]
    auth = {**APP, "Authorization": f"Token token={session['access_token']}"}
    assert (
        checked("getV4Session", http.get(f"{api}/session", headers=auth, timeout=10), 200)["session"][
            "client_uuid"
        ]
        == session["client_uuid"]
    )

    response = http.get(
        f"{api}/file_attachments/upload_authorization",
        params={"content_type": "image/jpeg"},
        headers=auth,
        timeout=10,
    )
    grant = checked("getUploadAuthorization", response, 200)["upload_authorization"]
    fields = {**grant["fields"], "key": grant["key_prefix"] + "${filename}"}  # the docs' curl example
    form: list[tuple[str, Any]] = [(name, (None, value)) for name, value in fields.items()]
    form.append(("file", ("site-photo.jpg", picture(), "image/jpeg")))  # the file part last
    uploaded = http.post(grant["url"], files=form, timeout=10)
    assert uploaded.status_code == 201, uploaded.text
    post_response = ET.fromstring(uploaded.content)
    key = post_response.findtext("Key")
    assert post_response.tag == "PostResponse" and key == grant["key_prefix"] + "site-photo.jpg"
    assert post_response.findtext("ETag", "").startswith('"')

    created = http.post(
        f"{api}/file_attachments", json={"file_attachment": {"key": key}}, headers=auth, timeout=10
    )
    attachment = checked("createFileAttachment", created, 202)
    assert (attachment["filename"], attachment["style_url"]) == ("site-photo.jpg", {})
    live.sandbox.clock.advance(3)  # the initial processing time, on the sandbox clock

    form_fields = checked("getForm", http.get(f"{api}/forms/2222", headers=auth, timeout=10), 200)["fields"]
    image_key = next(item["key"] for item in form_fields if item["field_type"] == "Image")
    report = {
        "report": {
            "account_id": 2222,
            "geom": "Point(174.7759821 -41.2861352)",
            "address": "350 Lambton Quay, Wellington",
            "form_fields": [{"key": image_key, "value": [attachment["id"]]}],
        }
    }
    made = checked("createReport", http.post(f"{api}/reports", json=report, headers=auth, timeout=10), 201)
    assert made["user_id"] == 1234 and made["account_id"] == 2222

    url = f"{api}/reports/{made['id']}"
    shown = checked(
        "getReport", http.get(url, params={"fields": "form_fields"}, headers=auth, timeout=10), 200
    )
    [photo] = next(item["value"] for item in shown["form_fields"] if item["key"] == image_key)
    assert photo["id"] == attachment["id"] and photo["attached"] and photo["ready_to_attach"]
    thumb = http.get(photo["style_url"]["thumb"], timeout=10)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (100, 100)

    body = {"session": {"access_token": session["access_token"], "refresh_token": session["refresh_token"]}}
    renewed = checked("refreshV4Session", http.patch(f"{api}/session", json=body, timeout=10), 200)["session"]
    refused = checked("getReport", http.get(url, headers=auth, timeout=10), 401)
    assert refused["error_codes"]["base"][0]["error"] == "invalid_token"
    auth = {**APP, "Authorization": f"Token token={renewed['access_token']}"}
    assert checked("getReport", http.get(url, headers=auth, timeout=10), 200)["id"] == made["id"]

    assert checked("deleteV4Session", http.delete(f"{api}/session", headers=auth, timeout=10), 200) == {}
    checked("getReport", http.get(url, headers=auth, timeout=10), 401)
