"""Upload grants in Redis: a single-use URL is claimed once, whichever process claims it."""

from __future__ import annotations

import threading

import pytest

from mock_server.core.clock import Clock
from mock_server.core.shared import SharedState, connect
from mock_server.storage.grants import SWEEP_EVERY, GrantBook, UploadGrant
from mock_server.storage.s3_errors import AccessDenied
from mock_server.storage.shared_grants import SharedGrantBook


def _grant(single_use: bool = True, expires_at: float = 4e9) -> UploadGrant:
    return UploadGrant("bucket", "key", "127.0.0.1:8080", 10, single_use, expires_at)


@pytest.fixture(params=["process", "redis"])
def books(request: pytest.FixtureRequest, redis_url: str) -> tuple[object, object]:
    clock = Clock()
    if request.param == "process":
        book = GrantBook(clock)
        return book, book
    shared = request.getfixturevalue("shared_state")
    other = SharedState(connect(redis_url), shared.namespace)
    return SharedGrantBook(shared, clock), SharedGrantBook(other, clock)


def test_a_single_use_grant_is_claimed_once(books: tuple[object, object]) -> None:
    first, second = books
    first.issue("sig", _grant())  # type: ignore[attr-defined]
    assert second.get("sig").key == "key"  # type: ignore[attr-defined]
    claimed = second.claim("sig")  # type: ignore[attr-defined]
    assert claimed is not None and claimed.uploading
    with pytest.raises(AccessDenied, match="in use"):
        first.claim("sig")  # type: ignore[attr-defined]
    second.finish("sig", succeeded=True)  # type: ignore[attr-defined]
    with pytest.raises(AccessDenied, match="already been used"):
        first.claim("sig")  # type: ignore[attr-defined]
    assert first.get("sig").used  # type: ignore[attr-defined]


def test_a_failed_upload_frees_the_url(books: tuple[object, object]) -> None:
    first, second = books
    first.issue("sig", _grant())  # type: ignore[attr-defined]
    first.claim("sig")  # type: ignore[attr-defined]
    first.finish("sig", succeeded=False)  # type: ignore[attr-defined]
    assert second.claim("sig") is not None  # type: ignore[attr-defined]


def test_reusable_and_unknown_grants(books: tuple[object, object]) -> None:
    first, second = books
    first.issue("many", _grant(single_use=False))  # type: ignore[attr-defined]
    assert second.claim("many") is not None and second.claim("many") is not None  # type: ignore[attr-defined]
    assert second.claim("unknown") is None and second.get("unknown") is None  # type: ignore[attr-defined]


def test_concurrent_claims_through_two_processes_grant_one(shared_state: SharedState, redis_url: str) -> None:
    clock = Clock()
    books = [
        SharedGrantBook(SharedState(connect(redis_url), shared_state.namespace), clock) for _ in range(8)
    ]
    books[0].issue("sig", _grant())
    won: list[int] = []

    def claim(number: int) -> None:
        try:
            books[number].claim("sig")
            won.append(number)
        except AccessDenied:
            pass

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def test_expired_grants_are_forgotten(shared_state: SharedState) -> None:
    clock = Clock()
    book = SharedGrantBook(shared_state, clock)
    book.issue("old", _grant(expires_at=clock.time() - 1))
    for number in range(SWEEP_EVERY - 1):
        book.issue(f"s{number}", _grant())
    assert book.get("old") is None
    assert len(book) == SWEEP_EVERY - 1


def test_expiries_are_kept_per_second_and_uploads_in_progress_stay(shared_state: SharedState) -> None:
    """Grants expiring in one second share one set; a sweep forgets those whose second has passed,
    except one an upload holds, which stays until a later sweep finds it released."""
    clock = Clock()
    clock.freeze(1_000_000.0)
    book = SharedGrantBook(shared_state, clock)
    with shared_state.writes():  # one request issuing several grants
        for number in range(5):
            book.issue(f"soon{number}", _grant(expires_at=1_000_010.25))
        book.issue("later", _grant(expires_at=1_000_900.0))
    redis = shared_state.redis
    assert redis.zrange(shared_state.key("grant-expiry"), 0, -1) == [b"1000011", b"1000900"]
    assert redis.scard(shared_state.key("grant-exp", "1000011")) == 5
    assert len(book) == 6
    assert book.claim("soon0") is not None  # an upload in progress through this URL
    clock.advance(11)
    book._issued = SWEEP_EVERY - 1
    book.issue("next", _grant(expires_at=1_000_900.0))  # the issue that sweeps
    assert [book.get(f"soon{number}") is None for number in range(5)] == [False, True, True, True, True]
    assert book.get("later") is not None and len(book) == 3
    book.finish("soon0", succeeded=True)
    book._issued = 2 * SWEEP_EVERY - 1
    book.issue("after", _grant(expires_at=1_000_900.0))
    assert book.get("soon0") is None
    assert redis.zrange(shared_state.key("grant-expiry"), 0, -1) == [b"1000900"]


@pytest.mark.parametrize("single_use", [True, False])
def test_a_grant_reads_back_as_issued(books: tuple[object, object], single_use: bool) -> None:
    first, second = books
    issued = UploadGrant("bucket", "a/ké y.pdf", "127.0.0.1:8080", None, single_use, 4e9 + 0.5)
    first.issue("sig", issued)  # type: ignore[attr-defined]
    assert second.get("sig") == issued  # type: ignore[attr-defined]
    claimed = second.claim("sig")  # type: ignore[attr-defined]
    assert claimed == issued._replace(uploading=single_use)
