"""Upload authorization, file attachments and their 202-then-200 processing, in-process."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.fixtures import FixtureError
from mock_server.core.sandbox import Sandbox
from mock_server.settings import DEFAULT_FIXTURES, Settings
from mock_server.vendors.saferme import vendor as saferme_vendor
from mock_server.vendors.saferme.models import ALLOWED_CONTENT_TYPES, BUCKET
from mock_server.vendors.saferme.routes import DOCUMENT

BASE = "http://127.0.0.1:8080"
AUTHORIZE = "/saferme/api/v4/file_attachments/upload_authorization"
ATTACHMENTS = "/saferme/api/v4/file_attachments"
HEADERS = {
    "Authorization": "Token token=saferme-dev-token",
    "X-AppId": "com.thundermaps.saferme",
    "X-TeamId": "1234",
    "X-InstallationId": "install-0001",
}
OTHER_TEAM = {**HEADERS, "Authorization": "Token token=saferme-other-team-token", "X-TeamId": "5678"}
Validate = Callable[..., Any]


def image_bytes(size: tuple[int, int] = (800, 600), kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, kind)
    return buffer.getvalue()


def local(url: str) -> str:
    assert url.startswith(BASE), url
    return url[len(BASE) :]


def decoded_policy(fields: dict[str, str]) -> dict[str, Any]:
    return json.loads(base64.b64decode(fields["policy"]))


class TestUploadAuthorization:
    def test_shape_and_policy_match_the_vendor(self, saferme, sandbox: Sandbox) -> None:
        authorization = saferme.authorize()
        key, fields = authorization["key"], authorization["fields"]
        assert key.startswith("async_uploads/") and authorization["key_prefix"] == key + "/"
        assert authorization["method"] == "POST" and authorization["required_fields"] == [
            "Content-Type",
            "file",
        ]
        assert authorization["url"] == f"{BASE}/s3/staging-thundermaps-uploads"
        assert list(fields) == [
            "key",
            "success_action_status",
            "Content-Type",
            "policy",
            "x-amz-credential",
            "x-amz-algorithm",
            "x-amz-date",
            "x-amz-signature",
            "x-amz-security-token",
        ]
        assert (fields["key"], fields["success_action_status"], fields["Content-Type"]) == (
            key,
            "201",
            "image/png",
        )
        assert fields["x-amz-security-token"] == ""
        policy = decoded_policy(fields)
        assert policy["conditions"] == [
            {"bucket": "staging-thundermaps-uploads"},
            ["starts-with", "$key", key],
            ["starts-with", "$Content-Type", ""],
            {"success_action_status": "201"},
            {"Content-Type": "image/png"},
            {"x-amz-credential": fields["x-amz-credential"]},
            {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
            {"x-amz-date": fields["x-amz-date"]},
        ]
        signed_at = datetime.strptime(fields["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert expiration - signed_at == timedelta(hours=1)
        assert abs((signed_at - sandbox.clock.now()).total_seconds()) < 2
        assert fields["x-amz-credential"].startswith(f"{sandbox.settings.s3_access_key_id}/")

    def test_each_call_mints_a_new_key(self, saferme) -> None:
        assert saferme.authorize()["key"] != saferme.authorize()["key"]

    def test_allowed_content_types(self, saferme) -> None:
        assert len(ALLOWED_CONTENT_TYPES) == 12
        for content_type in ALLOWED_CONTENT_TYPES:
            authorization = saferme.authorize(content_type)
            assert authorization["fields"]["Content-Type"] == content_type
            assert {"Content-Type": content_type} in decoded_policy(authorization["fields"])["conditions"]

    def test_content_type_is_matched_case_insensitively(self, saferme) -> None:
        assert saferme.authorize("IMAGE/PNG")["fields"]["Content-Type"] == "image/png"

    @pytest.mark.parametrize(
        ("params", "code", "message"),
        [
            ({}, "blank", "Content type can't be blank"),
            ({"content_type": ""}, "blank", "Content type can't be blank"),
            ({"content_type": "image/bmp"}, "inclusion", "Content type is not included in the list"),
            ({"content_type": "application/zip"}, "inclusion", "Content type is not included in the list"),
            (
                {"content_type": "image/png; charset=binary"},
                "inclusion",
                "Content type is not included in the list",
            ),
            ({"content_type": "image/jpg"}, "inclusion", "Content type is not included in the list"),
        ],
        ids=["missing", "empty", "bmp", "zip", "with-parameters", "jpg-alias"],
    )
    def test_refused_content_types(
        self, client: TestClient, validate_response: Validate, params: dict[str, str], code: str, message: str
    ) -> None:
        response = client.get(AUTHORIZE, params=params, headers=HEADERS)
        assert response.status_code == 422
        body = validate_response("saferme", "getUploadAuthorization", response)
        assert body["errors"] == [message] and body["error_codes"]["content_type"][0]["error"] == code
        if code == "inclusion":
            assert body["error_codes"]["content_type"][0]["value"] == params["content_type"]


class TestFileAttachments:
    def test_processing_then_processed_on_the_clock(self, saferme, sandbox: Sandbox) -> None:
        key = saferme.uploaded()
        created = saferme.create(key)
        body = created.json()
        assert (created.status_code, body["id"], body["filename"], body["style_url"]) == (
            202,
            21,
            "picture.png",
            {},
        )
        assert (body["photo_time"], body["photo_location"], body["tags"]) == (None, None, {})
        assert saferme.client.get(local(body["original_url"])).content == image_bytes()
        sandbox.clock.advance(2.5)
        assert saferme.get(21).status_code == 202
        sandbox.clock.advance(0.5)
        done = saferme.get(21)
        assert done.status_code == 200
        styles = done.json()["style_url"]
        assert set(styles) == {"thumb", "medium"}
        thumb = Image.open(io.BytesIO(saferme.client.get(local(styles["thumb"])).content))
        medium = Image.open(io.BytesIO(saferme.client.get(local(styles["medium"])).content))
        assert (thumb.format, thumb.size, medium.format, medium.size) == (
            "JPEG",
            (100, 100),
            "JPEG",
            (640, 480),
        )
        assert saferme.create(key).status_code == 200

    def test_same_key_gives_the_same_attachment(self, saferme) -> None:
        first, second = saferme.uploaded(name="a.png"), saferme.uploaded(name="b.png")
        assert [saferme.create(k).json()["id"] for k in (first, second, first)] == [21, 22, 21]

    @pytest.mark.parametrize(
        ("name", "filename"),
        [
            (None, None),
            ("road1.jpg", "road1.jpg"),
            ("dir/signature.png", "signature.png"),
        ],
        ids=["bare-key", "key-prefix-name", "nested-name"],
    )
    def test_filename_from_the_key(self, saferme, name: str | None, filename: str | None) -> None:
        assert saferme.create(saferme.uploaded(name=name)).json()["filename"] == filename

    @pytest.mark.parametrize(
        ("content_type", "data"),
        [
            ("application/pdf", b"%PDF-1.7 sandbox"),
            ("image/png", b"\x89PNG not really"),
        ],
        ids=["pdf", "undecodable-image"],
    )
    def test_no_styles_when_nothing_to_render(
        self, saferme, sandbox: Sandbox, content_type: str, data: bytes
    ) -> None:
        attachment_id = saferme.create(saferme.uploaded(content_type, "file.bin", data)).json()["id"]
        sandbox.clock.advance(3)
        response = saferme.get(attachment_id)
        assert (response.status_code, response.json()["style_url"]) == (200, {})

    def test_gif_and_transparent_png_are_rendered(self, saferme, sandbox: Sandbox) -> None:
        transparent = io.BytesIO()
        Image.new("RGBA", (50, 30), (0, 0, 0, 0)).save(transparent, "PNG")
        ids = [
            saferme.create(saferme.uploaded("image/gif", "a.gif", image_bytes((20, 20), "GIF"))).json()["id"],
            saferme.create(saferme.uploaded("image/png", "t.png", transparent.getvalue())).json()["id"],
        ]
        sandbox.clock.advance(3)
        for attachment_id in ids:
            styles = saferme.get(attachment_id).json()["style_url"]
            medium = Image.open(io.BytesIO(saferme.client.get(local(styles["medium"])).content))
            assert medium.mode == "RGB"

    def test_links_expire_and_are_reissued(self, saferme, sandbox: Sandbox) -> None:
        body = saferme.create(saferme.uploaded()).json()
        sandbox.clock.advance(3601)
        expired = saferme.client.get(local(body["original_url"]))
        assert expired.status_code == 403 and b"Request has expired" in expired.content
        fresh = saferme.get(body["id"]).json()["original_url"]
        assert saferme.client.get(local(fresh)).status_code == 200


class TestRefusals:
    def test_create_errors(self, saferme, client: TestClient, validate_response: Validate) -> None:
        authorized = saferme.authorize()
        other_teams = saferme.uploaded(headers=OTHER_TEAM)
        prefix_upload = saferme.uploaded(name="x.png")
        bare_of_that = prefix_upload.rsplit("/", 1)[0]
        cases = [
            ("async_uploads/9f0d8c1e-1111-4222-8333-444455556666/a.png", "invalid"),  # never issued
            ("other/picture.png", "invalid"),
            (authorized["key"].replace("async_uploads/", "async_uploads/../"), "invalid"),
            (other_teams, "invalid"),
            (authorized["key"], "not_uploaded"),
            (authorized["key_prefix"] + "never.png", "not_uploaded"),
            (bare_of_that, "not_uploaded"),
        ]
        for key, code in cases:
            response = saferme.create(key)
            assert response.status_code == 422, key
            body = response.json()
            assert body["error_codes"] == {"key": [{"error": code, "value": key}]}, key
            assert body["errors"] == [
                {"invalid": "Key is invalid", "not_uploaded": "Key has not been uploaded"}[code]
            ]

    @pytest.mark.parametrize(
        ("body", "status", "errors"),
        [
            ({}, 422, {"file_attachment": "blank"}),
            ({"file_attachment": {}}, 422, {"key": "blank"}),
            ({"file_attachment": {"key": ""}}, 422, {"key": "blank"}),
            ({"file_attachment": {"key": 12}}, 422, {"key": "invalid"}),
            ({"file_attachment": "async_uploads/x"}, 422, {"file_attachment": "invalid"}),
            ([], 422, {"file_attachment": "invalid"}),
        ],
        ids=["no-file-attachment", "no-key", "empty-key", "numeric-key", "not-an-object", "array"],
    )
    def test_body_validation(
        self,
        client: TestClient,
        validate_response: Validate,
        body: object,
        status: int,
        errors: dict[str, str],
    ) -> None:
        response = client.post(ATTACHMENTS, json=body, headers=HEADERS)
        assert response.status_code == status
        codes = validate_response("saferme", "createFileAttachment", response)["error_codes"]
        assert {name: entries[0]["error"] for name, entries in codes.items()} == errors

    def test_not_json_and_too_large(self, client: TestClient, validate_response: Validate) -> None:
        broken = client.post(ATTACHMENTS, content=b"{file_attachment: {key: x}}", headers=HEADERS)
        assert broken.status_code == 400
        assert validate_response("saferme", "createFileAttachment", broken)["error_codes"]["base"][0][
            "error"
        ] == ("bad_request")
        huge = client.post(ATTACHMENTS, json={"file_attachment": {"key": "k" * 70000}}, headers=HEADERS)
        assert huge.status_code == 413
        validate_response("saferme", "createFileAttachment", huge)

    def test_get_unknown_foreign_and_malformed_ids(self, saferme) -> None:
        mine = saferme.create(saferme.uploaded()).json()["id"]
        for attachment_id, request_headers in (
            (999, HEADERS),
            (mine, OTHER_TEAM),
            ("abc", HEADERS),
            ("٢١", HEADERS),
        ):
            response = saferme.get(attachment_id, request_headers)
            assert response.status_code == 404
            assert response.json()["errors"] == [f"Couldn't find FileAttachment with 'id'={attachment_id}"]
        assert saferme.get(mine).status_code == 202


class TestTeams:
    def test_x_team_id_selects_the_team_for_a_user_token(self, saferme, client: TestClient) -> None:
        token = client.post(
            "/saferme/api/v3/sessions",
            headers={"X-AppId": "com.thundermaps.saferme"},
            json={"user": {"email": "integrations@example.com", "password": "saferme-dev-password"}},
        ).json()["auth_token"]
        in_1234 = {**HEADERS, "Authorization": f'Token token="{token}"', "X-TeamId": "1234"}
        in_5678 = {**in_1234, "X-TeamId": "5678"}
        key = saferme.uploaded(headers=in_5678)
        assert saferme.create(key, in_1234).status_code == 422
        attachment_id = saferme.create(key, in_5678).json()["id"]
        assert saferme.get(attachment_id, OTHER_TEAM).status_code == 202
        assert saferme.get(attachment_id, in_1234).status_code == 404
        assert saferme.get(attachment_id, HEADERS).status_code == 404

    def test_default_team_is_the_credentials_first(self, saferme) -> None:
        no_team = {name: value for name, value in HEADERS.items() if name != "X-TeamId"}
        attachment_id = saferme.create(saferme.uploaded(headers=no_team), HEADERS).json()["id"]
        assert saferme.get(attachment_id, no_team).status_code == 202


def write_fixtures(tmp_path: Path, section: dict[str, Any], name: str = "extra.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"saferme": section}), encoding="utf-8")
    return path


@pytest.fixture
def sized_client(tmp_path: Path) -> Iterator[TestClient]:
    extra = write_fixtures(tmp_path, {"settings": {"max_upload_bytes": 1000, "processing_seconds": 0}})
    app = create_app(Settings(seed=7, fixtures=(DEFAULT_FIXTURES, extra)))
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client
    app.state.sandbox.close()


class TestSettings:
    def test_size_limit_and_instant_processing(
        self, sized_client: TestClient, saferme_for: Callable[[TestClient], Any]
    ) -> None:
        saferme = saferme_for(sized_client)
        authorization = saferme.authorize()
        assert ["content-length-range", 0, 1000] in decoded_policy(authorization["fields"])["conditions"]
        too_big = saferme.upload(authorization, data=b"x" * 1001)
        assert too_big.status_code == 400 and b"<Code>EntityTooLarge</Code>" in too_big.content
        assert sized_client.app.state.sandbox.storage.objects.list(BUCKET) == []  # type: ignore[attr-defined]
        assert saferme.upload(authorization, data=b"x" * 1000).status_code == 201
        created = saferme.create(authorization["key"])
        assert (created.status_code, created.json()["style_url"]) == (200, {})

    @pytest.mark.parametrize(
        ("section", "message"),
        [
            ({"teams": [{"id": "x", "name": "t"}]}, "saferme/teams/0/id"),
            ({"settings": {"processing_seconds": -1}}, "saferme/settings/processing_seconds"),
            (
                {"users": [{"id": 1, "email": "no-at-sign", "password": "p", "teams": [1234]}]},
                "saferme/users/0/email",
            ),
            (
                {"users": [{"id": 1, "email": "a@b.c", "password": "p", "teams": [42]}]},
                r"saferme/users/0/teams: 42 names no team under saferme/teams/\*",
            ),
            (
                {"teams": [{"id": 1234, "name": "again"}]},
                r"saferme/teams/0/id: duplicate team 1234 \(first at .*saferme\.yaml:\d+: saferme/teams/0/id",
            ),
            (
                {"teams": [{"id": 9, "name": "n", "api_keys": ["saferme-dev-token"]}]},
                r"saferme/teams/0/api_keys: duplicate API key 'saferme-dev-token'",
            ),
        ],
        ids=[
            "team-id-type",
            "negative-processing",
            "bad-email",
            "unknown-team",
            "duplicate-team",
            "duplicate-key",
        ],
    )
    def test_broken_fixtures_name_the_place(
        self, tmp_path: Path, section: dict[str, Any], message: str
    ) -> None:
        extra = write_fixtures(tmp_path, section, "zz-broken.yaml")
        with pytest.raises(FixtureError, match=message):
            create_app(Settings(fixtures=(DEFAULT_FIXTURES, extra)))

    def test_reset_restarts_ids_and_forgets_sessions(self, saferme, client: TestClient) -> None:
        login = client.post(
            "/saferme/api/v3/sessions",
            headers={"X-AppId": "com.thundermaps.saferme"},
            json={"user": {"email": "integrations@example.com", "password": "saferme-dev-password"}},
        )
        token = login.json()["auth_token"]
        assert saferme.create(saferme.uploaded()).json()["id"] == 21
        client.post("/__admin/reset")
        assert saferme.create(saferme.uploaded()).json()["id"] == 21
        response = client.get(
            AUTHORIZE,
            params={"content_type": "image/png"},
            headers={**HEADERS, "Authorization": f"Token token={token}"},
        )
        assert response.status_code == 401


def test_route_names_are_operation_ids_and_the_document_is_served(client: TestClient) -> None:
    served_routes = saferme_vendor.routes
    assert {route.name.split(":", 1)[1] for route in served_routes} == set(DOCUMENT.operations)
    assert all(route.name.startswith("saferme:") for route in served_routes)
    for route in served_routes:
        method, template, _ = DOCUMENT.operations[route.name.split(":", 1)[1]]
        assert (route.path, method in route.methods) == (template, True), route.name
    served = client.get("/saferme/openapi.json")
    assert served.status_code == 200 and served.json()["paths"].keys() == DOCUMENT.document["paths"].keys()


def test_journal_names_operations(saferme, client: TestClient) -> None:
    saferme.create(saferme.uploaded())
    operations = [entry["operation"] for entry in client.get("/__admin/requests").json()["requests"]]
    assert operations[:3] == [
        "saferme.createFileAttachment",
        "storage.postObject",
        "saferme.getUploadAuthorization",
    ]
