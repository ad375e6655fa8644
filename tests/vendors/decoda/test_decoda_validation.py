"""FastAPI's answers to hostile Decoda requests, item for item, against recordings.

``recordings/validation.json`` holds each request and the answer of a reference FastAPI app declared
exactly like Decoda's OpenAPI (``recordings/record.py`` makes it; rerun it after a FastAPI upgrade).
The sandbox must give the same status and body. Among them: a JSON ``null`` body is
``model_attributes_type``, a file where text is declared is ``string_type`` with FastAPI's dump of the
upload, and a browser's unselected file input (``filename=""``, no bytes) is ``missing`` on
``POST /attachments`` and ignored in ``/attachments/bulk``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

RECORDINGS = json.loads(
    (Path(__file__).parent / "recordings" / "validation.json").read_text(encoding="utf-8")
)
OPERATIONS = {
    "/attachments/bulk": "uploadAttachmentsBulk",
    "/attachments": "uploadAttachment",
    "/attachments/link-to-note": "linkAttachmentsToNote",
}
DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}


@pytest.mark.parametrize("name", sorted(RECORDINGS["cases"]))
def test_answers_match_fastapis_recorded_ones(
    client: TestClient, validate_response: Callable[..., Any], name: str
) -> None:
    recorded = RECORDINGS["cases"][name]
    response = client.request(
        recorded["method"],
        f"/decoda{recorded['path']}",
        headers=recorded["headers"],
        content=recorded["content"].encode(),
    )
    body = validate_response("decoda", OPERATIONS[recorded["path"]], response)
    assert (response.status_code, body) == (recorded["status"], recorded["body"])


def test_the_recordings_cover_the_known_differences() -> None:
    cases = RECORDINGS["cases"]
    assert cases["link-null"]["body"]["detail"][0]["type"] == "model_attributes_type"
    assert cases["bulk-file-as-text"]["body"]["detail"][0]["input"]["filename"] == "n.txt"
    assert cases["bulk-unselected-file-input"]["status"] == 200
    assert cases["single-unselected-file-input"]["body"]["detail"][0] == {
        "type": "missing",
        "loc": ["body", "attachment"],
        "msg": "Field required",
        "input": None,
    }


def test_link_accepts_vendor_json_content_types_and_extra_keys(client: TestClient) -> None:
    body = b'{"noteId": "N2001", "attachmentIds": [], "comment": "ignored"}'
    for content_type in ("application/json; charset=utf-8", "application/vnd.decoda+json"):
        response = client.post(
            "/decoda/attachments/link-to-note", content=body, headers={**DEMO, "Content-Type": content_type}
        )
        assert (response.status_code, response.json()) == (200, [])
