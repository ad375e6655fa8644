"""Group commit (core/shared_commit.py): concurrent requests' round trips go out together, each gets
its own answers, and an error reaches exactly the requests it belongs to. Both ways are tested: a
serving event loop's own connection (``serve_on``) and the commit thread of any other loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from mock_server.core.shared import SharedState
from mock_server.core.shared_commit import Committer

WAYS = ["own-connection", "thread"]


@pytest.fixture(params=WAYS)
def way(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _run(main: Callable[[], Awaitable[Any]], committer: Committer | None = None, way: str = "thread") -> Any:
    """``main()`` on a new event loop, which serves through its own connection for "own-connection"."""

    async def serving() -> Any:
        loop = asyncio.get_running_loop()
        if way == "own-connection":
            assert committer is not None and committer.serve_on(loop)
        try:
            return await main()
        finally:
            if way == "own-connection":
                await committer.close_on(loop)  # type: ignore[union-attr]

    return asyncio.run(serving())


def test_each_item_gets_its_own_answers_in_order(shared_state: SharedState, way: str) -> None:
    committer = shared_state.committer
    key = shared_state.key("counter")

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(committer.run([lambda pipe: pipe.incr(key), lambda pipe: pipe.get(key)]) for _ in range(50))
        )

    answers = _run(main, committer, way)
    # 50 increments, each followed by its read inside the same transaction.
    assert sorted(int(answer[0]) for answer in answers) == list(range(1, 51))
    assert all(int(answer[1]) == answer[0] for answer in answers)
    assert int(shared_state.redis.get(key)) == 50


def test_concurrent_items_share_round_trips(shared_state: SharedState, way: str) -> None:
    committer = shared_state.committer
    key = shared_state.key("shared")

    async def one() -> None:
        for _ in range(20):
            await committer.run([lambda pipe: pipe.incr(key)])

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(16)))

    _run(main, committer, way)
    assert int(shared_state.redis.get(key)) == 320
    assert committer.items_sent == 320
    assert committer.round_trips < committer.items_sent  # several items per round trip


def test_an_error_reaches_only_its_own_request(shared_state: SharedState, way: str) -> None:
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

    first, failed, last = _run(main, committer, way)
    assert isinstance(failed, ResponseError)
    assert sorted([int(first[0]), int(last[0])]) == [1, 2]


def test_scripts_are_loaded_again_after_the_server_forgot_them(shared_state: SharedState, way: str) -> None:
    script = shared_state.script("return redis.call('INCR', KEYS[1])")
    key = shared_state.key("scripted")
    shared_state.redis.script_flush()

    async def main() -> list[Any]:
        return await shared_state.commit([lambda pipe: script(keys=[key], client=pipe)])

    assert _run(main, shared_state.committer, way) == [1]


def test_a_lost_connection_is_every_waiting_requests_error(shared_state: SharedState, way: str) -> None:
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

    answers = _run(main, shared.committer, way)
    assert len(answers) == 3
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

    _run(lambda: commit(shared_state))
    before = commit_threads()
    for state in others:
        _run(lambda state=state: commit(state))
    assert commit_threads() == before
    assert len({id(state.committer) for state in [shared_state, *others]}) == 1
    for state in others:
        state.clear()


# -- a serving loop's own connection -------------------------------------------------------------------


def _commands(key: str, script_args: tuple[Any, ...]) -> list[Any]:
    """Commands of every kind the shared stores send, as arguments and as pipeline calls."""
    return [
        lambda pipe: pipe.hset(key + ":h", mapping={"a": "1", "b": b"\x80binary"}),
        ("HSET", key + ":h", "c", "3"),
        lambda pipe: pipe.hgetall(key + ":h"),
        ("HGETALL", key + ":h"),
        lambda pipe: pipe.hmget(key + ":h", "a", "missing"),
        lambda pipe: pipe.zadd(key + ":z", {"m": 1796111451.25}),
        ("ZADD", key + ":z", 0.5, "n"),
        lambda pipe: pipe.zrange(key + ":z", 0, -1, withscores=True),
        lambda pipe: pipe.exists(key + ":h"),
        ("GET", key + ":missing"),
        lambda pipe: pipe.incrby(key + ":n", 5),
        script_args,
        lambda pipe: pipe.sadd(key + ":s", "x", "y"),
        lambda pipe: pipe.smembers(key + ":s"),
        lambda pipe: pipe.delete(key + ":s"),
    ]


def test_answers_have_the_shapes_redis_py_gives(shared_state: SharedState) -> None:
    """The same commands through redis-py's pipeline and through the own connection: equal answers."""
    from mock_server.core.shared import add_to

    script = shared_state.script("return {KEYS[1], ARGV[1], 7}")
    expected_key, wire_key = shared_state.key("by-redis-py"), shared_state.key("by-wire")
    pipe = shared_state.redis.pipeline(transaction=True)
    for command in _commands(expected_key, script.args([expected_key], ["x"])):
        add_to(pipe, command)
    expected = pipe.execute()

    committer = shared_state.committer

    async def main() -> list[Any]:
        return await committer.run(_commands(wire_key, script.args([wire_key], ["x"])))

    answers = _run(main, committer, "own-connection")
    # Only the script's echo of its key differs.
    assert answers[11] == [wire_key.encode(), b"x", 7]
    assert answers[:11] + answers[12:] == expected[:11] + expected[12:]


def test_identical_reads_of_one_pass_are_one_reading(shared_state: SharedState) -> None:
    committer = shared_state.committer
    key = shared_state.key("read")
    shared_state.redis.set(key, "1")

    async def main() -> list[Any]:
        reads = [committer.run([("GET", key)], read_only=True) for _ in range(10)]
        write = committer.run([("INCR", key)])  # not read-only: never merged
        return await asyncio.gather(*reads, write)

    before = int(shared_state.redis.info("commandstats")["cmdstat_get"]["calls"])
    *reads, write = _run(main, committer, "own-connection")
    after = int(shared_state.redis.info("commandstats")["cmdstat_get"]["calls"])
    assert reads == [[b"1"]] * 10
    assert write == [2]
    assert after - before == 1


def test_a_cancelled_request_leaves_the_others_answers_in_place(shared_state: SharedState) -> None:
    committer = shared_state.committer
    key = shared_state.key("cancel")

    async def main() -> tuple[list[Any], list[Any]]:
        await committer.run([("INCR", key)])  # connected
        tasks = [asyncio.ensure_future(committer.run([("INCR", key)])) for _ in range(5)]
        await asyncio.sleep(0)  # all handed over
        tasks[2].cancel()  # its client went away: its reply still arrives, and is dropped
        first = await asyncio.gather(*tasks, return_exceptions=True)
        later = [await committer.run([("INCR", key)]) for _ in range(3)]
        return first, later

    first, later = _run(main, committer, "own-connection")
    assert isinstance(first[2], asyncio.CancelledError)
    assert [answer for n, answer in enumerate(first) if n != 2] == [[2], [3], [5], [6]]
    assert later == [[7], [8], [9]]  # the cancelled one's INCR ran: no reply went to the wrong request


def test_the_connection_logs_in_and_selects_the_database_of_the_url(shared_state: SharedState) -> None:
    from mock_server.core.shared import connect

    admin = shared_state.redis
    admin.execute_command("ACL", "SETUSER", "sandbox-wire", "on", ">s3cret", "~*", "&*", "+@all")
    host, port = (
        admin.connection_pool.connection_kwargs["host"],
        admin.connection_pool.connection_kwargs["port"],
    )
    client = connect(f"redis://sandbox-wire:s3cret@{host}:{port}/3")
    key = shared_state.key("in-db-3")
    try:
        committer = SharedState(client, "unused").committer

        async def main() -> list[Any]:
            return await committer.run([("SET", key, "here"), ("CLIENT", "INFO")])

        answers = _run(main, committer, "own-connection")
        assert answers[0] is True
        assert b"user=sandbox-wire" in answers[1] and b"db=3" in answers[1]
        assert client.get(key) == b"here" and admin.get(key) is None  # db 3, not db 0
    finally:
        client.delete(key)
        client.close()
        admin.execute_command("ACL", "DELUSER", "sandbox-wire")


def test_one_connection_per_serving_loop_closed_when_it_stops(shared_state: SharedState) -> None:
    committer = shared_state.committer
    key = shared_state.key("conn")

    def connections() -> int:
        return len(shared_state.redis.client_list())

    async def main() -> int:
        await asyncio.gather(*(committer.run([("INCR", key)]) for _ in range(20)))
        await asyncio.gather(*(committer.run([("INCR", key)]) for _ in range(20)))
        return connections()

    before = connections()
    during = _run(main, committer, "own-connection")
    assert during == before + 1
    assert connections() == before
    assert int(shared_state.redis.get(key)) == 40


def test_a_server_that_stops_answering_is_a_timeout(way: str) -> None:
    """A Redis that accepts and never answers (stopped, partitioned) fails the waiting requests after the
    client's socket_timeout, with redis-py's TimeoutError (a 503 through state_guard.py)."""
    import socket

    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from redis.retry import Retry

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    port = silent.getsockname()[1]
    client = Redis(
        host="127.0.0.1", port=port, socket_timeout=0.3, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    shared = SharedState(client, "silent")

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(shared.committer.run([("GET", "k")]) for _ in range(3)), return_exceptions=True
        )

    try:
        answers = _run(main, shared.committer, way)
    finally:
        silent.close()
    assert [type(answer) for answer in answers] == [RedisTimeoutError] * 3
