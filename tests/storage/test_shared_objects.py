"""Two ``SharedObjectStore``s over one Redis namespace (two worker processes) behave as one store,
and answer as the in-process ``ObjectStore`` does; the S3 API tests run again over a shared store."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import test_s3_api as api
from shared_objects_helpers import live  # noqa: F401 - the live server fixture, objects shared
from test_s3_api import s3  # noqa: F401 - the boto3 client fixture of the S3 API tests

from mock_server.core.bodies import BodyWriter, SpooledBody
from mock_server.core.shared import SharedState, connect
from mock_server.storage.s3 import ObjectStore
from mock_server.storage.s3_errors import EntityTooLarge, NoSuchBucket, NoSuchKey, StorageFull
from mock_server.storage.shared_objects import SharedObjectStore
from mock_server.storage.uploads import MIN_PART_SIZE, EntityTooSmall, InvalidPart, NoSuchUpload

BUCKET = "shared-bucket"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def body(data: bytes) -> SpooledBody:
    writer = BodyWriter()
    writer.write(data)
    return writer.finish()


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "spool"


def make_store(state: SharedState, spool: Path, **caps: int) -> SharedObjectStore:
    return SharedObjectStore(state, spool, "us-east-1", **caps)


@pytest.fixture
def pair(shared_state: SharedState, redis_url: str, spool: Path) -> Iterator[tuple[SharedObjectStore, ...]]:
    """Stores A and B over one namespace and spool directory, as two worker processes have."""
    other = SharedState(connect(redis_url), shared_state.namespace)
    a, b = make_store(shared_state, spool), make_store(other, spool)
    a.ensure_bucket(BUCKET)
    yield a, b
    a.purge()
    other.redis.close()


def body_files(spool: Path) -> list[str]:
    return sorted(name for _, _, names in os.walk(spool) for name in names)


def test_an_object_put_on_one_is_read_listed_and_deleted_on_the_other(
    pair: tuple[SharedObjectStore, ...], spool: Path
) -> None:
    a, b = pair
    put = a.put(
        BUCKET,
        "dir/a.txt",
        body(b"hello"),
        content_type="text/plain",
        uploaded_at=NOW,
        metadata={"owner": "qa"},
        headers={"cache-control": "no-cache", "x-amz-meta-owner": "qa"},
        checksums={"crc32": "NhCmhg=="},
    )
    assert b.head(BUCKET, "dir/a.txt") == put
    assert (
        put.etag == f'"{hashlib.md5(b"hello").hexdigest()}"'
        and put.sha256 == hashlib.sha256(b"hello").hexdigest()
    )
    assert b.read(BUCKET, "dir/a.txt") == b"hello"
    info, chunks = b.open(BUCKET, "dir/a.txt", 1, 3)
    assert (info.headers["cache-control"], b"".join(chunks)) == ("no-cache", b"ell")
    assert [i.key for i in b.list(BUCKET, "dir/")] == ["dir/a.txt"] and b.list(prefix="x") == []
    assert len(body_files(spool)) == 1
    assert b.delete(BUCKET, "dir/a.txt") and not a.delete(BUCKET, "dir/a.txt")
    assert a.head(BUCKET, "dir/a.txt") is None and body_files(spool) == []
    with pytest.raises(NoSuchKey):
        a.open(BUCKET, "dir/a.txt")


def test_replacing_removes_the_old_body_and_a_read_in_progress_keeps_its_bytes(
    pair: tuple[SharedObjectStore, ...], spool: Path
) -> None:
    a, b = pair
    a.put(BUCKET, "k", body(b"old" * 100_000), content_type=None, uploaded_at=NOW)
    _, reading = b.open(BUCKET, "k")
    b.put(BUCKET, "k", body(b"new"), content_type=None, uploaded_at=NOW)
    assert b"".join(reading) == b"old" * 100_000  # the open file outlives its replacement
    assert a.read(BUCKET, "k") == b"new" and len(body_files(spool)) == 1


def test_buckets_cors_and_checksums_are_shared(pair: tuple[SharedObjectStore, ...]) -> None:
    a, b = pair
    b.ensure_bucket("late")
    assert a.buckets() == a.bucket_names() == ["late", BUCKET] and a.has_bucket("late")
    assert a.moto_bucket("late").creation_date == b.moto_bucket("late").creation_date
    rules = [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]
    a.set_cors_rules("late", rules)
    assert b.cors_rules("late") == rules and b.cors_rules(BUCKET) == []
    b.set_cors_rules("late", [])
    assert a.cors_rules("late") == []
    for call in (lambda: a.set_cors_rules("none", rules), lambda: a.moto_bucket("none")):
        with pytest.raises(NoSuchBucket):
            call()
    with pytest.raises(NoSuchBucket):
        a.put("none", "k", body(b"x"), content_type=None, uploaded_at=NOW)
    info = a.put(BUCKET, "c", body(b"x"), content_type=None, uploaded_at=NOW)
    b.remember_checksums(info, {"sha1": "abc"})
    assert a.head(BUCKET, "c").checksums == {"sha1": "abc"}  # type: ignore[union-attr]
    b.remember_checksums(info, {"sha1": "stale"})  # info is no longer what is stored: kept as is
    assert a.head(BUCKET, "c").checksums == {"sha1": "abc"}  # type: ignore[union-attr]


def test_caps_count_both_processes(shared_state: SharedState, redis_url: str, spool: Path) -> None:
    other = SharedState(connect(redis_url), shared_state.namespace)
    a, b = (make_store(s, spool, max_objects=2, max_bytes=10) for s in (shared_state, other))
    a.ensure_bucket(BUCKET)
    a.put(BUCKET, "1", body(b"1234"), content_type=None, uploaded_at=NOW)
    b.put(BUCKET, "2", body(b"1234"), content_type=None, uploaded_at=NOW)
    with pytest.raises(StorageFull):
        a.put(BUCKET, "3", body(b"1"), content_type=None, uploaded_at=NOW)
    with pytest.raises(StorageFull):
        b.put(BUCKET, "1", body(b"1234567"), content_type=None, uploaded_at=NOW)  # 11 bytes in all
    b.put(BUCKET, "1", body(b"123456"), content_type=None, uploaded_at=NOW)  # a replacement fits
    a.session_max_bytes = b.session_max_bytes = 9
    with pytest.raises(EntityTooLarge) as refused:
        a.put(BUCKET, "2", body(b"123456"), content_type=None, uploaded_at=NOW)
    assert refused.value.extra == {"ProposedSize": "6", "MaxSizeAllowed": "3"}
    assert b.delete(BUCKET, "2")
    a.put(BUCKET, "3", body(b"123"), content_type=None, uploaded_at=NOW)
    assert sorted(i.key for i in b.list()) == ["1", "3"] and len(body_files(spool)) == 2
    a.purge()
    other.redis.close()


def test_two_processes_cannot_both_take_the_last_slot(
    shared_state: SharedState, redis_url: str, spool: Path
) -> None:
    states = [SharedState(connect(redis_url), shared_state.namespace) for _ in range(4)]
    stores = [make_store(state, spool, max_objects=10) for state in states]
    stores[0].ensure_bucket(BUCKET)
    outcomes: list[str] = []

    def fill(store: SharedObjectStore, number: int) -> None:
        for index in range(10):
            try:
                store.put(BUCKET, f"{number}-{index}", body(b"x"), content_type=None, uploaded_at=NOW)
                outcomes.append("stored")
            except StorageFull:
                outcomes.append("full")

    threads = [threading.Thread(target=fill, args=(store, n)) for n, store in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("stored") == 10 and len(stores[1].list()) == 10 == len(body_files(spool))
    stores[0].purge()
    for state in states:
        state.redis.close()


def test_multipart_created_fed_and_completed_by_different_processes(
    pair: tuple[SharedObjectStore, ...], spool: Path
) -> None:
    a, b = pair
    upload = a.create_upload(BUCKET, "big.bin", "video/mp4", {"owner": "qa"}, NOW)
    first, second = b"a" * MIN_PART_SIZE, b"tail"
    assert b.put_part(BUCKET, "big.bin", upload.id, 2, body(b"replaced"), NOW).size == 8
    etags = [
        b.put_part(BUCKET, "big.bin", upload.id, n, body(data), NOW).etag
        for n, data in ((1, first), (2, second))
    ]
    assert [p.number for p in a.parts_of(BUCKET, "big.bin", upload.id)] == [1, 2]
    assert [u.id for u in b.uploads_of(BUCKET)] == [upload.id] and len(body_files(spool)) == 2
    with pytest.raises(InvalidPart):
        a.complete_upload(BUCKET, "big.bin", upload.id, [(1, etags[0]), (2, '"0" ')], NOW)
    info = a.complete_upload(BUCKET, "big.bin", upload.id, [(1, etags[0]), (2, etags[1])], NOW)
    digest = hashlib.md5(hashlib.md5(first).digest() + hashlib.md5(second).digest()).hexdigest()
    assert info.etag == f'"{digest}-2"' and (info.content_type, info.metadata) == (
        "video/mp4",
        {"owner": "qa"},
    )
    assert b.head(BUCKET, "big.bin") == info and b.read(BUCKET, "big.bin") == first + second
    assert b.uploads_of(BUCKET) == [] and len(body_files(spool)) == 1
    with pytest.raises(NoSuchUpload):
        b.put_part(BUCKET, "big.bin", upload.id, 3, body(b"late"), NOW)


def test_small_parts_abort_and_drop_uploads(pair: tuple[SharedObjectStore, ...], spool: Path) -> None:
    a, b = pair
    upload = a.create_upload(BUCKET, "k", "binary/octet-stream", {}, NOW)
    etags = [a.put_part(BUCKET, "k", upload.id, n, body(b"small"), NOW).etag for n in (1, 2)]
    with pytest.raises(EntityTooSmall):
        b.complete_upload(BUCKET, "k", upload.id, [(1, etags[0]), (2, etags[1])], NOW)
    with pytest.raises(NoSuchUpload):
        b.upload_of(BUCKET, "other-key", upload.id)
    b.abort_upload(BUCKET, "k", upload.id)
    assert a.uploads_of(BUCKET) == [] and body_files(spool) == []
    with pytest.raises(NoSuchUpload):
        a.abort_upload(BUCKET, "k", upload.id)
    for key in ("x", "y"):
        later = a.create_upload(BUCKET, key, "binary/octet-stream", {}, NOW)
        a.put_part(BUCKET, key, later.id, 1, body(b"1"), NOW)
    b.drop_uploads()
    assert a.uploads_of(BUCKET) == [] and body_files(spool) == []


def test_reset_on_one_empties_both(pair: tuple[SharedObjectStore, ...], spool: Path) -> None:
    a, b = pair
    for key in ("1", "2"):
        a.put(BUCKET, key, body(b"x"), content_type=None, uploaded_at=NOW)
    a.set_cors_rules(BUCKET, [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}])
    b.reset()
    assert a.list() == [] and body_files(spool) == [] and a.has_bucket(BUCKET)
    a.put(BUCKET, "after", body(b"x"), content_type=None, uploaded_at=NOW)  # the counters restarted too
    assert b.list()[0].key == "after" and b.cors_rules(BUCKET)
    b.purge()
    assert not a.has_bucket(BUCKET) and not spool.exists() or body_files(spool) == []


class _Failing:
    """A spooled file that checks, while it is copied, that nothing of it is visible yet; then breaks."""

    def __init__(self, other: SharedObjectStore, spool: Path) -> None:
        self.other, self.spool, self.calls = other, spool, 0

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        assert self.other.head(BUCKET, "half") is None and self.other.list() == []
        assert all(name.endswith(".part") for name in body_files(self.spool))
        if self.calls > 2:
            raise OSError("connection lost")
        return b"x" * 1024

    def close(self) -> None:
        pass


def test_a_half_written_body_is_never_visible(pair: tuple[SharedObjectStore, ...], spool: Path) -> None:
    a, b = pair
    failing = _Failing(b, spool)
    broken = SpooledBody(failing, 4096, "0" * 32, "0" * 64)  # type: ignore[arg-type]
    with pytest.raises(OSError, match="connection lost"):
        a.put(BUCKET, "half", broken, content_type=None, uploaded_at=NOW)
    assert failing.calls == 3 and b.head(BUCKET, "half") is None and body_files(spool) == []


# -- the same answers as the in-process store -------------------------------------------------------
LISTING_KEYS = ["a", "a/b", "a/b/c", "a/c", "b", "b/x", "c~", "photos/2024/1.jpg", "photos/2025/2.jpg", "z"]
LISTINGS: list[tuple[str, dict[str, Any]]] = [
    ("v1", {"prefix": "", "delimiter": None, "marker": None, "max_keys": 1000}),
    ("v1", {"prefix": "a", "delimiter": "/", "marker": None, "max_keys": 1000}),
    ("v1", {"prefix": "", "delimiter": "/", "marker": "a", "max_keys": 2}),
    ("v1", {"prefix": "photos/", "delimiter": "/", "marker": None, "max_keys": 1}),
    ("v1", {"prefix": "", "delimiter": None, "marker": "b", "max_keys": 0}),
    ("v2", {"prefix": "", "delimiter": "/", "token": None, "start_after": None, "max_keys": 3}),
    ("v2", {"prefix": "a/", "delimiter": "/", "token": None, "start_after": "a/b", "max_keys": 1000}),
    ("v2", {"prefix": "", "delimiter": None, "token": None, "start_after": "c", "max_keys": 2}),
    ("v2", {"prefix": "nothing", "delimiter": "/", "token": None, "start_after": None, "max_keys": 5}),
]


def _answer(store: Any, kind: str, query: dict[str, Any]) -> Any:
    backend, bucket = store.backend, store.moto_bucket(BUCKET)
    if kind == "v1":
        keys, folders, truncated, token = backend.list_objects(
            bucket, query["prefix"], query["delimiter"], query["marker"], query["max_keys"]
        )
        return [k.name for k in keys], list(folders), truncated, token
    pages: list[Any] = []
    token = query["token"]
    while True:
        entries, truncated, token = backend.list_objects_v2(
            bucket, query["prefix"], query["delimiter"], token, query["start_after"], query["max_keys"]
        )
        pages.append(([e if isinstance(e, str) else e.name for e in entries], truncated, token))
        if not truncated:
            return pages


@pytest.mark.parametrize(("kind", "query"), LISTINGS)
def test_listings_answer_as_the_in_process_store(
    pair: tuple[SharedObjectStore, ...], kind: str, query: dict[str, Any]
) -> None:
    a, b = pair
    local = ObjectStore("us-east-1")
    local.ensure_bucket(BUCKET)
    try:
        for key in LISTING_KEYS:
            for store in (local, a):
                store.put(BUCKET, key, body(key.encode()), content_type=None, uploaded_at=NOW)
        assert _answer(b, kind, query) == _answer(local, kind, query)
    finally:
        local.close()


# -- the S3 API tests of test_s3_api over a shared store (``live`` of shared_objects_helpers) -------------
class TestObjectsShared(api.TestObjects):
    pass


class TestListingsShared(api.TestListings):
    pass


class TestMultipartShared(api.TestMultipart):
    pass


class TestBucketCorsShared(api.TestBucketCors):
    pass


class TestBucketsAndResetShared(api.TestBucketsAndReset):
    pass
