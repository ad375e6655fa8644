from __future__ import annotations

from mock_server.core.journal import Journal, mask, masked_headers, masked_query


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
