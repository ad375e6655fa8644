"""Decoda's attachment operations beyond upload and listing, each body validated against the spec."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image
from starlette.testclient import TestClient

from mock_server.core.sandbox import Sandbox
from mock_server.settings import DEFAULT_FIXTURES, Settings
from mock_server.testing.server import LiveServer
from mock_server.vendors.decoda.models import BUCKET

DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}
OTHER = {"TENANT": "other", "API-KEY": "decoda-other-key"}


def png(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (40, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def test_single_upload_keeps_external_id_and_answer_id(decoda, sandbox: Sandbox) -> None:
    item = decoda.upload(external_id="EXT-9", answer_id="ANS-1", name="Front")
    assert (item["externalId"], item["name"], item["originalFilename"]) == ("EXT-9", "Front", "a.png")
    assert sandbox.store.get("decoda", "demo", "attachment", item["id"])["answerId"] == "ANS-1"


def test_delete_answers_true_and_removes_record_and_bytes(decoda, client: TestClient) -> None:
    item = decoda.upload()
    assert decoda.call("DELETE", f"/attachments/{item['id']}", "deleteAttachment") == (200, True)
    assert client.get(item["signedUrl"]).status_code == 404
    assert decoda.listing()["data"] == []
    assert decoda.call("DELETE", f"/attachments/{item['id']}", "deleteAttachment") == (
        404,
        {"detail": "Attachment not found"},
    )


def test_rename_and_bulk_rename(decoda) -> None:
    first, second = decoda.upload("1.png"), decoda.upload("2.png")
    path = f"/attachments/{first['id']}/name"
    assert decoda.call("PUT", path, "renameAttachment", json={"name": "Left cheek"}) == (200, True)
    updates = [{"attachmentId": first["id"], "name": "L"}, {"attachmentId": second["id"], "name": "R"}]
    body = {"updates": updates}
    assert decoda.call("PUT", "/attachments/bulk-names", "bulkRenameAttachments", json=body) == (200, True)
    assert {item["id"]: item["name"] for item in decoda.listing()["data"]} == {
        first["id"]: "L",
        second["id"]: "R",
    }
    updates.append({"attachmentId": "nope", "name": "X"})
    assert decoda.call("PUT", "/attachments/bulk-names", "bulkRenameAttachments", json=body)[0] == 404
    assert {item["name"] for item in decoda.listing()["data"]} == {"L", "R"}  # all or nothing


def test_change_patient_moves_the_attachment_and_drops_the_other_patients_note(decoda) -> None:
    item = decoda.upload(note_id="N2001")
    body = {"patientId": "P1002"}
    assert decoda.call("PUT", f"/attachments/{item['id']}/patient", "changeAttachmentPatient", json=body) == (
        200,
        True,
    )
    (moved,) = decoda.listing(patient_id="P1002")["data"]
    assert (moved["patient"]["id"], moved["noteId"]) == ("P1002", None)
    status, _ = decoda.call(
        "PUT", f"/attachments/{item['id']}/patient", "changeAttachmentPatient", json={"patientId": "P5001"}
    )
    assert status == 404  # another tenant's patient


def test_update_image_replaces_the_bytes_and_retires_old_links(decoda, client: TestClient) -> None:
    item = decoda.upload("old.png", png((0, 0, 255)))
    assert client.get(item["signedUrl"]).status_code == 200
    new = png((0, 255, 0), (64, 64))
    status, updated = decoda.call(
        "PUT",
        f"/attachments/{item['id']}/image",
        "updateAttachmentImage",
        files={"file": ("rotated.png", new, "image/png")},
    )
    assert status == 200
    assert (updated["id"], updated["originalFilename"]) == (item["id"], "rotated.png")
    assert client.get(updated["signedUrl"]).content == new
    assert updated["thumbnailSignedUrl"] is not None
    for old_link in (item["signedUrl"], item["thumbnailSignedUrl"]):
        assert client.get(old_link).status_code == 404


def test_annotations_history_and_restore(decoda) -> None:
    item = decoda.upload()
    path = f"/attachments/{item['id']}"
    first = {"annotations": [{"type": "arrow", "x": 1}]}
    second = {"annotations": [{"type": "circle", "r": 4}]}
    for body in (first, second):
        assert decoda.call("PUT", f"{path}/annotations", "updateAttachmentAnnotations", json=body) == (
            200,
            True,
        )
    assert decoda.listing()["data"][0]["annotations"] == second["annotations"]
    status, history = decoda.call("GET", f"{path}/annotation-history", "getAttachmentAnnotationHistory")
    assert status == 200
    assert [entry["annotations"] for entry in history] == [first["annotations"], []]
    restore = f"{path}/restore-annotations/{history[0]['id']}"
    assert decoda.call("POST", restore, "restoreAttachmentAnnotations") == (200, True)
    assert decoda.listing()["data"][0]["annotations"] == first["annotations"]
    assert decoda.call("POST", f"{path}/restore-annotations/nope", "restoreAttachmentAnnotations") == (
        404,
        {"detail": "Annotation history not found"},
    )


def test_annotations_body_without_a_list_is_one_annotation(decoda) -> None:
    item = decoda.upload()
    canvas = {"version": "5.3.0", "objects": [{"type": "rect"}]}
    decoda.call("PUT", f"/attachments/{item['id']}/annotations", "updateAttachmentAnnotations", json=canvas)
    assert decoda.listing()["data"][0]["annotations"] == [canvas]


def test_duplicate_copies_bytes_annotations_and_tags(decoda, client: TestClient) -> None:
    item = decoda.upload(external_id="EXT-1")
    tag = decoda.tag("Before")
    decoda.call(
        "POST", f"/attachments/{item['id']}/tags", "assignAttachmentTags", json={"tagIds": [tag["id"]]}
    )
    decoda.call("PUT", f"/attachments/{item['id']}/annotations", "updateAttachmentAnnotations", json={"a": 1})
    status, copy = decoda.call("POST", f"/attachments/{item['id']}/duplicate", "duplicateAttachment")
    assert status == 200
    assert copy["id"] != item["id"] and copy["externalId"] is None
    assert (copy["name"], copy["annotations"], copy["tags"]) == (item["name"], [{"a": 1}], [tag])
    assert client.get(copy["signedUrl"]).content == client.get(item["signedUrl"]).content


def test_comparison_is_a_side_by_side_png(decoda, client: TestClient) -> None:
    before, after = decoda.upload("b.png", png(size=(40, 20))), decoda.upload("a.png", png(size=(10, 10)))
    body = {
        "beforeAttachmentId": before["id"],
        "afterAttachmentId": after["id"],
        "patientId": "P1001",
        "noteId": "N2001",
        "beforeTransform": {"zoom": 2},
    }
    status, item = decoda.call(
        "POST", "/attachments/create-comparison", "createComparisonAttachment", json=body
    )
    assert status == 200
    assert (item["name"], item["originalFilename"], item["noteId"]) == (
        "Comparison",
        "comparison.png",
        "N2001",
    )
    assert Image.open(io.BytesIO(client.get(item["signedUrl"]).content)).size == (30, 10)
    not_image = decoda.upload("c.txt", b"text")
    body["afterAttachmentId"] = not_image["id"]
    assert (
        decoda.call("POST", "/attachments/create-comparison", "createComparisonAttachment", json=body)[0]
        == 400
    )


def test_count_by_patient_and_note(decoda) -> None:
    decoda.upload(note_id="N2001")
    decoda.upload()
    for params, expected in (({}, 2), ({"note_id": "N2001"}, 1), ({"patient_id": "P1002"}, 0)):
        assert decoda.call("GET", "/attachments/count", "countAttachments", params=params) == (200, expected)


def test_tag_crud_listing_and_filter(decoda) -> None:
    red, blue = decoda.tag("Red"), decoda.tag("blue")
    assert red["color"] == "#3B82F6" and red["createdDate"].endswith("Z")
    status, conflict = decoda.call("POST", "/attachments/tags", "createAttachmentTag", json={"name": "RED"})
    assert (status, conflict) == (409, {"detail": "An attachment tag with this name already exists"})
    assert decoda.call("GET", f"/attachments/tags/{red['id']}", "getAttachmentTag") == (200, red)
    status, renamed = decoda.call(
        "PUT", f"/attachments/tags/{red['id']}", "updateAttachmentTag", json={"color": "#ff0000"}
    )
    assert (status, renamed) == (200, {**red, "color": "#ff0000"})
    params = {"sort_direction": "desc", "per_page": 1, "page": 2}
    status, page = decoda.call("GET", "/attachments/tags", "getAttachmentTags", params=params)
    assert (status, page["total"], [tag["name"] for tag in page["data"]]) == (200, 2, ["blue"])
    assert (
        decoda.call("GET", "/attachments/tags", "getAttachmentTags", params={"name": "re"})[1]["total"] == 1
    )
    tagged, untagged = decoda.upload("t.png"), decoda.upload("u.png")
    decoda.call(
        "POST", f"/attachments/{tagged['id']}/tags", "assignAttachmentTags", json={"tagIds": [blue["id"]]}
    )
    assert [item["id"] for item in decoda.listing(tag_ids=[blue["id"]])["data"]] == [tagged["id"]]
    assert len(decoda.listing(tagIds=[blue["id"], red["id"]])["data"]) == 1
    assert untagged["id"] in {item["id"] for item in decoda.listing()["data"]}
    tags_of = f"/attachments/{tagged['id']}/tags"
    assert decoda.call("GET", tags_of, "getAttachmentTagsForAttachment") == (200, [blue])
    deleted = decoda.call("DELETE", f"/attachments/tags/{blue['id']}", "deleteAttachmentTag")
    assert deleted == (200, {"message": "Tag deleted successfully"})
    assert decoda.call("GET", tags_of, "getAttachmentTagsForAttachment") == (200, [])


def test_assigning_an_unknown_tag_changes_nothing(decoda) -> None:
    item, tag = decoda.upload(), decoda.tag("Keep")
    path = f"/attachments/{item['id']}/tags"
    decoda.call("POST", path, "assignAttachmentTags", json={"tagIds": [tag["id"]]})
    status, body = decoda.call("POST", path, "assignAttachmentTags", json={"tagIds": ["missing"]})
    assert (status, body) == (404, {"detail": "Tag not found: missing"})
    assert decoda.call("GET", path, "getAttachmentTagsForAttachment") == (200, [tag])


def test_patient_chart(decoda) -> None:
    status, chart = decoda.call("GET", "/user/patient/P1002", "getPatient")
    assert status == 200
    assert (chart["appointmentCount"], chart["memberships"], chart["profilePictureUrl"]) == (0, [], None)


# -- attachment-from-url -------------------------------------------------------------------------
def _from_url(decoda, gcs_path: str, note: str = "N2001", headers: dict[str, str] = DEMO) -> Any:
    body = {"gcsPath": gcs_path, "answerId": "ANS-7", "name": "From placeholder"}
    return decoda.call(
        "POST", f"/notes/{note}/attachment-from-url", "addNoteAttachmentFromUrl", headers, json=body
    )


def test_from_url_takes_own_signed_urls_and_gcs_paths(decoda, client: TestClient) -> None:
    source = decoda.upload("placeholder.png")
    for gcs_path in (source["signedUrl"], source["gcsPath"]):
        status, item = _from_url(decoda, gcs_path)
        assert status == 200, item
        assert (item["noteId"], item["name"], item["originalFilename"]) == (
            "N2001",
            "From placeholder",
            "placeholder.png",
        )
        assert client.get(item["signedUrl"]).content == client.get(source["signedUrl"]).content


def unreachable(gcs_path: str) -> dict[str, Any]:
    return {
        "detail": [
            {
                "type": "value_error",
                "loc": ["body", "gcsPath"],
                "msg": "Value error, could not download the file at gcsPath",
                "input": gcs_path,
                "ctx": {"error": {}},
            }
        ]
    }


def test_from_url_never_reaches_the_network(decoda, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("network call")

    monkeypatch.setattr("requests.get", no_network)
    source = decoda.upload()
    edited = source["signedUrl"].replace("X-Goog-Expires=", "X-Goog-Expires=1")
    foreign = "https://storage.googleapis.com/decoda-attachments/demo/x.png"
    other_tenant = source["gcsPath"].replace("/demo/", "/other/")
    for gcs_path in (foreign, edited, "gs://decoda-attachments/demo/missing.png", "file:///etc/passwd"):
        assert _from_url(decoda, gcs_path) == (422, unreachable(gcs_path))
    assert _from_url(decoda, other_tenant) == (422, unreachable(other_tenant))
    assert _from_url(decoda, source["gcsPath"], note="N6001") == (404, {"detail": "Note not found"})


def test_from_url_refuses_an_expired_link(decoda, sandbox: Sandbox) -> None:
    source = decoda.upload()
    sandbox.clock.advance(3601)
    assert _from_url(decoda, source["signedUrl"]) == (422, unreachable(source["signedUrl"]))


class TestAllowedHosts:
    """A host listed in ``decoda.fetch_allowed_hosts`` is fetched (here: a live sandbox on 127.0.0.1)."""

    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        extra = tmp_path / "hosts.yaml"
        extra.write_text("decoda:\n  fetch_allowed_hosts: [127.0.0.1]\n")
        return Settings(seed=4, fixtures=(DEFAULT_FIXTURES, extra))

    def test_fetches_from_an_allowed_host(self, decoda, live: LiveServer) -> None:
        url = f"{live.url}/decoda/openapi.json"
        status, item = _from_url(decoda, url)
        assert (status, item["originalFilename"]) == (200, "openapi.json")
        missing = f"{live.url}/decoda/nothing-here.png"
        assert _from_url(decoda, missing) == (422, unreachable(missing))


# -- e-mail attachments ----------------------------------------------------------------------------
MAIL_FIXTURE = """
decoda:
  tenants:
    - name: mailtenant
      api_key: decoda-mail-key
      email_messages:
        - id: M1
          attachments:
            - {id: EA1, filename: logo.png, contentType: image/png, contentId: logo@cid, content: "PNGDATA"}
            - {id: EA2, filename: report.pdf, contentType: application/pdf, content: "%PDF-1.7"}
            - {id: EA3, filename: pending.txt}
"""
MAIL = {"TENANT": "mailtenant", "API-KEY": "decoda-mail-key"}


class TestEmailAttachments:
    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        extra = tmp_path / "mail.yaml"
        extra.write_text(MAIL_FIXTURE)
        return Settings(seed=3, fixtures=(DEFAULT_FIXTURES, extra))

    def test_download_link(self, decoda, client: TestClient) -> None:
        status, body = decoda.call("GET", "/email/attachments/EA2/download", "downloadEmailAttachment", MAIL)
        assert status == 200
        assert client.get(body["signedUrl"]).content == b"%PDF-1.7"
        pending = decoda.call("GET", "/email/attachments/EA3/download", "downloadEmailAttachment", MAIL)
        assert pending == (404, {"detail": "Attachment not downloaded yet"})
        assert decoda.call("GET", "/email/attachments/EA2/download", "downloadEmailAttachment")[0] == 404

    def test_message_urls(self, decoda, client: TestClient) -> None:
        status, body = decoda.call(
            "GET", "/email/messages/M1/attachment-urls", "getMessageAttachmentUrls", MAIL
        )
        assert status == 200
        assert sorted(body["byAttachmentId"]) == ["EA1", "EA2"]
        assert body["byContentId"]["logo@cid"]["attachmentId"] == "EA1"
        assert client.get(body["byContentId"]["logo@cid"]["signedUrl"]).content == b"PNGDATA"
        assert body["expiresAt"].endswith("Z")
        assert decoda.call("GET", "/email/messages/M2/attachment-urls", "getMessageAttachmentUrls", MAIL) == (
            404,
            {"detail": "Message not found"},
        )


# -- tenants ---------------------------------------------------------------------------------------
def _other_tenant_calls(attachment: str, tag: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [
        ("DELETE", f"/attachments/{attachment}", "deleteAttachment", {}),
        ("PUT", f"/attachments/{attachment}/name", "renameAttachment", {"json": {"name": "x"}}),
        (
            "PUT",
            "/attachments/bulk-names",
            "bulkRenameAttachments",
            {"json": {"updates": [{"attachmentId": attachment, "name": "x"}]}},
        ),
        (
            "PUT",
            f"/attachments/{attachment}/patient",
            "changeAttachmentPatient",
            {"json": {"patientId": "P5001"}},
        ),
        (
            "PUT",
            f"/attachments/{attachment}/image",
            "updateAttachmentImage",
            {"files": {"file": ("x.png", png())}},
        ),
        ("PUT", f"/attachments/{attachment}/annotations", "updateAttachmentAnnotations", {"json": {}}),
        ("GET", f"/attachments/{attachment}/annotation-history", "getAttachmentAnnotationHistory", {}),
        ("POST", f"/attachments/{attachment}/restore-annotations/h", "restoreAttachmentAnnotations", {}),
        ("POST", f"/attachments/{attachment}/duplicate", "duplicateAttachment", {}),
        (
            "POST",
            "/attachments/create-comparison",
            "createComparisonAttachment",
            {
                "json": {
                    "beforeAttachmentId": attachment,
                    "afterAttachmentId": attachment,
                    "patientId": "P5001",
                }
            },
        ),
        ("POST", f"/attachments/{attachment}/tags", "assignAttachmentTags", {"json": {"tagIds": []}}),
        ("GET", f"/attachments/{attachment}/tags", "getAttachmentTagsForAttachment", {}),
        ("GET", f"/attachments/tags/{tag}", "getAttachmentTag", {}),
        ("PUT", f"/attachments/tags/{tag}", "updateAttachmentTag", {"json": {"name": "x"}}),
        ("DELETE", f"/attachments/tags/{tag}", "deleteAttachmentTag", {}),
    ]


def test_another_tenants_ids_are_not_found(decoda, sandbox: Sandbox) -> None:
    attachment, tag = decoda.upload(), decoda.tag("Mine")
    for method, path, operation, kwargs in _other_tenant_calls(attachment["id"], tag["id"]):
        status, body = decoda.call(method, path, operation, OTHER, **kwargs)
        assert status == 404, (operation, body)
    other_tag = decoda.tag("Theirs", OTHER)
    status, _ = decoda.call(
        "POST",
        f"/attachments/{attachment['id']}/tags",
        "assignAttachmentTags",
        json={"tagIds": [other_tag["id"]]},
    )
    assert status == 404
    assert decoda.call("GET", "/attachments/count", "countAttachments", OTHER) == (200, 0)
    assert decoda.call("GET", "/attachments/tags", "getAttachmentTags", OTHER)[1]["total"] == 1
    assert sandbox.store.get("decoda", "demo", "attachment", attachment["id"])["name"] == "a.png"
    assert sandbox.storage.objects.head(BUCKET, urlsplit(attachment["gcsPath"]).path.lstrip("/")) is not None
