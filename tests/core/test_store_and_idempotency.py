from __future__ import annotations

import threading

import pytest

from mock_server.core.clock import Clock
from mock_server.core.idempotency import IdempotencyConflict, IdempotencyStore, StoredResponse, fingerprint
from mock_server.core.store import Store


def test_store_is_keyed_by_vendor_tenant_kind_id() -> None:
    store = Store()
    store.put("qubs", "acme", "attachment", "1", {"n": 1})
    store.put("qubs", "globex", "attachment", "1", {"n": 2})
    assert store.get("qubs", "acme", "attachment", "1") == {"n": 1}
    assert store.list("qubs", "globex", "attachment") == [{"n": 2}]
    assert store.list("qubs", "acme", "attachment", where=lambda r: r["n"] > 1) == []
    store.reset()
    assert store.count() == 0


def test_fingerprint_ignores_key_order_and_whitespace() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


@pytest.fixture
def idempotency() -> tuple[IdempotencyStore, Clock]:
    clock = Clock()
    clock.freeze("2026-01-01T00:00:00Z")
    return IdempotencyStore(clock), clock


def test_replay_returns_the_stored_response(idempotency: tuple[IdempotencyStore, Clock]) -> None:
    store, _ = idempotency
    calls = []

    def produce() -> StoredResponse:
        calls.append(1)
        return StoredResponse(201, b'{"n":%d}' % len(calls))

    first, replayed_first = store.run("scope", "k", "fp", 900, produce)
    second, replayed_second = store.run("scope", "k", "fp", 900, produce)
    assert (replayed_first, replayed_second) == (False, True)
    assert first.body == second.body and len(calls) == 1


def test_other_payload_conflicts_and_scopes_are_separate(idempotency: tuple[IdempotencyStore, Clock]) -> None:
    store, _ = idempotency
    store.run("scope", "k", "fp", 900, lambda: StoredResponse(201, b"x"))
    with pytest.raises(IdempotencyConflict):
        store.run("scope", "k", "other", 900, lambda: StoredResponse(201, b"y"))
    other, replayed = store.run("other-scope", "k", "other", 900, lambda: StoredResponse(201, b"z"))
    assert other.body == b"z" and not replayed


def test_keys_expire_on_the_clock(idempotency: tuple[IdempotencyStore, Clock]) -> None:
    store, clock = idempotency
    store.run("scope", "k", "fp", 900, lambda: StoredResponse(201, b"old"))
    clock.advance(900)
    fresh, replayed = store.run("scope", "k", "different", 900, lambda: StoredResponse(201, b"new"))
    assert fresh.body == b"new" and not replayed


def test_failed_production_leaves_the_key_free(idempotency: tuple[IdempotencyStore, Clock]) -> None:
    store, _ = idempotency

    def boom() -> StoredResponse:
        raise RuntimeError("fail")

    with pytest.raises(RuntimeError):
        store.run("scope", "k", "fp", 900, boom)
    response, replayed = store.run("scope", "k", "fp", 900, lambda: StoredResponse(201, b"ok"))
    assert response.body == b"ok" and not replayed


def test_concurrent_requests_with_one_key_produce_once(idempotency: tuple[IdempotencyStore, Clock]) -> None:
    store, _ = idempotency
    produced: list[int] = []
    gate = threading.Barrier(20)
    results: list[bytes] = []

    def produce() -> StoredResponse:
        produced.append(1)
        return StoredResponse(201, b"only-once")

    def worker() -> None:
        gate.wait()
        response, _ = store.run("scope", "k", "fp", 900, produce)
        results.append(response.body)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(produced) == 1 and results == [b"only-once"] * 20
