from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mock_server.core.clock import LATEST, Clock, iso_z


@pytest.fixture
def frozen() -> Clock:
    clock = Clock()
    clock.freeze("2026-11-24T10:00:00Z")
    return clock


def test_frozen_clock_does_not_move(frozen: Clock) -> None:
    assert frozen.now() == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert frozen.time() == frozen.time()


def test_advance_moves_frozen_time(frozen: Clock) -> None:
    frozen.advance(901)
    assert iso_z(frozen.now()) == "2026-11-24T10:15:01Z"


def test_expired_is_inclusive_at_the_deadline(frozen: Clock) -> None:
    deadline = frozen.after(900)
    frozen.advance(899)
    assert not frozen.expired(deadline)
    frozen.advance(1)
    assert frozen.expired(deadline)


def test_set_and_unfreeze_keep_the_instant() -> None:
    clock = Clock()
    clock.freeze()
    clock.set("2030-01-01T00:00:00+00:00")
    clock.unfreeze()
    assert not clock.frozen
    assert clock.now().year == 2030


def test_running_clock_advances_by_offset() -> None:
    clock = Clock()
    before = clock.time()
    clock.advance(3600)
    assert clock.time() - before >= 3600
    clock.reset()
    assert clock.time() - before < 3600


@pytest.mark.parametrize(
    "instant",
    ["2026-11-24T10:00:00Z", "2026-11-24T10:00:00+00:00", "2026-11-24T10:00:00", 1795514400.0],
    ids=["zulu", "offset", "naive", "epoch"],
)
def test_set_accepts_iso_and_epoch(instant: object) -> None:
    clock = Clock()
    clock.freeze(instant)  # type: ignore[arg-type]
    assert clock.now() == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_state_reports_offset_and_freeze(frozen: Clock) -> None:
    state = frozen.state()
    assert state["frozen"] is True
    assert state["now"] == "2026-11-24T10:00:00Z"


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2026, 11, 24, 10, 15, 0, tzinfo=UTC),
        datetime(2026, 11, 24, 10, 15, 0, 999999, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(999, 6, 1, tzinfo=UTC),  # a client-given year below 1000: four digits still (RFC 3339)
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(2026, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(0))),  # UTC, but not the UTC object
    ],
)
def test_iso_z_is_rfc_3339_utc_to_the_second(instant: datetime) -> None:
    assert iso_z(instant) == instant.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
    assert datetime.fromisoformat(iso_z(instant)) == instant.replace(microsecond=0)


def test_the_latest_instant_leaves_room_for_expiries() -> None:
    """Tokens and signed URLs expire days after the clock's time: at its latest they still format."""
    clock = Clock()
    clock.set(LATEST)
    assert iso_z(clock.now() + timedelta(days=7)) == "9999-01-07T23:59:59Z"
    with pytest.raises(ValueError, match="9998-12-31T23:59:59Z"):
        clock.set("9999-12-31T23:30:00Z")
