"""Storage timestamps keep four-digit years, as ISO 8601 and RFC 3339 readers need, even for a year before
1000 (a fixture's date): ``strftime``'s ``%Y`` does not pad it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mock_server.storage import api_auth
from mock_server.storage.s3 import ObjectInfo

CASES = [
    (
        datetime(2026, 11, 24, 10, 15, 0, 123456, tzinfo=UTC),
        "2026-11-24T10:15:00.123Z",
        "2026-11-24T10:15:00.123456Z",
    ),
    (datetime(999, 6, 1, tzinfo=UTC), "0999-06-01T00:00:00.000Z", "0999-06-01T00:00:00.000000Z"),
    (datetime(1, 1, 1, 0, 0, 0, 999, tzinfo=UTC), "0001-01-01T00:00:00.000Z", "0001-01-01T00:00:00.000999Z"),
]


@pytest.mark.parametrize(("moment", "xml", "_"), CASES)
def test_s3_xml_timestamps(moment: datetime, xml: str, _: str) -> None:
    assert api_auth.timestamp(moment) == xml


def test_s3_xml_timestamps_are_in_utc() -> None:
    moment = datetime(2026, 1, 1, 1, 30, 0, 5000, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert api_auth.timestamp(moment) == "2025-12-31T20:00:00.005Z"


@pytest.mark.parametrize(("moment", "_", "listed"), CASES)
def test_admin_object_listing_times(moment: datetime, _: str, listed: str) -> None:
    info = ObjectInfo("bucket", "key", 1, "text/plain", '"etag"', "0" * 64, moment)
    assert info.as_dict()["uploadedAt"] == listed
