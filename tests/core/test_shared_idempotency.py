"""Idempotency keys in Redis: one key through several processes creates one thing."""

from __future__ import annotations

import threading

import pytest

from mock_server.core.clock import Clock
from mock_server.core.idempotency import IdempotencyConflict, IdempotencyStoreFull, StoredResponse
from mock_server.core.shared import SharedState, connect
from mock_server.core.shared_idempotency import SharedIdempotencyStore


@pytest.fixture
def stores(shared_state: SharedState, redis_url: str) -> list[SharedIdempotencyStore]:
    clock = Clock()
    clock.freeze()
    return [
        SharedIdempotencyStore(SharedState(connect(redis_url), shared_state.namespace), clock, max_keys=3)
        for _ in range(4)
    ]


def test_concurrent_requests_with_one_key_produce_once(stores: list[SharedIdempotencyStore]) -> None:
    made: list[int] = []
    answers: list[tuple[StoredResponse, bool]] = []
    gate = threading.Barrier(len(stores))

    def produce() -> StoredResponse:
        made.append(1)
        return StoredResponse(201, b'{"id": 1}')

    def run(store: SharedIdempotencyStore) -> None:
        gate.wait()
        answers.append(store.run("scope", "key", "fp", 60, produce))

    threads = [threading.Thread(target=run, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1
    assert sorted(replayed for _, replayed in answers) == [False, True, True, True]
    assert {response.body for response, _ in answers} == {b'{"id": 1}'}


def test_another_payload_conflicts_and_a_failure_frees_the_key(stores: list[SharedIdempotencyStore]) -> None:
    first, second = stores[:2]

    def fail() -> StoredResponse:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        first.run("scope", "k", "fp", 60, fail)
    response, replayed = second.run("scope", "k", "fp", 60, lambda: StoredResponse(200, b"ok"))
    assert not replayed and response.body == b"ok"
    with pytest.raises(IdempotencyConflict):
        first.run("scope", "k", "other", 60, lambda: StoredResponse(200, b"no"))


def test_keys_expire_on_the_sandbox_clock_and_are_bounded(stores: list[SharedIdempotencyStore]) -> None:
    store = stores[0]
    for number in range(3):
        store.run("scope", f"k{number}", "fp", 60, lambda: StoredResponse(200, b"x"))
    with pytest.raises(IdempotencyStoreFull):
        store.run("scope", "k9", "fp", 60, lambda: StoredResponse(200, b"x"))
    store._clock.advance(61)
    assert len(store) == 0
    assert store.run("scope", "k0", "fp", 60, lambda: StoredResponse(200, b"new")) == (
        StoredResponse(200, b"new"),
        False,
    )
