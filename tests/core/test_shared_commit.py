"""Group commit (core/shared_commit.py): concurrent requests' round trips go out together, each gets
its own answers, and an error reaches exactly the requests it belongs to."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mock_server.core.shared import SharedState


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_each_item_gets_its_own_answers_in_order(shared_state: SharedState) -> None:
    committer = shared_state.committer
    key = shared_state.key("counter")

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(committer.run([lambda pipe: pipe.incr(key), lambda pipe: pipe.get(key)]) for _ in range(50))
        )

    answers = _run(main())
    # 50 increments, each followed by its read inside the same transaction.
    assert sorted(int(answer[0]) for answer in answers) == list(range(1, 51))
    assert all(int(answer[1]) == answer[0] for answer in answers)
    assert int(shared_state.redis.get(key)) == 50


def test_concurrent_items_share_round_trips(shared_state: SharedState) -> None:
    committer = shared_state.committer
    key = shared_state.key("shared")

    async def one() -> None:
        for _ in range(20):
            await committer.run([lambda pipe: pipe.incr(key)])

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(16)))

    _run(main())
    assert int(shared_state.redis.get(key)) == 320
    assert committer.items_sent == 320
    assert committer.round_trips < committer.items_sent  # several items per round trip


def test_an_error_reaches_only_its_own_request(shared_state: SharedState) -> None:
    from redis.exceptions import ResponseError

    committer = shared_state.committer
    text, counter = shared_state.key("text"), shared_state.key("n")
    shared_state.redis.set(text, "not a number")

    async def main() -> list[Any]:
        return await asyncio.gather(
            committer.run([lambda pipe: pipe.incr(counter)]),
            committer.run([lambda pipe: pipe.incr(text)]),  # WRONGTYPE-like: not an integer
            committer.run([lambda pipe: pipe.incr(counter)]),
            return_exceptions=True,
        )

    first, failed, last = _run(main())
    assert isinstance(failed, ResponseError)
    assert sorted([int(first[0]), int(last[0])]) == [1, 2]


def test_scripts_are_loaded_again_after_the_server_forgot_them(shared_state: SharedState) -> None:
    script = shared_state.script("return redis.call('INCR', KEYS[1])")
    key = shared_state.key("scripted")
    shared_state.redis.script_flush()

    async def main() -> list[Any]:
        return await shared_state.commit([lambda pipe: script(keys=[key], client=pipe)])

    assert _run(main()) == [1]


def test_a_lost_connection_is_every_waiting_requests_error(shared_state: SharedState) -> None:
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.retry import Retry

    nowhere = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    shared = SharedState(nowhere, "nowhere")

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(shared.committer.run([lambda pipe: pipe.get("k")]) for _ in range(3)), return_exceptions=True
        )

    answers = _run(main())
    assert all(isinstance(answer, RedisConnectionError) for answer in answers)


@pytest.mark.parametrize("loops", [2])
def test_requests_of_several_event_loops_are_answered_on_their_own(
    shared_state: SharedState, loops: int
) -> None:
    import threading

    committer = shared_state.committer
    key = shared_state.key("loops")
    results: list[Any] = []

    def serve() -> None:
        async def main() -> list[Any]:
            return await asyncio.gather(*(committer.run([lambda pipe: pipe.incr(key)]) for _ in range(25)))

        results.append(asyncio.run(main()))

    threads = [threading.Thread(target=serve) for _ in range(loops)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(int(answer[0]) for result in results for answer in result) == list(range(1, 51))


def test_every_namespace_on_one_client_shares_one_commit_thread(shared_state: SharedState) -> None:
    import threading

    def commit_threads() -> int:
        return sum(1 for thread in threading.enumerate() if thread.name == "shared-state-commit")

    others = [SharedState(shared_state.redis, f"{shared_state.namespace}-{n}") for n in range(5)]

    async def commit(state: SharedState) -> None:
        await state.commit([lambda pipe: pipe.incr(state.key("n"))])

    _run(commit(shared_state))
    before = commit_threads()
    for state in others:
        _run(commit(state))
    assert commit_threads() == before
    assert len({id(state.committer) for state in [shared_state, *others]}) == 1
    for state in others:
        state.clear()
