"""The admin API against its contract (mock_server/admin/openapi.yaml, served at /__admin/openapi.json),
and the index page at ``/`` (HTML for browsers, JSON otherwise)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from mock_server.admin.index import DOCUMENT, prefers_html
from mock_server.app import create_app
from mock_server.core.openapi import issues_of
from mock_server.core.sandbox import Sandbox
from mock_server.settings import Settings

SCENARIO = (
    "scenarios:\n  - name: s1\n    description: d\n    rules:\n      - match: {vendor: qubs}\n"
    "        respond: {status: 503}\n"
)


def admin_routes(app: Any) -> list[tuple[str, str, str]]:
    """(operationId, METHOD, OpenAPI path) of every route the app serves under /__admin and at /."""
    found = []
    for route in app.routes:
        routes, prefix = (route.routes, route.path) if isinstance(route, Mount) else ([route], "")
        for inner in routes:
            if isinstance(inner, Route) and (inner.name or "").startswith("admin:"):
                path = (prefix + inner.path).replace("{key:path}", "{key}") or "/"
                for method in sorted(inner.methods or ()):
                    if method != "HEAD":
                        found.append((inner.name.split(":", 1)[1], method, path))
    return found


def test_every_admin_route_is_in_the_contract(app: Any) -> None:
    served = admin_routes(app)
    assert len(served) >= 20
    documented = {
        operation_id: (method, path) for operation_id, (method, path, _) in DOCUMENT.operations.items()
    }
    assert {op: (method, path) for op, method, path in served} == documented


def check(response: Any, operation_id: str) -> Any:
    media = response.headers.get("content-type", "application/json").split(";")[0]
    validator = DOCUMENT.response_validator(operation_id, response.status_code, media)
    body = response.json() if media == "application/json" else response.content
    if validator is not None:
        assert not issues_of(validator, body), (
            operation_id,
            response.status_code,
            issues_of(validator, body),
        )
    return body


Call = Callable[[TestClient], Any]
CALLS: list[tuple[str, int, Call]] = [
    ("index", 200, lambda c: c.get("/", headers={"Accept": "application/json"})),
    ("health", 200, lambda c: c.get("/__admin/health")),
    ("reset", 200, lambda c: c.post("/__admin/reset")),
    ("getClock", 200, lambda c: c.get("/__admin/clock")),
    ("setClock", 200, lambda c: c.post("/__admin/clock", json={"advance": 901})),
    ("setClock", 400, lambda c: c.post("/__admin/clock", json={"warp": 1})),
    ("listRequests", 200, lambda c: (c.get("/qubs/openapi.json"), c.get("/__admin/requests"))[1]),
    ("listRequests", 400, lambda c: c.get("/__admin/requests", params={"limit": "many"})),
    ("clearRequests", 200, lambda c: c.delete("/__admin/requests")),
    ("listObjects", 200, lambda c: c.get("/__admin/objects")),
    ("getObject", 404, lambda c: c.get("/__admin/objects/sandbox-uploads/missing")),
    ("getFixtures", 200, lambda c: c.get("/__admin/fixtures")),
    ("listVendors", 200, lambda c: c.get("/__admin/vendors")),
    ("openapi", 200, lambda c: c.get("/__admin/openapi.json")),
    ("listOperations", 200, lambda c: c.get("/__admin/operations")),
    ("listScenarios", 200, lambda c: c.get("/__admin/scenarios")),
    ("addScenarios", 201, lambda c: c.post("/__admin/scenarios", content=SCENARIO)),
    ("addScenarios", 400, lambda c: c.post("/__admin/scenarios", content="scenarios: 3\n")),
    (
        "getScenario",
        200,
        lambda c: (c.post("/__admin/scenarios", content=SCENARIO), c.get("/__admin/scenarios/s1"))[1],
    ),
    ("getScenario", 404, lambda c: c.get("/__admin/scenarios/none")),
    (
        "disableScenario",
        200,
        lambda c: (c.post("/__admin/scenarios", content=SCENARIO), c.post("/__admin/scenarios/s1/disable"))[
            1
        ],
    ),
    ("enableScenario", 404, lambda c: c.post("/__admin/scenarios/none/enable")),
    ("resetScenarios", 200, lambda c: c.post("/__admin/scenarios/reset")),
    (
        "deleteScenario",
        200,
        lambda c: (c.post("/__admin/scenarios", content=SCENARIO), c.delete("/__admin/scenarios/s1"))[1],
    ),
    ("deleteScenario", 404, lambda c: c.delete("/__admin/scenarios/none")),
    ("clearScenarios", 200, lambda c: c.delete("/__admin/scenarios")),
]


@pytest.fixture(scope="module")
def shared_client() -> Iterator[TestClient]:
    """One app for the whole table (building one per case would dominate the run), reset per case."""
    app = create_app(Settings(seed=7))
    with TestClient(app, base_url="http://127.0.0.1:8080") as test_client:
        yield test_client
    app.state.sandbox.close()


@pytest.mark.parametrize(
    "operation_id, status, call", CALLS, ids=[f"{op}-{status}" for op, status, _ in CALLS]
)
def test_responses_match_the_contract(
    shared_client: TestClient, operation_id: str, status: int, call: Call
) -> None:
    assert shared_client.post("/__admin/reset").status_code == 200
    response = call(shared_client)
    assert response.status_code == status, response.text
    check(response, operation_id)


def test_stored_object_and_journal_entry_shapes(client: TestClient, sandbox: Sandbox) -> None:
    url = sandbox.storage.presign_put(
        "http://127.0.0.1:8080", "sandbox-uploads", "a/b.txt", expires_in=60
    ).url
    assert (
        client.put(
            url.split("8080", 1)[1], content=b"abc", headers={"Content-Type": "text/plain"}
        ).status_code
        == 200
    )
    [stored] = check(client.get("/__admin/objects", params={"prefix": "a/"}), "listObjects")["objects"]
    assert stored["key"] == "a/b.txt"
    body = client.get("/__admin/objects/sandbox-uploads/a/b.txt")
    assert body.content == b"abc" and body.headers["x-sha256"] == stored["sha256"]
    entries = check(
        client.get("/__admin/requests", params={"operation": "storage.putObject"}), "listRequests"
    )
    assert entries["requests"][0]["query"]["X-Amz-Signature"].startswith("***")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links += [value or "" for name, value in attrs if name == "href"]


def test_index_is_html_for_browsers_and_links_everything(client: TestClient) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = client.get("/", headers={"Accept": browser})
    assert page.headers["content-type"].startswith("text/html") and "Accept" in page.headers["vary"]
    parser = _Links()
    parser.feed(page.text)
    as_json = client.get("/", headers={"Accept": "application/json"}).json()
    for vendor in as_json["vendors"].values():
        assert f"<code>{vendor['baseUrl']}</code>" in page.text and vendor["openapi"] in parser.links
    for name in ("health", "clock", "requests", "objects", "vendors", "scenarios", "openapi"):
        assert as_json["admin"][name] in parser.links
    for link in parser.links:  # every link answers
        assert client.get(link.replace("http://127.0.0.1:8080", "")).status_code == 200, link


@pytest.mark.parametrize(
    "accept, html",
    [
        ("text/html,*/*;q=0.8", True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html;q=0.5", False),
        ("text/html;q=0", False),
        ("text/html;q=oops", False),
    ],
    ids=["browser", "curl", "none", "json", "json-preferred", "html-refused", "bad-q"],
)
def test_negotiation(accept: str, html: bool) -> None:
    assert prefers_html(accept) is html
