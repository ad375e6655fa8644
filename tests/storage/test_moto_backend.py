"""moto is loaded when the object store first needs it; what was stored before is handed over whole
(mock_server/storage/moto_backend.py, ObjectStore)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from moto.s3.responses import ALLOWED_HEADER_OVERRIDES

from mock_server.core.bodies import SPOOL_IN_MEMORY, BodyWriter, SpooledBody
from mock_server.storage import cors, object_headers
from mock_server.storage.s3 import ObjectStore
from mock_server.storage.s3_errors import NoSuchBucket, NoSuchKey

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
SMALL = b"small body"
LARGE = b"L" * (SPOOL_IN_MEMORY + 10)  # spooled to disk: kept as a file read on demand


def _body(data: bytes) -> SpooledBody:
    writer = BodyWriter()
    writer.write(data)
    return writer.finish()


@pytest.fixture
def store() -> Iterator[ObjectStore]:
    store = ObjectStore("us-east-1")
    store.ensure_bucket("b")
    store.put("b", "small", _body(SMALL), content_type="text/plain", uploaded_at=WHEN)
    store.put("b", "large", _body(LARGE), content_type=None, uploaded_at=WHEN)
    yield store
    store.close()


def test_objects_are_stored_and_served_before_moto_is_needed(store: ObjectStore) -> None:
    assert store._moto is None
    assert store.read("b", "small") == SMALL
    assert store.read("b", "large") == LARGE
    _, chunks = store.open("b", "large", 5, 7)
    assert b"".join(chunks) == LARGE[5:12]
    store.put("b", "small", _body(b"replaced"), content_type=None, uploaded_at=WHEN)
    assert store.read("b", "small") == b"replaced"
    assert store.delete("b", "large") and not store.delete("b", "large")
    with pytest.raises(NoSuchKey):
        store.open("b", "large")
    assert [info.key for info in store.list("b")] == ["small"]
    assert store._moto is None


def test_moto_gets_every_bucket_and_object_when_first_needed(store: ObjectStore) -> None:
    store.ensure_bucket("late")
    backend = store.backend  # loads moto
    assert store._moto is backend
    for key, data, content_type in (("small", SMALL, "text/plain"), ("large", LARGE, "binary/octet-stream")):
        fake = backend.get_object(store.internal_name("b"), key)
        assert fake.contentsize == len(data) and fake.etag.strip('"') == store.head("b", key).etag.strip('"')
        assert fake.metadata["Content-Type"] == content_type
        assert store.read("b", key) == data
    keys, _, _, _ = backend.list_objects(store.moto_bucket("b"), "", None, None, 1000)
    assert sorted(key.name for key in keys) == ["large", "small"]
    assert store.moto_bucket("late").name == store.internal_name("late")
    store.put("b", "after", _body(b"x"), content_type=None, uploaded_at=WHEN)
    assert backend.get_object(store.internal_name("b"), "after").contentsize == 1
    store.reset()
    assert store.list() == [] and backend.get_object(store.internal_name("b"), "small") is None


def test_cors_rules_live_in_the_store_and_are_capped(store: ObjectStore) -> None:
    rule = {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "MaxAgeSeconds": 5}
    cors.set_rules(store, "b", [rule])
    assert cors.rules_of(store, "b") == [{**rule, "AllowedHeaders": [], "ExposeHeaders": []}]
    assert cors.rules_of(store, "unknown") == []
    with pytest.raises(cors.MalformedXML):
        cors.set_rules(store, "b", [rule] * (cors.MAX_RULES + 1))
    with pytest.raises(NoSuchBucket):
        cors.set_rules(store, "unknown", [rule])
    assert len(cors.rules_of(store, "b")) == 1 and store._moto is None


def test_response_overrides_are_motos_list() -> None:
    assert list(object_headers.ALLOWED_HEADER_OVERRIDES.items()) == list(ALLOWED_HEADER_OVERRIDES.items())
