from __future__ import annotations

import pytest

from mock_server.core.journal import MAX_HEADERS, FilterError, Journal, mask, masked_headers, masked_query


def _entry(journal: Journal, **overrides: object) -> None:
    fields = dict(
        timestamp="t",
        method="GET",
        path="/qubs/x",
        query={},
        headers={},
        vendor="qubs",
        operation="qubs.op",
        correlationId="c1",
        status=200,
    )
    fields.update(overrides)
    journal.record(**fields)


def test_newest_first_and_filters() -> None:
    journal = Journal(10)
    _entry(journal, status=201)
    _entry(journal, vendor="candid", path="/candid/y", correlationId="c2", status=404)
    assert [e.vendor for e in journal.entries()] == ["candid", "qubs"]
    assert [e.status for e in journal.entries(vendor="qubs")] == [201]
    assert [e.correlationId for e in journal.entries(path="/candid")] == ["c2"]
    assert journal.entries(status=404, limit=1)[0].vendor == "candid"


def test_ring_buffer_keeps_the_newest() -> None:
    journal = Journal(3)
    for number in range(5):
        _entry(journal, correlationId=str(number))
    assert [e.correlationId for e in journal.entries()] == ["4", "3", "2"]


def test_secrets_are_masked() -> None:
    headers = masked_headers(
        {"authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.secret.value", "api-key": "k-123"}
    )
    assert headers["authorization"].startswith("Bearer ***") and "secret" not in headers["authorization"]
    assert headers["api-key"] == "***"
    query = masked_query([("X-Amz-Signature", "a" * 64), ("content_type", "image/png")])
    assert "a" * 64 not in query["X-Amz-Signature"] and query["content_type"] == "image/png"
    assert mask("short") == "***"


def test_every_credential_name_is_masked_in_headers_query_and_bodies() -> None:
    from mock_server.core.journal_render import CREDENTIAL_NAMES, render_body

    secret = "s3cr3t-value-0123456789"
    pairs = [(name, secret) for name in sorted(CREDENTIAL_NAMES)]
    assert secret not in str(masked_headers(pairs)) and secret not in str(masked_query(pairs))
    assert secret not in str(masked_query([("X-Amz-Signature", secret), ("X-Goog-Signature", secret)]))
    form = render_body(
        (f"client_secret={secret}&grant_type=x".encode(), 40), "application/x-www-form-urlencoded"
    )
    assert form is not None and secret not in form["text"] and "grant_type=x" in form["text"]
    body = f'{{"password": "{secret}", "nested": {{"refresh_token": "{secret}"}}}}'.encode()
    shown = render_body((body, len(body)), "application/json")
    assert shown is not None and secret not in shown["text"]


def test_header_values_and_bodies_are_bounded() -> None:
    journal = Journal(20, body_limit=1024, total_body_limit=8 * 1024)
    huge = "a" * (16 * 1024 * 1024)
    for number in range(20):
        _entry(
            journal,
            correlationId=str(number),
            headers={"user-agent": huge},
            request_body=(b"x" * 1024, 10_000_000),
        )
    entry = journal.entries(limit=1)[0]
    assert len(entry.headers["user-agent"]) < 3000
    assert journal.body_total <= 8 * 1024
    shown = entry.as_dict()["requestBody"]
    assert shown["size"] == 10_000_000 and shown["truncated"] and shown["captured"] == 1024
    oldest = journal.entries()[-1].as_dict()["requestBody"]
    assert oldest["dropped"] is True  # the budget took the oldest bodies back first


@pytest.mark.parametrize("as_sent", [True, False], ids=["asgi-bytes", "text"])
def test_many_headers_are_kept_bounded_in_number_and_read_as_text(as_sent: bool) -> None:
    """A head of thousands of short lines keeps only what is shown; ASGI's bytes read as Latin-1 text."""
    pairs = [(f"x-{n}", "v\xe9") for n in range(5000)]
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs] if as_sent else pairs
    journal = Journal(5)
    _entry(journal, headers=raw, response_headers=raw)
    entry = journal.entries()[0]
    assert len(entry._request_headers) == len(entry._response_headers) == MAX_HEADERS + 1
    assert entry.raw_headers[0] == ("x-0", "v\xe9") and entry.raw_headers[-1][0] == "…"
    assert len(entry.response_headers) == MAX_HEADERS + 1


def test_times_given_as_epoch_seconds_read_as_utc_text() -> None:
    journal = Journal(5)
    _entry(journal, timestamp=1764585000.1234, realTime=0.0)
    entry = journal.entries()[0]
    assert (entry.timestamp, entry.realTime) == ("2025-12-01T10:30:00.123Z", "1970-01-01T00:00:00.000Z")
    assert entry.summary()["timestamp"] == entry.timestamp


def test_binary_bodies_are_summarised() -> None:
    from mock_server.core.journal_render import render_body

    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    shown = render_body((png, len(png)), "image/png")
    assert shown is not None and shown["binary"] and shown["head"].startswith("89 50 4e 47")
    assert "text" not in shown


def test_admin_calls_have_their_own_buffer() -> None:
    journal = Journal(3, admin_size=2)
    _entry(journal, correlationId="vendor-call")
    for number in range(10):
        _entry(journal, vendor="admin", correlationId=f"admin-{number}")
    assert [e.correlationId for e in journal.entries()] == ["vendor-call"]
    assert [e.correlationId for e in journal.entries(vendor="admin")] == ["admin-9", "admin-8"]


def test_filters_paging_and_count() -> None:
    journal = Journal(50)
    for number in range(10):
        _entry(journal, status=200 if number % 2 else 404, path=f"/qubs/item/{number}")
    assert journal.count(status="4xx") == 5
    assert [e.path for e in journal.entries(status="404", limit=2, offset=1)] == [
        "/qubs/item/6",
        "/qubs/item/4",
    ]
    assert journal.entries(limit=0) == []
    assert [e.id for e in journal.entries(since=8)] == [10, 9]
    assert journal.count(text="ITEM/3") == 1


@pytest.mark.parametrize(
    ("filters", "message"),
    [({"colour": "red"}, "unknown filter"), ({"status": "abc"}, "status must be"), ({"since": "x"}, "since")],
)
def test_bad_filters_are_refused_with_the_valid_names(filters: dict[str, str], message: str) -> None:
    with pytest.raises(FilterError, match=message) as caught:
        Journal(5).entries(**filters)
    assert "vendor" in caught.value.valid and "text" in caught.value.valid


def test_entries_are_built_only_when_read() -> None:
    journal = Journal(5)
    _entry(journal, headers={"authorization": "Bearer abcdefghijklmnopqrstuvwxyz"})
    entry = journal.entries()[0]
    assert entry._dict is None  # nothing serialised yet
    first = entry.as_dict()
    assert entry.as_dict() is first and "abcdefghijklmnop" not in str(first)
