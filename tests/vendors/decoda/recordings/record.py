"""Record FastAPI's answers to hostile Decoda requests, from a reference app independent of the sandbox.

The reference app declares three endpoints exactly as Decoda's published OpenAPI describes them
(``decoda-health/docs``, ``openapi.yaml``): form fields in the order of ``Body_add_attachments_bulk_...``
and ``Body_add_attachment_...``, ``TENANT``/``API-KEY`` as header parameters of a dependency, and the
``LinkAttachmentsToNoteRequest`` model. Each case's request and FastAPI's answer go to
``validation.json``; test_decoda_validation.py replays the requests against the sandbox and expects
the same answers.

Run from the repository root: ``.venv/bin/python tests/vendors/decoda/recordings/record.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import fastapi
import pydantic
from fastapi import Depends, FastAPI, File, Form, Header, UploadFile
from pydantic import BaseModel
from starlette.testclient import TestClient

OUT = Path(__file__).with_name("validation.json")
DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}
BOUNDARY = "decodaboundary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def multipart(parts: list[tuple[str, str | None, str]]) -> str:
    out = ""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n{value}\r\n"
    return out + f"--{BOUNDARY}--\r\n"


PATIENT = ("patient_id", None, "P1001")
FILE = ("attachments", "a.txt", "a")
NAMELESS_PART = f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nP\r\n--{BOUNDARY}--\r\n"
BULK, SINGLE, LINK = "/attachments/bulk", "/attachments", "/attachments/link-to-note"


def case(path: str, headers: dict[str, str], content: str) -> dict[str, Any]:
    return {"method": "POST", "path": path, "headers": headers, "content": content}


CASES: dict[str, dict[str, Any]] = {
    "bulk-nothing": case(BULK, MULTIPART, multipart([])),
    "bulk-no-api-key": case(BULK, {"TENANT": "demo", **MULTIPART}, multipart([PATIENT])),
    "bulk-no-tenant-no-patient": case(BULK, {"API-KEY": "decoda-dev-key", **MULTIPART}, multipart([FILE])),
    "bulk-no-patient": case(BULK, {**DEMO, **MULTIPART}, multipart([FILE])),
    "bulk-empty-patient": case(BULK, {**DEMO, **MULTIPART}, multipart([("patient_id", None, ""), FILE])),
    "bulk-text-as-file": case(BULK, {**DEMO, **MULTIPART}, multipart([PATIENT, ("attachments", None, "x")])),
    "bulk-text-between-files": case(
        BULK,
        {**DEMO, **MULTIPART},
        multipart([FILE, ("attachments", None, ""), ("attachments", "b.txt", "b"), PATIENT]),
    ),
    "bulk-patient-missing-and-text-file": case(
        BULK, {**DEMO, **MULTIPART}, multipart([("attachments", None, "x")])
    ),
    "bulk-file-as-text": case(BULK, {**DEMO, **MULTIPART}, multipart([PATIENT, ("names", "n.txt", "abc")])),
    "bulk-unselected-file-input": case(
        BULK, {**DEMO, **MULTIPART}, multipart([PATIENT, ("attachments", "", "")])
    ),
    "bulk-json-body": case(BULK, {**DEMO, "Content-Type": "application/json"}, '{"patient_id": "P1001"}'),
    "bulk-urlencoded-body": case(
        BULK, {**DEMO, "Content-Type": "application/x-www-form-urlencoded"}, "patient_id=P1001"
    ),
    "bulk-no-content-type": case(BULK, DEMO, "patient_id=P1001"),
    "bulk-no-boundary": case(BULK, {**DEMO, "Content-Type": "multipart/form-data"}, "abc"),
    "bulk-garbage": case(BULK, {**DEMO, **MULTIPART}, "garbage"),
    "bulk-part-without-name": case(BULK, {**DEMO, **MULTIPART}, NAMELESS_PART),
    "single-nothing-declared": case(SINGLE, {**DEMO, **MULTIPART}, multipart([("x", "a.txt", "a")])),
    "single-text-as-file": case(
        SINGLE, {**DEMO, **MULTIPART}, multipart([("attachment", None, "x"), PATIENT])
    ),
    "single-empty-text-as-file": case(
        SINGLE, {**DEMO, **MULTIPART}, multipart([("attachment", None, ""), PATIENT])
    ),
    "single-unselected-file-input": case(
        SINGLE, {**DEMO, **MULTIPART}, multipart([("attachment", "", ""), PATIENT])
    ),
}
for name, content_type, body in [
    ("no-body", None, ""),
    ("empty-object", "application/json", "{}"),
    ("broken-json", "application/json", "{bad"),
    ("wrong-types", "application/json", '{"noteId": 5, "attachmentIds": "x"}'),
    ("wrong-items", "application/json", '{"noteId": null, "attachmentIds": ["a", 3, null]}'),
    ("array", "application/json", "[1]"),
    ("null", "application/json", "null"),
    ("text-plain", "text/plain", '{"noteId":"N","attachmentIds":[]}'),
    ("form-encoded", "application/x-www-form-urlencoded", "noteId=N"),
    ("snake-case-keys", "application/json", '{"note_id": "N2001", "attachment_ids": []}'),
]:
    CASES[f"link-{name}"] = case(
        LINK, {**DEMO, **({"Content-Type": content_type} if content_type else {})}, body
    )


def auth(
    tenant: Annotated[str, Header(alias="TENANT")], api_key: Annotated[str, Header(alias="API-KEY")]
) -> str:
    return tenant


class LinkAttachmentsToNoteRequest(BaseModel):
    noteId: str
    attachmentIds: list[str]


def add_attachments_bulk(
    tenant: Annotated[str, Depends(auth)],
    *,
    attachments: Annotated[list[UploadFile], File()] = [],  # noqa: B006
    patient_id: Annotated[str, Form()],
    note_id: Annotated[str | None, Form()] = None,
    names: Annotated[str | None, Form()] = None,
    external_ids: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    return {"attachments": []}


def add_attachment(
    tenant: Annotated[str, Depends(auth)],
    *,
    attachment: Annotated[UploadFile, File()],
    patient_id: Annotated[str, Form()],
    note_id: Annotated[str | None, Form()] = None,
    name: Annotated[str | None, Form()] = None,
    external_id: Annotated[str | None, Form()] = None,
    answer_id: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    return {}


def link_attachments_to_note(
    tenant: Annotated[str, Depends(auth)], body: LinkAttachmentsToNoteRequest
) -> list:
    return []


def reference_app() -> FastAPI:
    app = FastAPI()
    app.post(BULK)(add_attachments_bulk)
    app.post(SINGLE)(add_attachment)
    app.post(LINK)(link_attachments_to_note)
    return app


def main() -> None:
    recorded: dict[str, Any] = {
        "recorded_with": {
            "fastapi": fastapi.__version__,
            "pydantic": pydantic.VERSION,
            "python": sys.version.split()[0],
        },
        "cases": {},
    }
    with TestClient(reference_app()) as client:
        for name, request in CASES.items():
            response = client.request(
                request["method"],
                request["path"],
                headers=request["headers"],
                content=request["content"].encode(),
            )
            recorded["cases"][name] = {**request, "status": response.status_code, "body": response.json()}
    OUT.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
