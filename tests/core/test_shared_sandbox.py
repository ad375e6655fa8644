"""Two apps over one Redis namespace behave as one sandbox: what either serves, both know.

Each app stands for a worker process (its own in-process caches, clocks and scenario engines); the
state they share lives in a real redis-server (``redis_url``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
import requests
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.shared import SharedState
from mock_server.settings import Settings

CREATE = "/qubs/integrations/v1/acme/reporting/appointments/A123456/report/attachments"
LIST = "/qubs/integrations/v1/acme/reporting/appointments/A123456/attachments"
ACME = {"Authorization": "Bearer qubs-dev-token"}


@pytest.fixture
def pair(redis_url: str) -> Iterator[tuple[TestClient, TestClient]]:
    settings = Settings(seed=1234, state_url=redis_url, state_namespace=f"pair-{uuid.uuid4().hex[:8]}")
    apps: list[Starlette] = [create_app(settings), create_app(settings)]
    with contextlib.ExitStack() as running:
        # Entered, so each app runs its lifespan on an event loop that lives as long as the client, as
        # a server's does: the requests' round trips go over that loop's own Redis connection.
        clients = [running.enter_context(TestClient(app, base_url="http://127.0.0.1:8080")) for app in apps]
        yield clients[0], clients[1]
    for app in apps:
        app.state.sessions.close()
        app.state.sandbox.close()
    SharedState(apps[0].state.sandbox.shared.redis, settings.state_namespace).clear()


def _create(client: TestClient, count: int = 1, **headers: str) -> requests.Response:
    items = [{"fileName": f"r{n}.pdf", "contentType": "application/pdf"} for n in range(count)]
    return client.post(CREATE, json={"items": items}, headers={**ACME, **headers})


def test_records_made_by_one_are_listed_by_the_other(pair: tuple[TestClient, TestClient]) -> None:
    first, second = pair
    made = _create(first, 3)
    assert made.status_code == 201, made.text
    listed = second.get(LIST, headers=ACME)
    assert listed.status_code == 200
    guids = [item["guid"] for item in made.json()["items"]]
    assert [item["guid"] for item in listed.json()["items"]][-3:] == guids


def test_an_upload_url_issued_by_one_is_honoured_once_by_the_other(
    pair: tuple[TestClient, TestClient],
) -> None:
    first, second = pair
    url = _create(first).json()["items"][0]["uploadUrl"]
    path = url.split("8080", 1)[1]
    headers = {"Content-Type": "application/pdf"}
    assert second.put(path, content=b"%PDF-1.7 report", headers=headers).status_code == 200
    again = first.put(path, content=b"%PDF-1.7 report", headers=headers)
    assert again.status_code == 403
    assert "already been used" in again.text


def test_one_idempotency_key_creates_one_thing_across_both(pair: tuple[TestClient, TestClient]) -> None:
    first, second = pair
    key = {"Idempotency-Key": "same-key-1"}
    one, two = _create(first, 2, **key), _create(second, 2, **key)
    assert one.status_code == two.status_code == 201
    assert one.content == two.content
    before = len(second.get(LIST, headers=ACME).json()["items"])
    assert _create(first, 2, **{"Idempotency-Key": "same-key-1"}).content == one.content
    assert len(second.get(LIST, headers=ACME).json()["items"]) == before


def test_clock_and_reset_reach_the_other(pair: tuple[TestClient, TestClient]) -> None:
    first, second = pair
    assert first.post("/__admin/clock", json={"freeze": "2030-01-02T03:04:05Z"}).status_code == 200
    assert second.get("/__admin/clock").json()["now"] == "2030-01-02T03:04:05Z"
    fixtures_only = len(first.get(LIST, headers=ACME).json()["items"])
    _create(first, 2)
    assert first.post("/__admin/reset").status_code == 200
    assert len(second.get(LIST, headers=ACME).json()["items"]) == fixtures_only
    assert second.get("/__admin/clock").json()["frozen"] is False
    made = _create(second)  # the fixtures are back: the appointment is pending again
    assert made.status_code == 201, made.text


def test_a_session_made_through_one_serves_through_the_other(pair: tuple[TestClient, TestClient]) -> None:
    first, second = pair
    made = first.post("/__admin/sessions", json={"name": "run-7", "ttlSeconds": 60})
    assert made.status_code == 201, made.text
    assert second.post("/__admin/sessions", json={"name": "run-7"}).status_code == 409
    created = _create(second, 1, **{"X-Sandbox-Session": "run-7"})
    assert created.status_code == 201, created.text
    url = created.json()["items"][0]["uploadUrl"]
    assert "/~s/run-7/" in url
    listed = first.get("/~s/run-7" + LIST, headers=ACME).json()["items"]
    assert created.json()["items"][0]["guid"] in [item["guid"] for item in listed]
    assert created.json()["items"][0]["guid"] not in [
        i["guid"] for i in first.get(LIST, headers=ACME).json()["items"]
    ]
    assert [s["name"] for s in second.get("/__admin/sessions").json()["sessions"]] == ["run-7"]
    assert first.delete("/__admin/sessions/run-7").status_code == 204
    assert second.get("/~s/run-7" + LIST, headers=ACME).status_code == 404
    assert second.get("/__admin/sessions").json()["sessions"] == []


def test_sessions_add_no_connection_pool_or_commit_thread(pair: tuple[TestClient, TestClient]) -> None:
    import threading

    first, _ = pair
    assert _create(first).status_code == 201

    def commit_threads() -> int:
        return sum(1 for thread in threading.enumerate() if thread.name == "shared-state-commit")

    before = commit_threads()
    for number in range(6):
        name = f"many-{number}"
        assert first.post("/__admin/sessions", json={"name": name, "ttlSeconds": 60}).status_code == 201
        assert _create(first, 1, **{"X-Sandbox-Session": name}).status_code == 201
        assert first.delete(f"/__admin/sessions/{name}").status_code == 204
    assert commit_threads() == before


def test_each_app_serves_over_its_event_loops_own_connection(pair: tuple[TestClient, TestClient]) -> None:
    from mock_server.core.shared_wire import connection_name

    first, second = pair
    redis = first.app.state.sandbox.shared.redis  # type: ignore[attr-defined]

    def named() -> int:
        return sum(1 for client in redis.client_list() if client["name"] == connection_name())

    before = named()  # opened on first use
    assert _create(first).status_code == 201
    assert _create(second).status_code == 201
    assert named() == before + 2  # one per app's event loop
    for _ in range(3):
        assert _create(first).status_code == 201
    assert named() == before + 2  # none per request


def test_the_per_request_session_sweep_never_blocks_the_event_loop(
    pair: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every request sweeps expired sessions (at most once a second): over Redis that read goes through
    the loop's own round trips, never the blocking client, so a Redis that stops answering holds only
    the requests that wait for it, each failing after the timeout, not the whole process in series."""
    first, _ = pair
    sessions = first.app.state.sessions  # type: ignore[attr-defined]
    assert first.post("/__admin/sessions", json={"name": "brief", "ttlSeconds": 60}).status_code == 201
    assert _create(first).status_code == 201

    def blocking(*args: object, **kwargs: object) -> None:
        raise AssertionError("the blocking Redis client was used on the event loop")

    monkeypatch.setattr(sessions.shared.redis, "hgetall", blocking)
    monkeypatch.setattr(sessions, "_now", lambda: 4_102_444_800.0)  # 2100: "brief" has expired
    sessions._swept_at = float("-inf")  # due now
    assert _create(first).status_code == 201  # swept on the way, through the loop's round trip
    monkeypatch.undo()
    assert first.get("/__admin/sessions").json()["sessions"] == []


@pytest.mark.parametrize("addressed", ["path", "header"])
def test_a_session_addressed_request_reads_the_registry_on_the_event_loop(
    pair: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch, addressed: str
) -> None:
    """Finding the session a request names (``/~s/<name>/`` or ``X-Sandbox-Session``) reads the registry
    through the loop's own round trips too, also in the process that did not create it."""
    first, second = pair
    assert first.post("/__admin/sessions", json={"name": "looked-up", "ttlSeconds": 60}).status_code == 201
    sessions = second.app.state.sessions  # type: ignore[attr-defined]
    redis = sessions.shared.redis
    registry = sessions._key
    real_hget, real_hgetall = redis.hget, redis.hgetall

    def hget(key: str, *args: object) -> object:
        assert key != registry, "the blocking Redis client read the session registry on the event loop"
        return real_hget(key, *args)

    def hgetall(key: str) -> object:
        assert key != registry, "the blocking Redis client read the session registry on the event loop"
        return real_hgetall(key)

    monkeypatch.setattr(redis, "hget", hget)
    monkeypatch.setattr(redis, "hgetall", hgetall)
    sessions._swept_at = float("-inf")  # a sweep is due as well
    items = {"items": [{"fileName": "r.pdf", "contentType": "application/pdf"}]}
    if addressed == "path":
        made = second.post("/~s/looked-up" + CREATE, json=items, headers=ACME)
    else:
        made = second.post(CREATE, json=items, headers={**ACME, "X-Sandbox-Session": "looked-up"})
    assert made.status_code == 201, made.text
    assert second.post("/~s/nobody" + CREATE, json=items, headers=ACME).status_code == 404


def test_admin_session_calls_run_off_the_event_loop(
    pair: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admin API's session calls build sandboxes and read the registry with the blocking client:
    they run in a worker thread, so a slow Redis (or a big fixture set) holds no other request."""
    import asyncio

    first, _ = pair
    sessions = first.app.state.sessions  # type: ignore[attr-defined]
    on_loop: list[str] = []

    def watched(method: str) -> object:
        real = getattr(sessions, method)

        def call(*args: object) -> object:
            try:
                asyncio.get_running_loop()
                on_loop.append(method)
            except RuntimeError:
                pass
            return real(*args)

        return call

    for method in ("create", "list", "get", "delete"):
        monkeypatch.setattr(sessions, method, watched(method))
    assert first.post("/__admin/sessions", json={"name": "off-loop"}).status_code == 201
    assert [s["name"] for s in first.get("/__admin/sessions").json()["sessions"]] == ["off-loop"]
    assert first.get("/__admin/sessions/off-loop").status_code == 200
    assert first.delete("/__admin/sessions/off-loop").status_code == 204
    assert on_loop == []


@pytest.mark.parametrize("same_shape", [True, False])
def test_a_process_joins_the_state_only_if_it_keeps_it_in_the_same_shape(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, same_shape: bool
) -> None:
    """Same version, fixtures and seed join what is there; another ``STATE_FORMAT`` (pickled records,
    journal rows laid out otherwise) starts the namespace over rather than misread it."""
    from mock_server.core import sandbox as sandbox_module

    settings = Settings(seed=7, state_url=redis_url, state_namespace=f"shape-{uuid.uuid4().hex[:8]}")
    first = create_app(settings)
    with TestClient(first, base_url="http://127.0.0.1:8080") as client:
        assert _create(client).status_code == 201
    if not same_shape:
        monkeypatch.setattr(sandbox_module, "STATE_FORMAT", sandbox_module.STATE_FORMAT + 1)
    second = create_app(settings)
    with TestClient(second, base_url="http://127.0.0.1:8080") as client:
        listed = client.get(LIST, headers=ACME)
        journal = client.get("/__admin/requests").json()
    assert listed.status_code == 200
    assert sum(item["fileName"] == "r0.pdf" for item in listed.json()["items"]) == (1 if same_shape else 0)
    assert sum(entry["method"] == "POST" for entry in journal["requests"]) == (1 if same_shape else 0)
    for app in (first, second):
        app.state.sessions.close()
        app.state.sandbox.close()
    SharedState(first.state.sandbox.shared.redis, settings.state_namespace).clear()
