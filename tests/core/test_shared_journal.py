"""The journal kept in Redis: two instances over one namespace (two worker processes) act as one."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from mock_server.core.journal import FilterError
from mock_server.core.shared import SharedState, connect
from mock_server.core.shared_journal import SharedJournal


def _entry(journal: SharedJournal, **overrides: object) -> Any:
    fields: dict[str, Any] = dict(
        timestamp="t",
        method="GET",
        path="/qubs/x",
        headers={},
        vendor="qubs",
        operation="qubs.op",
        correlationId="c1",
        status=200,
    )
    fields.update(overrides)
    return journal.record(**fields)


@pytest.fixture
def pair(shared_state: SharedState, redis_url: str) -> Any:
    """Two journals over one namespace, each with its own connection (as two processes would be)."""
    other = SharedState(connect(redis_url), shared_state.namespace)

    def make(size: int = 10, **options: Any) -> tuple[SharedJournal, SharedJournal]:
        return SharedJournal(shared_state, size, **options), SharedJournal(other, size, **options)

    yield make
    other.redis.close()


def test_entries_recorded_by_either_are_listed_filtered_and_fetched_by_both(pair: Any) -> None:
    first, second = pair()
    one = _entry(first, status=201, request_body=(b'{"a": 1}', 8))
    two = _entry(second, vendor="candid", path="/candid/y", correlationId="c2", status=404)
    assert (one.id, two.id) == (1, 2)
    for journal in (first, second):
        assert [e.vendor for e in journal.entries()] == ["candid", "qubs"]
        assert [e.status for e in journal.entries(vendor="qubs")] == [201]
        assert [e.correlationId for e in journal.entries(path="/candid")] == ["c2"]
        assert journal.count(status="4xx") == 1 and journal.last_id == 2 and len(journal) == 2
        fetched = journal.get(1)
        assert fetched is not None and fetched.as_dict()["requestBody"]["text"] == '{"a": 1}'
        listed = journal.entries(status=201)[0].as_dict()
        assert listed["requestBody"]["size"] == 8 and listed["response"]["body"] is None
    assert first.get(99) is None


def test_ids_are_unique_and_increasing_across_concurrent_writers(pair: Any) -> None:
    journals = pair(size=500)

    def write(journal: SharedJournal) -> None:
        for _ in range(100):
            _entry(journal)

    threads = [threading.Thread(target=write, args=(journals[n % 2],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [entry.id for entry in journals[0].entries(limit=None)]
    assert ids == list(range(400, 0, -1))


def test_rings_stay_bounded_and_keep_the_newest(pair: Any) -> None:
    first, second = pair(size=3, admin_size=2)
    for number in range(5):
        _entry((first, second)[number % 2], correlationId=str(number))
    for number in range(4):
        _entry(first, vendor="admin", correlationId=f"admin-{number}")
    assert [e.correlationId for e in second.entries()] == ["4", "3", "2"]
    assert [e.correlationId for e in second.entries(vendor="admin")] == ["admin-3", "admin-2"]
    assert first.get(1) is None and len(first) == 3
    redis = first.shared.redis
    assert redis.hlen(first.shared.key("journal", "entries")) == 5  # the pushed-out entries are gone


def test_the_total_body_budget_holds_across_writers(pair: Any) -> None:
    first, second = pair(size=20, body_limit=1024, total_body_limit=8 * 1024)
    for number in range(20):
        _entry((first, second)[number % 2], correlationId=str(number), request_body=(b"x" * 1024, 10_000))
    assert first.body_total <= 8 * 1024 and second.body_total == first.body_total
    newest = second.entries(limit=1)[0].as_dict()["requestBody"]
    assert newest["captured"] == 1024 and newest["truncated"]
    oldest = second.entries()[-1].as_dict()["requestBody"]
    assert oldest["dropped"] is True and oldest["size"] == 10_000
    assert first.shared.redis.llen(first.shared.key("journal", "bodied")) <= 8


def test_reset_on_one_empties_both_and_ids_start_again(pair: Any) -> None:
    first, second = pair()
    for _ in range(3):
        _entry(first, request_body=(b"abc", 3))
    assert [e.id for e in second.entries()] == [3, 2, 1]  # second has them unpickled now
    second.reset()
    assert first.entries() == [] and first.last_id == 0 and first.body_total == 0
    _entry(first, correlationId="after-reset")
    assert [(e.id, e.correlationId) for e in second.entries()] == [(1, "after-reset")]


def test_entries_are_rendered_only_when_read_and_bodies_read_per_page(pair: Any) -> None:
    first, second = pair()
    _entry(first, headers={"authorization": "Bearer abcdefghijklmnopqrstuvwxyz"}, response_body=(b"ok", 2))
    entry = second.entries()[0]
    assert entry._dict is None and entry.response_body == (b"", 2)  # bodies not read yet
    shown = entry.as_dict()
    assert "abcdefghijklmnop" not in str(shown) and shown["response"]["body"]["text"] == "ok"
    assert entry.as_dict() is shown


def test_one_round_trip_per_record_riding_with_the_queued_writes(shared_state: SharedState) -> None:
    journal = SharedJournal(shared_state, 5)
    key = shared_state.key("h")
    sent: list[int] = []
    original = shared_state.redis.pipeline

    def counting(*args: Any, **kwargs: Any) -> Any:
        pipe = original(*args, **kwargs)
        execute = pipe.execute

        def counted(*a: Any, **k: Any) -> Any:
            sent.append(len(pipe.command_stack))
            return execute(*a, **k)

        pipe.execute = counted
        return pipe

    _entry(journal)  # loads the script once
    shared_state.redis.pipeline = counting  # type: ignore[method-assign]
    with shared_state.writes():
        shared_state.write(lambda pipe: pipe.hset(key, "a", b"1"), {(key, "a"): b"1"})
        _entry(journal)
    assert sent == [2]  # the queued HSET and the journal script, one MULTI/EXEC
    assert shared_state.redis.hget(key, "a") == b"1" and journal.last_id == 2


def test_bad_filters_are_refused(pair: Any) -> None:
    first, _ = pair()
    with pytest.raises(FilterError, match="unknown filter"):
        first.entries(colour="red")
    with pytest.raises(FilterError, match="status must be"):
        first.count(status="abc")


def test_paging_and_since(pair: Any) -> None:
    first, second = pair(size=50)
    for number in range(10):
        _entry(
            (first, second)[number % 3 == 0], status=200 if number % 2 else 404, path=f"/qubs/item/{number}"
        )
    assert [e.path for e in first.entries(status="404", limit=2, offset=1)] == [
        "/qubs/item/6",
        "/qubs/item/4",
    ]
    assert second.entries(limit=0) == []
    assert [e.id for e in second.entries(since=8)] == [10, 9]
    assert first.count(text="ITEM/3") == 1


def test_the_middleware_records_complete_entries_that_another_process_lists(
    sandbox: Any, client: Any, shared_state: SharedState, redis_url: str
) -> None:
    sandbox.journal = SharedJournal(shared_state, 50)
    other = SharedJournal(SharedState(connect(redis_url), shared_state.namespace), 50)
    answer = client.get("/__admin/no-such-page", headers={"X-Correlation-Id": "corr-1"})
    listed = client.get("/__admin/requests", params={"vendor": "admin"}).json()
    try:
        (entry,) = other.entries(correlation_id="corr-1", vendor="admin")
        shown = entry.as_dict()
        assert shown["status"] == answer.status_code == 404 and shown["durationMs"] is not None
        assert shown["response"]["body"]["size"] == len(answer.content)
        assert listed["requests"][0]["correlationId"] == "corr-1" and listed["lastId"] == 1
    finally:
        other.shared.redis.close()


@pytest.mark.parametrize("written", [1, 3, 5, 9])
def test_a_reader_catches_up_however_far_the_ring_moved(pair: Any, written: int) -> None:
    writer, reader = pair(size=4)
    for number in range(3):
        _entry(writer, correlationId=f"before-{number}")
    assert [e.correlationId for e in reader.entries()] == ["before-2", "before-1", "before-0"]
    for number in range(written):
        _entry(writer, correlationId=f"after-{number}")
    everything = [f"after-{n}" for n in reversed(range(written))] + ["before-2", "before-1", "before-0"]
    assert [e.correlationId for e in reader.entries()] == everything[:4]
    assert reader.count() == 4


def test_recording_survives_a_flushed_script_cache(shared_state: SharedState) -> None:
    journal = SharedJournal(shared_state, 5)
    _entry(journal)
    shared_state.redis.script_flush()
    assert _entry(journal).id == 2 and [e.id for e in journal.entries()] == [2, 1]
