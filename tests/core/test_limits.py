"""The lifetimes-and-limits table: one row per vendor, readable units, fixture overrides named."""

from __future__ import annotations

from mock_server.core.limits import Limits, cell, render_table


def test_cells_use_readable_units_and_name_overrides() -> None:
    limits = Limits(
        token_seconds=18000,
        download_url_seconds=90,
        max_upload_bytes=25 * 1024 * 1024,
        max_json_bytes=1000,
        idempotency_seconds={"create": 900},
        overridable={"token_seconds": "vendor.ttl"},
    )
    assert cell(limits, "token_seconds") == "18000 s (5 h) (fixture `vendor.ttl`)"
    assert cell(limits, "download_url_seconds") == "90 s"
    assert cell(limits, "max_upload_bytes") == "25 MiB"
    assert cell(limits, "max_json_bytes") == "1000 B"
    assert cell(limits, "idempotency_seconds") == "900 s (15 min) `create`"
    assert cell(limits, "upload_url_seconds") == "—"


def test_table_has_a_header_and_one_row_per_vendor() -> None:
    table = render_table([("`a`", Limits()), ("`b`", Limits(token_seconds=60))]).splitlines()
    assert table[0].startswith("| vendor | upload URL |") and set(table[1]) == {"|", "-"}
    assert table[2].startswith("| `a` | —") and "60 s (1 min)" in table[3]
    assert len(table) == 4
