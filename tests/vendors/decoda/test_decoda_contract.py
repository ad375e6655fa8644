"""The sandbox's Decoda document against Decoda's own (``data/decoda-openapi-extract.yaml``).

For every path the sandbox serves: same path and methods, same parameters (name, location, required),
same request body fields and required ones, and the same property names in the success response, down
through every component schema both documents share by name. Real answers of the sandbox are also
validated against Decoda's own response schemas.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image
from starlette.testclient import TestClient

from mock_server.core.openapi import HTTP_METHODS, OpenApiDocument, issues_of
from mock_server.vendors.decoda import lazy_api, spec
from mock_server.vendors.decoda.routes import DOCUMENT, OPENAPI_PATH

EXTRACT_PATH = Path(__file__).parent / "data" / "decoda-openapi-extract.yaml"
THEIRS = yaml.safe_load(EXTRACT_PATH.read_text(encoding="utf-8"))
OURS = DOCUMENT.document
SANDBOX_ONLY = {"/openapi.json"}
# Chart lists the sandbox always answers empty (unless fixtures fill them): kept as plain objects, so
# only their names are compared, not Decoda's nested MemberTiny / MeasurementSummary / medication types.
OPAQUE = {"/user/patient/{patient_id}": {"memberships", "measurements", "medications"}}
DEMO = {"TENANT": "demo", "API-KEY": "decoda-dev-key"}


def resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def shapes(document: dict[str, Any], schema: Any, seen: set[str] | None = None) -> dict[str, Any]:
    """Property names of an object schema (through refs, anyOf and arrays), nested by property."""
    seen = set() if seen is None else seen
    if isinstance(schema, dict) and "$ref" in schema:
        if schema["$ref"] in seen:
            return {}
        seen = {*seen, schema["$ref"]}
    schema = resolve(document, schema)
    if not isinstance(schema, dict):
        return {}
    found: dict[str, Any] = {}
    for alternative in schema.get("anyOf", []):
        found.update(shapes(document, alternative, seen))
    if schema.get("type") == "array":
        found.update(shapes(document, schema.get("items", {}), seen))
    for name, prop in schema.get("properties", {}).items():
        found[name] = shapes(document, prop, seen)
    return found


def operations(document: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    return {method: op for method, op in document["paths"][path].items() if method in HTTP_METHODS}


SERVED = [
    (path, method) for path in OURS["paths"] if path not in SANDBOX_ONLY for method in operations(OURS, path)
]


def test_the_committed_document_is_the_apps() -> None:
    assert OPENAPI_PATH.read_text(encoding="utf-8") == spec.as_yaml(lazy_api.build()), (
        "regenerate with: python -m mock_server.vendors.decoda.spec"
    )


def test_the_served_document_is_the_committed_one(client: TestClient) -> None:
    assert client.get("/decoda/openapi.json").json() == OURS


def test_every_served_path_is_decodas_with_the_same_methods() -> None:
    served = set(OURS["paths"]) - SANDBOX_ONLY
    assert served <= set(THEIRS["paths"])
    for path in served:
        assert set(operations(OURS, path)) == set(operations(THEIRS, path)), path
    assert len(SERVED) == 26


@pytest.mark.parametrize(("path", "method"), SERVED, ids=lambda value: str(value))
def test_parameters_bodies_and_responses_match_decodas(path: str, method: str) -> None:
    ours, theirs = operations(OURS, path)[method], operations(THEIRS, path)[method]

    def parameters(document: dict[str, Any], operation: dict[str, Any]) -> set[tuple[str, str, bool]]:
        found = (resolve(document, p) for p in operation.get("parameters", []))
        return {(p["name"], p["in"], bool(p.get("required"))) for p in found}

    assert parameters(OURS, ours) == parameters(THEIRS, theirs)
    their_body = theirs.get("requestBody", {}).get("content", {})
    our_body = ours.get("requestBody", {}).get("content", {})
    assert set(our_body) == set(their_body)
    for media_type, content in their_body.items():
        mine, decodas = resolve(OURS, our_body[media_type]["schema"]), resolve(THEIRS, content["schema"])
        assert mine.get("type") == decodas.get("type")
        assert set(mine.get("required", [])) == set(decodas.get("required", []))
        assert shapes(OURS, mine) == shapes(THEIRS, decodas)
    assert bool(ours.get("requestBody", {}).get("required")) == bool(
        theirs.get("requestBody", {}).get("required")
    )
    mine, decodas = (op["responses"]["200"]["content"]["application/json"]["schema"] for op in (ours, theirs))
    opaque = dict.fromkeys(OPAQUE.get(path, ()), {})
    assert {**shapes(OURS, mine), **opaque} == {**shapes(THEIRS, decodas), **opaque}
    assert resolve(OURS, mine).get("type") == resolve(THEIRS, decodas).get("type")


# -- real answers against Decoda's own schemas ----------------------------------------------------
class Decodas:
    """Decoda's document, its operations found by path and method."""

    def __init__(self) -> None:
        self.document = OpenApiDocument(EXTRACT_PATH)

    def validate(self, path: str, method: str, response: Any) -> Any:
        assert response.status_code == 200, response.text
        operation_id = operations(THEIRS, path)[method]["operationId"]
        validator = self.document.response_validator(operation_id, 200)
        assert validator is not None
        body = response.json()
        assert not issues_of(validator, body), (path, method)
        return body


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG")
    return out.getvalue()


def test_answers_validate_against_decodas_schemas(client: TestClient) -> None:
    decodas = Decodas()

    def call(method: str, template: str, path: str, **kwargs: Any) -> Any:
        response = client.request(method.upper(), f"/decoda{path}", headers=DEMO, **kwargs)
        return decodas.validate(template, method, response)

    files = [("attachments", ("a.png", _png(), "image/png")), ("attachments", ("b.txt", b"b", "text/plain"))]
    bulk = call("post", "/attachments/bulk", "/attachments/bulk", data={"patient_id": "P1001"}, files=files)
    first, second = (item["id"] for item in bulk["attachments"])
    one = call(
        "post",
        "/attachments",
        "/attachments",
        data={"patient_id": "P1001", "note_id": "N2001"},
        files={"attachment": ("c.png", _png(), "image/png")},
    )
    tag = call("post", "/attachments/tags", "/attachments/tags", json={"name": "Front"})
    item = "/attachments/{attachment_id}"
    call("post", f"{item}/tags", f"/attachments/{first}/tags", json={"tagIds": [tag["id"]]})
    call("get", f"{item}/tags", f"/attachments/{first}/tags")
    call("get", "/attachments/tags", "/attachments/tags")
    call("get", "/attachments/tags/{tag_id}", f"/attachments/tags/{tag['id']}")
    call("put", "/attachments/tags/{tag_id}", f"/attachments/tags/{tag['id']}", json={"name": "Side"})
    call("get", "/attachments", "/attachments", params={"tz": "UTC", "tag_ids": [tag["id"]]})
    call("get", "/attachments", "/attachments", params={"tz": "UTC", "note_id": "N2001"})
    call("get", "/attachments/count", "/attachments/count")
    call("put", f"{item}/name", f"/attachments/{first}/name", json={"name": "Renamed"})
    call(
        "put",
        "/attachments/bulk-names",
        "/attachments/bulk-names",
        json={"updates": [{"attachmentId": second, "name": "B"}]},
    )
    call("put", f"{item}/annotations", f"/attachments/{first}/annotations", json={"annotations": [{"x": 1}]})
    history = call("get", f"{item}/annotation-history", f"/attachments/{first}/annotation-history")
    call(
        "post",
        f"{item}/restore-annotations/{{history_id}}",
        f"/attachments/{first}/restore-annotations/{history[0]['id']}",
    )
    call("post", f"{item}/duplicate", f"/attachments/{first}/duplicate")
    call(
        "put", f"{item}/image", f"/attachments/{first}/image", files={"file": ("d.png", _png(), "image/png")}
    )
    call(
        "post",
        "/attachments/create-comparison",
        "/attachments/create-comparison",
        json={"beforeAttachmentId": first, "afterAttachmentId": one["id"], "patientId": "P1001"},
    )
    call(
        "post",
        "/attachments/link-to-note",
        "/attachments/link-to-note",
        json={"noteId": "N2001", "attachmentIds": [second]},
    )
    call(
        "post",
        "/notes/{note_id}/attachment-from-url",
        "/notes/N2001/attachment-from-url",
        json={"gcsPath": one["gcsPath"], "answerId": "A1"},
    )
    call("put", f"{item}/patient", f"/attachments/{second}/patient", json={"patientId": "P1002"})
    call("get", "/user/patient/{patient_id}", "/user/patient/P1001")
    call("delete", item, f"/attachments/{second}")
    call("delete", "/attachments/tags/{tag_id}", f"/attachments/tags/{tag['id']}")
