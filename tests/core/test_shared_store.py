"""``SharedStore`` keeps ``Store``'s contract over Redis, and two stores over one namespace are one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from mock_server.core.shared import SharedState, connect
from mock_server.core.shared_store import SharedStore
from mock_server.core.store import FixedKindWritten, Store, StoreFull


@pytest.fixture(params=["process", "redis"])
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "process":
        return Store(max_records=5, copy_on_read=True)
    return SharedStore(request.getfixturevalue("shared_state"), max_records=5)


def test_put_get_delete_and_insertion_order(store: Any) -> None:
    for name in ("b", "a", "c"):
        store.put("v", "t", "k", name, {"n": name})
    store.put("v", "t", "k", "a", {"n": "a2"})  # replacing keeps the place
    assert [r["n"] for r in store.list("v", "t", "k")] == ["b", "a2", "c"]
    assert store.get("v", "t", "k", "c") == {"n": "c"}
    assert store.delete("v", "t", "k", "b") == {"n": "b"}
    assert store.delete("v", "t", "k", "b") is None
    assert [r["n"] for r in store.list("v", "t", "k", where=lambda r: r["n"] != "c")] == ["a2"]
    assert store.count() == 2
    assert store.tenants("v", "k") == ["t"]


def test_the_cap_refuses_new_records_only(store: Any) -> None:
    for number in range(5):
        store.put("v", "t", "k", str(number), number)
    with pytest.raises(StoreFull):
        store.put("v", "t", "k", "new", 0)
    store.put("v", "t", "k", "0", 100)  # replacing still works
    assert store.get("v", "t", "k", "0") == 100


def test_put_all_stores_a_batch_in_order_or_nothing_when_its_new_ids_do_not_fit(store: Any) -> None:
    store.put("v", "t", "k", "b", "old b")
    store.put_all("v", "t", "k", [("a", 1), ("b", 2), ("c", 3), ("c", 4)])  # replaces b, then c twice
    assert store.list("v", "t", "k") == [2, 1, 4] and store.count() == 3
    with pytest.raises(StoreFull):
        store.put_all("v", "t", "k", [("a", 10), ("d", 5), ("e", 6), ("f", 7)])  # 3 new, room for 2
    assert store.list("v", "t", "k") == [2, 1, 4] and store.count() == 3
    store.put_all("v", "t", "k", [("a", 10), ("b", 20), ("c", 30), ("d", 40), ("e", 50)])  # 2 new: fit
    assert store.list("v", "t", "k") == [20, 10, 30, 40, 50] and store.count() == 5
    store.put_all("v", "t", "k", [("a", 11)])  # full: replacing still works
    assert store.get("v", "t", "k", "a") == 11


def test_changes_need_a_put(store: Any) -> None:
    store.put("v", "t", "k", "r", {"tags": []})
    store.get("v", "t", "k", "r")["tags"].append("x")
    assert store.get("v", "t", "k", "r") == {"tags": []}


def test_a_request_reads_its_queued_writes(shared_state: SharedState) -> None:
    store = SharedStore(shared_state)
    with shared_state.writes():
        store.put("v", "t", "k", "r1", 1)
        store.put("v", "t", "k", "r2", 2)
        store.delete("v", "t", "k", "r1")
        assert shared_state.redis.hlen(shared_state.key("rec", "v", "k", "t")) == 0  # nothing sent yet
        assert store.list("v", "t", "k") == [2]
        assert store.get("v", "t", "k", "r1") is None
    assert store.list("v", "t", "k") == [2]
    assert store.count() == 1


def test_two_stores_over_one_namespace_are_one(shared_state: SharedState, redis_url: str) -> None:
    first = SharedStore(shared_state)
    second = SharedStore(SharedState(connect(redis_url), shared_state.namespace))
    first.put("v", "t", "k", "r", {"n": 1})
    assert second.get("v", "t", "k", "r") == {"n": 1}
    second.delete("v", "t", "k", "r")
    assert first.list("v", "t", "k") == []


def test_transactions_serialise_read_modify_write_across_stores(
    shared_state: SharedState, redis_url: str
) -> None:
    stores = [SharedStore(SharedState(connect(redis_url), shared_state.namespace)) for _ in range(3)]
    stores[0].put("v", "*", "sequence", "n", 0)

    def bump(store: SharedStore) -> None:
        for _ in range(30):
            with store.shared.writes(), store.transaction():
                store.put("v", "*", "sequence", "n", store.get("v", "*", "sequence", "n") + 1)

    threads = [threading.Thread(target=bump, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stores[0].get("v", "*", "sequence", "n") == 90


def test_fixed_kinds_are_read_once_per_reset(shared_state: SharedState) -> None:
    store = SharedStore(shared_state, fixed_kinds=frozenset({("v", "client")}))
    store.loading = True
    store.put("v", "*", "client", "c1", {"name": "one"})
    store.loading = False
    assert store.get("v", "*", "client", "c1") == {"name": "one"}
    shared_state.redis.delete(shared_state.key("rec", "v", "client", "*"))  # read from the cache now
    assert store.list("v", "*", "client") == [{"name": "one"}]
    with pytest.raises(FixedKindWritten):
        store.put("v", "*", "client", "c2", {})
    store.follow_reset()
    assert store.get("v", "*", "client", "c1") is None


@contextmanager
def request(store: SharedStore) -> Iterator[None]:
    """What ``Sandbox.sync`` gives a request: its writes queued, the meta hash read once."""
    with store.shared.writes() as writes:
        writes.cache["versions"] = store.shared.redis.hgetall(store.shared.key("meta"))
        yield


def test_a_kind_not_written_since_is_read_from_the_process_copy(
    shared_state: SharedState, redis_url: str
) -> None:
    writer = SharedStore(SharedState(connect(redis_url), shared_state.namespace))
    reader = SharedStore(shared_state)
    writer.put("v", "t", "k", "r", {"n": 1})
    writer.put("v", "t", "k", "s", {"n": 2})
    with request(reader):
        assert reader.get("v", "t", "k", "r") == {"n": 1}
        assert [r["n"] for r in reader.list("v", "t", "k")] == [1, 2]
    # Changed behind the store's back (no version raised): the reader answers from what it read.
    shared_state.redis.delete(shared_state.key("rec", "v", "k", "t"))
    with request(reader):
        assert reader.get("v", "t", "k", "r") == {"n": 1}
        assert [r["n"] for r in reader.list("v", "t", "k")] == [1, 2]
    # Outside a request, or under the lock, every read goes to Redis.
    assert reader.get("v", "t", "k", "r") is None
    with request(reader), reader.transaction():
        assert reader.list("v", "t", "k") == []


@pytest.mark.parametrize("change", ["put", "delete", "put-other-tenant"])
def test_any_write_of_the_kind_is_seen_at_the_next_request(
    shared_state: SharedState, redis_url: str, change: str
) -> None:
    writer = SharedStore(SharedState(connect(redis_url), shared_state.namespace))
    reader = SharedStore(shared_state)
    writer.put("v", "t", "k", "r", {"n": 1})
    with request(reader):
        assert reader.get("v", "t", "k", "r") == {"n": 1}
        assert reader.list("v", "t", "k") == [{"n": 1}]
    if change == "put":
        writer.put("v", "t", "k", "r", {"n": 2})
        expected: Any = {"n": 2}
    elif change == "delete":
        writer.delete("v", "t", "k", "r")
        expected = None
    else:
        writer.put("v", "t2", "k", "r", {"n": 3})
        expected = {"n": 1}
    with request(reader):
        assert reader.get("v", "t", "k", "r") == expected
        assert reader.list("v", "t", "k") == ([] if expected is None else [expected])
    assert reader.get("v", "t", "k", "r") == expected


def test_a_request_reads_its_own_writes_over_the_process_copy(shared_state: SharedState) -> None:
    store = SharedStore(shared_state)
    store.put("v", "t", "k", "r", 1)
    with request(store):
        assert store.get("v", "t", "k", "r") == 1
    with request(store):
        store.put("v", "t", "k", "r", 2)
        store.put("v", "t", "k", "s", 3)
        assert store.get("v", "t", "k", "r") == 2
        assert store.list("v", "t", "k") == [2, 3]
    with request(store):
        assert store.get("v", "t", "k", "r") == 2
        assert store.list("v", "t", "k") == [2, 3]


def test_the_cap_counts_a_requests_own_queued_records(shared_state: SharedState) -> None:
    store = SharedStore(shared_state, max_records=5)
    store.put("v", "t", "k", "old", 0)
    with request(store):
        for number in range(4):
            store.put("v", "t", "k", f"new{number}", number)
            store.put("v", "t", "k", f"new{number}", number)  # a second write of one record is one record
        with pytest.raises(StoreFull):
            store.put("v", "t", "k", "one-too-many", 0)
        store.delete("v", "t", "k", "new0")
        store.put("v", "t", "k", "instead", 0)  # the deleted one's place is free again
        store.put("v", "t", "k", "old", 1)  # replacing an existing record needs no room
    assert store.count() == 5


def test_one_requests_batch_of_puts_keeps_order_count_and_versions(shared_state: SharedState) -> None:
    """A request's puts go in one script call: new and replaced records, two kinds and two tenants, one id
    written twice; the result is what the in-process store holds after the same puts."""
    shared, reference = SharedStore(shared_state), Store()
    shared.put("v", "t", "k", "old", "first")  # before the request
    reference.put("v", "t", "k", "old", "first")
    puts = [
        ("t", "k", "a", 1),
        ("t", "k", "old", "replaced"),
        ("u", "k", "b", 2),
        ("t", "other", "c", 3),
        ("t", "k", "a", 10),  # again in the same request: the last value, the first place
        ("t", "k", "d", 4),
    ]
    versions_before = shared_state.redis.hgetall(shared_state.key("meta"))
    with shared_state.writes():
        for tenant, kind, record_id, value in puts:
            shared.put("v", tenant, kind, record_id, value)
            reference.put("v", tenant, kind, record_id, value)
    meta = shared_state.redis.hgetall(shared_state.key("meta"))
    for tenant, kind in (("t", "k"), ("u", "k"), ("t", "other")):
        assert shared.list("v", tenant, kind) == reference.list("v", tenant, kind)
    assert shared.count() == reference.count() == 5
    assert shared.tenants("v", "k") == reference.tenants("v", "k") == ["t", "u"]
    for kind in ("k", "other"):  # each kind written is seen as changed by the other processes
        field = f"v:v:{kind}".encode()
        assert int(meta[field]) > int(versions_before.get(field, 0))
