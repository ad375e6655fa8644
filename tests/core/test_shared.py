"""The shared-state primitives over a real redis-server: queued writes, read-your-writes, the lock."""

from __future__ import annotations

import threading
from typing import Any

from mock_server.core.shared import MISSING, SharedState


def _hset(shared: SharedState, key: str, field: str, value: bytes) -> None:
    shared.write(lambda pipe: pipe.hset(key, field, value), {(key, field): value})


def test_writes_outside_a_request_go_straight_through(shared_state: SharedState) -> None:
    key = shared_state.key("h")
    _hset(shared_state, key, "a", b"1")
    assert shared_state.redis.hget(key, "a") == b"1"


def test_queued_writes_are_read_back_and_sent_in_one_flush(shared_state: SharedState) -> None:
    key = shared_state.key("h")
    with shared_state.writes():
        _hset(shared_state, key, "a", b"1")
        assert shared_state.overlaid(key, "a") == b"1"
        assert shared_state.redis.hget(key, "a") is None  # not sent yet
    assert shared_state.redis.hget(key, "a") == b"1"
    assert shared_state.overlaid(key, "a") is MISSING


def test_lock_is_reentrant_and_flushes_before_release(shared_state: SharedState) -> None:
    key = shared_state.key("h")
    with shared_state.writes(), shared_state.lock():
        with shared_state.lock():
            _hset(shared_state, key, "a", b"1")
        assert shared_state.redis.hget(key, "a") is None
    assert shared_state.redis.hget(key, "a") == b"1"


def test_lock_serialises_read_modify_write_across_clients(shared_state: SharedState, redis_url: str) -> None:
    from mock_server.core.shared import connect

    states = [SharedState(connect(redis_url), shared_state.namespace) for _ in range(4)]
    key = shared_state.key("counter")
    shared_state.redis.set(key, 0)

    def bump(state: SharedState) -> None:
        for _ in range(50):
            with state.lock():
                value = int(state.redis.get(key))
                state.redis.set(key, value + 1)

    threads = [threading.Thread(target=bump, args=(state,)) for state in states]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert int(shared_state.redis.get(key)) == 200


def test_clear_empties_the_namespace_only(shared_state: SharedState, redis_url: str) -> None:
    from mock_server.core.shared import connect

    other: Any = SharedState(connect(redis_url), shared_state.namespace + "-other")
    shared_state.redis.set(shared_state.key("x"), 1)
    other.redis.set(other.key("x"), 1)
    shared_state.clear()
    assert shared_state.redis.get(shared_state.key("x")) is None
    assert other.redis.get(other.key("x")) == b"1"
    other.clear()
