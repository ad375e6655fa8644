"""The documented three-step flow over a real socket: ``requests`` and ``curl -F`` as in SaferMe's docs,
and every S3 POST-policy refusal with S3's status and XML."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from PIL import Image
from urllib3 import encode_multipart_formdata

from mock_server.core.openapi import issues_of
from mock_server.testing.server import LiveServer
from mock_server.vendors.saferme.models import BUCKET
from mock_server.vendors.saferme.routes import DOCUMENT

HEADERS = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}
Part = tuple[str, Any]


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (20, 120, 220)).save(buffer, "PNG")
    return buffer.getvalue()


PICTURE = png_bytes()


def s3_error(response: requests.Response) -> dict[str, str]:
    assert response.headers["content-type"].startswith("application/xml"), response.text
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    assert response.headers["x-amz-request-id"] == root.findtext("RequestId")
    return {child.tag: child.text or "" for child in root}


def validate(operation_id: str, response: requests.Response) -> Any:
    """The JSON body, checked against openapi.yaml (no in-process app needed for the live server)."""
    media = response.headers["content-type"].split(";")[0]
    validator = DOCUMENT.response_validator(operation_id, response.status_code, media)
    body = response.json()
    assert validator is not None and not issues_of(validator, body), (operation_id, body)
    return body


class LiveSaferMe:
    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.api = f"{live.url}/saferme/api/v4/file_attachments"

    def authorize(self, content_type: str = "image/png") -> dict[str, Any]:
        response = requests.get(
            f"{self.api}/upload_authorization",
            params={"content_type": content_type},
            headers=HEADERS,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return validate("getUploadAuthorization", response)["upload_authorization"]

    def create(self, key: str) -> requests.Response:
        response = requests.post(
            self.api, json={"file_attachment": {"key": key}}, headers=HEADERS, timeout=10
        )
        validate("createFileAttachment", response)
        return response

    def get(self, attachment_id: int) -> requests.Response:
        response = requests.get(f"{self.api}/{attachment_id}", headers=HEADERS, timeout=10)
        validate("getFileAttachment", response)
        return response


@pytest.fixture
def saferme(live: LiveServer) -> LiveSaferMe:
    return LiveSaferMe(live)


def key_variant(authorization: dict[str, Any], variant: str) -> tuple[str, str, str | None]:
    """(key field to send, key S3 stores, filename the attachment reports)."""
    if variant == "bare-key":
        return authorization["key"], authorization["key"], None
    if variant == "filename-variable":
        return (
            authorization["key_prefix"] + "${filename}",
            authorization["key_prefix"] + "picture.png",
            "picture.png",
        )
    return authorization["key_prefix"] + "road1.jpg", authorization["key_prefix"] + "road1.jpg", "road1.jpg"


VARIANTS = ["bare-key", "filename-variable", "key-prefix-name"]


def check_post_response(response: requests.Response, base_url: str, stored_key: str) -> None:
    assert response.status_code == 201, response.text
    root = ET.fromstring(response.content)
    location = f"{base_url}/s3/{BUCKET}/{quote(stored_key, safe='')}"
    assert "%2F" in location
    assert root.tag == "PostResponse"
    assert [child.tag for child in root] == ["Location", "Bucket", "Key", "ETag"]
    assert (root.findtext("Location"), root.findtext("Bucket"), root.findtext("Key")) == (
        location,
        BUCKET,
        stored_key,
    )
    assert root.findtext("ETag") == f'"{hashlib.md5(PICTURE).hexdigest()}"' == response.headers["etag"]
    assert response.headers["location"] == location


def finish_flow(saferme: LiveSaferMe, stored_key: str, filename: str | None) -> None:
    """Steps 3+: create (202), same again (same id), clock past processing (200), download everything."""
    created = saferme.create(stored_key)
    body = created.json()
    assert (created.status_code, body["filename"], body["style_url"]) == (202, filename, {})
    assert saferme.create(stored_key).json()["id"] == body["id"]
    original = requests.get(body["original_url"], timeout=10)
    assert (original.status_code, original.content, original.headers["content-type"]) == (
        200,
        PICTURE,
        "image/png",
    )
    saferme.live.sandbox.clock.advance(3)
    done = saferme.get(body["id"])
    assert done.status_code == 200
    for url in done.json()["style_url"].values():
        style = requests.get(url, timeout=10)
        assert style.status_code == 200 and Image.open(io.BytesIO(style.content)).format == "JPEG"
    assert set(done.json()["style_url"]) == {"thumb", "medium"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_docs_flow_with_requests(saferme: LiveSaferMe, variant: str) -> None:
    authorization = saferme.authorize()
    key, stored_key, filename = key_variant(authorization, variant)
    fields = {**authorization["fields"], "key": key}
    response = requests.post(
        authorization["url"], data=fields, files={"file": ("picture.png", PICTURE, "image/png")}, timeout=10
    )
    check_post_response(response, saferme.live.url, stored_key)
    finish_flow(saferme, stored_key, filename)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("variant", VARIANTS)
def test_docs_flow_with_curl(saferme: LiveSaferMe, tmp_path: Path, variant: str) -> None:
    """The docs' ``curl -i ... -F ... -F 'file=@/path/to/picture.png;filename="picture.png"'``, field for
    field (no ``x-amz-security-token``: the docs' example predates it)."""
    picture = tmp_path / "picture.png"
    picture.write_bytes(PICTURE)
    authorization = saferme.authorize()
    fields = authorization["fields"]
    key, stored_key, filename = key_variant(authorization, variant)
    command = [
        "curl",
        "-sS",
        "-i",
        authorization["url"],
        "-F",
        f"key={key}",
        "-F",
        "success_action_status=201",
        "-F",
        f"Content-Type={fields['Content-Type']}",
        "-F",
        f"policy={fields['policy']}",
        "-F",
        f"x-amz-credential={fields['x-amz-credential']}",
        "-F",
        "x-amz-algorithm=AWS4-HMAC-SHA256",
        "-F",
        f"x-amz-date={fields['x-amz-date']}",
        "-F",
        f"x-amz-signature={fields['x-amz-signature']}",
        "-F",
        f'file=@{picture};filename="picture.png"',
    ]
    output = subprocess.run(command, capture_output=True, check=True, timeout=30).stdout
    head, _, body = output.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201"), output
    root = ET.fromstring(body)
    assert (root.findtext("Key"), root.findtext("Bucket")) == (stored_key, BUCKET)
    assert root.findtext("Location") == f"{saferme.live.url}/s3/{BUCKET}/{quote(stored_key, safe='')}"
    assert saferme.live.sandbox.storage.objects.read(BUCKET, stored_key) == PICTURE
    finish_flow(saferme, stored_key, filename)


def test_android_sdk_style_upload(saferme: LiveSaferMe) -> None:
    """The SDK: every ``fields`` entry, ``key = key_prefix + "image.png"``, the file part last."""
    authorization = saferme.authorize()
    fields = {**authorization["fields"], "key": authorization["key_prefix"] + "image.png"}
    response = requests.post(
        authorization["url"],
        files=[
            *((name, (None, value)) for name, value in fields.items()),
            ("file", ("image.png", PICTURE, "image/png")),
        ],
        timeout=10,
    )
    assert response.status_code == 201
    assert saferme.create(fields["key"]).json()["filename"] == "image.png"


# -- refusals ------------------------------------------------------------------------------------------
def form(authorization: dict[str, Any], **changes: str | None) -> list[Part]:
    """The signed fields in the docs' order (``None`` drops one), then the file part."""
    parts: list[Part] = []
    for name, value in {**authorization["fields"], **changes}.items():
        if value is not None:
            parts.append((name, value))
    return [*parts, ("file", ("picture.png", PICTURE, "image/png"))]


def tampered_policy(authorization: dict[str, Any]) -> str:
    document = json.loads(base64.b64decode(authorization["fields"]["policy"]))
    document["conditions"][1] = ["starts-with", "$key", "async_uploads/"]
    return base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


POLICY_FAILED = "Invalid according to Policy: Policy Condition failed: "
Case = Callable[[dict[str, Any]], tuple[str, list[Part]]]  # authorization -> (bucket, ordered parts)


def same_bucket(make: Callable[[dict[str, Any]], list[Part]]) -> Case:
    return lambda authorization: (BUCKET, make(authorization))


REFUSALS = [
    pytest.param(
        same_bucket(lambda a: form(a, **{"Content-Type": "image/jpeg"})),
        403,
        "AccessDenied",
        POLICY_FAILED + '["eq", "$Content-Type", "image/png"]',
        id="condition-content-type",
    ),
    pytest.param(
        same_bucket(lambda a: form(a, key="async_uploads/someone-else/picture.png")),
        403,
        "AccessDenied",
        POLICY_FAILED + '["starts-with", "$key", "{key}"]',
        id="condition-key-prefix",
    ),
    pytest.param(
        same_bucket(lambda a: form(a, success_action_status="200")),
        403,
        "AccessDenied",
        POLICY_FAILED + '["eq", "$success_action_status", "201"]',
        id="condition-success-status",
    ),
    pytest.param(
        same_bucket(lambda a: form(a, **{"Content-Type": None})),
        403,
        "AccessDenied",
        POLICY_FAILED + '["starts-with", "$Content-Type", ""]',
        id="condition-content-type-missing",
    ),
    pytest.param(
        same_bucket(lambda a: form(a, **{"x-amz-meta-note": "hi"})),
        403,
        "AccessDenied",
        "Invalid according to Policy: Extra input fields: x-amz-meta-note",
        id="extra-field",
    ),
    pytest.param(
        same_bucket(lambda a: form(a, **{"x-amz-signature": "0" * 64})),
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        id="bad-signature",
    ),
    pytest.param(
        same_bucket(lambda a: form(a, policy=tampered_policy(a))),
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        id="edited-policy",
    ),
    pytest.param(
        lambda a: ("sandbox-uploads", form(a)),
        403,
        "AccessDenied",
        POLICY_FAILED + '["eq", "$bucket", "staging-thundermaps-uploads"]',
        id="wrong-bucket",
    ),
    pytest.param(
        lambda a: ("no-such-bucket", form(a)),
        404,
        "NoSuchBucket",
        "The specified bucket does not exist",
        id="unknown-bucket",
    ),
    pytest.param(
        same_bucket(lambda a: form(a, key=None)),
        400,
        "InvalidArgument",
        "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of "
        "the fields.",
        id="missing-key",
    ),
    pytest.param(
        same_bucket(lambda a: [*form(a, key=None), ("key", a["key"])]),
        400,
        "InvalidArgument",
        "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of "
        "the fields.",
        id="file-not-last",
    ),
    pytest.param(
        same_bucket(lambda a: form(a, **{"x-amz-signature": None})),
        400,
        "InvalidArgument",
        "Bucket POST must contain a field named 'X-Amz-Signature'.  If it is specified, please check "
        "the order of the fields.",
        id="missing-signature",
    ),
    pytest.param(
        same_bucket(
            lambda a: [*form(a)[:-1], ("attachment", ("other.png", PICTURE, "image/png")), form(a)[-1]]
        ),
        400,
        "InvalidArgument",
        # Only the part named "file" is the file: another part with a filename is a text field.
        "Malformed Unicode code sequence in the field.",
        id="second-file-is-a-field",
    ),
    pytest.param(
        same_bucket(lambda a: form(a)[:-1]),
        400,
        "InvalidArgument",
        "POST requires exactly one file upload per request.",
        id="no-file",
    ),
]


@pytest.mark.parametrize(("case", "status", "code", "message"), REFUSALS)
def test_policy_refusals(saferme: LiveSaferMe, case: Case, status: int, code: str, message: str) -> None:
    authorization = saferme.authorize()
    bucket, parts = case(authorization)
    body, content_type = encode_multipart_formdata(parts)
    response = requests.post(
        f"{saferme.live.url}/s3/{bucket}", data=body, headers={"Content-Type": content_type}, timeout=10
    )
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["Message"]) == (
        status,
        code,
        message.replace("{key}", authorization["key"]),
    )
    assert saferme.live.sandbox.storage.objects.list(BUCKET) == []
    assert saferme.create(authorization["key"]).status_code == 422


@pytest.mark.parametrize(("seconds", "status"), [(3599, 201), (3600, 403)], ids=["last-second", "expired"])
def test_policy_expires_one_hour_after_issue(saferme: LiveSaferMe, seconds: int, status: int) -> None:
    saferme.live.sandbox.clock.freeze()  # only the advance below may move time
    authorization = saferme.authorize()
    saferme.live.sandbox.clock.advance(seconds)
    body, content_type = encode_multipart_formdata(form(authorization))
    response = requests.post(
        authorization["url"], data=body, headers={"Content-Type": content_type}, timeout=10
    )
    assert response.status_code == status
    if status == 403:
        assert s3_error(response)["Message"] == "Invalid according to Policy: Policy expired."


def test_not_multipart_is_a_failed_precondition(saferme: LiveSaferMe) -> None:
    authorization = saferme.authorize()
    response = requests.post(authorization["url"], data=authorization["fields"], timeout=10)
    error = s3_error(response)
    assert (response.status_code, error["Code"], error["Condition"]) == (
        412,
        "PreconditionFailed",
        "Bucket POST must be of the enclosure-type multipart/form-data",
    )


def test_the_policy_prefix_is_plain_like_s3s(saferme: LiveSaferMe) -> None:
    """``starts-with $key <key>`` also lets ``<key>-copy`` through, as S3 does; the attachment accepts it."""
    authorization = saferme.authorize()
    key = authorization["key"] + "-copy"
    body, content_type = encode_multipart_formdata(form(authorization, key=key))
    assert (
        requests.post(
            authorization["url"], data=body, headers={"Content-Type": content_type}, timeout=10
        ).status_code
        == 201
    )
    assert saferme.create(key).json()["filename"] == key.rsplit("/", 1)[1]
