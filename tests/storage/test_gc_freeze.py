"""Stored objects are frozen out of the cyclic collector in batches; a reset hands them back."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from mock_server.core.bodies import BodyWriter
from mock_server.storage import s3


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[s3.ObjectStore]:
    monkeypatch.setattr(s3, "FREEZE_EVERY", 3)
    gc.unfreeze()
    store = s3.ObjectStore("us-east-1")
    store.ensure_bucket("b")
    yield store
    store.reset()
    store.close()


def _put(store: s3.ObjectStore, key: str) -> None:
    writer = BodyWriter()
    writer.write(b"x")
    store.put("b", key, writer.finish(), content_type=None, uploaded_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_every_batch_of_stored_objects_is_frozen_and_a_reset_unfreezes(store: s3.ObjectStore) -> None:
    _put(store, "a")
    _put(store, "b")
    assert gc.get_freeze_count() == 0
    _put(store, "c")
    assert gc.get_freeze_count() > 0
    assert store.read("b", "c") == b"x"
    store.reset()
    assert gc.get_freeze_count() == 0
