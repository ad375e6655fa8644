"""Lifetimes and size caps of one vendor, declared once in its folder (``vendors/<v>/limits.py``).

Every vendor module that issues a URL or token, or caps a body, reads its number from the vendor's
``LIMITS``; the README's "Lifetimes and limits" table and each docs/vendors page are rendered from the
same records (tests/test_vendor_layout.py checks both). Lifetimes are seconds of sandbox time, sizes
are bytes; ``None`` means the vendor has no such thing (or no cap). A scenario's ``lifetime`` action
overrides any lifetime for one request (``Sandbox.lifetime``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    """One vendor's lifetimes (seconds) and caps (bytes); ``source`` says where each number comes from.

    ``idempotency_seconds`` maps an operationId to how long its Idempotency-Key is remembered.
    Fixture settings may override a default at run time (named in ``overridable``).
    """

    upload_url_seconds: int | None = None
    post_policy_seconds: int | None = None
    download_url_seconds: int | None = None
    token_seconds: int | None = None
    idempotency_seconds: Mapping[str, int] = field(default_factory=dict)
    max_upload_bytes: int | None = None
    max_request_bytes: int | None = None
    max_json_bytes: int | None = None
    overridable: Mapping[str, str] = field(default_factory=dict)
    source: str = ""


COLUMNS: tuple[tuple[str, str], ...] = (
    ("upload_url_seconds", "upload URL"),
    ("post_policy_seconds", "POST policy"),
    ("download_url_seconds", "signed download"),
    ("token_seconds", "token"),
    ("idempotency_seconds", "Idempotency-Key"),
    ("max_upload_bytes", "max file"),
    ("max_request_bytes", "max request"),
    ("max_json_bytes", "max JSON body"),
)


def _seconds(value: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if value >= size and value % size == 0:
            return f"{value} s ({value // size} {unit})"
    return f"{value} s"


def _bytes(value: int) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size and value % size == 0:
            return f"{value // size} {unit}"
    return f"{value} B"


def cell(limits: Limits, name: str) -> str:
    """One table cell: ``—`` when absent, seconds/bytes with a readable unit, ``*`` when fixtures override."""
    value = getattr(limits, name)
    if name == "idempotency_seconds":
        text = "<br>".join(f"{_seconds(v)} `{op}`" for op, v in value.items()) if value else "—"
    elif value is None:
        text = "—"
    else:
        text = _seconds(value) if name.endswith("_seconds") else _bytes(value)
    if name in limits.overridable:
        text += f" (fixture `{limits.overridable[name]}`)"
    return text


def render_table(rows: Iterable[tuple[str, Limits]]) -> str:
    """The Markdown table of ``(vendor title, limits)`` rows, as the README and docs pages show it."""
    lines = [
        "| vendor | " + " | ".join(title for _, title in COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    for title, limits in rows:
        lines.append(f"| {title} | " + " | ".join(cell(limits, name) for name, _ in COLUMNS) + " |")
    return "\n".join(lines) + "\n"
