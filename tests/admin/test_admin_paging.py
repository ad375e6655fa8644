"""Paging of the admin journal and object listings: default page 100, at most 1000, ``offset`` walks
to the end, ``total`` counts every match; ``AdminClient`` reads every page. Bodies match the admin
OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server.admin.index import DOCUMENT
from mock_server.core.bodies import BodyWriter
from mock_server.core.openapi import issues_of
from mock_server.core.sandbox import Sandbox
from mock_server.settings import Settings

BUCKET = "sandbox-uploads"


@pytest.fixture
def settings() -> Settings:
    return Settings(seed=1234, journal_size=1500)


def checked(response: Any, operation_id: str) -> Any:
    assert response.status_code == 200, response.text
    validator = DOCUMENT.response_validator(operation_id, 200, "application/json")
    body = response.json()
    assert validator is not None and not issues_of(validator, body)
    return body


def fill_journal(sandbox: Sandbox, count: int) -> None:
    for number in range(count):
        sandbox.journal.record(
            timestamp="2026-01-01T00:00:00Z", method="GET", path=f"/qubs/x/{number}", vendor="qubs"
        )


def fill_bucket(sandbox: Sandbox, count: int) -> list[str]:
    keys = [f"k/{number:05d}" for number in range(count)]
    for key in reversed(keys):  # stored out of order: the listing sorts
        writer = BodyWriter()
        writer.write(b"x")
        objects = sandbox.storage.objects
        objects.put(BUCKET, key, writer.finish(), content_type="text/plain", uploaded_at=sandbox.clock.now())
    return keys


LISTINGS = {  # the objects listing is read for one bucket: the fixtures store objects elsewhere
    "journal": ("/__admin/requests", {}, "listRequests", "requests", fill_journal),
    "objects": ("/__admin/objects", {"bucket": BUCKET}, "listObjects", "objects", fill_bucket),
}


@pytest.fixture(params=sorted(LISTINGS), ids=sorted(LISTINGS))
def listing(request: pytest.FixtureRequest, client: TestClient, sandbox: Sandbox) -> Iterator[tuple]:
    path, base, operation, key, fill = LISTINGS[request.param]
    fill(sandbox, 1100)
    yield path, base, operation, key


@pytest.mark.parametrize(
    ("params", "count"),
    [({}, 100), ({"limit": 7}, 7), ({"limit": 1000}, 1000), ({"limit": 5000}, 1000), ({"offset": 1050}, 50)],
    ids=["default", "small", "largest", "clamped", "last-page"],
)
def test_page_sizes(client: TestClient, listing: tuple, params: dict[str, int], count: int) -> None:
    path, base, operation, key = listing
    body = checked(client.get(path, params={**base, **params}), operation)
    assert (len(body[key]), body["count"], body["total"]) == (count, count, 1100)


def test_offset_walks_every_item_once(client: TestClient, listing: tuple) -> None:
    path, base, operation, key = listing
    seen: list[Any] = []
    while True:
        body = checked(client.get(path, params={**base, "limit": 300, "offset": len(seen)}), operation)
        seen += [row.get("id", row.get("key")) for row in body[key]]
        if len(seen) >= body["total"]:
            break
    assert len(seen) == len(set(seen)) == 1100


@pytest.mark.parametrize("params", [{"limit": "-1"}, {"limit": "many"}, {"offset": "x"}], ids=str)
def test_bad_values_are_400(client: TestClient, listing: tuple, params: dict[str, str]) -> None:
    path, base, _, _ = listing
    response = client.get(path, params={**base, **params})
    assert response.status_code == 400 and "error" in response.json()


def test_objects_are_in_key_order(client: TestClient, sandbox: Sandbox) -> None:
    keys = fill_bucket(sandbox, 30)
    params = {"bucket": BUCKET, "limit": 10, "offset": 10}
    body = checked(client.get("/__admin/objects", params=params), "listObjects")
    assert [row["key"] for row in body["objects"]] == sorted(keys)[10:20]


def test_journal_is_newest_first(client: TestClient, sandbox: Sandbox) -> None:
    fill_journal(sandbox, 30)
    body = checked(client.get("/__admin/requests", params={"limit": 3, "offset": 2}), "listRequests")
    assert [row["path"] for row in body["requests"]] == ["/qubs/x/27", "/qubs/x/26", "/qubs/x/25"]
