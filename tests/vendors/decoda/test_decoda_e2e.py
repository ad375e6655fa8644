"""Decoda end to end over a real socket: upload, tag, rename, list by tag, delete.

Every answer is validated against the sandbox's document and against Decoda's own (the extract).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from mock_server.core.openapi import OpenApiDocument, issues_of
from mock_server.testing.server import LiveServer

DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}
DECODAS = OpenApiDocument(Path(__file__).parent / "data" / "decoda-openapi-extract.yaml")


def test_upload_tag_rename_list_by_tag_delete(
    live: LiveServer, validate_response: Callable[..., Any]
) -> None:
    session = requests.Session()
    session.headers.update(DEMO)
    base = f"{live.url}/decoda"

    def call(method: str, template: str, operation: str, path: str | None = None, **kwargs: Any) -> Any:
        response = session.request(method, f"{base}{path or template}", timeout=10, **kwargs)
        assert response.status_code == 200, response.text
        body = validate_response("decoda", operation, response)
        theirs = DECODAS.document["paths"][template][method.lower()]["operationId"]
        validator = DECODAS.response_validator(theirs, 200)
        assert validator is not None and not issues_of(validator, body), operation
        return body

    uploaded = call(
        "POST",
        "/attachments",
        "uploadAttachment",
        data={"patient_id": "P1001", "note_id": "N2001", "external_id": "EHR-1"},
        files={"attachment": ("consent.pdf", b"%PDF-1.7 signed", "application/pdf")},
    )
    other = call(
        "POST",
        "/attachments/bulk",
        "uploadAttachmentsBulk",
        data={"patient_id": "P1001"},
        files=[("attachments", ("note.txt", b"n", "text/plain"))],
    )["attachments"][0]
    tag = call(
        "POST", "/attachments/tags", "createAttachmentTag", json={"name": "Consent", "color": "#00aa00"}
    )
    item = uploaded["id"]
    assert call(
        "POST",
        "/attachments/{attachment_id}/tags",
        "assignAttachmentTags",
        f"/attachments/{item}/tags",
        json={"tagIds": [tag["id"]]},
    ) == {"message": "Tags assigned successfully"}
    assert (
        call(
            "PUT",
            "/attachments/{attachment_id}/name",
            "renameAttachment",
            f"/attachments/{item}/name",
            json={"name": "Signed consent"},
        )
        is True
    )

    page = call("GET", "/attachments", "listAttachments", params={"tz": "Europe/Paris", "tag_ids": tag["id"]})
    (listed,) = page["data"]
    assert (listed["id"], listed["name"], listed["externalId"]) == (item, "Signed consent", "EHR-1")
    assert listed["tags"] == [tag]
    assert requests.get(listed["signedUrl"], timeout=10).content == b"%PDF-1.7 signed"
    everything = call("GET", "/attachments", "listAttachments", params={"tz": "UTC"})["data"]
    assert {entry["id"] for entry in everything} == {item, other["id"]}

    assert call("DELETE", "/attachments/{attachment_id}", "deleteAttachment", f"/attachments/{item}") is True
    assert (
        call("GET", "/attachments", "listAttachments", params={"tz": "UTC", "tag_ids": tag["id"]})["data"]
        == []
    )
    assert requests.get(listed["signedUrl"], timeout=10).status_code == 404
    assert call("GET", "/attachments/count", "countAttachments", params={"patient_id": "P1001"}) == 1
