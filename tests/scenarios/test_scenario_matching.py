"""Every matcher on its own: request facts built from an ASGI scope, bodies read and replayed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import yaml

from mock_server.scenarios.body import ReplayReceive, buffer_body, load_body_facts
from mock_server.scenarios.matching import MISSING, RequestFacts, compile_match, compile_matcher, json_values


def facts(
    method: str = "POST",
    path: str = "/qubs/integrations/v1/acme/reporting/appointments/A1/report/attachments",
    vendor: str | None = "qubs",
    operation: str | None = "qubs.createReportAttachments",
    params: dict[str, str] | None = None,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> RequestFacts:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": headers or [],
        "state": {
            "vendor": vendor,
            "operation": operation,
            "route_params": {"domain": "acme", "appointmentId": "A1"} if params is None else params,
        },
    }
    return RequestFacts(scope)


def matches(spec: str, request: RequestFacts) -> bool:
    return compile_match(yaml.safe_load(spec)).matches(request)


VALUE_CASES = [
    ("scalar-equal", "A1", "A1", True),
    ("scalar-different", "A1", "A2", False),
    ("number-as-text", 5, "5", True),
    ("bool-as-text", True, "true", True),
    ("missing", "A1", MISSING, False),
    ("list", ["A1", "A2"], "A2", True),
    ("list-miss", ["A1", "A2"], "A3", False),
    ("equals", {"equals": "x"}, "x", True),
    ("one_of", {"one_of": ["x", "y"]}, "y", True),
    ("contains", {"contains": "fail"}, "a/sandbox-fail-503.pdf", True),
    ("contains-miss", {"contains": "fail"}, "ok.pdf", False),
    ("glob", {"glob": "A42*"}, "A4299", True),
    ("glob-miss", {"glob": "A42*"}, "B42", False),
    ("regex", {"matches": "^A\\d{3}$"}, "A123", True),
    ("regex-miss", {"matches": "^A\\d{3}$"}, "A1234", False),
    ("present", {"present": True}, "", True),
    ("present-missing", {"present": True}, MISSING, False),
    ("absent", {"present": False}, MISSING, True),
    ("absent-but-there", {"present": False}, "x", False),
    ("not", {"not": "x"}, "y", True),
    ("not-equal", {"not": "x"}, "x", False),
    ("all-tests-hold", {"contains": "a", "glob": "*z"}, "abz", True),
    ("one-test-fails", {"contains": "a", "glob": "*z"}, "aby", False),
    ("plain-star-is-literal", "A*", "A1", False),
]


@pytest.mark.parametrize(
    ("spec", "value", "expected"), [c[1:] for c in VALUE_CASES], ids=[c[0] for c in VALUE_CASES]
)
def test_value_matchers(spec: Any, value: Any, expected: bool) -> None:
    assert compile_matcher(spec)(value) is expected


REQUEST_CASES = [
    ("empty-matches-everything", "{}", {}, True),
    ("vendor", "{vendor: qubs}", {}, True),
    ("vendor-other", "{vendor: [decoda, candid]}", {}, False),
    ("vendor-none", "{vendor: qubs}", {"vendor": None}, False),
    ("operation", "{operation: qubs.createReportAttachments}", {}, True),
    ("operation-glob", "{operation: 'qubs.create*'}", {}, True),
    ("operation-list", "{operation: [storage.putObject, 'qubs.*Report*']}", {}, True),
    ("operation-other", "{operation: qubs.submitReport}", {}, False),
    ("method", "{method: post}", {}, True),
    ("method-list", "{method: [GET, PUT]}", {}, False),
    (
        "path-exact",
        "{path: /qubs/integrations/v1/acme/reporting/appointments/A1/report/attachments}",
        {},
        True,
    ),
    ("path-glob", "{path: '/qubs/*/A1/*'}", {}, True),
    ("path-regex", "{path: {matches: '/appointments/A\\d+/'}}", {}, True),
    ("path-other", "{path: '/decoda/*'}", {}, False),
    ("path-param", "{path_params: {appointmentId: A1, domain: acme}}", {}, True),
    ("path-param-other-id", "{path_params: {appointmentId: A2}}", {}, False),
    ("path-param-absent", "{path_params: {patient_id: {present: false}}}", {}, True),
    ("query", "{query: {pageSize: 5}}", {"query": b"pageSize=5&x=1"}, True),
    ("query-repeated", "{query: {tag: b}}", {"query": b"tag=a&tag=b"}, True),
    ("query-missing", "{query: {pageSize: 5}}", {}, False),
    (
        "header-case-insensitive",
        "{headers: {idempotency-key: k1}}",
        {"headers": [(b"Idempotency-Key", b"k1")]},
        True,
    ),
    ("header-name-any-case", "{headers: {TENANT: t}}", {"headers": [(b"tenant", b"t")]}, True),
    ("header-other", "{headers: {TENANT: t}}", {"headers": [(b"tenant", b"u")]}, False),
    (
        "all-conditions",
        "{vendor: qubs, method: POST, path_params: {appointmentId: A1}, headers: {x: {present: false}}}",
        {},
        True,
    ),
    ("one-condition-fails", "{vendor: qubs, method: GET}", {}, False),
    ("alternatives", "[{vendor: decoda}, {path_params: {appointmentId: A1}}]", {}, True),
    ("no-alternative", "[{vendor: decoda}, {path_params: {appointmentId: A2}}]", {}, False),
]


@pytest.mark.parametrize(
    ("spec", "request_args", "expected"), [c[1:] for c in REQUEST_CASES], ids=[c[0] for c in REQUEST_CASES]
)
def test_request_matchers(spec: str, request_args: dict[str, Any], expected: bool) -> None:
    assert matches(spec, facts(**request_args)) is expected


def test_json_paths() -> None:
    document = {"items": [{"fileName": "a.pdf", "contentType": "application/pdf"}, {"fileName": "b.dcm"}]}
    assert json_values(document, ("items", "0", "fileName")) == ["a.pdf"]
    assert json_values(document, ("items", "*", "fileName")) == ["a.pdf", "b.dcm"]
    assert json_values(document, ("items", "5", "fileName")) == []
    assert json_values(document, ("*", "*", "contentType")) == ["application/pdf"]


def _receive_of(chunks: list[bytes]) -> Any:
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return receive


async def _drain(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def _body_facts(content_type: str, chunks: list[bytes], cap: int = 1024) -> tuple[RequestFacts, bytes]:
    request = facts(headers=[(b"content-type", content_type.encode())])
    replay = ReplayReceive(_receive_of(chunks))

    async def run() -> bytes:
        await load_body_facts(request, replay, cap)
        return await _drain(replay)

    return request, asyncio.run(run())


JSON_BODY = json.dumps(
    {
        "items": [
            {"fileName": "a.pdf", "contentType": "application/pdf"},
            {"fileName": "scan.dcm", "contentType": "application/dicom"},
        ]
    }
).encode()
JSON_CASES = [
    ("field", "{json: {items.0.fileName: a.pdf}}", True),
    ("bracket-index", "{json: {'items[1].contentType': application/dicom}}", True),
    ("any-element", "{json: {'items[*].fileName': {glob: '*.dcm'}}}", True),
    ("absent-field", "{json: {items.0.category: {present: false}}}", True),
    ("wrong-value", "{json: {items.0.fileName: b.pdf}}", False),
]


@pytest.mark.parametrize(("spec", "expected"), [c[1:] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES])
def test_json_body_fields(spec: str, expected: bool) -> None:
    request, replayed = _body_facts("application/json", [JSON_BODY[:10], JSON_BODY[10:]])
    assert matches(spec, request) is expected
    assert replayed == JSON_BODY  # the app still gets every byte


MULTIPART = (
    b'--XyZ\r\nContent-Disposition: form-data; name="patient_id"\r\n\r\npatient-429\r\n'
    b'--XyZ\r\nContent-Disposition: form-data; name="attachments"; filename="scan.png"\r\n'
    b"Content-Type: image/png\r\n\r\n\x89PNG...\r\n--XyZ--\r\n"
)
FORM_CASES = [
    ("text-field", "{form: {patient_id: patient-429}}", True),
    ("file-part-name-is-filename", "{form: {attachments: scan.png}}", True),
    ("field-present", "{form: {attachments: {present: true}, note_id: {present: false}}}", True),
    ("other-value", "{form: {patient_id: patient-1}}", False),
]


@pytest.mark.parametrize(("spec", "expected"), [c[1:] for c in FORM_CASES], ids=[c[0] for c in FORM_CASES])
def test_multipart_fields(spec: str, expected: bool) -> None:
    request, replayed = _body_facts("multipart/form-data; boundary=XyZ", [MULTIPART])
    assert matches(spec, request) is expected
    assert replayed == MULTIPART


def test_urlencoded_fields() -> None:
    request, _ = _body_facts(
        "application/x-www-form-urlencoded", [b"grant_type=client_credentials&client_id=c1"]
    )
    assert matches("{form: {grant_type: client_credentials, client_id: c1}}", request)


def test_body_over_the_cap_is_not_matched_but_replayed_whole() -> None:
    chunks = [b'{"a": "' + b"x" * 600, b"x" * 600 + b'"}']
    request, replayed = _body_facts("application/json", chunks, cap=1000)
    assert request.json_body is MISSING
    assert not matches("{json: {a: {present: true}}}", request)
    assert replayed == b"".join(chunks)


def test_declared_length_over_the_cap_is_not_read_at_all() -> None:
    request = facts(headers=[(b"content-length", b"5000"), (b"content-type", b"application/json")])
    replay = ReplayReceive(_receive_of([b"{}"]))
    assert asyncio.run(buffer_body(request, replay, cap=1000)) is None
    assert not replay.pending


def test_body_matchers_never_match_other_content_types_or_broken_bodies() -> None:
    request, _ = _body_facts("application/octet-stream", [b"patient_id=1"])
    assert not matches("{form: {patient_id: 1}}", request)
    assert not matches("{json: {a: 1}}", request)
    broken, _ = _body_facts("application/json", [b"{not json"])
    assert not matches("{json: {a: {present: false}}}", broken)
    bad_form, _ = _body_facts("multipart/form-data; boundary=XyZ", [b"--XyZ\r\n\r\nno name\r\n--XyZ--\r\n"])
    assert not matches("{form: {a: {present: false}}}", bad_form)


def test_wants_body_only_when_the_head_already_matches() -> None:
    match = compile_match({"vendor": "decoda", "form": {"patient_id": "p"}})
    assert not match.wants_body(facts())
    assert match.wants_body(facts(vendor="decoda"))
    assert not compile_match({"vendor": "qubs"}).wants_body(facts())
