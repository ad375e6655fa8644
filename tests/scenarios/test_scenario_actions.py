"""Every action: native error bodies, overrides, headers, latency, lifetimes, network faults, pass-through."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
import requests
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.testclient import TestClient

from mock_server.core.errors import SandboxError
from mock_server.core.sandbox import Sandbox
from mock_server.core.vendor import Vendor
from mock_server.scenarios.actions import ConnectionDropped, build_response, deep_merge
from mock_server.scenarios.engine import ScenarioEngine
from mock_server.scenarios.model import Respond
from mock_server.testing.server import LiveServer

BASE = "http://127.0.0.1:8080"
BUCKET = "sandbox-uploads"


def scenario(name: str, *rules: str) -> str:
    return f"scenarios:\n  - name: {name}\n    description: test\n    rules:" + "".join(
        f"\n      - {r}" for r in rules
    )


def presigned(sandbox: Sandbox, key: str = "a/b.pdf", base: str = BASE) -> str:
    return sandbox.storage.presign_put(base, BUCKET, key, expires_in=900).url


@pytest.fixture
def engine(sandbox: Sandbox) -> ScenarioEngine:
    assert isinstance(sandbox.scenarios, ScenarioEngine)
    return sandbox.scenarios


def require(sandbox: Sandbox, vendor: str) -> None:
    if vendor not in sandbox.vendors:
        pytest.skip(f"the {vendor} vendor is not part of this build")


@pytest.mark.parametrize(
    ("status", "code"),
    [(503, "SlowDown"), (500, "InternalError"), (404, "NoSuchKey"), (403, "AccessDenied")],
    ids=["503", "500", "404", "403"],
)
def test_storage_faults_are_s3_xml(
    engine: ScenarioEngine, client: TestClient, sandbox: Sandbox, status: int, code: str
) -> None:
    engine.add(scenario("s3", f"{{match: {{operation: storage.putObject}}, respond: {status}}}"))
    response = client.put(presigned(sandbox), content=b"x")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/xml"
    assert f"<Code>{code}</Code>" in response.text
    assert response.headers["x-amz-request-id"] in response.text  # the request id, as S3 sets both


def test_message_goes_into_the_native_body(
    engine: ScenarioEngine, client: TestClient, sandbox: Sandbox
) -> None:
    engine.add(
        scenario("s3", "{match: {operation: storage.putObject}, respond: {status: 503, message: Busy now.}}")
    )
    assert "<Message>Busy now.</Message>" in client.put(presigned(sandbox), content=b"x").text


def test_merge_is_ignored_for_xml_bodies(
    engine: ScenarioEngine, client: TestClient, sandbox: Sandbox
) -> None:
    engine.add(
        scenario("s3", "{match: {operation: storage.putObject}, respond: {status: 500, merge: {a: 1}}}")
    )
    response = client.put(presigned(sandbox), content=b"x")
    assert response.status_code == 500 and "<Code>InternalError</Code>" in response.text


def test_body_override_json_and_text(engine: ScenarioEngine, client: TestClient, sandbox: Sandbox) -> None:
    engine.add(
        scenario(
            "bodies",
            "{match: {path_params: {key: json}}, respond: {status: 502, body: {upstream: down}}}",
            "{match: {path_params: {key: text}}, respond: {status: 200, body: OK, content_type: text/csv}}",
        )
    )
    as_json = client.put(presigned(sandbox, "json"), content=b"x")
    assert (as_json.status_code, as_json.json(), as_json.headers["content-type"]) == (
        502,
        {"upstream": "down"},
        "application/json",
    )
    as_text = client.put(presigned(sandbox, "text"), content=b"x")
    assert (as_text.status_code, as_text.text, as_text.headers["content-type"]) == (200, "OK", "text/csv")


def test_requests_outside_any_vendor_get_a_plain_json_error(
    engine: ScenarioEngine, client: TestClient
) -> None:
    engine.add(scenario("nowhere", "{match: {path: /nowhere}, respond: {status: 451, message: Not here}}"))
    response = client.get("/nowhere")
    assert response.status_code == 451
    assert response.json() == {"error": {"status": 451, "message": "Not here"}}


def test_headers_are_added_to_real_responses_and_override(
    engine: ScenarioEngine, client: TestClient, sandbox: Sandbox
) -> None:
    engine.add(
        scenario(
            "hdr",
            "{match: {operation: storage.putObject}, headers: {X-RateLimit-Remaining: 0,"
            " x-amz-request-id: fixed-id}}",
        )
    )
    response = client.put(presigned(sandbox), content=b"%PDF")
    assert response.status_code == 200  # the real upload happened
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.headers.get_list("x-amz-request-id") == ["fixed-id"]
    assert sandbox.storage.objects.read(BUCKET, "a/b.pdf") == b"%PDF"


def test_pass_through_is_recorded(engine: ScenarioEngine, client: TestClient, sandbox: Sandbox) -> None:
    engine.add(scenario("watch", "{id: seen, match: {operation: storage.putObject}, pass: true}"))
    assert client.put(presigned(sandbox), content=b"x").status_code == 200
    (entry,) = sandbox.journal.entries(operation="storage.putObject")
    assert entry.scenarioRule == "watch/seen"
    assert client.get("/__admin/requests", params={"scenario": "watch/seen"}).json()["count"] == 1


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def test_fixed_and_ranged_latency(engine: ScenarioEngine, client: TestClient, sandbox: Sandbox) -> None:
    recorder = SleepRecorder()
    engine.sleep = recorder
    engine.add(
        scenario(
            "slow",
            "{match: {path_params: {key: fixed}}, delay_ms: 250}",
            "{match: {path_params: {key: ranged}}, delay_ms: {min: 100, max: 400}}",
        )
    )
    assert client.put(presigned(sandbox, "fixed"), content=b"x").status_code == 200
    for _ in range(5):
        client.put(presigned(sandbox, "ranged"), content=b"x")
    assert recorder.calls[0] == 0.25
    ranged = recorder.calls[1:]
    assert all(0.1 <= delay <= 0.4 for delay in ranged) and len(set(ranged)) > 1
    recorder.calls.clear()
    engine.reset_counters()
    for _ in range(5):
        client.put(presigned(sandbox, "ranged"), content=b"x")
    assert recorder.calls == ranged  # seeded: the same delays again


def test_latency_really_waits_over_a_socket(live: LiveServer) -> None:
    live.sandbox.scenarios.add(scenario("tiny", "{match: {operation: storage.putObject}, delay_ms: 5}"))  # type: ignore[union-attr]
    assert requests.put(presigned(live.sandbox, base=live.url), data=b"x", timeout=10).status_code == 200


def test_lifetime_override_reaches_the_vendor(
    engine: ScenarioEngine, client: TestClient, sandbox: Sandbox
) -> None:
    require(sandbox, "qubs")
    engine.add(scenario("short", "{match: {operation: qubs.createToken}, lifetime: 30}"))
    response = client.post(
        "/qubs/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "qubs-dev-client",
            "client_secret": "qubs-dev-secret",
        },
    )
    assert response.status_code == 200 and response.json()["expires_in"] == 30


def test_drop_in_process_raises(engine: ScenarioEngine, client: TestClient, sandbox: Sandbox) -> None:
    engine.add(scenario("cut", "{match: {operation: storage.putObject}, fault: drop}"))
    with pytest.raises(ConnectionDropped):
        client.put(presigned(sandbox), content=b"x")
    (entry,) = sandbox.journal.entries(operation="storage.putObject")
    assert entry.scenarioRule == "cut/0" and "ConnectionDropped" in (entry.error or "")
    assert sandbox.storage.objects.list(BUCKET, "a/") == []


def test_drop_closes_the_socket_without_a_response(live: LiveServer) -> None:
    live.sandbox.scenarios.add(scenario("cut", "{match: {operation: storage.putObject}, fault: drop}"))  # type: ignore[union-attr]
    with pytest.raises(requests.ConnectionError):
        requests.put(presigned(live.sandbox, base=live.url), data=b"x", timeout=10)
    (entry,) = live.sandbox.journal.entries(operation="storage.putObject")
    assert (entry.scenarioRule, entry.status) == ("cut/0", 0)


def _raw_put(live: LiveServer, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """A PUT over a raw connection; returns status, headers and whatever body arrived before the close."""
    url = presigned(live.sandbox, base=live.url).removeprefix(live.url)
    connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
    try:
        connection.request("PUT", url, body=body)
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        try:
            data = response.read()
        except http.client.IncompleteRead as exc:
            data = exc.partial
        return response.status, headers, data
    finally:
        connection.close()


def test_truncate_announces_the_full_length_and_sends_part(live: LiveServer) -> None:
    live.sandbox.scenarios.add(
        scenario(  # type: ignore[union-attr]
            "cut", "{match: {operation: storage.putObject}, respond: 503, fault: truncate, truncate_at: 10}"
        )
    )
    status, headers, data = _raw_put(live, b"x")
    assert status == 503 and int(headers["content-length"]) > 10
    assert data == b"<?xml vers"
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.put(presigned(live.sandbox, base=live.url), data=b"x", timeout=10)


def test_truncate_cuts_real_responses_in_half_by_default(live: LiveServer) -> None:
    live.sandbox.scenarios.add(scenario("cut", "{match: {operation: storage.getObject}, fault: truncate}"))  # type: ignore[union-attr]
    live.sandbox.storage.objects.ensure_bucket(BUCKET)
    assert requests.put(presigned(live.sandbox, base=live.url), data=b"0123456789" * 10, timeout=10).ok
    url = live.sandbox.storage.presign_get(live.url, BUCKET, "a/b.pdf", expires_in=900).url
    response = requests.get(url, stream=True, timeout=10)
    assert response.status_code == 200 and response.headers["content-length"] == "100"
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        response.content  # noqa: B018 - reading the body is the point


def test_injected_answers_drain_a_large_upload_first(live: LiveServer) -> None:
    live.sandbox.scenarios.add(scenario("busy", "{match: {operation: storage.putObject}, respond: 503}"))  # type: ignore[union-attr]
    response = requests.put(presigned(live.sandbox, base=live.url), data=b"x" * (3 * 1024 * 1024), timeout=30)
    assert response.status_code == 503 and "<Code>SlowDown</Code>" in response.text


def test_body_matching_leaves_uploads_intact(live: LiveServer) -> None:
    live.sandbox.scenarios.add(
        scenario(  # type: ignore[union-attr]
            "by-body", "{match: {operation: storage.putObject, json: {kind: poison}}, respond: 400}"
        )
    )
    small, large = json.dumps({"kind": "fine"}).encode(), b'{"kind": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    url = presigned(live.sandbox, "s.json", base=live.url)
    assert (
        requests.put(url, data=small, headers={"content-type": "application/json"}, timeout=10).status_code
        == 200
    )
    url = presigned(live.sandbox, "l.json", base=live.url)
    assert (
        requests.put(url, data=large, headers={"content-type": "application/json"}, timeout=30).status_code
        == 200
    )
    assert live.sandbox.storage.objects.read(BUCKET, "s.json") == small
    assert live.sandbox.storage.objects.read(BUCKET, "l.json") == large
    url = presigned(live.sandbox, "p.json", base=live.url)
    poison = json.dumps({"kind": "poison"}).encode()
    assert (
        requests.put(url, data=poison, headers={"content-type": "application/json"}, timeout=10).status_code
        == 400
    )


# -- rendering with any vendor ------------------------------------------------------------------


class FakeError(SandboxError):
    pass


def _render(request: Request, exc: SandboxError) -> Response:
    return JSONResponse(
        {"err": {"code": exc.code, "msg": exc.message, "nested": {"keep": True}}},
        status_code=exc.status,
        headers={"X-Vendor": "fake"},
    )


def _error_for_status(status: int, message: str | None) -> SandboxError:
    return FakeError(message, status=status, code=f"e{status}", headers={"Retry-After": "9"})


FAKE = Vendor(name="fake", title="Fake", routes=[], render_error=_render, error_for_status=_error_for_status)
SCOPE: dict[str, Any] = {
    "type": "http",
    "method": "GET",
    "path": "/fake/x",
    "headers": [],
    "query_string": b"",
    "state": {"vendor": "fake"},
}


def _receive() -> Any:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    return receive


def test_build_response_uses_the_vendor_renderer_and_its_headers() -> None:
    response = build_response(Respond(status=429, message="slow"), SCOPE, _receive(), {"fake": FAKE})
    assert response.status_code == 429
    assert json.loads(response.body) == {"err": {"code": "e429", "msg": "slow", "nested": {"keep": True}}}
    assert response.headers["retry-after"] == "9" and response.headers["x-vendor"] == "fake"


def test_build_response_merges_into_json_bodies() -> None:
    respond = Respond(status=503, merge={"err": {"nested": {"extra": 1}}, "top": "x"})
    response = build_response(respond, SCOPE, _receive(), {"fake": FAKE})
    assert json.loads(response.body) == {
        "err": {"code": "e503", "msg": SandboxError.default_message, "nested": {"keep": True, "extra": 1}},
        "top": "x",
    }
    assert response.headers["content-length"] == str(len(response.body))
    assert response.headers["x-vendor"] == "fake"


def test_deep_merge() -> None:
    assert deep_merge({"a": {"b": 1, "c": 2}, "d": 1}, {"a": {"b": 3}, "e": 4}) == {
        "a": {"b": 3, "c": 2},
        "d": 1,
        "e": 4,
    }
    assert deep_merge("not a dict", {"a": 1}) == {"a": 1}
