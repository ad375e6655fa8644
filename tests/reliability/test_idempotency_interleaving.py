"""Same-key races with the interleaving forced: the first request's work is held open on an event
while the second arrives, so a missing per-key lock in ``core/idempotency.py`` shows as two effects.

In process: two threads call ``IdempotencyStore.run``. Over HTTP: one sandbox app served by two
uvicorn servers (two event loops, as a threaded deployment would run it), the first request's
QUBS comment creation blocked until the second request has had its chance.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
import requests
import uvicorn

from mock_server.cli import bind_socket
from mock_server.core.clock import Clock
from mock_server.core.idempotency import IdempotencyStore, StoredResponse
from mock_server.settings import Settings
from mock_server.testing.server import LiveServer
from mock_server.transport import guarded_protocol
from mock_server.vendors.qubs import models as qubs_models

CHANCE = 0.5  # seconds the second request gets to (wrongly) start its own work while the first is held
BOUND = 10.0  # seconds: the bound on any wait here
QUBS_AUTH = {"Authorization": "Bearer qubs-dev-token", "Idempotency-Key": "interleaved-0001"}
QUBS_COMMENTS = "/qubs/integrations/v1/acme/reporting/appointments/A123456/comments"


class Gate:
    """Holds the first caller inside its work until released; records every caller that got in."""

    def __init__(self) -> None:
        self.first_inside = threading.Event()
        self.second_inside = threading.Event()
        self.release = threading.Event()
        self.entered = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.entered += 1
            first = self.entered == 1
        if first:
            self.first_inside.set()
            assert self.release.wait(BOUND)
        else:
            self.second_inside.set()

    def interleave(self, first: Callable[[], Any], second: Callable[[], Any]) -> tuple[Any, Any]:
        with ThreadPoolExecutor(max_workers=2) as pool:
            one: Future[Any] = pool.submit(first)
            assert self.first_inside.wait(BOUND), "the first caller never started its work"
            two: Future[Any] = pool.submit(second)
            self.second_inside.wait(CHANCE)  # set at once when nothing serialises the two
            self.release.set()
            return one.result(BOUND), two.result(BOUND)


def test_in_process_second_caller_waits_and_replays() -> None:
    store = IdempotencyStore(Clock())
    gate = Gate()

    def produce(tag: bytes) -> StoredResponse:
        gate.enter()
        return StoredResponse(201, tag)

    def call(tag: bytes) -> Callable[[], tuple[StoredResponse, bool]]:
        return lambda: store.run("scope", "key", "fp", 60, lambda: produce(tag))

    first, second = gate.interleave(call(b"first"), call(b"second"))

    assert gate.entered == 1, "the second caller ran its own work while the first held the key"
    assert first == (StoredResponse(201, b"first"), False)
    assert second == (StoredResponse(201, b"first"), True)


@pytest.fixture
def two_loops() -> Iterator[tuple[LiveServer, str]]:
    """A live sandbox and a second uvicorn server (own thread and event loop) on the same app."""
    settings = Settings(seed=21, default_scenarios=False)
    with LiveServer(settings) as live:
        sock = bind_socket("127.0.0.1", 0)
        config = uvicorn.Config(
            live.app, http=guarded_protocol(settings), lifespan="off", log_config=None, access_log=False
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        started = threading.Event()
        while not server.started and thread.is_alive():
            started.wait(0.005)
        try:
            yield live, f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            thread.join(BOUND)
            sock.close()


def test_over_http_second_request_waits_and_replays(
    two_loops: tuple[LiveServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live, other_url = two_loops
    gate = Gate()
    create_comment = qubs_models.create_comment

    def gated_create_comment(*args: Any, **kwargs: Any) -> Any:
        gate.enter()
        return create_comment(*args, **kwargs)

    monkeypatch.setattr(qubs_models, "create_comment", gated_create_comment)

    def post(base: str) -> Callable[[], requests.Response]:
        return lambda: requests.post(
            base + QUBS_COMMENTS, json={"commentText": "once"}, headers=QUBS_AUTH, timeout=BOUND
        )

    first, second = gate.interleave(post(live.url), post(other_url))

    assert (first.status_code, second.status_code) == (201, 201)
    assert gate.entered == 1, "the second request created its own comment while the first held the key"
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.content == first.content
    comments = live.sandbox.store.list("qubs", "acme", "comment")
    assert [comment["commentId"] for comment in comments] == [first.json()["commentId"]]
