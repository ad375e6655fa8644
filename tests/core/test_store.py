"""The record store's copy-on-read mode: what a shared backend (records pickled elsewhere) does."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from mock_server.core.sandbox import Sandbox
from mock_server.core.store import Store, StoreFull, UnpicklableRecord
from mock_server.testing.server import LiveServer

KEY = ("qubs", "acme", "attachment")


@dataclass
class Record:
    status: str
    tags: list[str] = field(default_factory=list)


@pytest.fixture(params=[False, True], ids=["shared", "copying"])
def store(request: pytest.FixtureRequest) -> Store:
    return Store(copy_on_read=request.param)


def test_default_hands_out_the_stored_objects() -> None:
    store = Store()
    record = store.put(*KEY, "1", Record("pending"))
    assert store.get(*KEY, "1") is record and store.list(*KEY)[0] is record
    assert store.copy_on_read is False


def test_copy_on_read_hands_out_equal_fresh_copies() -> None:
    store = Store(copy_on_read=True)
    record = store.put(*KEY, "1", Record("pending", ["a"]))
    got, again = store.get(*KEY, "1"), store.get(*KEY, "1")
    assert got == again == record
    assert got is not again and got is not record and got.tags is not again.tags
    (listed,) = store.list(*KEY)
    assert listed == record and listed is not got


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: setattr(r, "status", "uploaded"), id="attribute"),
        pytest.param(lambda r: r.tags.append("x"), id="nested-list"),
    ],
)
def test_in_place_change_without_put_is_lost(change: Any) -> None:
    store = Store(copy_on_read=True)
    original = store.put(*KEY, "1", Record("pending"))
    change(store.get(*KEY, "1"))
    change(store.list(*KEY)[0])
    change(original)  # the caller's object after put is not the stored one either
    assert store.get(*KEY, "1") == Record("pending")


def test_a_change_written_back_with_put_is_kept(store: Store) -> None:
    store.put(*KEY, "1", Record("pending"))
    with store.transaction():
        record = store.get(*KEY, "1")
        record.status = "uploaded"
        store.put(*KEY, "1", record)
    assert store.get(*KEY, "1") == Record("uploaded")
    assert store.count() == 1


def test_where_and_delete_see_and_return_copies() -> None:
    store = Store(copy_on_read=True)
    for n, status in enumerate(["pending", "uploaded", "pending"]):
        store.put(*KEY, str(n), Record(status))
    assert [r.status for r in store.list(*KEY, where=lambda r: r.status == "pending")] == ["pending"] * 2
    assert store.delete(*KEY, "1") == Record("uploaded")
    assert store.delete(*KEY, "1") is None and store.get(*KEY, "9") is None
    assert store.count() == 2


@pytest.mark.parametrize(
    "unpicklable",
    [
        pytest.param(lambda: {"check": lambda: True}, id="lambda"),
        pytest.param(lambda: {"lock": threading.Lock()}, id="lock"),
    ],
)
def test_unpicklable_record_is_refused_with_a_clear_error(unpicklable: Any) -> None:
    store = Store(copy_on_read=True)
    with pytest.raises(UnpicklableRecord, match=r"qubs attachment record '1' cannot be stored by a copying"):
        store.put(*KEY, "1", unpicklable())
    assert store.get(*KEY, "1") is None and store.count() == 0


def test_unpicklable_records_are_held_as_they_are_by_default() -> None:
    lock = threading.Lock()
    store = Store()
    store.put(*KEY, "1", {"lock": lock})
    assert store.get(*KEY, "1")["lock"] is lock


def test_limit_holds_in_both_modes(store: Store) -> None:
    store.max_records = 1
    store.put(*KEY, "1", Record("pending"))
    store.put(*KEY, "1", Record("uploaded"))  # replacing always works
    with pytest.raises(StoreFull):
        store.put(*KEY, "2", Record("pending"))
    assert store.get(*KEY, "1") == Record("uploaded")


def test_the_suite_runs_with_copying_stores(
    sandbox: Sandbox, live: LiveServer, pytestconfig: pytest.Config
) -> None:
    """tests/conftest.py makes every sandbox's store copy on read (unless --store-shares-records)."""
    copying = not pytestconfig.getoption("--store-shares-records")
    assert sandbox.store.copy_on_read is copying and live.sandbox.store.copy_on_read is copying


def test_fixed_kinds_are_written_only_while_fixtures_load() -> None:
    from mock_server.core.store import FixedKindWritten

    store = Store(fixed_kinds=frozenset({("qubs", "client")}))
    store.loading = True
    store.put("qubs", "*", "client", "acme", {"name": "Acme"})
    store.loading = False
    with pytest.raises(FixedKindWritten, match="qubs 'client' records are fixed"):
        store.put("qubs", "*", "client", "acme", {"name": "changed"})
    assert store.get("qubs", "*", "client", "acme") == {"name": "Acme"}
    store.put("qubs", "acme", "attachment", "a1", {})  # other kinds as ever


def test_every_vendor_declares_fixed_kinds_it_never_writes_at_run_time(client: Any) -> None:
    # The whole suite runs with these declarations enforced (Store raises FixedKindWritten); this
    # pins that each vendor serving credentials from fixtures declares them.
    sandbox = client.app.state.sandbox
    declared = {(name, kind) for name, vendor in sandbox.vendors.items() for kind in vendor.fixed_kinds}
    assert {("qubs", "client"), ("qubs", "static-token"), ("candid", "oauth_client")} <= declared
    assert sandbox.store.fixed_kinds == frozenset(declared)
