"""Claims of single-use upload URLs, in this process and in Redis: a URL is claimed once, whichever
process claims it; the epoch and the sweep's mark are the same for every process of a namespace."""

from __future__ import annotations

import threading

import pytest

from mock_server.core.clock import Clock
from mock_server.core.shared import SharedState, connect
from mock_server.storage.grants import (
    SWEEP_EVERY,
    SWEEPS_KEPT,
    GrantBook,
    UploadGrant,
    decode,
    encode,
    latest_since,
)
from mock_server.storage.s3_errors import AccessDenied
from mock_server.storage.shared_grants import SharedGrantBook

LATER = 4e9


@pytest.fixture(params=["process", "redis"])
def books(request: pytest.FixtureRequest, redis_url: str) -> tuple[object, object]:
    clock = Clock()
    if request.param == "process":
        book = GrantBook(clock)
        return book, book
    shared = request.getfixturevalue("shared_state")
    other = SharedState(connect(redis_url), shared.namespace)
    return SharedGrantBook(shared, clock), SharedGrantBook(other, clock)


@pytest.fixture(params=["process", "redis"])
def frozen(request: pytest.FixtureRequest) -> tuple[GrantBook | SharedGrantBook, Clock]:
    """A book (in this process, or over Redis) and its clock, frozen at 1,000,000 s."""
    clock = Clock()
    clock.freeze(1_000_000.0)
    if request.param == "process":
        return GrantBook(clock), clock
    return SharedGrantBook(request.getfixturevalue("shared_state"), clock), clock


def test_a_single_use_url_is_claimed_once(books: tuple[object, object]) -> None:
    first, second = books
    second.claim("sig", LATER, second.epoch(), second.sweeps())  # type: ignore[attr-defined]
    with pytest.raises(AccessDenied, match="in use"):
        first.claim("sig", LATER, first.epoch(), first.sweeps())  # type: ignore[attr-defined]
    second.finish("sig", succeeded=True)  # type: ignore[attr-defined]
    with pytest.raises(AccessDenied, match="already been used"):
        first.claim("sig", LATER, first.epoch(), first.sweeps())  # type: ignore[attr-defined]
    first.claim("other", LATER, first.epoch(), first.sweeps())  # type: ignore[attr-defined]
    assert len(first) == 2  # type: ignore[arg-type]


def test_a_failed_upload_frees_the_url(books: tuple[object, object]) -> None:
    first, second = books
    first.claim("sig", LATER, first.epoch(), first.sweeps())  # type: ignore[attr-defined]
    first.finish("sig", succeeded=False)  # type: ignore[attr-defined]
    second.claim("sig", LATER, second.epoch(), second.sweeps())  # type: ignore[attr-defined]
    first.finish("unknown", succeeded=True)  # type: ignore[attr-defined]  # nothing claimed: nothing kept
    assert len(first) == 1  # type: ignore[arg-type]


def test_every_process_of_a_namespace_has_one_epoch_and_a_reset_draws_another(
    shared_state: SharedState, redis_url: str
) -> None:
    clock = Clock()
    books = [
        SharedGrantBook(SharedState(connect(redis_url), shared_state.namespace), clock) for _ in range(3)
    ]
    epochs = {book.epoch() for book in books}
    assert len(epochs) == 1
    shared_state.clear()  # what a reset does to the namespace
    assert books[1].epoch() not in epochs and books[0].epoch() == books[1].epoch()


def test_a_process_book_draws_a_new_epoch_at_each_reset() -> None:
    book = GrantBook(Clock())
    epochs = {book.epoch()}
    for _ in range(3):
        book.reset()
        epochs.add(book.epoch())
    assert len(epochs) == 4 and GrantBook(Clock()).epoch() not in epochs


def test_concurrent_claims_through_two_processes_grant_one(shared_state: SharedState, redis_url: str) -> None:
    clock = Clock()
    books = [
        SharedGrantBook(SharedState(connect(redis_url), shared_state.namespace), clock) for _ in range(8)
    ]
    won: list[int] = []

    def claim(number: int) -> None:
        try:
            books[number].claim("sig", LATER, books[number].epoch(), books[number].sweeps())
            won.append(number)
        except AccessDenied:
            pass

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def test_claims_of_expired_urls_are_forgotten_except_one_an_upload_holds(
    frozen: tuple[GrantBook | SharedGrantBook, Clock],
) -> None:
    """A sweep (every SWEEP_EVERY claims) forgets the claims of URLs expired by then, counts itself and
    keeps its time; a claim whose upload is still in progress stays until a later sweep finds it released."""
    book, clock = frozen
    assert (book.sweeps(), book.swept_since(0)) == (0, float("-inf"))
    for number in range(5):
        book.claim(f"soon{number}", 1_000_010.25, book.epoch(), book.sweeps())
        if number:
            book.finish(f"soon{number}", succeeded=True)
    book.claim("later", 1_000_900.0, book.epoch(), book.sweeps())
    book.finish("later", succeeded=True)
    clock.advance(11)
    for number in range(SWEEP_EVERY - 6):  # the claim that makes SWEEP_EVERY sweeps
        book.claim(f"filler{number}", 1_000_900.0, book.epoch(), book.sweeps())
    assert len(book) == SWEEP_EVERY - 6 + 2  # the fillers, "later" and the upload in progress
    assert (book.sweeps(), book.swept_since(0), book.swept_since(1)) == (1, 1_000_011.0, float("-inf"))
    with pytest.raises(AccessDenied, match="in use"):
        book.claim("soon0", 1_000_010.25, book.epoch(), book.sweeps())
    with pytest.raises(AccessDenied, match="no longer known"):  # forgotten, and its claim knows it
        book.claim("soon1", 1_000_010.25, book.epoch(), 0)


@pytest.mark.parametrize(
    "grant",
    [
        UploadGrant(True, 26_214_400, "0a1b2c3d4e5f", 0, "127.0.0.1:8080"),
        UploadGrant(False, None, "e", 12, "[::1]:9000"),
        UploadGrant(True, 0, "x", 3, "sandbox.example.test"),
        UploadGrant(True, 5, "x", 0, "høst.example:1"),
    ],
)
def test_a_grant_reads_back_as_signed(grant: UploadGrant) -> None:
    assert decode(encode(grant)) == grant


@pytest.mark.parametrize(
    "value",
    [
        "1",
        "",
        "1.2.3",
        "1.10.e.0",
        "2.10.e.0.aA",
        "1.-1.e.0.aA",
        "1.1e3.e.0.aA",
        "1.10..0.aA",
        "1.١٢.e.0.aA",
        "1.10.e..aA",
        "1.10.e.0.a",  # not base64
        "1.10.e.0.aA.x",
        "1." + "9" * 5000 + ".e.0.aA",  # int() of 4,300 digits or more raises
        "1.10.e." + "9" * 5000 + ".aA",
        "1.10.e.0.__8",  # not UTF-8
    ],
)
def test_text_that_is_not_a_grant_reads_as_none(value: str) -> None:
    assert decode(value) is None


def test_a_url_meets_only_the_sweeps_made_since_its_issue(
    frozen: tuple[GrantBook | SharedGrantBook, Clock],
) -> None:
    """A sweep a day ahead, the clock back, a URL issued, then a sweep at the real time: that URL meets the
    second sweep only, which ran before it expired."""
    book, clock = frozen
    clock.advance(86_400)
    for number in range(SWEEP_EVERY):
        book.claim(f"ahead{number}", clock.time() + 600, book.epoch(), book.sweeps())
    clock.advance(-86_400)
    issued_at = book.sweeps()
    expires = clock.time() + 900  # the URL issued now
    for number in range(SWEEP_EVERY):
        book.claim(f"now{number}", clock.time() + 600, book.epoch(), book.sweeps())
    assert book.sweeps() == 2
    assert book.swept_since(issued_at) == 1_000_000.0 < expires
    assert book.swept_since(0) == 1_086_400.0  # a URL issued before both meets the one a day ahead


@pytest.mark.parametrize(
    ("count", "sweeps", "times", "latest"),
    [
        (3, 3, [1.0, 2.0, 3.0], float("-inf")),
        (0, 3, [5.0, 2.0, 3.0], 5.0),
        (1, 3, [5.0, 2.0, 3.0], 3.0),
        (2, 5, [7.0, 1.0, 2.0], 7.0),  # sweeps 2.. of 5 kept: times of sweeps 2, 3, 4
        (3, 5, [7.0, 1.0, 2.0], 2.0),
        (1, 5, [7.0, 1.0, 2.0], float("inf")),  # sweep 1's time is no longer kept
    ],
)
def test_the_latest_sweep_since_a_count(count: int, sweeps: int, times: list[float], latest: float) -> None:
    assert latest_since(count, sweeps, times) == latest


def test_sweep_times_are_kept_to_a_bound() -> None:
    clock = Clock()
    book = GrantBook(clock)
    book._sweeps, book._sweep_times = SWEEPS_KEPT, [float(n) for n in range(SWEEPS_KEPT)]
    book._forget_expired()
    assert len(book._sweep_times) == SWEEPS_KEPT and book.swept_since(0) == float("inf")


def test_a_claim_after_a_reset_refuses_a_url_checked_before_it(
    books: tuple[object, object], request: pytest.FixtureRequest
) -> None:
    """Over Redis the claim checks the epoch itself: a reset between a request's check and its claim."""
    first, second = books
    epoch = first.epoch()  # type: ignore[attr-defined]
    first.claim("sig", LATER, epoch, 0)  # type: ignore[attr-defined]
    first.finish("sig", succeeded=True)  # type: ignore[attr-defined]
    if isinstance(first, GrantBook):
        first.reset()
    else:
        request.getfixturevalue("shared_state").clear()  # what a reset does to the namespace
    with pytest.raises(AccessDenied, match="no longer known"):
        second.claim("sig", LATER, epoch, 0)  # type: ignore[attr-defined]


def test_a_sweep_of_another_process_between_a_check_and_a_claim_refuses_the_url(
    frozen: tuple[GrantBook | SharedGrantBook, Clock],
) -> None:
    """The claim checks the sweeps itself: a URL checked before a sweep that ran after it expired (its claim
    may be gone) is refused by the claim, whatever the request's check saw."""
    book, clock = frozen
    epoch, issued_at, expires = book.epoch(), book.sweeps(), 1_000_002.0
    book.claim("used", expires, epoch, issued_at)
    book.finish("used", succeeded=True)
    clock.advance(3)  # the URL expired; the next sweep forgets its claim
    for number in range(SWEEP_EVERY - 1):
        book.claim(f"filler{number}", clock.time() + 600, epoch, book.sweeps())
    assert book.sweeps() == 1 and len(book) == SWEEP_EVERY - 1
    with pytest.raises(AccessDenied, match="no longer known"):  # checked before the sweep, claimed after it
        book.claim("used", expires, epoch, issued_at)
